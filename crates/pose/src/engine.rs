//! Runs the two ONNX models. Two engines: ONNX Runtime (through `ort`, its library loaded at run
//! time when one is found; fastest on the detector) and RTen (pure Rust, always there; the
//! fallback). DESIGN.md has the measurements. Only the `engine*.rs` files know the engines.

use std::path::{Path, PathBuf};

use studio_error::{Error, Result};

use crate::crop::{MODEL_POINTS, POSE_H, POSE_W};
use crate::detect::{DET_ANCHORS, DET_ROW};
use crate::engine_ort::OrtModels;
use crate::engine_rten::RtenModels;
use crate::runtime;

pub const MODEL_LOAD_FAILED: &str = "pose.model_invalid";
pub const INFERENCE_FAILED: &str = "pose.inference_failed";

/// Which engine to run the models with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The pure-Rust engine.
    Rten,
    /// ONNX Runtime from this shared library; RTen (with a warning) if it cannot be loaded.
    OnnxRuntime(PathBuf),
    /// ONNX Runtime when a library is found (`STUDIO_ONNXRUNTIME_LIB`, then `runtime_dir`, see
    /// [`runtime::find_runtime_in`]), else RTen.
    Auto { runtime_dir: PathBuf },
}

/// A model output as the engines hand it over: shape and row-major data.
pub(crate) struct Output {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f32>,
}

enum Models {
    Rten(Box<RtenModels>),
    Ort(OrtModels),
}

/// The detector and the keypoint model, loaded and checked against the shapes the pipeline uses.
pub struct PoseModels {
    models: Models,
}

impl std::fmt::Debug for PoseModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoseModels")
            .field("engine", &self.engine_name())
            .finish_non_exhaustive()
    }
}

pub(crate) fn run_failed(e: impl std::fmt::Display) -> Error {
    Error::new(
        INFERENCE_FAILED,
        format!(
            "The pose model failed on a frame ({e}). Try the preview again; if it keeps failing, delete the pose models so they are downloaded again."
        ),
    )
}

impl PoseModels {
    /// Loads `yolox_l.onnx`-shaped and `dw-ll_ucoco_384.onnx`-shaped models with
    /// [`Backend::Auto`] over the runtime folder beside them (`<models dir>/onnxruntime/`).
    pub fn load(detector: &Path, keypoints: &Path) -> Result<Self> {
        let models_dir = detector.parent().unwrap_or(Path::new("."));
        Self::load_with(
            detector,
            keypoints,
            Backend::Auto {
                runtime_dir: runtime::runtime_dir(models_dir),
            },
        )
    }

    /// Loads the models with `backend`. ONNX Runtime failing to load (missing library, wrong
    /// version, a model it rejects) is logged and RTen is used: the preview works either way.
    #[tracing::instrument]
    pub fn load_with(detector: &Path, keypoints: &Path, backend: Backend) -> Result<Self> {
        let lib = match backend {
            Backend::Rten => None,
            Backend::OnnxRuntime(lib) => Some(lib),
            Backend::Auto { runtime_dir } => runtime::find_runtime_in(&runtime_dir),
        };
        if let Some(lib) = lib {
            match OrtModels::load(&lib, detector, keypoints) {
                Ok(m) => {
                    tracing::info!(lib = %lib.display(), version = %m.version, "pose engine: onnxruntime");
                    return Ok(Self {
                        models: Models::Ort(m),
                    });
                }
                Err(e) => tracing::warn!(
                    lib = %lib.display(),
                    "onnxruntime could not be used ({e}); using the built-in engine (slower)"
                ),
            }
        }
        tracing::info!("pose engine: rten");
        Ok(Self {
            models: Models::Rten(Box::new(RtenModels::load(detector, keypoints)?)),
        })
    }

    /// `"onnxruntime"` or `"rten"`: which engine runs the models.
    pub fn engine_name(&self) -> &str {
        match self.models {
            Models::Rten(_) => "rten",
            Models::Ort(_) => "onnxruntime",
        }
    }

    /// `[1, 3, 640, 640]` in, `[1, 8400, 85]` out.
    pub fn detect(&self, input: Vec<f32>) -> Result<Vec<f32>> {
        let out = match &self.models {
            Models::Rten(m) => m.detect(input)?,
            Models::Ort(m) => m.detect(input)?,
        };
        if out.shape != [1, DET_ANCHORS, DET_ROW] {
            return Err(run_failed(format!("detector output shape {:?}", out.shape)));
        }
        Ok(out.data)
    }

    /// `[1, 3, 384, 288]` in, `simcc_x [1, 133, 576]` and `simcc_y [1, 133, 768]` out.
    pub fn keypoints(&self, input: Vec<f32>) -> Result<(Vec<f32>, Vec<f32>)> {
        let (x, y) = match &self.models {
            Models::Rten(m) => m.keypoints(input)?,
            Models::Ort(m) => m.keypoints(input)?,
        };
        if x.shape != [1, MODEL_POINTS, POSE_W * 2] || y.shape != [1, MODEL_POINTS, POSE_H * 2] {
            return Err(run_failed(format!(
                "SimCC shapes {:?} {:?}",
                x.shape, y.shape
            )));
        }
        Ok((x.data, y.data))
    }
}

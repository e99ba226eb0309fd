//! The ONNX Runtime backend through `ort`, with the library loaded at run time (`load-dynamic`):
//! nothing is linked or downloaded at build time. The library is process-wide (the first one
//! loaded stays), so one environment is kept for the whole process.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::{Environment, GlobalThreadPoolOptions};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use studio_error::Result;

use crate::crop::{POSE_H, POSE_W};
use crate::detect::DET_SIZE;
use crate::engine::{Output, run_failed};

static ENVIRONMENT: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

pub(crate) struct OrtModels {
    // `Session::run` takes `&mut self`; the preview runs one frame at a time, so a lock costs nothing.
    det: Mutex<Session>,
    pose: Mutex<Session>,
    pub(crate) version: String,
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Loads the library once per process, with one intra-op thread pool (a thread per core) shared
/// by both models: two per-session pools (the Python package's default) spin against each other
/// between the detector and the keypoint model; sharing made the keypoint model about 20 % faster
/// in the bench. A panic inside `ort` (a library whose API table it cannot use) becomes an error
/// so the caller can fall back to RTen.
fn environment(lib: &Path) -> std::result::Result<Environment, String> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((loaded, env)) = slot.as_ref() {
        if loaded != lib {
            tracing::warn!(
                loaded = %loaded.display(),
                asked = %lib.display(),
                "onnxruntime is already loaded in this process; using that library"
            );
        }
        return Ok(env.clone());
    }
    let env = std::panic::catch_unwind(|| {
        // `init_from` first: any other `ort` call before it would look for the library itself.
        let builder = ort::init_from(lib).map_err(|e| e.to_string())?;
        let pool = GlobalThreadPoolOptions::default()
            .with_intra_threads(threads())
            .map_err(|e| e.to_string())?;
        builder
            .with_name("studio-pose")
            .with_global_thread_pool(pool)
            .build()
            .map_err(|e| e.to_string())
    })
    .map_err(|_| "onnxruntime could not be initialised (panic while loading)".to_string())??;
    *slot = Some((lib.to_path_buf(), env.clone()));
    Ok(env)
}

/// Every graph optimisation, as onnxruntime's Python package does by default (what the bench
/// compares against); the threads come from the environment's pool.
fn session(
    env: &Environment,
    model: &Path,
    inputs: &[&str],
    outputs: &[&str],
) -> std::result::Result<Session, String> {
    let session = Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?
        .commit_from_file(model)
        .map_err(|e| format!("{}: {e}", model.display()))?;
    for name in inputs {
        if !session.inputs().iter().any(|o| o.name() == *name) {
            return Err(format!("{} has no input `{name}`", model.display()));
        }
    }
    for name in outputs {
        if !session.outputs().iter().any(|o| o.name() == *name) {
            return Err(format!("{} has no output `{name}`", model.display()));
        }
    }
    Ok(session)
}

fn output(outputs: &ort::session::SessionOutputs<'_>, name: &str) -> Result<Output> {
    let value = outputs
        .get(name)
        .ok_or_else(|| run_failed(format!("no `{name}` output")))?;
    let (shape, data) = value.try_extract_tensor::<f32>().map_err(run_failed)?;
    Ok(Output {
        shape: shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .collect(),
        data: data.to_vec(),
    })
}

impl OrtModels {
    /// Any failure here (library, version, model) is reported as text; the caller falls back.
    pub(crate) fn load(
        lib: &Path,
        detector: &Path,
        keypoints: &Path,
    ) -> std::result::Result<Self, String> {
        let env = environment(lib)?;
        let version = std::panic::catch_unwind(ort::info)
            .ok()
            .and_then(|info| {
                info.split(',')
                    .find_map(|p| p.trim().strip_prefix("git-branch=rel-").map(str::to_string))
            })
            .unwrap_or_default();
        Ok(Self {
            det: Mutex::new(session(&env, detector, &["images"], &["output"])?),
            pose: Mutex::new(session(
                &env,
                keypoints,
                &["input"],
                &["simcc_x", "simcc_y"],
            )?),
            version,
        })
    }

    pub(crate) fn detect(&self, input: Vec<f32>) -> Result<Output> {
        let s = DET_SIZE as usize;
        let t = Tensor::from_array(([1usize, 3, s, s], input)).map_err(run_failed)?;
        let mut session = self.det.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs!["images" => t])
            .map_err(run_failed)?;
        output(&outputs, "output")
    }

    pub(crate) fn keypoints(&self, input: Vec<f32>) -> Result<(Output, Output)> {
        let t = Tensor::from_array(([1usize, 3, POSE_H, POSE_W], input)).map_err(run_failed)?;
        let mut session = self.pose.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs!["input" => t])
            .map_err(run_failed)?;
        Ok((output(&outputs, "simcc_x")?, output(&outputs, "simcc_y")?))
    }
}

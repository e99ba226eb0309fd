//! Runs the two ONNX models. The engine is RTen (pure Rust, builds from crates.io with nothing
//! downloaded, same code on Windows, macOS and Linux); see DESIGN.md for the measurements that
//! chose it. Only this file knows the engine, so a swap stays local.

use std::path::Path;

use rten::{Model, NodeId};
use rten_tensor::{Layout, NdTensor};
use studio_error::{Error, Result};

use crate::crop::{MODEL_POINTS, POSE_H, POSE_W};
use crate::detect::{DET_ANCHORS, DET_ROW, DET_SIZE};

pub const MODEL_LOAD_FAILED: &str = "pose.model_invalid";
pub const INFERENCE_FAILED: &str = "pose.inference_failed";

/// The detector and the keypoint model, loaded and checked against the shapes the pipeline uses.
pub struct PoseModels {
    det: Model,
    det_in: NodeId,
    det_out: NodeId,
    pose: Model,
    pose_in: NodeId,
    pose_x: NodeId,
    pose_y: NodeId,
}

impl std::fmt::Debug for PoseModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoseModels").finish_non_exhaustive()
    }
}

fn load(path: &Path) -> Result<Model> {
    Model::load_file(path).map_err(|e| {
        Error::new(
            MODEL_LOAD_FAILED,
            format!(
                "The pose model {} could not be loaded ({e}). Delete it from the data folder so \
                 the app downloads it again.",
                path.display()
            ),
        )
    })
}

fn node(model: &Model, name: &str, path: &Path) -> Result<NodeId> {
    model.find_node(name).ok_or_else(|| {
        Error::new(
            MODEL_LOAD_FAILED,
            format!(
                "The pose model {} has no `{name}` tensor, so it is not the expected DWPose file. \
                 Delete it so the app downloads it again.",
                path.display()
            ),
        )
    })
}

fn run_failed(e: impl std::fmt::Display) -> Error {
    Error::new(
        INFERENCE_FAILED,
        format!(
            "The pose model failed on a frame ({e}). Try the preview again; if it keeps failing, delete the pose models so they are downloaded again."
        ),
    )
}

impl PoseModels {
    /// Loads `yolox_l.onnx`-shaped and `dw-ll_ucoco_384.onnx`-shaped models.
    #[tracing::instrument]
    pub fn load(detector: &Path, keypoints: &Path) -> Result<Self> {
        let det = load(detector)?;
        let pose = load(keypoints)?;
        Ok(Self {
            det_in: node(&det, "images", detector)?,
            det_out: node(&det, "output", detector)?,
            pose_in: node(&pose, "input", keypoints)?,
            pose_x: node(&pose, "simcc_x", keypoints)?,
            pose_y: node(&pose, "simcc_y", keypoints)?,
            det,
            pose,
        })
    }

    /// `[1, 3, 640, 640]` in, `[1, 8400, 85]` out.
    pub fn detect(&self, input: Vec<f32>) -> Result<Vec<f32>> {
        let s = DET_SIZE as usize;
        let t = NdTensor::from_data([1, 3, s, s], input);
        let [out] = self
            .det
            .run_n(vec![(self.det_in, t.into())], [self.det_out], None)
            .map_err(run_failed)?;
        let out = out
            .into_tensor::<f32>()
            .ok_or_else(|| run_failed("the detector output is not f32"))?;
        if out.shape() != [1, DET_ANCHORS, DET_ROW] {
            return Err(run_failed(format!(
                "detector output shape {:?}",
                out.shape()
            )));
        }
        Ok(out.into_data())
    }

    /// `[1, 3, 384, 288]` in, `simcc_x [1, 133, 576]` and `simcc_y [1, 133, 768]` out.
    pub fn keypoints(&self, input: Vec<f32>) -> Result<(Vec<f32>, Vec<f32>)> {
        let t = NdTensor::from_data([1, 3, POSE_H, POSE_W], input);
        let [x, y] = self
            .pose
            .run_n(
                vec![(self.pose_in, t.into())],
                [self.pose_x, self.pose_y],
                None,
            )
            .map_err(run_failed)?;
        let x = x
            .into_tensor::<f32>()
            .ok_or_else(|| run_failed("simcc_x is not f32"))?;
        let y = y
            .into_tensor::<f32>()
            .ok_or_else(|| run_failed("simcc_y is not f32"))?;
        if x.shape() != [1, MODEL_POINTS, POSE_W * 2] || y.shape() != [1, MODEL_POINTS, POSE_H * 2]
        {
            return Err(run_failed(format!(
                "SimCC shapes {:?} {:?}",
                x.shape(),
                y.shape()
            )));
        }
        Ok((x.into_data(), y.into_data()))
    }
}

//! The RTen backend: pure Rust, always available, the fallback when no ONNX Runtime library is
//! found or it fails to load.

use std::path::Path;

use rten::{Model, NodeId};
use rten_tensor::{Layout, NdTensor};
use studio_error::{Error, Result};

use crate::crop::{POSE_H, POSE_W};
use crate::detect::DET_SIZE;
use crate::engine::{MODEL_LOAD_FAILED, Output, run_failed};

pub(crate) struct RtenModels {
    det: Model,
    det_in: NodeId,
    det_out: NodeId,
    pose: Model,
    pose_in: NodeId,
    pose_x: NodeId,
    pose_y: NodeId,
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

fn into_output(v: rten::Value, what: &str) -> Result<Output> {
    let t = v
        .into_tensor::<f32>()
        .ok_or_else(|| run_failed(format!("{what} is not f32")))?;
    Ok(Output {
        shape: t.shape().to_vec(),
        data: t.into_data(),
    })
}

impl RtenModels {
    pub(crate) fn load(detector: &Path, keypoints: &Path) -> Result<Self> {
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

    pub(crate) fn detect(&self, input: Vec<f32>) -> Result<Output> {
        let s = DET_SIZE as usize;
        let t = NdTensor::from_data([1, 3, s, s], input);
        let [out] = self
            .det
            .run_n(vec![(self.det_in, t.into())], [self.det_out], None)
            .map_err(run_failed)?;
        into_output(out, "the detector output")
    }

    pub(crate) fn keypoints(&self, input: Vec<f32>) -> Result<(Output, Output)> {
        let t = NdTensor::from_data([1, 3, POSE_H, POSE_W], input);
        let [x, y] = self
            .pose
            .run_n(
                vec![(self.pose_in, t.into())],
                [self.pose_x, self.pose_y],
                None,
            )
            .map_err(run_failed)?;
        Ok((into_output(x, "simcc_x")?, into_output(y, "simcc_y")?))
    }
}

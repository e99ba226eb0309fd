//! Local whole-body pose preview (DWPose family) so the user sees, before paying for a GPU,
//! whether the dance video will work: one person, whole body, found in every frame.
//!
//! Pipeline: [`detect`] (YOLOX letterbox, decoding, NMS) -> [`crop`] (affine crop, SimCC) ->
//! [`keypoints`] (neck, OpenPose order) -> [`draw`] (ComfyUI's DWPose look) and [`checks`].
//! [`preview`] runs it in the background over a video; [`download`] fetches the weights and
//! [`runtime`] the optional ONNX Runtime library that [`engine`] prefers;
//! [`export`] writes the skeleton and overlay videos.

pub mod checks;
pub mod crop;
pub mod detect;
pub mod download;
pub mod draw;
mod dwpose;
pub mod engine;
mod engine_ort;
mod engine_rten;
pub mod export;
mod image_ops;
pub mod keypoints;
pub mod pipeline;
pub mod preview;
pub mod runtime;

pub use checks::{CheckSummary, FrameCheck, Warning};
pub use download::{
    DownloadProgress, DwposeSources, ModelFile, ModelStatus, dwpose_files, dwpose_source,
    dwpose_status, dwpose_status_from, ensure_dwpose, ensure_dwpose_from, ensure_model,
    model_status, models_dir,
};
pub use engine::{Backend, PoseModels};
pub use export::{ExportReport, write_preview_videos};
pub use keypoints::{Keypoint, Person};
pub use pipeline::{FramePose, StageTimes, process_frame};
pub use preview::{
    PreviewFrame, PreviewFrameInfo, PreviewHandle, PreviewOptions, PreviewSummary, start_preview,
    start_with_source,
};

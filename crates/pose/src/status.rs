//! What is on disk for each download (the two models and the ONNX Runtime library), for a
//! "download the pose models" prompt.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::download::{ModelFile, dwpose_source, read_pin};

/// What is on disk for one download.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelStatus {
    /// The file name, as in [`crate::DownloadProgress::file`].
    pub file: String,
    /// Present and either matching its pin or not yet pinned (then verified on next use).
    pub ready: bool,
    /// Bytes already downloaded (the whole file when ready, else a resumable part).
    pub have: u64,
    /// The published size, exact or approximate, when known.
    pub expected: Option<u64>,
    /// The preview works without it (the ONNX Runtime library only makes it faster).
    pub optional: bool,
}

pub fn model_status(file: &ModelFile, dir: &Path) -> ModelStatus {
    let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).ok();
    let whole = len(dir.join(&file.file_name));
    let ready = match (whole, read_pin(dir, &file.file_name)) {
        (Some(n), Some(pin)) => n == pin.size,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let have = if ready {
        whole.unwrap_or(0)
    } else {
        len(dir.join(format!("{}.part", file.file_name))).unwrap_or(0)
    };
    ModelStatus {
        file: file.file_name.clone(),
        ready,
        have,
        expected: file.size.or(file.approx_size),
        optional: false,
    }
}

/// Every download [`crate::ensure_dwpose`] makes into `dir`: the detector, the keypoint model,
/// then the ONNX Runtime library when this platform has one to download (`optional`: the
/// preview is ready once the two models are).
pub fn dwpose_status(dir: &Path) -> Vec<ModelStatus> {
    let mut all: Vec<ModelStatus> = dwpose_source()
        .iter()
        .map(|f| model_status(f, dir))
        .collect();
    all.extend(crate::runtime::runtime_status(dir));
    all
}

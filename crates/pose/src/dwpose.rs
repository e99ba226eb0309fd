//! The DWPose set as a whole: what is fetched (the two models and the ONNX Runtime library),
//! what is on disk for a "download the pose models" prompt, and fetching what is missing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use studio_error::Result;

use crate::download::{DownloadProgress, ModelFile, dwpose_source, ensure_model, read_pin};
use crate::runtime;

/// Where [`ensure_dwpose_from`] fetches from.
#[derive(Debug, Clone)]
pub struct DwposeSources {
    /// Detector, keypoint model.
    pub models: [ModelFile; 2],
    /// The ONNX Runtime wheel; `None` when there is nothing to fetch (no wheel for this platform,
    /// a library given by `STUDIO_ONNXRUNTIME_LIB`, or switched off).
    pub runtime: Option<ModelFile>,
}

impl DwposeSources {
    /// [`dwpose_source`] and [`runtime::runtime_source`]: the published files, or the mirrors the
    /// environment names.
    pub fn from_env() -> Self {
        Self {
            models: dwpose_source(),
            runtime: runtime::runtime_source(),
        }
    }
}

/// The folder inside the app's data directory where the pose weights live (CLI and GUI share it).
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join("pose")
}

/// Detector and keypoint model paths in `dir` (the data directory's model folder), downloading
/// whichever is missing, then the ONNX Runtime library for this platform, all from
/// [`DwposeSources::from_env`]. The library is optional: failing to get it is logged, not
/// returned, and not retried for a while (so a preview without network does not wait on it).
pub async fn ensure_dwpose(
    client: &reqwest::Client,
    dir: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<(PathBuf, PathBuf)> {
    ensure_dwpose_from(client, &DwposeSources::from_env(), dir, on_progress).await
}

/// [`ensure_dwpose`] from the given sources.
pub async fn ensure_dwpose_from(
    client: &reqwest::Client,
    sources: &DwposeSources,
    dir: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<(PathBuf, PathBuf)> {
    let [det, pose] = &sources.models;
    let det = ensure_model(client, det, dir, on_progress).await?;
    let pose = ensure_model(client, pose, dir, on_progress).await?;
    if let Some(source) = &sources.runtime {
        runtime::ensure_runtime_quietly(client, source, dir, on_progress).await;
    }
    Ok((det, pose))
}

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

/// Every download [`ensure_dwpose`] makes into `dir`: the detector, the keypoint model, then
/// the ONNX Runtime library when there is one to download (`optional`: the preview is ready once
/// the two models are).
pub fn dwpose_status(dir: &Path) -> Vec<ModelStatus> {
    dwpose_status_from(&DwposeSources::from_env(), dir)
}

/// [`dwpose_status`] for the given sources.
pub fn dwpose_status_from(sources: &DwposeSources, dir: &Path) -> Vec<ModelStatus> {
    let mut all: Vec<ModelStatus> = sources
        .models
        .iter()
        .map(|f| model_status(f, dir))
        .collect();
    all.extend(
        sources
            .runtime
            .as_ref()
            .map(|r| runtime::runtime_status(r, dir)),
    );
    all
}

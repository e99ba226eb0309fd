//! Work on this computer that needs no pod, for `studio probe` and `studio preview`: the facts
//! of a photo or video, and a pose preview written as two videos. The window has its own
//! streaming preview (see `pose_preview`); both read the same models folder.

use crate::Studio;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use studio_error::{Error, Result};
use studio_media::MediaFacts;
use studio_pose::{
    DownloadProgress, ExportReport, PoseModels, PreviewFrame, PreviewOptions, write_preview_videos,
};

/// What `studio preview` asked for.
#[derive(Debug, Clone)]
pub struct PoseExport {
    pub video: PathBuf,
    pub out_dir: PathBuf,
    /// Process every n-th frame only (faster, coarser); 1 is every frame.
    pub every_nth: u32,
}

/// The facts the Create screen shows of `file` (kind, size, rate, length, checks).
pub fn probe(file: &Path) -> Result<MediaFacts> {
    studio_media::init();
    studio_media::probe(file)
}

impl Studio {
    /// Downloads the pose models when missing (resuming a cut download), then writes
    /// `skeleton.mp4` and `overlay.mp4` of the export's video into its folder. `cancel` set
    /// stops at the next frame.
    #[tracing::instrument(skip_all, fields(video = %export.video.display()))]
    pub async fn export_pose_preview(
        &self,
        export: PoseExport,
        mut on_download: impl FnMut(DownloadProgress) + Send,
        on_frame: impl FnMut(&PreviewFrame) + Send + 'static,
        cancel: std::sync::Arc<AtomicBool>,
    ) -> Result<(String, ExportReport)> {
        studio_media::init();
        let client = crate::pose_preview::model_client();
        let dir = studio_pose::download::models_dir(self.data_dir());
        let (det, pose) = studio_pose::ensure_dwpose(&client, &dir, &mut on_download).await?;
        tokio::task::spawn_blocking(move || {
            let models = PoseModels::load(&det, &pose)?;
            let opts = PreviewOptions {
                every_nth: export.every_nth.max(1),
                ..PreviewOptions::default()
            };
            let mut on_frame = on_frame;
            let report = write_preview_videos(
                &models,
                &export.video,
                &export.out_dir,
                opts,
                &cancel,
                &mut on_frame,
            )?;
            Ok((models.engine_name().to_string(), report))
        })
        .await
        .map_err(|e| Error::internal(format!("The pose preview stopped unexpectedly: {e}.")))?
    }

    /// GPU types on RunPod with their prices and availability (the demo's in demo mode).
    pub async fn gpus(&self) -> Result<Vec<studio_runpod::GpuType>> {
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        mode.runpod()?.ok_or_else(crate::no_key)?.list_gpus().await
    }

    /// `NAME=VALUE` texts typed by the manifest's `[params]` (a number where it wants one),
    /// each checked against its rules; the rest of the checks run when the render is planned.
    pub fn parse_params(
        &self,
        pairs: &[String],
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>> {
        let manifest = studio_comfy::Manifest::load(&crate::default_manifest(self.data_dir())?)?;
        let mut params = std::collections::BTreeMap::new();
        for pair in pairs {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                Error::new(
                    studio_error::codes::INVALID_INPUT,
                    format!("--param {pair:?} must look like NAME=VALUE, for example steps=8."),
                )
            })?;
            let name = name.trim();
            params.insert(
                name.to_string(),
                studio_comfy::parse_param(&manifest, name, value.trim())?,
            );
        }
        Ok(params)
    }
}

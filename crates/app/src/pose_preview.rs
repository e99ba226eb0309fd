//! The pose preview as the GUI uses it: the models' status and their download (cancellable,
//! resumable), and one preview at a time in the background that hands over every frame as JPEG
//! the moment it is ready, so the first skeleton shows after one frame's work.

use base64::Engine as _;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use studio_error::{Error, Result, codes};
use studio_pose::preview::{PreviewOptions, run_preview, video_source};
use studio_pose::{
    DownloadProgress, ModelStatus, PoseModels, PreviewFrame, PreviewFrameInfo, PreviewSummary,
};
use tokio_util::sync::CancellationToken;

use crate::Studio;

/// Preview frames per second of video. DWPose-L costs about a second per frame on a laptop CPU,
/// so every frame of a 30 s clip would take a quarter of an hour; four a second still catch a
/// dancer leaving the frame.
pub const PREVIEW_FRAMES_PER_SECOND: f64 = 4.0;
const JPEG_QUALITY: u8 = 80;

pub const MODELS_MISSING: &str = "pose.models_missing";
pub const DOWNLOAD_BUSY: &str = "pose.download_busy";

#[derive(Default)]
pub(crate) struct PoseState {
    /// Async so a preview that starts while a warm-up is loading waits for it instead of loading
    /// the models a second time.
    models: tokio::sync::Mutex<Option<Arc<PoseModels>>>,
    preview: Mutex<Option<Arc<AtomicBool>>>,
    download: Mutex<Option<CancellationToken>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoseModelsStatus {
    /// The two models are there: the preview can run.
    pub ready: bool,
    /// The faster engine's library (optional) is not downloaded yet.
    pub engine_upgrade: bool,
    pub files: Vec<ModelStatus>,
    /// Sum of the published sizes, for "about 350 MB" in the prompt.
    pub expected_bytes: u64,
    pub dir: PathBuf,
    pub downloading: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PreviewEvent {
    /// The models are being read (first preview since the app started).
    Loading,
    Started {
        /// How many frames the preview will process, when the video says how long it is.
        total_frames: Option<u64>,
        every_nth: u32,
        /// Which inference engine runs (`onnxruntime` or the built-in `rten`).
        engine: String,
    },
    Frame {
        info: PreviewFrameInfo,
        /// `data:` URLs, so the webview needs no file access.
        picture: String,
        skeleton: String,
    },
    Finished {
        summary: PreviewSummary,
    },
}

pub type PreviewSink = Arc<dyn Fn(PreviewEvent) + Send + Sync>;

fn data_url(jpeg: &[u8]) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

fn frame_event(f: &PreviewFrame) -> Result<PreviewEvent> {
    Ok(PreviewEvent::Frame {
        info: f.info(),
        picture: data_url(&studio_pose::preview::encode_jpeg(&f.frame, JPEG_QUALITY)?),
        skeleton: data_url(&f.skeleton_jpeg(JPEG_QUALITY)?),
    })
}

/// The HTTP client for the pose models' downloads.
pub(crate) fn model_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("steadydancer-studio/", env!("CARGO_PKG_VERSION")))
        // A model server that stops sending mid-file must end the download (it resumes next
        // time), not hang it.
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

fn cancelled(what: &str) -> Error {
    Error::new(codes::CANCELLED, what.to_string())
}

impl Studio {
    fn pose_dir(&self) -> PathBuf {
        studio_pose::models_dir(self.data_dir())
    }

    pub fn pose_models_status(&self) -> PoseModelsStatus {
        let dir = self.pose_dir();
        let files = studio_pose::dwpose_status(&dir);
        PoseModelsStatus {
            ready: files.iter().all(|f| f.ready || f.optional),
            engine_upgrade: files.iter().any(|f| f.optional && !f.ready),
            expected_bytes: files.iter().filter_map(|f| f.expected).sum(),
            files,
            dir,
            downloading: lock(&self.inner.pose.download).is_some(),
        }
    }

    /// Downloads whichever model is missing (resuming a cut download), then the ONNX Runtime
    /// library. Only one at a time. When only the library fails, the error says the preview works
    /// on the built-in engine, and the status shows the models ready.
    #[tracing::instrument(skip_all)]
    pub async fn download_pose_models(
        &self,
        mut on_progress: impl FnMut(DownloadProgress) + Send,
    ) -> Result<PoseModelsStatus> {
        let token = {
            let mut slot = lock(&self.inner.pose.download);
            if slot.is_some() {
                return Err(Error::new(
                    DOWNLOAD_BUSY,
                    "The pose models are already downloading; wait for that download to finish.",
                ));
            }
            slot.insert(CancellationToken::new()).clone()
        };
        let client = model_client();
        let dir = self.pose_dir();
        // The models first; then the optional engine library, whose failure the user clicked for
        // and must see (ensure_dwpose would only log it).
        let sources = studio_pose::DwposeSources::from_env();
        let models_only = studio_pose::DwposeSources {
            runtime: None,
            ..sources.clone()
        };
        let fetch = async {
            studio_pose::ensure_dwpose_from(&client, &models_only, &dir, &mut on_progress).await?;
            if let Some(runtime) = &sources.runtime {
                studio_pose::runtime::ensure_runtime(&client, runtime, &dir, &mut on_progress)
                    .await?;
            }
            Ok(())
        };
        let outcome = tokio::select! {
            r = fetch => r,
            () = token.cancelled() => Err(cancelled(
                "The download of the pose models was stopped. It resumes where it stopped next time.",
            )),
        };
        *lock(&self.inner.pose.download) = None;
        // New files: the next preview reads them afresh.
        *self.inner.pose.models.lock().await = None;
        outcome?;
        Ok(self.pose_models_status())
    }

    pub fn cancel_pose_download(&self) -> bool {
        lock(&self.inner.pose.download)
            .as_ref()
            .map(CancellationToken::cancel)
            .is_some()
    }

    async fn pose_models(&self, sink: &PreviewSink) -> Result<Arc<PoseModels>> {
        let mut slot = self.inner.pose.models.lock().await;
        if let Some(m) = slot.clone() {
            return Ok(m);
        }
        let status = self.pose_models_status();
        if !status.ready {
            return Err(Error::new(
                MODELS_MISSING,
                format!(
                    "The pose preview needs the DWPose models (about {} MB, downloaded once). \
                     Click \"Download pose models\", or render without a preview.",
                    status.expected_bytes / 1_000_000
                ),
            ));
        }
        sink(PreviewEvent::Loading);
        // Files placed by hand are verified and pinned here. Nothing is downloaded: the optional
        // engine library comes only with the user's click, never as a surprise wait.
        let sources = studio_pose::DwposeSources {
            runtime: None,
            ..studio_pose::DwposeSources::from_env()
        };
        let (det, pose) = studio_pose::ensure_dwpose_from(
            &reqwest::Client::new(),
            &sources,
            &self.pose_dir(),
            &mut |_| {},
        )
        .await?;
        let models = tokio::task::spawn_blocking(move || PoseModels::load(&det, &pose))
            .await
            .map_err(|e| Error::internal(format!("Loading the pose models stopped: {e}.")))??;
        let models = Arc::new(models);
        *slot = Some(models.clone());
        Ok(models)
    }

    /// Starts reading the models in the background when they are downloaded, so a preview that
    /// follows (a file being dragged over the window) shows its first skeleton sooner.
    /// Returns the loading task, or `None` when the models are not downloaded.
    pub fn warm_pose_models(&self) -> Option<tokio::task::JoinHandle<()>> {
        if !self.pose_models_status().ready {
            return None;
        }
        let studio = self.clone();
        Some(tokio::spawn(async move {
            let quiet: PreviewSink = Arc::new(|_| {});
            if let Err(e) = studio.pose_models(&quiet).await {
                tracing::warn!("warming the pose models failed: {}", e.chain());
            }
        }))
    }

    /// Previews `video` (a file the user chose), sending every processed frame to `sink`, and
    /// returns the checks. A newer preview (or [`Studio::cancel_pose_preview`]) stops this one;
    /// the summary then says `cancelled` and covers the frames done so far.
    #[tracing::instrument(skip_all, fields(video = %video.display()))]
    pub async fn pose_preview(&self, video: PathBuf, sink: PreviewSink) -> Result<PreviewSummary> {
        let video = self.chosen_input(&video)?;
        let cancel = Arc::new(AtomicBool::new(false));
        if let Some(old) = lock(&self.inner.pose.preview).replace(cancel.clone()) {
            old.store(true, Ordering::Relaxed);
        }
        let result = self.run_pose_preview(video, sink, cancel.clone()).await;
        let mut slot = lock(&self.inner.pose.preview);
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cancel)) {
            *slot = None;
        }
        result
    }

    async fn run_pose_preview(
        &self,
        video: PathBuf,
        sink: PreviewSink,
        cancel: Arc<AtomicBool>,
    ) -> Result<PreviewSummary> {
        let models = self.pose_models(&sink).await?;
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled("The pose preview was stopped."));
        }
        tokio::task::spawn_blocking(move || {
            let facts = studio_media::probe(&video)?;
            let opts = PreviewOptions::sampled(
                facts.frame_rate.unwrap_or(25.0),
                PREVIEW_FRAMES_PER_SECOND,
            );
            let every = u64::from(opts.every_nth);
            sink(PreviewEvent::Started {
                total_frames: facts.frame_count.map(|n| n.div_ceil(every)),
                every_nth: opts.every_nth,
                engine: models.engine_name().to_string(),
            });
            let mut failure = None;
            let mut on_frame = |f: PreviewFrame| match frame_event(&f) {
                Ok(e) => sink(e),
                Err(e) => {
                    // Nothing more could be shown: stop rather than work on unseen frames.
                    failure = Some(e);
                    cancel.store(true, Ordering::Relaxed);
                }
            };
            let summary = run_preview(&models, video_source(video, opts), &cancel, &mut on_frame)?;
            if let Some(e) = failure {
                return Err(e);
            }
            sink(PreviewEvent::Finished {
                summary: summary.clone(),
            });
            Ok(summary)
        })
        .await
        .map_err(|e| Error::internal(format!("The pose preview stopped unexpectedly: {e}.")))?
    }

    /// Stops the running preview, if any.
    pub fn cancel_pose_preview(&self) -> bool {
        lock(&self.inner.pose.preview)
            .as_ref()
            .map(|c| c.store(true, Ordering::Relaxed))
            .is_some()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! The studio as one object that the desktop shell and the CLI both drive: it reads Settings,
//! finds the key, opens the journals, and builds the pod provider and the render engine for the
//! mode the user chose (RunPod, their own ComfyUI, or the built-in demo).

pub mod batch;
mod cleanup;
mod demo;
pub mod guard;
pub mod instance;
mod local_tools;
mod media_server;
pub mod model_cache;
mod modes;
mod plan;
pub mod pods_view;
pub mod pose_preview;
mod running;
mod startup;
mod warm;
pub mod window;
mod workflows;

pub use batch::{BatchPlan, BatchRequest, PlannedRender, QueueItem};
pub use demo::Demo;
pub use media_server::MediaServer;
pub use model_cache::ModelCacheStatus;
pub use plan::RenderOptions;
pub use pods_view::PodRow;
pub use pose_preview::{PoseModelsStatus, PreviewEvent, PreviewSink};
pub use startup::ResumableBatch;
pub use studio_pose::{DownloadProgress, PreviewSummary};
pub use workflows::{default_lock, default_manifest};

// What the CLI names: it reaches the engine only through this crate.
pub use local_tools::{PoseExport, probe};
pub use studio_jobs::journal::{format_utc, now_ms};
pub use studio_jobs::{
    BatchEstimate, BatchOutcome, BatchRecord, ErrorInfo, EventSink, GalleryEntry, JobEvent,
    JobRecord, Recovered, RenderResult, Stage, no_events,
};
pub use studio_media::{MediaFacts, MediaKind};
pub use studio_pods::SweptPod;
pub use studio_pose::{ExportReport, PreviewFrame};
pub use studio_runpod::GpuType;

/// The one error for "no RunPod key", whichever screen or command needed it.
pub const NO_KEY: &str = "secrets.no_key";

pub(crate) fn no_key() -> Error {
    Error::new(
        NO_KEY,
        "Rendering on RunPod and managing pods need your RunPod API key. Add it in Settings or \
         set RUNPOD_API_KEY (or render on your own ComfyUI server, or in demo mode).",
    )
}

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use studio_core::config::Endpoints;
use studio_core::settings::Settings;
use studio_error::{Error, Result};

/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Studio {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    endpoints: Endpoints,
    /// `--demo` on the command line or `STUDIO_DEMO=1`: demo whatever Settings say.
    force_demo: bool,
    demo: tokio::sync::OnceCell<Demo>,
    modes: Mutex<HashMap<bool, Arc<modes::ModeCtx>>>,
    running: Mutex<HashMap<String, running::Running>>,
    pose: pose_preview::PoseState,
    videos: MediaServer,
    startup: tokio::sync::OnceCell<Vec<Recovered>>,
    /// The RunPod key as read when clean-up was armed (see `cleanup`).
    cleanup_key: std::sync::OnceLock<Option<studio_error::Sensitive<String>>>,
    window: window::WindowState,
}

impl std::fmt::Debug for Studio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Studio")
            .field("data_dir", &self.inner.data_dir)
            .field("force_demo", &self.inner.force_demo)
            .finish_non_exhaustive()
    }
}

pub const DEMO_ENV: &str = "STUDIO_DEMO";

impl Studio {
    pub fn new(data_dir: PathBuf, force_demo: bool) -> Result<Self> {
        let force_demo = force_demo
            || std::env::var(DEMO_ENV).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        Ok(Self {
            inner: Arc::new(Inner {
                endpoints: Endpoints::from_env()?,
                data_dir,
                force_demo,
                demo: tokio::sync::OnceCell::new(),
                modes: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                pose: pose_preview::PoseState::default(),
                videos: MediaServer::default(),
                startup: tokio::sync::OnceCell::new(),
                cleanup_key: std::sync::OnceLock::new(),
                window: window::WindowState::default(),
            }),
        })
    }

    /// A URL the window's `<video>` can play on every platform's webview (see `media_server`);
    /// only for outputs granted to the window (see `window`).
    pub async fn video_url(&self, video: &Path) -> Result<String> {
        self.inner.videos.url_for(video).await
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub fn settings(&self) -> Result<Settings> {
        Settings::load(&self.inner.data_dir)
    }

    /// Stores what the preferences form sent (validated, written atomically). The model volume
    /// changes only through [`Studio::keep_models`]: a form holding an older copy, or restored
    /// defaults, must not lose track of a volume that bills until it is deleted.
    pub fn save_settings(&self, settings: Settings) -> Result<Settings> {
        let mut settings = settings.validated()?;
        if let Ok(current) = self.settings() {
            settings.network_volume_id = current.network_volume_id;
            settings.network_volume_data_center = current.network_volume_data_center;
        }
        settings.save(&self.inner.data_dir)?;
        Ok(settings)
    }

    /// Demo when forced at start or chosen in Settings.
    pub fn is_demo(&self, settings: &Settings) -> bool {
        self.inner.force_demo || settings.demo_mode
    }

    pub fn demo_forced(&self) -> bool {
        self.inner.force_demo
    }

    /// Whether this process runs the demo's stand-ins (they start on the first act that needs
    /// them, never for a view of the journal).
    pub fn demo_running(&self) -> bool {
        self.inner.demo.initialized()
    }

    /// The context for the mode Settings choose now (journals, endpoints, key).
    pub(crate) async fn mode(&self, settings: &Settings) -> Result<modes::Mode> {
        modes::resolve(self, settings).await
    }

    /// Before the app quits: cancels renders (each tears its pod down), waits up to a minute
    /// for them, then terminates the pods this install started that are still live.
    pub async fn shut_down(&self) {
        self.cancel_all();
        for _ in 0..120 {
            if self.running_jobs() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        // Only pods this install started: another computer's renders on the same account are
        // not ours to stop, and with nothing live no network is needed to quit.
        let left = self.live_pod_names().unwrap_or_else(|e| {
            tracing::error!("reading the pods journal at exit: {}", e.chain());
            Default::default()
        });
        if let Err(e) = self.terminate_left_behind(&left).await {
            tracing::error!("terminating pods at exit: {}", e.chain());
        }
    }

    /// Waits until the system asks the process to end (see `signals`), then runs `shut_down`.
    /// Later requests are logged; they do not cut the clean-up short.
    pub async fn shut_down_when_the_system_asks(&self) {
        let signal = studio_core::signals::termination_requested().await;
        tracing::warn!(
            signal,
            renders = self.running_jobs(),
            "the system asked the app to end: stopping renders and terminating pods first"
        );
        tokio::spawn(async {
            loop {
                let signal = studio_core::signals::termination_requested().await;
                tracing::warn!(
                    signal,
                    "still terminating pods; the app ends once they are gone"
                );
            }
        });
        self.shut_down().await;
    }

    pub async fn gallery(&self) -> Result<Vec<GalleryEntry>> {
        self.journal_now()?.gallery_list()
    }

    pub async fn gallery_delete(&self, id: &str, delete_files: bool) -> Result<()> {
        self.journal_now()?.gallery_delete(id, delete_files)
    }

    pub async fn jobs(&self) -> Result<Vec<studio_jobs::JobRecord>> {
        self.journal_now()?.list()
    }

    /// Settles every render a crash or a closed window left unfinished (resume or terminate),
    /// in the real RunPod world whatever Settings say (see `cleanup`).
    pub async fn recover(&self, sink: EventSink) -> Result<Vec<Recovered>> {
        self.recover_keeping(sink, false).await
    }

    /// Checks a RunPod key against RunPod before it is stored.
    pub async fn validate_key(&self, key: &studio_error::Sensitive<String>) -> Result<()> {
        let settings = self.settings()?;
        if self.is_demo(&settings) {
            return Ok(());
        }
        studio_runpod::RunPodClient::new(self.inner.endpoints.runpod_api_url.clone(), key.clone())?
            .validate_key()
            .await
    }
}

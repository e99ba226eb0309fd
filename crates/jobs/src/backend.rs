//! The small traits the job talks through. A RunPod pod, a user's own ComfyUI, or a future
//! backend (Serverless, several pods) is a new implementation of these, not a new state machine.

use crate::spec::JobSpec;
use crate::stage::Stage;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use studio_comfy::{OutputKind, SaveAs};
use studio_error::Result;
use tokio_util::sync::CancellationToken;

/// Bytes done and total (when known), called as a transfer proceeds.
pub type ProgressFn<'a> = &'a (dyn Fn(u64, Option<u64>) + Send + Sync);

/// File name, bytes done and total, called as downloads proceed.
pub type FileProgressFn<'a> = &'a (dyn for<'s> Fn(&'s str, u64, Option<u64>) + Send + Sync);

/// A GPU type and its hourly price, read from the catalog at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub gpu_id: String,
    pub rate_usd_per_hour: f64,
}

/// A pod the provider created (or found), known by id.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedPod {
    pub pod_id: String,
    pub name: String,
    pub gpu_id: String,
    pub rate_usd_per_hour: f64,
}

/// A pod whose ComfyUI answers with everything the workflow needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedPod {
    pub pod: CreatedPod,
    pub comfy_url: String,
}

/// What a provider reports while it starts a pod.
#[derive(Debug, Clone, PartialEq)]
pub enum PodProgress {
    /// RunPod accepted the pod: from here on it bills, and the job journals it at once.
    Created(CreatedPod),
    /// The provider moved to a readiness stage (`InstallingSoftware`, `DownloadingModels`,
    /// `WaitingForComfy`, `WaitingForModels`).
    Stage(Stage),
    /// What the pod's own start-up reports: a line for people and, while models download, bytes.
    Setup(PodSetup),
}

/// The pod's start-up progress, from its bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSetup {
    pub message: String,
    pub done_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

/// What a provider knows about a pod right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Provisioning or starting: billing may already run.
    Starting,
    Running,
    /// It exists but its container stopped or errored: useless, and it may still bill.
    Broken,
    /// Terminated or not found: no longer billing.
    Gone,
}

/// Starts and ends GPU machines. Implemented over studio-pods for RunPod.
#[async_trait]
pub trait PodProvider: Send + Sync {
    /// The first available candidate's price (for the estimate before the user confirms);
    /// `gpu_ids` empty means the provider's own candidates.
    async fn quote(&self, gpu_ids: &[String]) -> Result<Quote>;

    /// What a new pod for a render of `manifest` does before it can render (for the
    /// estimate): an image of unknown start-up unless the provider knows better.
    fn cold_start(&self, _manifest: &std::path::Path) -> crate::estimate::ColdStart {
        crate::estimate::ColdStart::OwnImage
    }
    /// Creates a pod (walking `gpu_ids` on no capacity) and waits until ComfyUI answers with
    /// every node and model `manifest` needs: the one readiness wait a new pod gets.
    /// `owner` (`batch:<id>` or `job:<id>`) is written to the pods journal. `on` hears
    /// `Created` the moment the pod exists. On any error or cancel the provider terminates the
    /// pod it made before returning.
    async fn start(
        &self,
        owner: &str,
        gpu_ids: &[String],
        manifest: &Path,
        on: &(dyn Fn(PodProgress) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<StartedPod>;
    async fn state(&self, pod_id: &str) -> Result<PodState>;
    /// Price and GPU of a pod the user started by hand (shown, never charged to the job).
    async fn describe(&self, pod_id: &str) -> Result<CreatedPod>;
    /// ComfyUI's address on that pod (through the RunPod proxy).
    fn comfy_url(&self, pod_id: &str) -> Result<String>;
    /// Terminates and confirms the pod is gone; a pod already gone is success.
    async fn terminate(&self, pod_id: &str) -> Result<()>;

    /// Pods the user started by hand that are running, ready and idle (no owner): a lease
    /// takes one of these before it starts a new pod.
    async fn warm_pods(&self) -> Result<Vec<CreatedPod>> {
        Ok(Vec::new())
    }

    /// Takes a warm pod for `owner` only if nobody holds it now; true when this call took it.
    fn claim_warm(&self, _pod_id: &str, _owner: &str) -> Result<bool> {
        Ok(false)
    }

    /// Marks who holds the pod (`None`: the user again, and its idle clock restarts).
    fn set_owner(&self, _pod_id: &str, _owner: Option<&str>) -> Result<()> {
        Ok(())
    }

    /// New pods mount one shared model volume, which the first pod fills.
    fn shares_volume(&self) -> bool {
        false
    }

    /// Terminates every pod one of `owners` holds that is not known to be gone, a create in
    /// flight at a crash included; returns how many were ended.
    async fn end_held(&self, _owners: &std::collections::HashSet<String>) -> Result<usize> {
        Ok(0)
    }
}

/// One event while a prompt runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunEvent {
    /// The server began executing our prompt.
    Started,
    /// Sampling step `value` of `max`.
    Progress { value: u64, max: u64 },
}

/// Where a prompt stands on the server (`/queue` and `/history` together).
#[derive(Debug, Clone, PartialEq)]
pub enum PromptStatus {
    /// The server does not know it (restarted, or never received it).
    Unknown,
    Pending,
    Running,
    Done,
    Failed(String),
}

/// A ComfyUI server with one workflow manifest loaded.
#[async_trait]
pub trait RenderServer: Send + Sync {
    /// ComfyUI answers (`/system_stats`). `Ok(false)` while it is not up yet (proxy 502).
    async fn is_up(&self) -> Result<bool>;
    /// Custom nodes and model files the manifest needs that the server lacks; empty = ready.
    async fn missing_requirements(&self) -> Result<Vec<String>>;
    /// Uploads the file for the manifest input `input`; returns the name the server gave it.
    async fn upload(&self, input: &str, path: &Path, progress: ProgressFn<'_>) -> Result<String>;
    /// Queues the workflow with the uploaded names and the user's params, under `prompt_id`
    /// (chosen by the job and journaled first), asking the server to name its files after
    /// `save.render_id`. Returns the id the server uses.
    async fn queue(
        &self,
        prompt_id: &str,
        save: &SaveAs,
        uploads: &BTreeMap<String, String>,
        params: &BTreeMap<String, serde_json::Value>,
    ) -> Result<String>;
    async fn status(&self, prompt_id: &str) -> Result<PromptStatus>;
    /// Follows the prompt until it finishes (Ok) or fails (Err). Survives socket drops.
    async fn follow(
        &self,
        prompt_id: &str,
        on_event: &(dyn Fn(RunEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<()>;
    /// Downloads every output the manifest names into `save.dir`, under names of this render's
    /// own that replace no file; returns the files.
    async fn download(
        &self,
        prompt_id: &str,
        save: &SaveAs,
        progress: FileProgressFn<'_>,
    ) -> Result<Vec<PathBuf>>;
    /// Stops our prompt (interrupt if running, remove from the queue if pending).
    async fn interrupt(&self, prompt_id: &str) -> Result<()>;
}

/// Makes a [`RenderServer`] for a URL and a job's manifest.
pub trait ServerConnector: Send + Sync {
    fn connect(&self, url: &str, manifest: &Path) -> Result<Arc<dyn RenderServer>>;
}

/// The inputs as they will be uploaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreparedInputs {
    /// Local file per manifest input name (e.g. `reference_image`, `driving_video`).
    pub files: BTreeMap<String, PathBuf>,
    /// Frames the render will produce (for the estimate and the budget).
    pub frames: u32,
    /// Workflow params that follow from the prepared files (size, frame rate, frame count);
    /// the user's own params win over these.
    pub params: BTreeMap<String, serde_json::Value>,
}

/// Local media work: checks, normalising, verifying the result, thumbnails. Over studio-media.
#[async_trait]
pub trait MediaPrep: Send + Sync {
    /// Checks the photo and video; an error says what to fix.
    async fn check(&self, spec: &JobSpec) -> Result<()>;
    /// Frames the render will have (for the estimate), read before any work is done.
    async fn expected_frames(&self, spec: &JobSpec) -> Result<u32>;
    /// Normalises the inputs into `work_dir`; `progress` is 0.0..=1.0.
    async fn normalise(
        &self,
        spec: &JobSpec,
        work_dir: &Path,
        progress: &(dyn Fn(f32) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<PreparedInputs>;
    /// Confirms a downloaded file is what the workflow promised: a playable video, a still
    /// picture, or either when `kind` is `None` (a workflow whose outputs differ).
    async fn verify(&self, file: &Path, kind: Option<OutputKind>) -> Result<()>;
    /// Writes the first frame as a JPEG; `Ok(None)` when the file has no frame to show.
    async fn thumbnail(&self, video: &Path, out: &Path) -> Result<Option<PathBuf>>;
}

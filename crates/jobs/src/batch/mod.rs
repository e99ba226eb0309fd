//! The render queue: batches of renders over up to `max_pods` leases, each lease one pod
//! (warm or new) that runs renders back to back, two in flight. A lone render is a queue of one.
//! See `crates/jobs/QUEUE.md` for the rules.

mod acquire;
mod api;
mod control;
mod cost;
pub(crate) mod journal;
mod lease;
mod render;
mod scheduler;

use crate::estimate::Estimate;
use crate::events::ErrorInfo;
use crate::spec::JobSpec;
use crate::stage::Stage;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use control::BatchControl;
pub use journal::BATCH_NOT_FOUND;

/// What `submit_batch` journals: the renders in queue order, the pods at once and one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSpec {
    pub renders: Vec<JobSpec>,
    pub max_pods: u32,
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEstimate {
    /// One per render, in order, without any cold start.
    pub renders: Vec<Estimate>,
    /// Pods the batch will use: min(max_pods, renders).
    pub pods: u32,
    /// The cold starts of those pods.
    pub cold_start_usd: f64,
    /// Renders + cold starts.
    pub total_usd: f64,
    /// Expected time to the last result.
    pub wall_secs: f64,
    /// What each new pod does before its first render; none when the batch rents no pod.
    #[serde(default)]
    pub pod_start: Option<PodStart>,
}

/// A new pod's start as the confirmation details it: the same figures a lone render's
/// [`Estimate`] carries for its cold start.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStart {
    /// Create to ready.
    pub secs: f64,
    /// What those seconds cost, for each new pod.
    pub usd_per_pod: f64,
    /// Model bytes each new pod downloads (none for an image of the user's own), and the time
    /// and money that takes (inside `secs` and `usd_per_pod`).
    pub download_bytes: u64,
    pub download_secs: f64,
    pub download_usd: f64,
    /// A network volume keeps the environment: only the first pod on it installs and
    /// downloads, a later one starts in `later_secs`.
    pub volume: bool,
    pub later_secs: Option<f64>,
}

impl PodStart {
    /// From one render's estimate with the cold start (`cold`) and without it (`warm`).
    pub(crate) fn of(cold: &Estimate, warm: &Estimate) -> Self {
        Self {
            secs: cold.startup_secs,
            usd_per_pod: cold.cost_usd - warm.cost_usd,
            download_bytes: cold.download_bytes,
            download_secs: cold.download_secs,
            download_usd: cold.download_usd,
            volume: cold.later_startup_secs.is_some(),
            later_secs: cold.later_startup_secs,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRecord {
    pub id: String,
    pub created_ms: i64,
    pub max_pods: u32,
    pub budget_usd: Option<f64>,
    pub estimate: Option<BatchEstimate>,
    /// In queue order.
    pub job_ids: Vec<String>,
    pub finished_ms: Option<i64>,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderResult {
    pub job_id: String,
    pub image: PathBuf,
    pub video: PathBuf,
    pub stage: Stage,
    pub outputs: Vec<PathBuf>,
    pub cost_usd: f64,
    pub error: Option<ErrorInfo>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOutcome {
    pub batch: BatchRecord,
    pub renders: Vec<RenderResult>,
}

impl RenderResult {
    pub(crate) fn of(job: &crate::record::JobRecord) -> Self {
        Self {
            job_id: job.id.clone(),
            image: job.spec.image.clone(),
            video: job.spec.video.clone(),
            stage: job.stage,
            outputs: job.outputs.clone(),
            cost_usd: job.cost_usd.unwrap_or(0.0),
            error: job.error_code.clone().map(|code| ErrorInfo {
                code,
                message: job.error_message.clone().unwrap_or_default(),
            }),
        }
    }
}

/// Who holds a lease, as written in the pods journal's owner column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    Batch(String),
    Job(String),
}

impl Owner {
    pub fn label(&self) -> String {
        match self {
            Owner::Batch(id) => format!("batch:{id}"),
            Owner::Job(id) => format!("job:{id}"),
        }
    }
    pub fn batch_id(&self) -> Option<&str> {
        match self {
            Owner::Batch(id) => Some(id),
            Owner::Job(_) => None,
        }
    }
}

/// The same error again (errors carry their cause only once, for the log).
pub(crate) fn copy_err(e: &studio_error::Error) -> studio_error::Error {
    studio_error::Error::new(e.code().to_string(), e.message())
}

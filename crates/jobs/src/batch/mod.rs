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

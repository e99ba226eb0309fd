//! What a running job tells the GUI (through a Tauri Channel) and the CLI (progress bars).

use crate::stage::Stage;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Where events go. The GUI forwards them to a `Channel`, the CLI to its progress bars.
pub type EventSink = Arc<dyn Fn(JobEvent) + Send + Sync>;

/// A sink that drops everything (recovery with nobody watching, tests).
pub fn no_events() -> EventSink {
    Arc::new(|_| {})
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Upload,
    Download,
}

/// `{code, message}` of the error that ended a job, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

impl From<&studio_error::Error> for ErrorInfo {
    fn from(e: &studio_error::Error) -> Self {
        Self {
            code: e.code().to_string(),
            message: e.message().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum JobEvent {
    /// A new stage began. `previous_ms` is how long the stage before it took.
    Stage {
        job_id: String,
        stage: Stage,
        previous: Option<Stage>,
        previous_ms: i64,
        /// Milliseconds since the job was created.
        elapsed_ms: i64,
    },
    /// Progress of local work in the current stage (normalising), 0.0..=1.0.
    Progress {
        job_id: String,
        stage: Stage,
        fraction: f32,
    },
    /// The pod's own start-up (installing, downloading models), as its bootstrap reports it.
    PodSetup {
        job_id: String,
        message: String,
        done_bytes: Option<u64>,
        total_bytes: Option<u64>,
    },
    /// ComfyUI's sampler progress (step x of y).
    Sampling {
        job_id: String,
        value: u64,
        max: u64,
    },
    /// Bytes moved for one file; throttled to changes above 0.5 %.
    Transfer {
        job_id: String,
        direction: Direction,
        file: String,
        done: u64,
        total: Option<u64>,
    },
    /// The live meter: rate captured at create x seconds the pod has existed.
    Cost {
        job_id: String,
        usd: f64,
        rate_usd_per_hour: f64,
        elapsed_secs: f64,
    },
    /// A batch began (or resumed): its renders in queue order.
    BatchStarted {
        batch_id: String,
        job_ids: Vec<String>,
    },
    /// What the batch's leases billed so far, against its budget.
    BatchCost {
        batch_id: String,
        usd: f64,
        budget_usd: Option<f64>,
    },
    /// A lease of the batch changed: its pod is starting, ready, released or terminated.
    Lease {
        batch_id: String,
        pod_id: String,
        gpu_id: String,
        rate_usd_per_hour: f64,
        state: LeaseState,
    },
    /// Every render of the batch ended; `cost_usd` is what its leases billed.
    BatchFinished {
        batch_id: String,
        done: u32,
        failed: u32,
        cancelled: u32,
        cost_usd: f64,
    },
    /// The job ended: `stage` is done, failed, cancelled or interrupted.
    Finished {
        job_id: String,
        stage: Stage,
        outputs: Vec<PathBuf>,
        cost_usd: f64,
        error: Option<ErrorInfo>,
    },
}

/// Where a lease's pod stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LeaseState {
    /// A new pod exists and bills; it is not ready yet.
    Starting,
    Ready,
    /// A pod the user started by hand, handed back (owner cleared, still running).
    Released,
    /// A pod the lease started, terminated and confirmed gone.
    Terminated,
}

/// Keeps transfer events to changes above 0.5 % (and always the first and last).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<u64>,
}

impl Throttle {
    pub(crate) fn should_emit(&mut self, done: u64, total: Option<u64>) -> bool {
        let emit = match (self.last, total) {
            (None, _) => true,
            (Some(_), Some(t)) if done >= t => true,
            (Some(last), Some(t)) if t > 0 => (done.saturating_sub(last)) as f64 / t as f64 > 0.005,
            // Unknown size: every 1 MiB.
            (Some(last), _) => done.saturating_sub(last) >= 1 << 20,
        };
        if emit {
            self.last = Some(done);
        }
        emit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_camel_case_with_an_event_tag() {
        let e = JobEvent::Sampling {
            job_id: "j".into(),
            value: 2,
            max: 4,
        };
        assert_eq!(
            serde_json::to_value(&e).expect("serialise"),
            serde_json::json!({"event": "sampling", "jobId": "j", "value": 2, "max": 4})
        );
        let s = JobEvent::Stage {
            job_id: "j".into(),
            stage: Stage::WaitingForComfy,
            previous: Some(Stage::StartingPod),
            previous_ms: 10,
            elapsed_ms: 20,
        };
        let v = serde_json::to_value(&s).expect("serialise");
        assert_eq!(v["stage"], "waitingForComfy");
        assert_eq!(v["previousMs"], 10);
    }

    #[test]
    fn throttle_skips_small_steps_but_keeps_first_and_last() {
        let mut t = Throttle::default();
        let total = Some(1000);
        assert!(t.should_emit(0, total));
        assert!(!t.should_emit(5, total));
        assert!(t.should_emit(6, total));
        assert!(!t.should_emit(8, total));
        assert!(t.should_emit(1000, total));
        let mut u = Throttle::default();
        assert!(u.should_emit(1, None));
        assert!(!u.should_emit(1000, None));
        assert!(u.should_emit(2 << 20, None));
    }
}

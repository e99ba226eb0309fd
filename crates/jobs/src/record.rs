//! A job as the journal knows it, and the per-stage time split.

use crate::estimate::{Estimate, cost_for};
use crate::spec::JobSpec;
use crate::stage::Stage;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// When a stage began and how long it lasted (`ended_ms` absent while it runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageTime {
    pub stage: Stage,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
}

impl StageTime {
    pub fn duration_ms(&self, now_ms: i64) -> i64 {
        self.ended_ms.unwrap_or(now_ms) - self.started_ms
    }
}

/// The pod a job runs on, as soon as its id is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodInfo {
    pub pod_id: String,
    pub gpu_id: String,
    /// USD per hour captured when the pod was created: the live meter uses this, never RunPod's
    /// own cost fields (they have read 0).
    pub rate_usd_per_hour: f64,
    pub created_ms: i64,
    /// True when this job created the pod and must therefore terminate it on every exit path.
    pub owned: bool,
}

/// Everything the journal keeps about one render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub id: String,
    pub spec: JobSpec,
    pub stage: Stage,
    pub stage_started_ms: i64,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    /// The name the pod is created under (written before the create call).
    pub pod_name: Option<String>,
    pub pod: Option<PodInfo>,
    /// When the pod was confirmed gone (terminated by us or found missing).
    pub pod_ended_ms: Option<i64>,
    pub comfy_url: Option<String>,
    /// Names the server gave the uploaded inputs, by manifest input name.
    pub uploads: Option<serde_json::Value>,
    pub prompt_id: Option<String>,
    pub outputs: Vec<PathBuf>,
    pub estimate: Option<Estimate>,
    /// Final cost once the pod is gone; see [`JobRecord::cost_usd_at`] while it runs.
    pub cost_usd: Option<f64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub stages: Vec<StageTime>,
    /// The batch the render belongs to and its place in the batch's queue.
    #[serde(default)]
    pub batch_id: Option<String>,
    #[serde(default)]
    pub position: Option<u32>,
    /// Times the render was put back in the queue because its pod vanished.
    #[serde(default)]
    pub requeues: u32,
    /// On a lease's pod: when this render's share of the pod's time began (the lease's start or
    /// the previous render's end on that pod).
    #[serde(default)]
    pub billed_from_ms: Option<i64>,
}

impl JobRecord {
    /// The pod's cost so far: rate captured at create x seconds the pod existed.
    /// A render on a lease's pod is charged its own share, from `billed_from_ms`.
    pub fn cost_usd_at(&self, now_ms: i64) -> f64 {
        let end = self.pod_ended_ms.unwrap_or(now_ms);
        match (&self.pod, self.billed_from_ms) {
            (Some(p), _) if p.owned => {
                cost_for(p.rate_usd_per_hour, (end - p.created_ms) as f64 / 1000.0)
            }
            (Some(p), Some(from)) => {
                cost_for(p.rate_usd_per_hour, ((end - from) as f64 / 1000.0).max(0.0))
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{NormaliseOptions, Target};

    fn record(pod: Option<PodInfo>) -> JobRecord {
        JobRecord {
            id: "j".into(),
            spec: JobSpec {
                image: "a.png".into(),
                video: "b.mp4".into(),
                manifest: "m.toml".into(),
                params: Default::default(),
                target: Target::NewPod { gpu_ids: vec![] },
                out_dir: "out".into(),
                budget_usd: None,
                normalise: NormaliseOptions::default(),
            },
            stage: Stage::Generating,
            stage_started_ms: 0,
            created_ms: 0,
            finished_ms: None,
            pod_name: None,
            pod,
            pod_ended_ms: None,
            comfy_url: None,
            uploads: None,
            prompt_id: None,
            outputs: vec![],
            estimate: None,
            cost_usd: None,
            error_code: None,
            error_message: None,
            stages: vec![],
            batch_id: None,
            position: None,
            requeues: 0,
            billed_from_ms: None,
        }
    }

    #[test]
    fn cost_runs_from_pod_creation_until_it_ends() {
        let mut r = record(Some(PodInfo {
            pod_id: "p".into(),
            gpu_id: "g".into(),
            rate_usd_per_hour: 3.6,
            created_ms: 1_000,
            owned: true,
        }));
        assert!((r.cost_usd_at(11_000) - 0.01).abs() < 1e-12);
        r.pod_ended_ms = Some(6_000);
        assert!((r.cost_usd_at(99_000) - 0.005).abs() < 1e-12);
    }

    #[test]
    fn a_warm_pod_the_user_started_is_not_charged_to_the_job() {
        let r = record(Some(PodInfo {
            pod_id: "p".into(),
            gpu_id: "g".into(),
            rate_usd_per_hour: 3.6,
            created_ms: 0,
            owned: false,
        }));
        assert_eq!(r.cost_usd_at(100_000), 0.0);
        assert_eq!(record(None).cost_usd_at(5), 0.0);
    }
}

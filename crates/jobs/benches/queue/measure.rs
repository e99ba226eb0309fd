//! What the queue bench reads after a batch: the journal's stages and leases, and each
//! stand-in ComfyUI's own execution time per prompt (its history's timestamps).

use standin_comfy::StandinComfy;
use std::path::Path;
use studio_jobs::{JobRecord, Stage};

/// One lease of a batch as `jobs.sqlite` recorded it.
pub struct Lease {
    pub pod_id: String,
    pub rate_usd_per_hour: f64,
    pub warm: bool,
    pub secs: f64,
    pub ended_ms: Option<i64>,
}

/// Every lease of `batch_id`, read straight from the `leases` table (the queue's own record of
/// when it took each pod and when it let it go).
pub fn leases(journal: &Path, batch_id: &str) -> Vec<Lease> {
    let db = rusqlite::Connection::open(journal).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT pod_id, rate_usd_per_hour, warm, started_ms, ended_ms FROM leases \
             WHERE batch_id = ?1 ORDER BY started_ms",
        )
        .unwrap();
    stmt.query_map([batch_id], |r| {
        let started: i64 = r.get(3)?;
        let ended: Option<i64> = r.get(4)?;
        Ok(Lease {
            pod_id: r.get(0)?,
            rate_usd_per_hour: r.get(1)?,
            warm: r.get::<_, i64>(2)? != 0,
            secs: ended.map_or(f64::NAN, |e| (e - started) as f64 / 1000.0),
            ended_ms: ended,
        })
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// When ComfyUI began executing `prompt_id` (ms since the epoch) and for how many seconds:
/// `execution_start` to `execution_success` in the history of whichever stand-in ran it.
pub fn execution(comfys: &[StandinComfy], prompt_id: &str) -> (i64, f64) {
    let entry = comfys
        .iter()
        .find_map(|c| c.history(prompt_id))
        .unwrap_or_else(|| panic!("no stand-in ComfyUI ran prompt {prompt_id}"));
    let at = |kind: &str| {
        entry["status"]["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m[0] == kind)
            .and_then(|m| m[1]["timestamp"].as_i64())
            .unwrap_or_else(|| panic!("prompt {prompt_id} has no {kind}: {entry}"))
    };
    let start = at("execution_start");
    (start, (at("execution_success") - start) as f64 / 1000.0)
}

/// How late the journal's `generating` stage began after ComfyUI's own start, in seconds.
pub fn generating_lag(job: &JobRecord, comfy_start_ms: i64) -> f64 {
    stage(job, Stage::Generating).map_or(f64::NAN, |t| {
        (t.started_ms - comfy_start_ms) as f64 / 1000.0
    })
}

fn stage(job: &JobRecord, s: Stage) -> Option<&studio_jobs::StageTime> {
    job.stages.iter().find(|t| t.stage == s)
}

/// Seconds the render spent in `s` (0 when it never entered it).
pub fn secs_in(job: &JobRecord, s: Stage) -> f64 {
    stage(job, s).map_or(0.0, |t| {
        t.ended_ms
            .map_or(f64::NAN, |e| (e - t.started_ms) as f64 / 1000.0)
    })
}

/// Seconds from `from` starting to `to` starting.
pub fn between(job: &JobRecord, from: Stage, to: Stage) -> Option<f64> {
    Some((stage(job, to)?.started_ms - stage(job, from)?.started_ms) as f64 / 1000.0)
}

/// Seconds from the batch's start to the render's upload: its local checks, then the wait for
/// a lease, a pod's start or a free slot on a pod (a render waiting for a lease keeps the
/// stage `normalising`, so the journal's stages alone do not separate these).
pub fn queue_wait(job: &JobRecord, batch_started_ms: i64) -> f64 {
    stage(job, Stage::Uploading).map_or(f64::NAN, |u| {
        (u.started_ms - batch_started_ms) as f64 / 1000.0
    })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A pod's cold start as its first render saw it: `startingPod` to `uploading`.
pub fn cold_starts(jobs: &[JobRecord]) -> Vec<f64> {
    jobs.iter()
        .filter_map(|j| between(j, Stage::StartingPod, Stage::Uploading))
        .collect()
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Per lease: seconds from the last render on its pod finishing to the lease's end.
pub fn tails(r: &crate::Run) -> Vec<f64> {
    r.leases
        .iter()
        .map(|l| {
            let last = r
                .jobs
                .iter()
                .filter(|j| j.pod.as_ref().is_some_and(|p| p.pod_id == l.pod_id))
                .filter_map(|j| j.finished_ms)
                .max();
            match (last, l.ended_ms) {
                (Some(f), Some(e)) => (e - f) as f64 / 1000.0,
                _ => f64::NAN,
            }
        })
        .collect()
}

/// The most generation seconds any one pod of the run did.
pub fn busiest_pod_generation(r: &crate::Run) -> f64 {
    let mut per_pod: std::collections::HashMap<&str, f64> = Default::default();
    for (j, g) in r.jobs.iter().zip(&r.gens) {
        let pod = j.pod.as_ref().map_or("", |p| p.pod_id.as_str());
        *per_pod.entry(pod).or_default() += g;
    }
    per_pod.into_values().fold(0.0, f64::max)
}

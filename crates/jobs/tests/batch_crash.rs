//! The app is killed with SIGKILL mid-batch. Recovery ends the pod, settles the render that
//! was on it and leaves the renders still waiting in the queue (nothing was paid for them);
//! `run_batch` on the same batch then finishes them.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use common::rig;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use studio_jobs::{BatchControl, Stage, no_events};
use tokio_util::sync::CancellationToken;

/// Runs a batch of three in a child process, SIGKILLs it when the first render generates;
/// returns the batch id.
fn kill_mid_batch(rig: &common::Rig) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobs-crash-child"))
        .env("CRASH_CHILD_DATA_DIR", rig.dir.path())
        .env("CRASH_CHILD_RUNPOD_URL", rig.runpod.api_url().as_str())
        .env("CRASH_CHILD_RUNPOD_KEY", rig.runpod.api_key())
        .env("CRASH_CHILD_POD_TEMPLATE", rig.runpod.pod_url_template())
        .env(
            "CRASH_CHILD_SPEC",
            serde_json::to_string(&rig.new_pod()).unwrap(),
        )
        .env("CRASH_CHILD_BATCH", "3")
        .env("CRASH_CHILD_HANG_AT", Stage::Generating.as_str())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut batch_id = None;
    let mut seen = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(id) = v["batchId"].as_str() {
            batch_id = Some(id.to_string());
        }
        if v["event"] == "stage" && v["stage"] == "generating" {
            seen = true;
            break;
        }
    }
    assert!(seen, "the child never reached generating");
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no teardown runs.
    assert!(!child.wait().unwrap().success());
    batch_id.expect("the child printed its batch id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_recover_and_resume_finishes_every_render() {
    let rig = rig(40, Duration::from_millis(25)).await;
    let rig_ref = &rig;
    let batch_id = tokio::task::block_in_place(|| kill_mid_batch(rig_ref));
    assert_eq!(
        rig.runpod.pods_billing(),
        1,
        "the killed app left its pod billing"
    );

    let engine = rig.engine();
    let before = engine.journal().batch_jobs(&batch_id).unwrap();
    let on_pod: Vec<_> = before
        .iter()
        .filter(|j| j.pod.is_some())
        .map(|j| j.id.clone())
        .collect();
    assert!(!on_pod.is_empty());
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(
        rig.runpod.pods_billing(),
        0,
        "recovery ended the lease's pod"
    );
    // The renders that were on the pod are settled; the one generating was resumed.
    for id in &on_pod {
        let r = settled.iter().find(|r| &r.job_id == id).unwrap();
        assert!(r.to.is_terminal(), "{r:?}");
    }
    assert!(
        settled
            .iter()
            .any(|r| r.from == Stage::Generating && r.to == Stage::Done)
    );
    let after = engine.journal().batch_jobs(&batch_id).unwrap();
    let queued: Vec<_> = after
        .iter()
        .filter(|j| j.stage == Stage::Queued)
        .map(|j| j.id.clone())
        .collect();
    assert!(
        !queued.is_empty(),
        "{:?}",
        after.iter().map(|j| j.stage).collect::<Vec<_>>()
    );
    for j in &after {
        assert!(
            j.stage.is_terminal() || j.stage == Stage::Queued,
            "{:?}",
            j.stage
        );
    }
    for id in &queued {
        let job = after.iter().find(|j| &j.id == id).unwrap();
        assert!(
            job.pod.is_none() && job.cost_usd.is_none(),
            "nothing paid for {id}"
        );
    }
    let paused = engine.batch(&batch_id).unwrap();
    assert!(paused.finished_ms.is_none());
    assert!(
        paused.cost_usd.is_some_and(|c| c > 0.0),
        "what the first pod cost is recorded"
    );

    let out = engine
        .run_batch(&batch_id, BatchControl::default(), no_events())
        .await
        .unwrap();
    for id in &queued {
        let r = out.renders.iter().find(|r| &r.job_id == id).unwrap();
        assert_eq!(r.stage, Stage::Done, "{r:?}");
        assert!(r.outputs[0].is_file());
    }
    assert!(out.batch.finished_ms.is_some());
    assert_eq!(rig.runpod.billing().len(), 2, "one new pod for the rest");
    assert_eq!(rig.runpod.pods_billing(), 0);
    // The batch's cost counts both leases.
    let billed: f64 = rig.runpod.billing().iter().map(|b| b.cost_usd).sum();
    let cost = out.batch.cost_usd.unwrap();
    assert!(
        (cost - billed).abs() < billed * 0.3 + 0.0005,
        "{cost} vs {billed}"
    );
}

//! The app process is killed with SIGKILL mid-render; a fresh engine (the restarted app)
//! recovers: the job finishes or is settled, and the stand-in's clock shows no pod billing.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use common::rig;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use studio_jobs::{Stage, no_events};
use tokio_util::sync::CancellationToken;

/// Starts the child render, waits for it to report `stage`, then SIGKILLs it.
fn kill_at(rig: &common::Rig, stage: Stage) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobs-crash-child"))
        .env("CRASH_CHILD_DATA_DIR", rig.dir.path())
        .env("CRASH_CHILD_RUNPOD_URL", rig.runpod.api_url().as_str())
        .env("CRASH_CHILD_RUNPOD_KEY", rig.runpod.api_key())
        .env("CRASH_CHILD_POD_TEMPLATE", rig.runpod.pod_url_template())
        .env(
            "CRASH_CHILD_SPEC",
            serde_json::to_string(&rig.new_pod()).unwrap(),
        )
        .env("CRASH_CHILD_HANG_AT", stage.as_str())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let wanted = format!("\"stage\":\"{}\"", stage.as_str());
    let mut seen = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap().contains(&wanted) {
            seen = true;
            break;
        }
    }
    assert!(seen, "the child never reached {stage:?}");
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no teardown runs.
    let status = child.wait().unwrap();
    assert!(!status.success());
}

async fn killed_then_recovered(stage: Stage, steps: u32) {
    let rig = rig(steps, Duration::from_millis(20)).await;
    let rig_ref = &rig;
    tokio::task::block_in_place(|| kill_at(rig_ref, stage));
    assert_eq!(
        rig.runpod.pods_billing(),
        1,
        "the killed app left its pod billing"
    );
    let engine = rig.engine();
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(
        (settled[0].from, settled[0].to),
        (stage, Stage::Done),
        "{settled:?}"
    );
    let job = engine.journal().get(&settled[0].job_id).unwrap();
    assert!(job.outputs[0].is_file());
    assert_eq!(rig.runpod.pods_billing(), 0);
    assert_eq!(
        rig.comfy.prompts_accepted(),
        1,
        "the running prompt was followed, not queued again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_generating_then_recover_finishes_the_render() {
    killed_then_recovered(Stage::Generating, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_downloading_then_recover_finishes_the_render() {
    killed_then_recovered(Stage::Downloading, 4).await;
}

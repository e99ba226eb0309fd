//! A batch from `studio render` that is stopped: Ctrl-C (or SIGTERM, SIGHUP) cancels every
//! render and terminates the pods before the command exits; after a kill -9 (nothing can run
//! then) the pod is left billing and the rest queued, and `studio jobs resume BATCH_ID`
//! settles the one and runs the other, with no pod billing at the end.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use common::{Rig, json, rig_on, rig_with};
use standin_runpod::Timings;
use std::process::Command;
use std::time::{Duration, Instant};

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn one_photo_two_dances(rig: &Rig) -> Vec<String> {
    [
        "render",
        "--image",
        &rig.file("ana.png"),
        "--video",
        &rig.file("salsa.mp4"),
        "--video",
        &rig.file("tango.mp4"),
        "--pods",
        "1",
        "--yes",
    ]
    .map(String::from)
    .to_vec()
}

async fn jobs(rig: &Rig) -> Vec<serde_json::Value> {
    json(&rig.run(&["jobs", "list", "--json"]).await)
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_cancels_the_batch_and_terminates_its_pod_before_exit() {
    for signal in ["-INT", "-TERM"] {
        let rig = rig_with(Duration::from_secs(2)).await;
        let args = one_photo_two_dances(&rig);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = rig.studio(&args).spawn().unwrap();
        until("the batch's pod bills", || rig.runpod.pods_billing() == 1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pid = child.id().unwrap().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{signal}: the command did not exit within 60 s"))
            .unwrap();
        // Read at once: terminated before the exit, not by a later sweep.
        assert_eq!(rig.runpod.pods_billing(), 0, "{signal}: a pod still bills");
        assert!(
            !out.status.success(),
            "{signal}: a cancelled batch is no success"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Cancelling"), "{signal}: {stderr}");
        // Without a terminal: plain lines, one per render and stage, ending cancelled.
        for render in ["[1/2] ana.png x salsa.mp4", "[2/2] ana.png x tango.mp4"] {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with(render) && l.contains("cancelled")),
                "{signal}: {render}: {stderr}"
            );
        }
        let jobs = jobs(&rig).await;
        assert_eq!(jobs.len(), 2);
        for job in &jobs {
            assert_eq!(job["stage"], "cancelled", "{signal}: {job:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_a_kill_stopped_is_resumed_by_jobs_resume() {
    // A pod that takes a few seconds to boot: the kill lands while the lease's pod starts and
    // the second render still waits for it.
    let boot = Timings {
        provisioning: Duration::from_secs(2),
        starting: Duration::from_secs(2),
        runtime_null: Duration::from_secs(1),
        comfy_ready: Duration::from_secs(1),
    };
    let rig = rig_on(Duration::from_millis(500), boot).await;
    let args = one_photo_two_dances(&rig);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = rig.studio(&args).spawn().unwrap();
    // Killed once the lease's pod is journaled (RunPod accepted it): from there on recovery
    // must end it.
    let end = Instant::now() + Duration::from_secs(60);
    while !jobs(&rig).await.iter().any(|j| !j["pod"].is_null()) {
        assert!(
            Instant::now() < end,
            "timed out waiting for the lease's pod"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(rig.runpod.pods_billing(), 1, "nothing ran after the kill");

    let before = jobs(&rig).await;
    let batch = before[0]["batchId"].as_str().unwrap().to_string();
    assert!(before.iter().all(|j| j["batchId"] == batch.as_str()));
    // Renders still waiting for a pod (queued, or their local work done): nothing was paid for
    // them, and recovery puts them back in the queue. One starting its pod is settled instead.
    let waiting: Vec<String> = before
        .iter()
        .filter(|j| {
            j["pod"].is_null()
                && ["queued", "checkingInputs", "normalising"]
                    .contains(&j["stage"].as_str().unwrap())
        })
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !waiting.is_empty(),
        "a render was still waiting for a pod: {before:#?}"
    );

    let out = tokio::time::timeout(
        Duration::from_secs(300),
        rig.run(&["jobs", "resume", &batch, "--json"]),
    )
    .await
    .expect("the resumed batch ended");
    let outcome = json(&out);
    let renders = outcome["renders"].as_array().unwrap();
    assert_eq!(renders.len(), 2, "{outcome:#}");
    for r in renders {
        if waiting.iter().any(|id| r["jobId"] == id.as_str()) {
            assert_eq!(r["stage"], "done", "the waiting render ran: {r:#}");
        }
        assert!(
            ["done", "failed", "interrupted", "cancelled"].contains(&r["stage"].as_str().unwrap()),
            "{r:#}"
        );
    }
    let all_done = renders.iter().all(|r| r["stage"] == "done");
    assert_eq!(
        out.status.success(),
        all_done,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(outcome["batch"]["finishedMs"].is_i64());
    assert_eq!(
        rig.runpod.pods_billing(),
        0,
        "the killed run's pod was settled too: {:#?}\n{}\n{:#?}",
        rig.runpod.billing(),
        String::from_utf8_lossy(&out.stderr),
        before
    );
}

//! The preflight of the pinned environment: a pod whose ComfyUI does not run the lock's commits
//! is stopped before anything is uploaded, with a message naming what differs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig_on};
use standin_comfy::StandinConfig;
use std::time::Duration;
use studio_pods::bootstrap::ENVIRONMENT_NODE;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_running_another_commit_is_stopped_before_upload() {
    let mut comfy = StandinConfig {
        steps: Some(2),
        step_delay: Duration::from_millis(5),
        ..StandinConfig::default()
    };
    comfy.models.get_mut(ENVIRONMENT_NODE).unwrap().insert(
        "ComfyUI-KJNodes".into(),
        vec!["0123456789ab".repeat(3) + "0123"],
    );
    let rig = rig_on(comfy, standin_runpod::Timings::fast()).await;
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let started = std::time::Instant::now();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .expect_err("a wrong environment stops the render");
    assert_eq!(err.code(), studio_pods::codes::ENVIRONMENT_MISMATCH);
    assert!(
        err.message().contains("ComfyUI-KJNodes is at 0123456789ab"),
        "{}",
        err.message()
    );
    // Fails at once, not after the models deadline (5 s in the rig).
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rig.comfy.uploads_received(), 0, "nothing uploaded");
    assert_eq!(rig.runpod.pods_billing(), 0, "the pod was terminated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_without_the_environment_node_is_stopped_too() {
    let comfy = StandinConfig {
        steps: Some(2),
        step_delay: Duration::from_millis(5),
        ..StandinConfig::default()
    }
    .without_node(ENVIRONMENT_NODE);
    let rig = rig_on(comfy, standin_runpod::Timings::fast()).await;
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .expect_err("another image");
    assert_eq!(err.code(), studio_pods::codes::ENVIRONMENT_MISMATCH);
    assert!(
        err.message().contains(ENVIRONMENT_NODE),
        "{}",
        err.message()
    );
    assert_eq!(rig.comfy.uploads_received(), 0);
    assert_eq!(rig.runpod.pods_billing(), 0);
}

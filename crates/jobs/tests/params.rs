//! Parameters that break the workflow's rules are refused before a pod is rented.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_width_off_the_rule_is_refused_before_any_pod_and_at_planning() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let mut spec = rig.new_pod();
    spec.params.insert("width".into(), serde_json::json!(500));

    let err = engine.estimate(&spec, 25).await.unwrap_err();
    assert_eq!(err.code(), "manifest.bad_param");
    assert!(
        err.message().contains("496") && err.message().contains("512"),
        "{}",
        err.message()
    );

    let job = engine.submit(&spec, None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "manifest.bad_param");
    assert!(rig.runpod.billing().is_empty(), "no pod was rented");
    assert_eq!(rig.comfy.uploads_received(), 0);
}

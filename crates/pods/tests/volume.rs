//! A pod that should mount a model volume which no longer exists is not created: the app says
//! what is wrong instead of RunPod's "no capacity", and nothing bills.
#![allow(clippy::unwrap_used)]

mod common;

use studio_pods::{EnvLock, PodSpec, codes};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_vanished_model_volume_stops_the_start_before_any_create() {
    let r = common::rig().await;
    let mut spec = PodSpec::pinned(&EnvLock::bundled(), Some("vol-gone".to_string()));
    spec.data_center_ids = vec!["US-TX-3".to_string()];
    let err = r
        .manager
        .start(&spec, &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::VOLUME_MISSING);
    assert!(
        err.message().contains("vol-gone") && err.message().contains("Keep models"),
        "{}",
        err.message()
    );
    assert!(r.standin.billing().is_empty(), "nothing was created");
    assert!(
        !r.standin
            .requests()
            .iter()
            .any(|q| q.method == "POST" && q.path == "/v2/pods"),
        "no create was sent"
    );
}

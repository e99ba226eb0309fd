//! The crash guard does not give up after one failure: while RunPod refuses the terminations
//! it tries again (capped backoff) until every pod it owns is confirmed gone, and it
//! terminates journaled pod ids directly, without listing the account first. Against the
//! stand-in RunPod behind a proxy that refuses the first DELETEs; the app reads its addresses
//! from the environment, so the test re-runs itself in a child process.
#![allow(clippy::unwrap_used)]

mod runpod_rig;

use runpod_rig::{app_env, journal_pod, proxy, run_in_child};
use standin_runpod::{StandIn, StandInConfig};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;
use studio_app::Studio;

const GPU: &str = "NVIDIA A100 80GB PCIe";
const DATA_ENV: &str = "GUARD_RETRY_DATA";
const PODS_ENV: &str = "GUARD_RETRY_PODS";

#[tokio::test]
async fn the_guard_retries_until_every_pod_is_gone() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let proxy = proxy(&standin).await;
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("install-id"), "0a1b2c3d").unwrap();
        let names = ["sds-0a1b2c3d-left0001", "sds-0a1b2c3d-left0002"];
        let ids: Vec<String> = names.iter().map(|n| standin.inject_pod(n, GPU)).collect();
        for (n, i) in names.iter().zip(&ids) {
            journal_pod(data.path(), n, i);
        }
        // RunPod refuses the first three terminations (an outage, a flaky proxy).
        proxy.refusals.next_deletes.store(3, Ordering::SeqCst);
        let mut env = app_env(&standin, &proxy.api_url);
        env.push((DATA_ENV, data.path().display().to_string()));
        env.push((PODS_ENV, names.join(",")));
        let started = Instant::now();
        assert!(
            run_in_child("the_guard_retries_until_every_pod_is_gone", &env).await,
            "the test in the child process failed"
        );
        assert_eq!(standin.pods_billing(), 0, "{:?}", standin.billing());
        let seen = proxy.refusals.seen.lock().unwrap().clone();
        let deletes = seen.iter().filter(|s| s.starts_with("DELETE ")).count();
        assert!(deletes >= 5, "three refused, then one per pod: {seen:?}");
        assert!(
            !seen
                .iter()
                .any(|s| s.starts_with("GET ") && s.ends_with("/pods")),
            "journaled ids are terminated without listing the account: {seen:?}"
        );
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
        return;
    };
    let data = PathBuf::from(data);
    let studio = Studio::new(data.clone(), false).unwrap();
    studio_app::guard::settle(&studio).await;
    let journal = studio_pods::Journal::open_in(&data).unwrap();
    let left: Vec<String> = journal
        .unsettled()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(left.is_empty(), "still live in the journal: {left:?}");
    let _ = std::env::var(PODS_ENV);
}

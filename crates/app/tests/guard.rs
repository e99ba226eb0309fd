//! The crash guard's clean-up against the stand-in RunPod: pods the crashed session left (one
//! fully recorded, one whose create was in flight) are terminated; a pod a new session started
//! after the guard looked is not, until the guard's own settle finds it left behind too. Quitting
//! never touches a pod another install (another computer) runs on the same account.
//! Addresses come from the environment, which is process-wide, so the test re-runs itself in a
//! child process that has them (the stand-in stays in the parent).
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use studio_app::Studio;

const GPU: &str = "NVIDIA A100 80GB PCIe";
const CHILD_ENV: &str = "GUARD_TEST_PODS";

#[tokio::test]
async fn left_behind_pods_are_terminated_and_a_new_sessions_are_not() {
    let Ok(pods) = std::env::var(CHILD_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let names = [
            "sds-guard-left",
            "sds-guard-inflight",
            "sds-guard-newsession",
            "sds-other-computer",
        ];
        let ids: Vec<String> = names.iter().map(|n| standin.inject_pod(n, GPU)).collect();
        assert_eq!(standin.pods_billing(), 4, "{:?}", standin.billing());
        let pairs: Vec<String> = names
            .iter()
            .zip(&ids)
            .map(|(n, i)| format!("{n}={i}"))
            .collect();
        let status = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "left_behind_pods_are_terminated_and_a_new_sessions_are_not",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, pairs.join(","))
            .env("STUDIO_RUNPOD_API_URL", standin.api_url().as_str())
            .env("STUDIO_POD_URL_TEMPLATE", standin.pod_url_template())
            .env("RUNPOD_API_KEY", standin.api_key())
            .status()
            .await
            .unwrap();
        assert!(status.success(), "the test in the child process failed");
        for entry in standin.billing() {
            let other = entry.name == "sds-other-computer";
            assert_eq!(
                entry.billing, other,
                "{}: billing {}",
                entry.name, entry.billing
            );
        }
        return;
    };
    let pods: Vec<(String, String)> = pods
        .split(',')
        .map(|p| {
            let (n, i) = p.split_once('=').unwrap();
            (n.to_string(), i.to_string())
        })
        .collect();
    let (left, inflight, newer) = (&pods[0], &pods[1], &pods[2]);

    let data = tempfile::tempdir().unwrap();
    let journal = studio_pods::Journal::open_in(data.path()).unwrap();
    journal.record_intent(&left.0, GPU, 1.64).unwrap();
    journal.record_created(&left.0, &left.1, 1.64).unwrap();
    // The create call was sent, then the app died before RunPod's answer was recorded.
    journal.record_intent(&inflight.0, GPU, 1.64).unwrap();

    let studio = Studio::new(data.path().to_path_buf(), false).unwrap();
    let seen = studio.live_pod_names().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");

    // A new session starts a pod while the guard is still busy.
    journal.record_intent(&newer.0, GPU, 1.64).unwrap();
    journal.record_created(&newer.0, &newer.1, 1.64).unwrap();

    let terminated = studio.terminate_left_behind(&seen).await.unwrap();
    assert_eq!(terminated, 2, "the left pod and the in-flight one");
    let still: Vec<String> = journal
        .unsettled()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        still,
        vec![newer.0.clone()],
        "the new session's pod is untouched"
    );
    let rows = journal.all().unwrap();
    let inflight_row = rows.iter().find(|r| r.name == inflight.0).unwrap();
    assert_eq!(
        inflight_row.pod_id.as_deref(),
        Some(inflight.1.as_str()),
        "found by name"
    );
    assert!(inflight_row.terminated_at.is_some());

    // Had the new session died too, its guard would find the pod left behind.
    studio_app::guard::settle(&studio).await;
    assert!(journal.unsettled().unwrap().is_empty());
    // Quitting with nothing of ours live leaves the other computer's pod alone.
    studio.shut_down().await;
}

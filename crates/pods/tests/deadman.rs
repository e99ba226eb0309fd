//! The in-pod dead-man timer, run locally with `sh` the way a pod would run it, against the
//! stand-in RunPod: after its lifetime the pod deletes itself with its own id and key.
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::time::{Duration, Instant};
use studio_pods::DeadMan;

async fn wait_until_not_billing(s: &StandIn, id: &str, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if s.billing().iter().any(|b| b.id == id && !b.billing) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Runs `script` with `sh` in its own process group and kills that group on drop, so the
/// timer's background loop never outlives the test.
struct Sh {
    pgid: u32,
}

impl Sh {
    async fn run(script: &str, pod_id: &str, key: &str) -> (Self, std::process::ExitStatus) {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("RUNPOD_POD_ID", pod_id)
            .env("RUNPOD_API_KEY", key)
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id().unwrap();
        let status = child.wait().await.unwrap();
        (Self { pgid }, status)
    }
}

impl Drop for Sh {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg("--")
            .arg(format!("-{}", self.pgid))
            .status();
    }
}

fn deadman(s: &StandIn) -> DeadMan {
    DeadMan {
        lifetime: Duration::from_secs(1),
        api_base: s.api_url(),
        retry_every: Duration::from_secs(1),
    }
}

#[tokio::test]
async fn the_snippet_terminates_its_pod_after_the_lifetime() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let id = s.inject_pod("sds-deadman1", "NVIDIA A100 80GB PCIe");
    let (_sh, status) = Sh::run(&deadman(&s).shell_snippet(), &id, s.api_key()).await;
    // The snippet returns at once; the timer runs in the background.
    assert!(status.success());
    assert!(s.billing()[0].billing, "terminated too early");
    assert!(wait_until_not_billing(&s, &id, Duration::from_secs(8)).await);
    assert_eq!(s.billing()[0].end_reason.as_deref(), Some("terminated"));
    // It authenticated as the pod (bearer key) and sent a User-Agent: the DELETE got 204.
    let deletes: Vec<u16> = s
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, vec![204]);
}

#[tokio::test]
async fn container_args_run_the_start_command_and_arm_the_timer() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let id = s.inject_pod("sds-deadman2", "NVIDIA H100 PCIe");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let start_command = format!("sh -c 'echo up > {}'", marker.display());
    let args = deadman(&s).container_args(&start_command);
    // The container runtime splits `args` like a shell; `sh -c` reproduces that here.
    let (_sh, status) = Sh::run(&args, &id, s.api_key()).await;
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "up");
    assert!(wait_until_not_billing(&s, &id, Duration::from_secs(8)).await);
}

#[tokio::test]
async fn a_wrong_key_keeps_retrying_and_never_claims_success() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let id = s.inject_pod("sds-deadman3", "NVIDIA H100 PCIe");
    let (sh, status) = Sh::run(&deadman(&s).shell_snippet(), &id, "rpa_WRONG").await;
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let attempts = s.requests().iter().filter(|r| r.status == 401).count();
    assert!(attempts >= 2, "expected retries, saw {attempts}");
    assert!(s.billing()[0].billing);
    drop(sh);
    // Terminate it for real so the test leaves nothing billing (the snippet keeps failing).
    let http = reqwest::Client::new();
    http.delete(format!("{}/pods/{id}", s.api_url()))
        .header("user-agent", "t")
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(s.pods_billing(), 0);
}

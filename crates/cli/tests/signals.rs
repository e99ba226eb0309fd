//! `studio pods start` waiting for a pod when the terminal closes or the system ends it: the
//! pod is terminated before the command exits, against the stand-in RunPod.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_while_a_pod_starts_terminates_the_pod_before_exit() {
    for signal in ["-TERM", "-HUP", "-INT"] {
        // No ComfyUI behind the proxy: the pod runs, and the command waits for ComfyUI.
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(["pods", "start"])
            .env("STUDIO_DATA_DIR", data.path())
            .env("STUDIO_RUNPOD_API_URL", standin.api_url().as_str())
            .env("STUDIO_POD_URL_TEMPLATE", standin.pod_url_template())
            .env("RUNPOD_API_KEY", standin.api_key())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        until("the pod bills", || standin.pods_billing() == 1).await;

        let pid = child.id().unwrap().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{signal}: the command did not exit within 30 s"))
            .unwrap();
        // Read at once: terminated before the exit, not by a later sweep.
        assert_eq!(standin.pods_billing(), 0, "{signal}: a pod still bills");
        assert_eq!(standin.billing().len(), 1, "{signal}: one pod was made");
        assert!(
            !status.success(),
            "{signal}: a cancelled start is not a success"
        );
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        assert!(
            stderr.contains("the pod will be terminated"),
            "{signal}: {stderr}"
        );
    }
}

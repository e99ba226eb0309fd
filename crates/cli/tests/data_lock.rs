//! The app and the CLI never tear down each other's work: while the app holds the data
//! folder's lock, every `studio` command that starts, settles or terminates pods refuses with a
//! clear message and touches nothing; once the app is gone they run. The sweep only touches
//! this install's pods. Against the stand-in RunPod, with the real `studio` binary.
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::path::Path;
use std::process::Output;

const GPU: &str = "NVIDIA A100 80GB PCIe";

async fn studio(standin: &StandIn, data: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_studio"))
        .args(args)
        .env("STUDIO_DATA_DIR", data)
        .env("STUDIO_RUNPOD_API_URL", standin.api_url().as_str())
        .env("STUDIO_POD_URL_TEMPLATE", standin.pod_url_template())
        .env("RUNPOD_API_KEY", standin.api_key())
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn mutating_commands_refuse_while_the_app_holds_the_data_folder() {
    let standin = StandIn::start(StandInConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("install-id"), "0a1b2c3d").unwrap();
    let mine = standin.inject_pod("sds-0a1b2c3d-orphan01", GPU);
    let theirs = standin.inject_pod("sds-99999999-theirs01", GPU);

    // The app is open on this data folder.
    let app = studio_core::instance::acquire(data.path(), std::time::Duration::ZERO).unwrap();
    let refused: [&[&str]; 5] = [
        &["pods", "sweep"],
        &["pods", "terminate", &mine],
        &["pods", "start"],
        &["jobs", "recover"],
        &[
            "render",
            "--image",
            "me.png",
            "--video",
            "dance.mp4",
            "--yes",
        ],
    ];
    for args in refused {
        let out = studio(&standin, data.path(), args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} ran while the app was open");
        assert!(
            stderr.contains("app.already_running")
                && stderr.contains("is open on this data folder"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(standin.pods_billing(), 2, "nothing was touched");
    assert_eq!(standin.billing().len(), 2, "no pod was started");

    // Listing needs no lock, and shows the other install's pod as such.
    let out = studio(&standin, data.path(), &["pods", "list", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let other = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["podId"] == id)
            .map(|p| p["otherInstall"].clone())
    };
    assert_eq!(other(&mine), Some(serde_json::json!(false)));
    assert_eq!(other(&theirs), Some(serde_json::json!(true)));

    // The app is gone: the sweep runs, and only takes this install's pod.
    drop(app);
    let out = studio(&standin, data.path(), &["pods", "sweep", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let billing: Vec<String> = standin
        .billing()
        .into_iter()
        .filter(|b| b.billing)
        .map(|b| b.id)
        .collect();
    assert_eq!(billing, vec![theirs.clone()]);

    // While a command holds the folder, the app is refused with a message naming it.
    let cli =
        studio_core::instance::acquire_as(data.path(), std::time::Duration::ZERO, "studio render")
            .unwrap();
    let err = studio_core::instance::acquire(data.path(), std::time::Duration::ZERO).unwrap_err();
    assert!(err.message().contains("studio render"), "{}", err.message());
    drop(cli);

    // Terminating another install's pod is the explicit choice: by id.
    let out = studio(&standin, data.path(), &["pods", "terminate", &theirs]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(standin.pods_billing(), 0);
}

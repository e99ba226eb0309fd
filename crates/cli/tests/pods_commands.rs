//! `studio gpus` and `studio pods start|list|terminate` through the app: the pod a command
//! starts is the one Settings describe (here, their GPU), listed like the Pods screen lists it,
//! and gone once terminated. The real binary against the stand-ins.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json, rig};

const SETTINGS_GPU: &str = "NVIDIA H100 NVL";

#[tokio::test(flavor = "multi_thread")]
async fn pod_commands_go_through_the_app_and_follow_settings() {
    let rig = rig().await;
    let mut settings = studio_core::settings::Settings::load(rig.data.path()).unwrap();
    settings.gpu_ids = vec![SETTINGS_GPU.to_string()];
    settings.save(rig.data.path()).unwrap();

    let gpus = json(&rig.run(&["gpus", "--json"]).await);
    assert!(
        gpus.as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == SETTINGS_GPU),
        "{gpus:#}"
    );

    let out = rig.run(&["pods", "start", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = json(&out);
    let pod_id = started["podId"].as_str().unwrap().to_string();
    assert_eq!(started["gpuId"], SETTINGS_GPU);
    let billed = rig.runpod.billing();
    assert_eq!(billed.len(), 1);
    assert_eq!(billed[0].gpu_id, SETTINGS_GPU, "the GPU Settings name");

    let listed = json(&rig.run(&["pods", "list", "--json"]).await);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["podId"] == pod_id.as_str())
        .unwrap_or_else(|| panic!("{pod_id} listed: {listed:#}"))
        .clone();
    assert_eq!(row["otherInstall"], false);
    assert_eq!(row["gpuId"], SETTINGS_GPU);

    let out = rig.run(&["pods", "terminate", &pod_id, "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["podId"], pod_id.as_str());
    assert_eq!(rig.runpod.pods_billing(), 0);
}

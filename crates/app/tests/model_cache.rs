//! "Keep models between renders" against the stand-in RunPod over real sockets: the volume goes
//! to a data centre with the chosen GPUs, Settings then give pods the mount and that data
//! centre, a volume deleted elsewhere is reported and replaced, one of ours that Settings lost
//! is taken back, and turning it off deletes the volume and clears Settings.
//! Addresses come from the environment, which is process-wide, so the test re-runs itself in a
//! child process that has them (the stand-in stays in the parent).
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::path::Path;
use studio_app::Studio;
use studio_core::settings::Settings;
use studio_error::{Result, Sensitive};
use studio_pods::{EnvLock, PodSpec};
use studio_runpod::{CreateNetworkVolumeRequest, RetryPolicy, RunPodClient, codes};

const CHILD_ENV: &str = "MODEL_CACHE_TEST_CHILD";

#[tokio::test]
async fn keep_models_on_a_network_volume() {
    if std::env::var_os(CHILD_ENV).is_none() {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let status = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["keep_models_on_a_network_volume", "--exact", "--nocapture"])
            .env(CHILD_ENV, "1")
            .env("STUDIO_RUNPOD_API_URL", standin.api_url().as_str())
            .env("STUDIO_POD_URL_TEMPLATE", standin.pod_url_template())
            .env("RUNPOD_API_KEY", standin.api_key())
            .env_remove("STUDIO_DEMO")
            .status()
            .await
            .unwrap();
        assert!(status.success(), "the test in the child process failed");
        assert!(standin.volumes().is_empty(), "{:?}", standin.volumes());
        assert_eq!(standin.pods_billing(), 0);
        return;
    }
    child().await;
}

fn write(data: &Path, s: &Settings) -> Result<()> {
    let text = serde_json::to_string_pretty(s).unwrap();
    std::fs::write(studio_core::paths::settings_file(data), text).unwrap();
    Ok(())
}

async fn child() {
    let client = RunPodClient::with_policy(
        std::env::var("STUDIO_RUNPOD_API_URL")
            .unwrap()
            .parse()
            .unwrap(),
        Sensitive::new(std::env::var("RUNPOD_API_KEY").unwrap()),
        RetryPolicy::fast(),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let save = |s: &Settings| write(&dir, s);
    let studio = Studio::new(dir.clone(), false).unwrap();

    // Off: nothing recorded, the price of a new volume shown.
    let off = studio.model_cache_status().await.unwrap();
    assert!(!off.enabled && off.exists.is_none() && off.note.is_none());
    assert!(off.new_size_gb >= EnvLock::bundled().environment_gb());
    assert!((off.new_monthly_cost_usd - f64::from(off.new_size_gb) * 0.07).abs() < 0.01);

    // On, with H100s first: Romania has them and volumes (Kansas has the NVL but no volumes).
    let h100s = Settings {
        gpu_ids: vec!["NVIDIA H100 NVL".into(), "NVIDIA H100 PCIe".into()],
        ..Settings::default()
    };
    write(&dir, &h100s).unwrap();
    let on = studio.keep_models(true, save).await.unwrap();
    assert!(on.enabled && on.exists == Some(true), "{on:?}");
    assert_eq!(on.data_center.as_deref(), Some("EU-RO-1"));
    assert_eq!(on.size_gb, on.new_size_gb);
    let id = on.volume_id.clone().unwrap();
    assert!(on.volume_name.unwrap().starts_with("sds-models-"));
    let settings = studio.settings().unwrap();
    assert_eq!(settings.network_volume_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        settings.network_volume_data_center.as_deref(),
        Some("EU-RO-1")
    );

    // Turning it on again changes nothing.
    let again = studio.keep_models(true, save).await.unwrap();
    assert_eq!(again.volume_id.as_deref(), Some(id.as_str()));
    assert_eq!(client.list_network_volumes().await.unwrap().len(), 1);

    // Settings now give pods the mount and the volume's data centre, and RunPod takes them.
    let spec = PodSpec::from_settings(&settings, &EnvLock::bundled());
    let req = spec.create_request("sds-cachetest", "NVIDIA H100 PCIe", None);
    assert_eq!(req.data_center_ids, vec!["EU-RO-1".to_string()]);
    let mount = &req.mounts.as_ref().unwrap().network[0];
    assert_eq!(
        (mount.volume_id.as_str(), mount.path.as_str()),
        (id.as_str(), "/workspace")
    );
    let pod = client.create_pod(&req).await.unwrap();
    assert_eq!(pod.data_center_id.as_deref(), Some("EU-RO-1"));
    client.delete_pod(&pod.id).await.unwrap();
    let elsewhere = spec.create_request("sds-cachetest2", "NVIDIA A100 80GB PCIe", None);
    let err = client.create_pod(&elsewhere).await.unwrap_err();
    assert_eq!(
        err.code(),
        codes::NO_CAPACITY,
        "no A100 where the volume is"
    );

    // Deleted in RunPod's console: reported, and turning it on makes a new one.
    assert!(client.delete_network_volume(&id).await.unwrap());
    let gone = studio.model_cache_status().await.unwrap();
    assert!(gone.enabled && gone.exists == Some(false), "{gone:?}");
    let renewed = studio.keep_models(true, save).await.unwrap();
    let id2 = renewed.volume_id.clone().unwrap();
    assert!(id2 != id && renewed.exists == Some(true));

    // Off: the volume is deleted and Settings forget it, so pods have no mount and no pin.
    let off = studio.keep_models(false, save).await.unwrap();
    assert!(!off.enabled && off.volume_id.is_none());
    assert!(client.list_network_volumes().await.unwrap().is_empty());
    let cleared = studio.settings().unwrap();
    assert_eq!(cleared.network_volume_id, None);
    assert_eq!(cleared.network_volume_data_center, None);
    let plain = PodSpec::from_settings(&cleared, &EnvLock::bundled()).create_request(
        "sds-x",
        "NVIDIA H100 PCIe",
        None,
    );
    assert!(plain.mounts.is_none() && plain.data_center_ids.is_empty());

    // Default GPU order (A100s first): Texas. A volume of ours that Settings lost is taken back
    // rather than a second one made.
    write(&dir, &Settings::default()).unwrap();
    let lost = client
        .create_network_volume(&CreateNetworkVolumeRequest {
            name: "sds-models-lost".into(),
            size: 60,
            data_center: "US-TX-3".into(),
            volume_type: None,
        })
        .await
        .unwrap();
    let back = studio.keep_models(true, save).await.unwrap();
    assert_eq!(back.volume_id.as_deref(), Some(lost.id.as_str()));
    assert_eq!(client.list_network_volumes().await.unwrap().len(), 1);

    // A save that fails leaves no volume of its own behind.
    studio.keep_models(false, save).await.unwrap();
    let failing = |_: &Settings| -> Result<()> {
        Err(studio_error::Error::new("settings.store", "cannot save"))
    };
    let err = studio.keep_models(true, failing).await.unwrap_err();
    assert_eq!(err.code(), "settings.store");
    assert!(client.list_network_volumes().await.unwrap().is_empty());
    let after = studio.model_cache_status().await.unwrap();
    assert!(!after.enabled);
    // Default GPUs pick Texas, where the A100s are.
    let tx = studio.keep_models(true, save).await.unwrap();
    assert_eq!(tx.data_center.as_deref(), Some("US-TX-3"));
    studio.keep_models(false, save).await.unwrap();
}

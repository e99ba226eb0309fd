//! A batch's estimate details a new pod's start as a lone render's estimate always did: the
//! pinned environment's model download (bytes, time, money) and, with a network volume, the
//! shorter start of later pods; nothing for the user's own ComfyUI. Priced over the stand-in
//! RunPod's real GPU catalogue.
#![allow(clippy::unwrap_used)]

mod common;

use common::rig;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_comfy::ClientConfig;
use studio_jobs::{
    BatchEstimate, ComfyConnector, Engine, EngineConfig, Journal, RunPodPods, StudioMedia, Target,
};
use studio_pods::{EnvLock, LifecycleConfig, PodSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_pod_s_start_carries_the_model_download_and_an_own_comfyui_none() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let spec = rig.new_pod();
    let single = engine.estimate(&spec, 81).await.unwrap();
    let three = engine
        .estimate_batch(&vec![spec.clone(); 3], &[81; 3], 2)
        .await
        .unwrap();

    let start = three.pod_start.expect("new pods start");
    let bytes = EnvLock::bundled().model_bytes();
    assert!(bytes > 1_000_000_000, "the lock lists the models: {bytes}");
    assert_eq!(start.download_bytes, bytes);
    assert_eq!(start.download_bytes, single.download_bytes);
    assert!(start.download_secs > 0.0);
    assert!((start.download_secs - single.download_secs).abs() < 1e-9);
    assert!((start.download_usd - single.download_usd).abs() < 1e-12);
    assert!((start.secs - single.startup_secs).abs() < 1e-9);
    assert!(
        start.secs > start.download_secs,
        "install and boot come on top"
    );
    assert!(!start.volume);
    assert_eq!(start.later_secs, None);
    // The per-pod price is the one the batch total counts, once per pod.
    assert_eq!(three.pods, 2);
    assert!((three.cold_start_usd - 2.0 * start.usd_per_pod).abs() < 1e-12);
    assert!((start.usd_per_pod - (single.cost_usd - three.renders[0].cost_usd)).abs() < 1e-12);

    // The journal keeps the detail with the batch.
    let batch = engine.submit_batch(&rig.batch(3, 2), Some(&three)).unwrap();
    assert_eq!(
        engine.batch(&batch.id).unwrap().estimate.unwrap().pod_start,
        Some(start)
    );

    // The user's own ComfyUI: no pod, nothing to start or download.
    let mut own = spec;
    own.target = Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    };
    let on_own = engine
        .estimate_batch(&vec![own; 2], &[81; 2], 2)
        .await
        .unwrap();
    assert_eq!(on_own.pod_start, None);
    assert_eq!(on_own.cold_start_usd, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_network_volume_later_pods_start_without_install_or_download() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let pods_journal = studio_pods::Journal::open(&rig.journal_path()).unwrap();
    let pods = RunPodPods::new(
        rig.client(),
        Arc::new(Mutex::new(pods_journal)),
        LifecycleConfig::new(rig.runpod.pod_url_template()),
        PodSpec::pinned(&EnvLock::bundled(), Some("vol-models".to_string())),
        ClientConfig::fast(),
    );
    let engine = Engine::new(
        Arc::new(Journal::open(&rig.journal_path()).unwrap()),
        Arc::new(ComfyConnector::new(ClientConfig::fast())),
        Arc::new(StudioMedia::default()),
        EngineConfig::new(rig.dir.path().join("work")),
    )
    .with_pods(Arc::new(pods));
    let spec = rig.new_pod();
    let single = engine.estimate(&spec, 81).await.unwrap();
    let one = engine
        .estimate_batch(std::slice::from_ref(&spec), &[81], 1)
        .await
        .unwrap();
    let start = one.pod_start.expect("a new pod starts");
    assert!(start.volume);
    assert_eq!(start.download_bytes, EnvLock::bundled().model_bytes());
    let later = start.later_secs.expect("later pods start sooner");
    assert!(later < start.secs - start.download_secs, "{start:?}");
    assert_eq!(Some(later), single.later_startup_secs);
}

#[test]
fn a_batch_estimate_journaled_before_the_pod_start_detail_still_reads() {
    let old = r#"{"renders":[],"pods":1,"coldStartUsd":0.2,"totalUsd":0.5,"wallSecs":300}"#;
    let e: BatchEstimate = serde_json::from_str(old).unwrap();
    assert_eq!(e.pod_start, None);
    assert_eq!(e.pods, 1);
}

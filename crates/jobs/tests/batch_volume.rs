//! Pods of one batch on one model volume: the first installs and downloads onto it, so a second
//! starts only once the first is ready (two at once would write the same files), and then both
//! render.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_comfy::ClientConfig;
use studio_jobs::{
    BatchControl, ComfyConnector, Engine, EngineConfig, JobEvent, Journal, LeaseState, RunPodPods,
    Stage, StudioMedia,
};
use studio_pods::{EnvLock, LifecycleConfig, PodSpec};
use studio_runpod::CreateNetworkVolumeRequest;

#[tokio::test]
async fn a_second_pod_on_the_model_volume_starts_once_the_first_is_ready() {
    let rig = rig(6, Duration::from_millis(60)).await;
    let client = rig.client();
    let dc = client.list_data_centers(false).await.unwrap()[0].id.clone();
    let volume = client
        .create_network_volume(&CreateNetworkVolumeRequest {
            name: "sds-models-test".into(),
            size: 60,
            data_center: dc.clone(),
            volume_type: None,
        })
        .await
        .unwrap();
    let mut spec = PodSpec::pinned(&EnvLock::bundled(), Some(volume.id.clone()));
    spec.data_center_ids = vec![dc];
    let pods = RunPodPods::new(
        client,
        Arc::new(Mutex::new(
            studio_pods::Journal::open(&rig.journal_path()).unwrap(),
        )),
        LifecycleConfig {
            poll_interval: Duration::from_millis(25),
            terminate_timeout: Duration::from_secs(5),
            ..LifecycleConfig::new(rig.runpod.pod_url_template())
        },
        spec,
        ClientConfig::fast(),
    );
    let mut config = EngineConfig::new(rig.dir.path().join("work"));
    config.poll = Duration::from_millis(25);
    config.cost_tick = Duration::from_millis(50);
    config.pod_check = Duration::from_millis(200);
    let engine = Engine::new(
        Arc::new(Journal::open(&rig.journal_path()).unwrap()),
        Arc::new(ComfyConnector::new(ClientConfig::fast())),
        Arc::new(StudioMedia::default()),
        config,
    )
    .with_pods(Arc::new(pods));

    let batch = engine.submit_batch(&rig.batch(4, 2), None).unwrap();
    let rec = Recorder::default();
    let out = engine
        .run_batch(&batch.id, BatchControl::default(), rec.sink())
        .await
        .unwrap();
    assert!(out.renders.iter().all(|r| r.stage == Stage::Done));
    let leases: Vec<(String, LeaseState)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, e)| match e {
            JobEvent::Lease { pod_id, state, .. } => Some((pod_id.clone(), *state)),
            _ => None,
        })
        .collect();
    let starts: Vec<&String> = leases
        .iter()
        .filter(|(_, s)| *s == LeaseState::Starting)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(starts.len(), 2, "both pods used: {leases:?}");
    let first_ready = leases
        .iter()
        .position(|(p, s)| p == starts[0] && *s == LeaseState::Ready)
        .unwrap();
    let second_start = leases
        .iter()
        .position(|(p, s)| p == starts[1] && *s == LeaseState::Starting)
        .unwrap();
    assert!(
        second_start > first_ready,
        "the second pod was created while the first still filled the volume: {leases:?}"
    );
    assert_eq!(rig.runpod.pods_billing(), 0);
}

//! Whole renders on a new pod, through the real stand-in RunPod and stand-in ComfyUI.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::{Duration, Instant};
use studio_jobs::{JobEvent, Stage, Target};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_on_a_new_pod_ends_done_with_the_pod_terminated_within_3s_of_verification() {
    let rig = rig(4, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let rec = Recorder::default();
    let outcome = engine
        .run(&job.id, CancellationToken::new(), rec.sink())
        .await
        .unwrap();
    let returned = Instant::now();

    // The pod was confirmed terminated before run returned, so this bounds the teardown.
    let verified = rec.when(Stage::Verifying).unwrap();
    assert!(
        returned - verified < Duration::from_secs(3),
        "teardown took {:?}",
        returned - verified
    );
    assert_eq!(rig.runpod.pods_billing(), 0);
    let billing = rig.runpod.billing();
    assert_eq!(billing.len(), 1);

    // ComfyUI's own start can pass between two polls on the stand-in's clock, so whether the
    // job shows "waiting for ComfyUI" between the download and the preflight is timing.
    let mut seen = rec.stages();
    seen.retain(|s| *s != Stage::WaitingForComfy);
    assert_eq!(
        seen,
        [
            Stage::CheckingInputs,
            Stage::Normalising,
            Stage::StartingPod,
            // The pinned environment's bootstrap, followed through the pod's log.
            Stage::InstallingSoftware,
            Stage::DownloadingModels,
            Stage::WaitingForModels,
            Stage::Uploading,
            Stage::QueuedOnComfy,
            Stage::Generating,
            Stage::Downloading,
            Stage::Verifying,
            Stage::TearingDown,
            Stage::Done,
        ]
    );
    assert!(rec.count(|e| matches!(e, JobEvent::Sampling { max: 4, .. })) >= 1);
    // The model download's bytes reach the job, ending at the lock's total.
    let lock_bytes = studio_pods::EnvLock::bundled().model_bytes();
    assert!(
        rec.count(|e| matches!(
            e,
            JobEvent::PodSetup { done_bytes: Some(d), total_bytes: Some(t), message, .. }
                if d == t && *t == lock_bytes && message.contains("of 8")
        )) >= 1
    );
    assert!(rec.count(|e| matches!(e, JobEvent::Transfer { .. })) >= 2);

    let job = outcome.job;
    assert_eq!(job.stage, Stage::Done);
    assert_eq!(job.pod.as_ref().unwrap().pod_id, billing[0].id);
    assert!(job.pod_ended_ms.is_some());
    let cost = job.cost_usd.unwrap();
    assert!(
        cost > 0.0 && cost < billing[0].cost_usd * 1.5 + 0.001,
        "cost {cost} vs billed {}",
        billing[0].cost_usd
    );
    assert!((14..=15).contains(&job.stages.len()), "{:?}", job.stages);
    assert!(job.outputs[0].is_file());

    let entry = &engine.journal().gallery_list().unwrap()[0];
    assert_eq!(entry.id, job.id);
    assert!(!entry.missing);
    assert!(
        entry.thumbnail.as_ref().unwrap().is_file(),
        "thumbnail written"
    );
    assert_eq!(entry.gpu_id.as_deref(), Some(billing[0].gpu_id.as_str()));
    assert_eq!(
        entry.stages, job.stages,
        "the gallery keeps the whole stage split"
    );
    assert!((entry.cost_usd - cost).abs() < 1e-9);
    assert_eq!(
        engine.journal().render_again(&job.id).unwrap(),
        rig.new_pod()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_on_an_own_comfyui_costs_nothing_and_starts_no_pod() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let spec = rig.spec(Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    let job = engine.submit(&spec, None).unwrap();
    let rec = Recorder::default();
    let outcome = engine
        .run(&job.id, CancellationToken::new(), rec.sink())
        .await
        .unwrap();
    assert_eq!(outcome.job.stage, Stage::Done);
    assert_eq!(outcome.job.cost_usd, Some(0.0));
    assert!(rig.runpod.billing().is_empty());
    assert!(!rec.stages().contains(&Stage::StartingPod));
    assert!(rec.stages().contains(&Stage::WaitingForModels));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_own_comfyui_address_fails_fast_with_what_to_check() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let engine = rig.engine();
    // Nothing listens on port 9 of localhost.
    let spec = rig.spec(Target::ComfyUrl {
        url: "http://127.0.0.1:9/".to_string(),
    });
    let job = engine.submit(&spec, None).unwrap();
    let began = Instant::now();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "jobs.comfy_timeout", "{err:?}");
    assert!(err.message().contains("Check the address"));
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "the 2 s test deadline, not 25 minutes"
    );
    assert_eq!(engine.journal().get(&job.id).unwrap().stage, Stage::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_on_a_warm_pod_leaves_the_users_pod_running() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let pod_id = rig
        .runpod
        .inject_pod("sds-warm0001", "NVIDIA A100 80GB PCIe");
    let engine = rig.engine();
    let spec = rig.spec(Target::WarmPod {
        pod_id: pod_id.clone(),
    });
    let job = engine.submit(&spec, None).unwrap();
    let outcome = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.job.stage, Stage::Done);
    let pod = outcome.job.pod.as_ref().unwrap();
    assert_eq!(pod.pod_id, pod_id);
    assert!(!pod.owned);
    assert_eq!(
        outcome.job.cost_usd,
        Some(0.0),
        "the user's own pod is not charged to the job"
    );
    assert_eq!(
        rig.runpod.pods_billing(),
        1,
        "a pod the user started stays up for the next render"
    );
    // The test ends with nothing billing.
    let client = studio_runpod::RunPodClient::new(
        rig.runpod.api_url(),
        studio_error::Sensitive::new(rig.runpod.api_key().to_string()),
    )
    .unwrap();
    client.delete_pod(&pod_id).await.unwrap();
    assert_eq!(rig.runpod.pods_billing(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimate_uses_the_catalog_price_and_the_video_length() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let spec = rig.new_pod();
    let frames = engine.expected_frames(&spec).await.unwrap();
    assert_eq!(
        frames, 21,
        "1.5 s read at 16 fps is 24 frames, kept to 4n+1"
    );
    let e = engine.estimate(&spec, frames).await.unwrap();
    assert!(
        (e.rate_usd_per_hour - 1.64).abs() < 1e-9,
        "the stand-in's A100 PCIe price: {e:?}"
    );
    assert!(e.startup_secs > 0.0 && e.cost_usd > 0.0);
    // The pinned environment downloads the lock's models on a pod without a volume.
    let lock = studio_pods::EnvLock::bundled();
    assert_eq!(e.download_bytes, lock.model_bytes());
    assert!(e.download_usd > 0.0 && e.startup_secs > e.download_secs);
    assert_eq!(e.later_cost_usd, None);
    let own = rig.spec(Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    assert_eq!(engine.estimate(&own, frames).await.unwrap().cost_usd, 0.0);
    assert!(rig.runpod.billing().is_empty(), "estimating starts nothing");
}

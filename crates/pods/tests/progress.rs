//! Readiness driven by the bootstrap's progress lines in the pod's log, against the stand-in
//! RunPod over real sockets: stages in order with byte progress, a bootstrap error failing at
//! once, a cut log stream resumed without loss or repeats, and pods without a readable log.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};
use studio_pods::{PodEvent, PodSpec, Stage, codes};
use tokio_util::sync::CancellationToken;

const SIZES: [u64; 3] = [16_400_000_000, 11_400_000_000, 254_000_000];

/// A rig that accepts these tests' own model lists (the lock's would make them slow to read).
async fn rig() -> common::Rig {
    let r = common::rig().await;
    r.standin.set_pod_contract(None);
    r
}

fn bootstrap_spec() -> PodSpec {
    let mut spec = PodSpec::default();
    let models = [
        "diffusion_models/WanVideo/SteadyDancer/sd.safetensors",
        "text_encoders/umt5-xxl-enc-bf16.safetensors",
        "vae/wanvideo/Wan2_1_VAE_bf16.safetensors",
    ]
    .iter()
    .zip(SIZES)
    .map(|(dest, size)| {
        format!(
            "{dest} {size} {:064x} rev1 Kijai/WanVideo_comfy {dest}",
            size
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    spec.env.insert("SDS_MODELS".to_string(), models);
    spec
}

fn plain_spec() -> PodSpec {
    let mut spec = PodSpec::default();
    spec.env.remove("SDS_MODELS");
    spec
}

fn stages(events: &[PodEvent]) -> Vec<Stage> {
    let mut s: Vec<Stage> = events.iter().map(|e| e.stage).collect();
    s.dedup();
    s
}

/// The download figures as they changed, one entry per change.
fn download_steps(events: &[PodEvent]) -> Vec<(u64, u64)> {
    let mut steps: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| e.download.as_ref())
        .map(|d| (d.done_files, d.done_bytes))
        .collect();
    steps.dedup();
    steps
}

/// What the stand-in's bootstrap reports for `SIZES`: each file at its start and half-way,
/// then all done.
fn expected_steps() -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut done = 0;
    for (i, size) in SIZES.iter().enumerate() {
        out.push((i as u64, done));
        out.push((i as u64, done + size / 2));
        done += size;
    }
    out.push((SIZES.len() as u64, done));
    out.dedup();
    out
}

#[tokio::test]
async fn a_bootstrap_pod_goes_through_install_download_and_start_with_byte_progress() {
    let mut r = rig().await;
    let ready = r
        .manager
        .start(&bootstrap_spec(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let events = r.drain();
    assert_eq!(
        stages(&events),
        [
            Stage::Creating,
            Stage::Provisioning,
            Stage::ContainerStarting,
            Stage::Installing,
            Stage::DownloadingModels,
            Stage::StartingComfy,
            Stage::ModelsPresent,
            Stage::Ready
        ]
    );
    assert_eq!(download_steps(&events), expected_steps());
    let total: u64 = SIZES.iter().sum();
    let downloading: Vec<&PodEvent> = events
        .iter()
        .filter(|e| e.stage == Stage::DownloadingModels)
        .collect();
    // The stage's first event comes with the stage line, before the first count.
    assert!(
        downloading
            .iter()
            .filter_map(|e| e.download.as_ref())
            .all(|d| d.total_bytes == total && d.files == 3)
    );
    let messages: Vec<&str> = downloading.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages.contains(&"Downloading model 1 of 3 (8.2 of 28.1 GB)"),
        "{messages:?}"
    );
    // Once a file is pinned on its first download, what Hugging Face reported is named too.
    assert!(
        messages.contains(
            &"Downloading model 3 of 3 (28.1 of 28.1 GB); pinned vae/wanvideo/Wan2_1_VAE_bf16.safetensors at revision rev1, SHA-256 000000000000"
        ),
        "{messages:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| e.stage != Stage::DownloadingModels)
            .all(|e| e.download.is_none())
    );
    let installing = events
        .iter()
        .find(|e| e.stage == Stage::Installing)
        .unwrap();
    assert!(!installing.message.is_empty());
    // The JSON the UI reads keeps its shape, plus the download when there is one.
    let counted = downloading.iter().find(|e| e.download.is_some()).unwrap();
    let json = serde_json::to_value(counted).unwrap();
    assert_eq!(json["stage"], "downloading_models");
    assert_eq!(json["download"]["total_bytes"], total);
    let json = serde_json::to_value(events.last().unwrap()).unwrap();
    assert!(json.get("download").is_none());

    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn a_bootstrap_error_fails_at_once_with_its_message_and_the_pod_is_terminated() {
    let mut r = common::rig_with(|c| {
        c.deadlines.container = Duration::from_secs(60);
        c.deadlines.comfy = Duration::from_secs(60);
        c.deadlines.models = Duration::from_secs(60);
    })
    .await;
    r.standin.set_pod_contract(None);
    r.standin.set_faults(|f| f.bootstrap_hash_mismatch = true);
    let began = Instant::now();
    let err = r
        .manager
        .start(&bootstrap_spec(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    let took = began.elapsed();
    assert_eq!(err.code(), codes::BOOTSTRAP_FAILED, "{}", err.message());
    assert!(
        err.message().contains("bootstrap.hash_mismatch") && err.message().contains("SHA-256"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("The pod was terminated"),
        "{}",
        err.message()
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let events = r.drain();
    assert!(stages(&events).contains(&Stage::DownloadingModels));
    assert_eq!(events.last().unwrap().stage, Stage::Terminated);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn a_cut_log_stream_is_resumed_and_every_progress_line_arrives_once() {
    let mut r = rig().await;
    r.standin.set_faults(|f| f.drop_log_stream_after = Some(3));
    let ready = r
        .manager
        .start(&bootstrap_spec(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let events = r.drain();
    assert_eq!(download_steps(&events), expected_steps());
    assert!(stages(&events).contains(&Stage::StartingComfy));
    let log_requests = r
        .standin
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("/logs"))
        .count();
    assert!(log_requests >= 4, "{log_requests} log connections");
    // The stand-in sent each whole line once over all connections, and nothing was skipped:
    // the reader resumed after exactly the last line it had.
    let served = r.standin.log_events_served(&ready.pod_id);
    let mut sorted = served.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, served, "a line was sent twice: {served:?}");
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn a_pod_without_the_bootstrap_is_ready_as_before() {
    let mut r = rig().await;
    let ready = r
        .manager
        .start(&plain_spec(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        stages(&r.drain()),
        [
            Stage::Creating,
            Stage::Provisioning,
            Stage::ContainerStarting,
            Stage::ComfyAnswering,
            Stage::ModelsPresent,
            Stage::Ready
        ]
    );
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn without_a_readable_log_a_bootstrap_pod_is_ready_by_status_and_comfy_alone() {
    let mut r = rig().await;
    r.standin.set_faults(|f| f.logs_unavailable = true);
    let ready = r
        .manager
        .start(&bootstrap_spec(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let events = r.drain();
    assert_eq!(
        stages(&events),
        [
            Stage::Creating,
            Stage::Provisioning,
            Stage::ContainerStarting,
            Stage::ComfyAnswering,
            Stage::ModelsPresent,
            Stage::Ready
        ]
    );
    assert!(events.iter().all(|e| e.download.is_none()));
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

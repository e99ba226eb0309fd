//! A render on a new pod whose result download stalls with the connection open: it must end
//! (resumed, or torn down at the stage's deadline), with its pod terminated, never hang while
//! the pod bills. And a prompt queued before the proxy answered 524 renders once.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use standin_comfy::{Faults, Route};
use std::sync::Arc;
use std::time::Duration;
use studio_comfy::ClientConfig;
use studio_jobs::{JobEvent, Stage, StudioMedia};
use tokio_util::sync::CancellationToken;

/// Before these fixes a stalled download held the job forever: fail instead of hanging.
async fn bounded<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the job hung on a stalled download while its pod billed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_download_that_stalls_half_way_completes_whole_and_the_pod_is_terminated() {
    let rig = rig(2, Duration::from_millis(5)).await;
    rig.comfy.set_faults(Faults {
        stall_download: Some((700, 1)),
        ..Default::default()
    });
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let outcome = bounded(engine.run(
        &job.id,
        CancellationToken::new(),
        Recorder::default().sink(),
    ))
    .await
    .unwrap();
    assert_eq!(outcome.job.stage, Stage::Done);
    let original = common_only_video(rig.comfy.output_dir());
    assert!(std::fs::metadata(&original).unwrap().len() > 1400);
    assert_eq!(
        std::fs::read(&outcome.job.outputs[0]).unwrap(),
        std::fs::read(&original).unwrap(),
        "the resumed file is whole"
    );
    assert_eq!(rig.comfy.ranged_downloads(), 1);
    assert_eq!(rig.runpod.pods_billing(), 0, "the pod was terminated");
    assert!(outcome.job.pod_ended_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_stuck_past_its_stage_deadline_is_torn_down_with_its_cost() {
    let rig = rig(2, Duration::from_millis(5)).await;
    // Every answer stalls; the client's own stall detector is set beyond the stage deadline so
    // that the deadline is what ends the job.
    rig.comfy.set_faults(Faults {
        stall_download: Some((700, u32::MAX)),
        ..Default::default()
    });
    let client = ClientConfig {
        stall_timeout: Duration::from_secs(120),
        read_timeout: Duration::from_secs(180),
        ..ClientConfig::fast()
    };
    let engine = rig.engine_tuned(Arc::new(StudioMedia::default()), client, |c| {
        c.transfer_margin = Duration::from_secs(2);
    });
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let rec = Recorder::default();
    let started = std::time::Instant::now();
    let err = bounded(engine.run(&job.id, CancellationToken::new(), rec.sink()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), studio_jobs::STAGE_DEADLINE, "{}", err.message());
    assert!(
        err.message().contains("download of the result"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("pod shut down"), "{}", err.message());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(rig.runpod.pods_billing(), 0, "the pod was terminated");
    let job = engine.journal().get(&job.id).unwrap();
    assert_eq!(job.stage, Stage::Failed);
    let cost = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .find_map(|(_, e)| match e {
            JobEvent::Finished {
                cost_usd, error, ..
            } => {
                assert_eq!(error.as_ref().unwrap().code, studio_jobs::STAGE_DEADLINE);
                Some(*cost_usd)
            }
            _ => None,
        })
        .expect("a final event");
    assert!(cost > 0.0, "the cost is reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_queued_before_the_proxy_answered_524_renders_once() {
    let rig = rig(2, Duration::from_millis(5)).await;
    rig.comfy.set_faults(Faults {
        answer_524: Some((Route::Prompt, 1)),
        answer_524_after_queueing: true,
        delay_524: Duration::from_millis(20),
        ..Default::default()
    });
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let outcome = bounded(engine.run(
        &job.id,
        CancellationToken::new(),
        Recorder::default().sink(),
    ))
    .await
    .unwrap();
    assert_eq!(outcome.job.stage, Stage::Done);
    assert_eq!(rig.comfy.prompts_accepted(), 1);
    assert_eq!(rig.comfy.prompts_executed(), 1);
    // The journal's prompt id is the one the server ran.
    let id = outcome.job.prompt_id.clone().unwrap();
    assert!(rig.comfy.history(&id).is_some());
    assert_eq!(rig.runpod.pods_billing(), 0);
}

fn common_only_video(dir: &std::path::Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

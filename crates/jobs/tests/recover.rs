//! A crash (the job's task dies mid-stage, as when the app is killed) and recovery by a fresh
//! engine over the same journal: the job finishes or is settled, and no pod is left billing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, Rig, is_stage, rig};
use std::time::Duration;
use studio_jobs::{JobEvent, Stage, no_events};
use tokio_util::sync::CancellationToken;

/// Runs a render on a new pod and kills its task the moment `crash_at` is reported: the
/// journal then holds exactly what a killed app leaves behind. Returns the job id.
async fn crash_at(rig: &Rig, crash_at: Stage) -> String {
    crash(rig, crash_at, true).await
}

async fn crash(rig: &Rig, crash_at: Stage, pod_left_billing: bool) -> String {
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let id = job.id.clone();
    let (died_tx, died) = tokio::sync::oneshot::channel();
    let died_tx = std::sync::Mutex::new(Some(died_tx));
    let sink = Recorder::default().sink_with(move |e: &JobEvent| {
        if is_stage(e, crash_at) {
            if let Some(tx) = died_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            // The app dies here. A panic would not do: the engine settles a panicking render
            // (tests/panic.rs). Its thread and runtime stop for good, so nothing after this
            // event runs, no clean-up included, as after SIGKILL.
            loop {
                std::thread::park();
            }
        }
    });
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ended = rt.block_on(engine.run(&id, CancellationToken::new(), sink));
        panic!("the render ended before the crash: {ended:?}");
    });
    died.await.unwrap();
    let left = rig.engine().journal().get(&job.id).unwrap();
    assert_eq!(
        left.stage, crash_at,
        "the journal holds the stage the crash interrupted"
    );
    if pod_left_billing {
        assert_eq!(
            rig.runpod.pods_billing(),
            1,
            "the crash left the pod billing"
        );
    }
    job.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_generating_is_resumed_and_finishes() {
    let rig = rig(40, Duration::from_millis(20)).await;
    let id = crash_at(&rig, Stage::Generating).await;
    let engine = rig.engine();
    let rec = Recorder::default();
    let settled = engine
        .recover(CancellationToken::new(), rec.sink())
        .await
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(
        (settled[0].from, settled[0].to),
        (Stage::Generating, Stage::Done),
        "{settled:?}"
    );
    assert!(settled[0].cost_usd > 0.0);
    let job = engine.journal().get(&id).unwrap();
    assert!(job.outputs[0].is_file());
    assert_eq!(engine.journal().gallery_list().unwrap()[0].id, id);
    assert_eq!(rig.runpod.pods_billing(), 0);
    // It followed the run it found, rather than queueing a new one.
    assert_eq!(rig.comfy.prompts_accepted(), 1);
    assert!(rec.stages().ends_with(&[
        Stage::Downloading,
        Stage::Verifying,
        Stage::TearingDown,
        Stage::Done
    ]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_downloading_is_resumed_and_finishes() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let id = crash_at(&rig, Stage::Downloading).await;
    let engine = rig.engine();
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(
        (settled[0].from, settled[0].to),
        (Stage::Downloading, Stage::Done),
        "{settled:?}"
    );
    let job = engine.journal().get(&id).unwrap();
    assert_eq!(job.stage, Stage::Done);
    assert!(job.outputs[0].is_file());
    assert_eq!(rig.runpod.pods_billing(), 0);
    assert_eq!(rig.comfy.prompts_accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_uploading_is_settled_as_interrupted_with_its_cost() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let id = crash_at(&rig, Stage::Uploading).await;
    let engine = rig.engine();
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(
        (settled[0].from, settled[0].to),
        (Stage::Uploading, Stage::Interrupted),
        "{settled:?}"
    );
    let job = engine.journal().get(&id).unwrap();
    assert_eq!(job.error_code.as_deref(), Some("jobs.interrupted"));
    let billed = rig.runpod.billing()[0].cost_usd;
    let cost = job.cost_usd.unwrap();
    assert!(
        cost > 0.0 && (cost - billed).abs() < billed * 0.5 + 0.0005,
        "cost {cost} billed {billed}"
    );
    assert_eq!(rig.runpod.pods_billing(), 0);
    // Settled jobs are not settled again.
    assert!(
        engine
            .recover(CancellationToken::new(), no_events())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_the_pod_boots_is_settled_and_the_pod_terminated() {
    let rig = rig(4, Duration::from_millis(10)).await;
    // studio-pods ends a pod whose start is dropped in-process; a killed process cannot, and
    // then recovery terminates it. Either way the journal still says the pod was booting.
    let id = crash(&rig, Stage::DownloadingModels, false).await;
    let engine = rig.engine();
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(settled[0].to, Stage::Interrupted, "{settled:?}");
    assert!(settled[0].cost_usd > 0.0);
    assert_eq!(engine.journal().get(&id).unwrap().stage, Stage::Interrupted);
    assert_eq!(rig.runpod.pods_billing(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_tearing_down_after_success_ends_done_in_the_gallery() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let id = crash_at(&rig, Stage::TearingDown).await;
    let engine = rig.engine();
    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();
    assert_eq!(
        (settled[0].from, settled[0].to),
        (Stage::TearingDown, Stage::Done),
        "{settled:?}"
    );
    assert_eq!(engine.journal().gallery_list().unwrap()[0].id, id);
    assert_eq!(rig.runpod.pods_billing(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recoverer_settles_only_the_jobs_it_listed_before_waiting() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let listed = crash(&rig, Stage::DownloadingModels, false).await;
    // A job that appeared while the recoverer waited for another (a new session's render).
    let later = crash(&rig, Stage::DownloadingModels, false).await;
    let engine = rig.engine();
    let only: std::collections::HashSet<String> = [listed.clone()].into();
    let settled = engine
        .recover_only(CancellationToken::new(), no_events(), Some(&only))
        .await
        .unwrap();
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].job_id, listed);
    assert_eq!(
        engine.journal().get(&listed).unwrap().stage,
        Stage::Interrupted
    );
    assert_eq!(
        engine.journal().get(&later).unwrap().stage,
        Stage::DownloadingModels,
        "the later job is left to the process that runs it"
    );
}

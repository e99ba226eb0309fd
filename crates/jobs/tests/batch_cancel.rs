//! Cancelling inside a batch: one running render stops while its pod carries on with the
//! rest; a queued one leaves the queue; cancel all ends every render and every pod.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::Duration;
use studio_jobs::{BatchControl, JobEvent, Stage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_one_running_render_lets_the_others_finish_on_the_same_pod() {
    let rig = rig(20, Duration::from_millis(50)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(3, 1), None).unwrap();
    let first = batch.job_ids[0].clone();
    let control = BatchControl::default();
    let c = control.clone();
    let target = first.clone();
    let sink = Recorder::default().sink_with(move |e| {
        if matches!(e, JobEvent::Sampling { job_id, value: 2, .. } if *job_id == target) {
            assert!(c.cancel(&target), "a running render is known to the batch");
        }
    });
    let out = engine.run_batch(&batch.id, control, sink).await.unwrap();
    let stages: Vec<_> = out.renders.iter().map(|r| r.stage).collect();
    assert_eq!(stages, [Stage::Cancelled, Stage::Done, Stage::Done]);
    assert_eq!(out.renders[0].error.as_ref().unwrap().code, "cancelled");
    assert!(
        out.renders[0].cost_usd > 0.0,
        "it held the pod until cancelled"
    );
    assert_eq!(rig.runpod.billing().len(), 1, "the pod carried on");
    assert_eq!(rig.runpod.pods_billing(), 0);
    // Its prompt was stopped on the server rather than left running.
    let prompt = engine.journal().get(&first).unwrap().prompt_id.unwrap();
    let mut history = rig.comfy.history(&prompt);
    for _ in 0..100 {
        if history.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        history = rig.comfy.history(&prompt);
    }
    assert!(
        history
            .unwrap()
            .to_string()
            .contains("execution_interrupted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_cancelled_before_the_batch_runs_leaves_the_queue_unpaid() {
    let rig = rig(4, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(2, 1), None).unwrap();
    let control = BatchControl::default();
    assert!(!control.cancel(&batch.job_ids[1]), "not running yet");
    let out = engine
        .run_batch(&batch.id, control, Recorder::default().sink())
        .await
        .unwrap();
    assert_eq!(out.renders[0].stage, Stage::Done);
    assert_eq!(out.renders[1].stage, Stage::Cancelled);
    assert_eq!(out.renders[1].cost_usd, 0.0);
    let job = engine.journal().get(&batch.job_ids[1]).unwrap();
    assert!(!job.stages.iter().any(|s| s.stage == Stage::CheckingInputs));
    assert!(
        job.error_message
            .unwrap()
            .contains("Removed from the queue")
    );

    // remove_queued refuses a render that is no longer queued.
    assert!(engine.remove_queued(&batch.job_ids[0]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_all_ends_every_render_and_every_pod() {
    let rig = rig(100, Duration::from_millis(30)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(4, 2), None).unwrap();
    let control = BatchControl::default();
    let c = control.clone();
    let sink = Recorder::default().sink_with(move |e| {
        if matches!(e, JobEvent::Sampling { value: 3, .. }) {
            c.cancel_all();
        }
    });
    let out = engine.run_batch(&batch.id, control, sink).await.unwrap();
    for r in &out.renders {
        assert_eq!(r.stage, Stage::Cancelled, "{r:?}");
    }
    assert!(!rig.runpod.billing().is_empty());
    assert_eq!(rig.runpod.pods_billing(), 0, "{:?}", rig.runpod.billing());
    assert!(out.batch.finished_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_task_is_aborted_leaves_no_pod_billing() {
    let rig = rig(200, Duration::from_millis(30)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(2, 1), None).unwrap();
    let (tx, generating) = tokio::sync::oneshot::channel::<()>();
    let tx = std::sync::Mutex::new(Some(tx));
    let sink = Recorder::default().sink_with(move |e| {
        if matches!(e, JobEvent::Sampling { .. })
            && let Some(tx) = tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    });
    let runner = engine.clone();
    let id = batch.id.clone();
    let task =
        tokio::spawn(async move { runner.run_batch(&id, BatchControl::default(), sink).await });
    generating.await.unwrap();
    assert_eq!(rig.runpod.pods_billing(), 1);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let mut billing = rig.runpod.pods_billing();
    for _ in 0..100 {
        if billing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        billing = rig.runpod.pods_billing();
    }
    assert_eq!(billing, 0, "the dropped queue's pod was terminated");
    // Its renders are left for recovery, which settles them without a pod.
    let settled = engine
        .recover(
            tokio_util::sync::CancellationToken::new(),
            studio_jobs::no_events(),
        )
        .await
        .unwrap();
    assert!(
        settled
            .iter()
            .all(|r| r.to.is_terminal() || r.to == Stage::Queued),
        "{settled:?}"
    );
}

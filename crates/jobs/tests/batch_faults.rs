//! What goes wrong in a batch stays with the render it happened to: a bad input fails alone,
//! a pod that vanishes gives its renders to a new pod, the batch budget stops everything.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PanicsOnVerify, Recorder, rig};
use std::sync::Arc;
use std::time::Duration;
use studio_jobs::{BUDGET_REACHED, BatchControl, JobEvent, PANICKED, Stage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_that_panics_fails_alone_and_the_pod_still_ends() {
    let rig = rig(4, Duration::from_millis(20)).await;
    let media = PanicsOnVerify::new(1);
    let engine = rig.engine_with_media(Arc::new(media));
    let batch = engine.submit_batch(&rig.batch(3, 1), None).unwrap();
    let out = engine
        .run_batch(
            &batch.id,
            BatchControl::default(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    let failed: Vec<_> = out
        .renders
        .iter()
        .filter(|r| r.stage == Stage::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", out.renders);
    assert_eq!(failed[0].error.as_ref().unwrap().code, PANICKED);
    assert_eq!(
        out.renders
            .iter()
            .filter(|r| r.stage == Stage::Done)
            .count(),
        2
    );
    assert_eq!(rig.runpod.billing().len(), 1);
    assert_eq!(rig.runpod.pods_billing(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_video_fails_alone_and_the_others_finish_on_one_pod() {
    let rig = rig(4, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let mut spec = rig.batch(3, 1);
    spec.renders[1].video = rig.corrupt_video();
    let batch = engine.submit_batch(&spec, None).unwrap();
    let rec = Recorder::default();
    let out = engine
        .run_batch(&batch.id, BatchControl::default(), rec.sink())
        .await
        .unwrap();
    let stages: Vec<_> = out.renders.iter().map(|r| r.stage).collect();
    assert_eq!(stages, [Stage::Done, Stage::Failed, Stage::Done]);
    let bad = &out.renders[1];
    assert!(bad.error.is_some());
    assert_eq!(bad.cost_usd, 0.0, "it never reached the pod");
    let job = engine.journal().get(&bad.job_id).unwrap();
    assert!(job.pod.is_none());
    assert_eq!(rig.runpod.billing().len(), 1);
    assert_eq!(rig.runpod.pods_billing(), 0);
    assert!(matches!(
        rec.0.lock().unwrap().last(),
        Some((
            _,
            JobEvent::BatchFinished {
                done: 2,
                failed: 1,
                ..
            }
        ))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_inputs_are_all_bad_rents_nothing() {
    let rig = rig(4, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let mut spec = rig.batch(2, 2);
    for r in &mut spec.renders {
        r.video = rig.corrupt_video();
    }
    let batch = engine.submit_batch(&spec, None).unwrap();
    let out = engine
        .run_batch(
            &batch.id,
            BatchControl::default(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    assert!(out.renders.iter().all(|r| r.stage == Stage::Failed));
    assert!(rig.runpod.billing().is_empty(), "no pod was created");
    assert_eq!(out.batch.cost_usd, Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_vanishes_gives_its_renders_to_a_new_pod() {
    let rig = rig(30, Duration::from_millis(50)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(3, 1), None).unwrap();
    let (tx, generating) = tokio::sync::oneshot::channel::<String>();
    let tx = std::sync::Mutex::new(Some(tx));
    let sink = Recorder::default().sink_with(move |e| {
        if let JobEvent::Stage {
            job_id,
            stage: Stage::Generating,
            ..
        } = e
            && let Some(tx) = tx.lock().unwrap().take()
        {
            let _ = tx.send(job_id.clone());
        }
    });
    let runner = engine.clone();
    let id = batch.id.clone();
    let run =
        tokio::spawn(async move { runner.run_batch(&id, BatchControl::default(), sink).await });
    // RunPod takes the pod away while the first render generates (spot reclaim).
    let job_id = generating.await.unwrap();
    let pod_id = engine.journal().get(&job_id).unwrap().pod.unwrap().pod_id;
    assert!(rig.client().terminate_pod(&pod_id).await.unwrap());
    let out = run.await.unwrap().unwrap();

    assert!(
        out.renders.iter().all(|r| r.stage == Stage::Done),
        "{:?}",
        out.renders
    );
    assert_eq!(rig.runpod.billing().len(), 2, "a new pod took over");
    assert_eq!(rig.runpod.pods_billing(), 0);
    let jobs = engine.journal().batch_jobs(&batch.id).unwrap();
    let first = jobs.iter().find(|j| j.id == job_id).unwrap();
    assert_eq!(first.requeues, 1);
    // Same job, back to queued once, its history kept.
    let queued = first
        .stages
        .iter()
        .filter(|s| s.stage == Stage::Queued)
        .count();
    assert_eq!(queued, 2, "{:?}", first.stages);
    assert!(
        first
            .stages
            .iter()
            .filter(|s| s.stage == Stage::Generating)
            .count()
            >= 1
    );
    assert_ne!(first.pod.as_ref().unwrap().pod_id, pod_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_budget_stops_every_render_and_leaves_no_pod() {
    let rig = rig(200, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let mut spec = rig.batch(3, 2);
    // About a second of two pods at the stand-in's price: reached long before a render ends.
    spec.budget_usd = Some(0.0008);
    let batch = engine.submit_batch(&spec, None).unwrap();
    let rec = Recorder::default();
    let out = engine
        .run_batch(&batch.id, BatchControl::default(), rec.sink())
        .await
        .unwrap();
    for r in &out.renders {
        assert_eq!(r.stage, Stage::Failed, "{r:?}");
        assert_eq!(r.error.as_ref().unwrap().code, BUDGET_REACHED);
    }
    assert_eq!(rig.runpod.pods_billing(), 0, "{:?}", rig.runpod.billing());
    let cost = out.batch.cost_usd.unwrap();
    assert!(cost >= 0.0008, "{cost}");
    assert!(
        rec.count(|e| matches!(
            e,
            JobEvent::BatchCost {
                budget_usd: Some(_),
                ..
            }
        )) >= 1
    );
}

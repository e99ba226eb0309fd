//! A pod that cannot be started: with no other lease alive the waiting renders fail with why;
//! with another lease alive that one carries on with every render.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::Duration;
use studio_jobs::{BatchControl, JobEvent, LeaseState, Stage};
use studio_pods::PodSpec;

fn no_capacity_anywhere(rig: &common::Rig) {
    rig.runpod.set_faults(|f| {
        f.no_capacity = PodSpec::default().gpu_candidates.into_iter().collect();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_capacity_for_the_only_lease_fails_the_waiting_renders_with_why() {
    let rig = rig(4, Duration::from_millis(20)).await;
    no_capacity_anywhere(&rig);
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(3, 1), None).unwrap();
    let out = engine
        .run_batch(
            &batch.id,
            BatchControl::default(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    for r in &out.renders {
        assert_eq!(r.stage, Stage::Failed, "{r:?}");
        assert_eq!(r.error.as_ref().unwrap().code, "pods.no_capacity");
    }
    assert!(rig.runpod.billing().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pod_that_cannot_start_leaves_the_first_to_render_everything() {
    let rig = rig(6, Duration::from_millis(40)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(4, 2), None).unwrap();
    // The queue waits in its event sink (it runs in one task) until the test has made RunPod
    // run out of GPUs: the first pod exists, the second cannot.
    let (created_tx, created) = std::sync::mpsc::channel::<()>();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    let go = std::sync::Mutex::new(go);
    let created_tx = std::sync::Mutex::new(Some(created_tx));
    let sink = Recorder::default().sink_with(move |e| {
        if matches!(
            e,
            JobEvent::Lease {
                state: LeaseState::Starting,
                ..
            }
        ) && let Some(tx) = created_tx.lock().unwrap().take()
        {
            tx.send(()).unwrap();
            go.lock().unwrap().recv().unwrap();
        }
    });
    let runner = engine.clone();
    let id = batch.id.clone();
    let run =
        tokio::spawn(async move { runner.run_batch(&id, BatchControl::default(), sink).await });
    tokio::task::block_in_place(|| created.recv().unwrap());
    no_capacity_anywhere(&rig);
    go_tx.send(()).unwrap();
    let out = run.await.unwrap().unwrap();
    assert!(
        out.renders.iter().all(|r| r.stage == Stage::Done),
        "{:?}",
        out.renders
    );
    assert_eq!(rig.runpod.billing().len(), 1);
    assert_eq!(rig.runpod.pods_billing(), 0);
    // The second lease tried: its first render showed the pod starting, then went back to the
    // queue (not counted as a vanish) and ran on the first pod.
    let jobs = engine.journal().batch_jobs(&batch.id).unwrap();
    let put_back = jobs
        .iter()
        .find(|j| {
            j.stages
                .windows(2)
                .any(|w| w[0].stage == Stage::StartingPod && w[1].stage == Stage::Queued)
        })
        .expect("a render waited for the second pod");
    assert_eq!(put_back.requeues, 0);
}

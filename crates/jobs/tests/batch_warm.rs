//! A pod the user started by hand and left idle is taken by the queue instead of a new one,
//! and handed back afterwards: still running, owner cleared.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, manifest, rig};
use std::time::Duration;
use studio_jobs::{BatchControl, JobEvent, LeaseState, PodProvider, Stage};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_warm_pod_is_used_instead_of_a_new_one_and_left_running() {
    let rig = rig(4, Duration::from_millis(20)).await;
    // The user starts a pod by hand (the Pods screen): ready, held by nobody.
    let pods = rig.pods();
    let warm = pods
        .start("user", &[], &manifest(), &|_| {}, &CancellationToken::new())
        .await
        .unwrap();
    pods.set_owner(&warm.pod.pod_id, None).unwrap();
    assert_eq!(rig.runpod.billing().len(), 1);

    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(2, 1), None).unwrap();
    let rec = Recorder::default();
    let owner_during = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = owner_during.clone();
    let journal = rig.journal_path();
    let pod_id = warm.pod.pod_id.clone();
    let sink = rec.sink_with(move |e| {
        if matches!(
            e,
            JobEvent::Stage {
                stage: Stage::Generating,
                ..
            }
        ) {
            let row = studio_pods::Journal::open(&journal)
                .unwrap()
                .by_pod_id(&pod_id)
                .unwrap();
            *seen.lock().unwrap() = row.and_then(|r| r.owner);
        }
    });
    let out = engine
        .run_batch(&batch.id, BatchControl::default(), sink)
        .await
        .unwrap();
    assert!(
        out.renders.iter().all(|r| r.stage == Stage::Done),
        "{:?}",
        out.renders
    );
    assert_eq!(rig.runpod.billing().len(), 1, "no new pod was created");
    assert_eq!(rig.runpod.pods_billing(), 1, "the user's pod is still up");
    for id in &batch.job_ids {
        let job = engine.journal().get(id).unwrap();
        assert_eq!(job.pod.unwrap().pod_id, warm.pod.pod_id);
        assert!(job.pod_ended_ms.is_none());
    }
    assert_eq!(
        owner_during.lock().unwrap().as_deref(),
        Some(format!("batch:{}", batch.id).as_str()),
        "the batch held the pod while it rendered"
    );
    let row = studio_pods::Journal::open(&rig.journal_path())
        .unwrap()
        .by_pod_id(&warm.pod.pod_id)
        .unwrap()
        .unwrap();
    assert_eq!(row.owner, None, "handed back to the user");
    assert!(
        rec.count(|e| matches!(
            e,
            JobEvent::Lease {
                state: LeaseState::Released,
                ..
            }
        )) == 1
    );
    assert!(
        rec.count(|e| matches!(
            e,
            JobEvent::Lease {
                state: LeaseState::Terminated,
                ..
            }
        )) == 0
    );
    pods.terminate(&warm.pod.pod_id).await.unwrap();
    assert_eq!(rig.runpod.pods_billing(), 0);
}

//! A batch over the stand-in RunPod and ComfyUI: one pod runs several renders back to back
//! with the next queued while one generates, two pods share four renders, and each pod ends
//! within 3 s of its last result.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use studio_jobs::{BatchControl, JobEvent, JobRecord, LeaseState, Stage};

fn started(job: &JobRecord, stage: Stage) -> i64 {
    job.stages
        .iter()
        .find(|s| s.stage == stage)
        .unwrap_or_else(|| panic!("{} never reached {stage:?}: {:?}", job.id, job.stages))
        .started_ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_renders_on_one_pod_pipelined_and_the_pod_ends_within_3s_of_the_last_result() {
    let rig = rig(10, Duration::from_millis(80)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(3, 1), None).unwrap();
    assert_eq!(batch.job_ids.len(), 3);
    let rec = Recorder::default();
    let out = engine
        .run_batch(&batch.id, BatchControl::default(), rec.sink())
        .await
        .unwrap();

    // One pod for the three, and nothing left billing.
    let billing = rig.runpod.billing();
    assert_eq!(billing.len(), 1, "{billing:?}");
    assert_eq!(rig.runpod.pods_billing(), 0);

    let jobs = engine.journal().batch_jobs(&batch.id).unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        batch.job_ids
    );
    for job in &jobs {
        assert_eq!(job.stage, Stage::Done, "{:?}", job.error_message);
        assert!(job.stages.iter().any(|s| s.stage == Stage::Verifying));
        assert!(job.outputs[0].is_file());
        assert_eq!(job.pod.as_ref().unwrap().pod_id, billing[0].id);
        assert!(!job.pod.as_ref().unwrap().owned, "the lease owns the pod");
        assert!(job.pod_ended_ms.is_some());
    }
    // Only the first render waited for the pod; the others were uploaded to it straight away.
    assert!(jobs[0].stages.iter().any(|s| s.stage == Stage::StartingPod));
    for job in &jobs[1..] {
        assert!(!job.stages.iter().any(|s| s.stage == Stage::StartingPod));
    }
    // Pipelining: each next render was queued on ComfyUI before the previous one's generation
    // ended (its download began), and at most two were in flight.
    for pair in jobs.windows(2) {
        assert!(
            started(&pair[1], Stage::QueuedOnComfy) < started(&pair[0], Stage::Downloading),
            "{:?}\n{:?}",
            pair[0].stages,
            pair[1].stages
        );
    }
    assert!(started(&jobs[2], Stage::Uploading) >= started(&jobs[0], Stage::Downloading));

    // The pod was terminated within 3 s of the last verified result.
    let events = rec.0.lock().unwrap().clone();
    let last_verified = events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                JobEvent::Stage {
                    stage: Stage::Verifying,
                    ..
                }
            )
        })
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    let terminated = events
        .iter()
        .find_map(|(t, e)| match e {
            JobEvent::Lease {
                state: LeaseState::Terminated,
                ..
            } => Some(*t),
            _ => None,
        })
        .expect("the lease reported its pod terminated");
    assert!(
        terminated.duration_since(last_verified) < Duration::from_secs(3),
        "{:?}",
        terminated.duration_since(last_verified)
    );

    // Costs: each render its share, the batch what its lease billed (close to the stand-in's
    // own clock), and the shares never more than the batch.
    let shares: f64 = jobs.iter().map(|j| j.cost_usd.unwrap()).sum();
    let cost = out.batch.cost_usd.unwrap();
    assert!(jobs.iter().all(|j| j.cost_usd.unwrap() > 0.0));
    assert!(shares <= cost + 1e-9, "shares {shares} batch {cost}");
    assert!(
        (cost - billing[0].cost_usd).abs() < billing[0].cost_usd * 0.3 + 0.0005,
        "batch {cost} billed {}",
        billing[0].cost_usd
    );
    assert!(out.batch.finished_ms.is_some());
    assert_eq!(out.renders.len(), 3);
    assert!(out.renders.iter().all(|r| r.stage == Stage::Done));

    assert!(
        matches!(events.first(), Some((_, JobEvent::BatchStarted { job_ids, .. })) if *job_ids == batch.job_ids)
    );
    assert!(matches!(
        events.last(),
        Some((
            _,
            JobEvent::BatchFinished {
                done: 3,
                failed: 0,
                cancelled: 0,
                ..
            }
        ))
    ));
    assert!(rec.count(|e| matches!(e, JobEvent::BatchCost { .. })) >= 1);
    assert!(rec.count(|e| matches!(e, JobEvent::Cost { .. })) >= 1);
    assert_eq!(engine.journal().gallery_list().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_renders_on_two_pods_never_more_than_two_live() {
    let rig = rig(10, Duration::from_millis(60)).await;
    let engine = rig.engine();
    let batch = engine.submit_batch(&rig.batch(4, 2), None).unwrap();
    let ended = AtomicBool::new(false);
    let run = async {
        let out = engine
            .run_batch(
                &batch.id,
                BatchControl::default(),
                Recorder::default().sink(),
            )
            .await;
        ended.store(true, Ordering::SeqCst);
        out
    };
    let sample = async {
        let mut most = 0;
        while !ended.load(Ordering::SeqCst) {
            most = most.max(rig.runpod.pods_billing());
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        most
    };
    let (out, most) = tokio::join!(run, sample);
    let out = out.unwrap();
    assert_eq!(most, 2, "at most two pods at once, and both used");
    assert_eq!(rig.runpod.billing().len(), 2);
    assert_eq!(rig.runpod.pods_billing(), 0);
    assert!(
        out.renders.iter().all(|r| r.stage == Stage::Done),
        "{:?}",
        out.renders
    );
    let jobs = engine.journal().batch_jobs(&batch.id).unwrap();
    let pods: std::collections::HashSet<_> = jobs
        .iter()
        .map(|j| j.pod.as_ref().unwrap().pod_id.clone())
        .collect();
    assert_eq!(pods.len(), 2, "both pods rendered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_estimate_of_one_render_is_the_single_render_estimate() {
    let rig = rig(4, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let spec = rig.new_pod();
    let single = engine.estimate(&spec, 81).await.unwrap();
    let one = engine
        .estimate_batch(std::slice::from_ref(&spec), &[81], 3)
        .await
        .unwrap();
    assert_eq!(one.pods, 1);
    assert!(
        (one.total_usd - single.cost_usd).abs() < 1e-9,
        "{one:?} {single:?}"
    );
    assert!((one.wall_secs - single.total_secs).abs() < 1e-9);
    assert!(one.cold_start_usd > 0.0);

    // Four renders on two pods: two cold starts, and the renders split between them.
    let four = engine
        .estimate_batch(&vec![spec; 4], &[81; 4], 2)
        .await
        .unwrap();
    assert_eq!(four.pods, 2);
    assert!((four.cold_start_usd - 2.0 * one.cold_start_usd).abs() < 1e-9);
    let per_render = one.renders[0].cost_usd;
    assert!((four.total_usd - (4.0 * per_render + four.cold_start_usd)).abs() < 1e-9);
    let render_secs = one.renders[0].total_secs;
    assert!((four.wall_secs - (one.wall_secs + render_secs)).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_on_an_own_comfyui_rents_nothing_and_keeps_two_in_flight() {
    let rig = rig(8, Duration::from_millis(60)).await;
    let engine = rig.engine();
    let own = studio_jobs::Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    };
    let mut spec = rig.batch(3, 3);
    for r in &mut spec.renders {
        r.target = own.clone();
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
    assert!(
        out.renders
            .iter()
            .all(|r| r.stage == Stage::Done && r.cost_usd == 0.0)
    );
    assert!(rig.runpod.billing().is_empty());
    assert_eq!(out.batch.cost_usd, Some(0.0));
    // One lease on the user's server however many pods were allowed: the third render waits
    // until the first one's generation ended.
    let jobs = engine.journal().batch_jobs(&batch.id).unwrap();
    assert!(started(&jobs[2], Stage::Uploading) >= started(&jobs[0], Stage::Downloading));
    assert!(started(&jobs[1], Stage::QueuedOnComfy) < started(&jobs[0], Stage::Downloading));
}

//! Cancel at each stage, the budget cap and a vanishing pod: every way out ends with zero pods
//! billing on the stand-in's clock and the job settled in the journal.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, Rig, is_stage, rig};
use std::time::Duration;
use studio_jobs::{JobEvent, Stage};
use tokio_util::sync::CancellationToken;

async fn cancel_when(
    rig: &Rig,
    trigger: impl Fn(&JobEvent) -> bool + Send + Sync + 'static,
) -> Recorder {
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let rec = Recorder::default();
    let sink = rec.sink_with(move |e| {
        if trigger(e) {
            token.cancel();
        }
    });
    let err = engine.run(&job.id, cancel, sink).await.unwrap_err();
    assert_eq!(err.code(), "cancelled", "{err:?}");
    let job = engine.journal().get(&job.id).unwrap();
    assert_eq!(job.stage, Stage::Cancelled);
    assert_eq!(job.error_code.as_deref(), Some("cancelled"));
    assert_eq!(rig.runpod.pods_billing(), 0, "{:?}", rig.runpod.billing());
    assert!(engine.journal().gallery_list().unwrap().is_empty());
    assert!(matches!(
        rec.0.lock().unwrap().last(),
        Some((
            _,
            JobEvent::Finished {
                stage: Stage::Cancelled,
                ..
            }
        ))
    ));
    rec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_the_pod_starts_terminates_it() {
    let rig = rig(4, Duration::from_millis(10)).await;
    // The first cost tick means RunPod accepted the pod: it is billing while it boots.
    cancel_when(&rig, |e| matches!(e, JobEvent::Cost { .. })).await;
    let billing = rig.runpod.billing();
    assert_eq!(billing.len(), 1, "the pod existed when cancelled");
    assert!(!billing[0].billing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_uploading_terminates_the_pod() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let rec = cancel_when(&rig, |e| is_stage(e, Stage::Uploading)).await;
    assert!(!rec.stages().contains(&Stage::QueuedOnComfy));
    assert_eq!(rig.runpod.billing().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_generating_interrupts_and_terminates() {
    let rig = rig(200, Duration::from_millis(20)).await;
    let rec = cancel_when(&rig, |e| matches!(e, JobEvent::Sampling { value: 2, .. })).await;
    // The prompt was interrupted on the server, not left running on a pod nobody pays for.
    let job = &rig.engine().journal().list().unwrap()[0];
    // The server settles the interrupted prompt at its next step: give it a moment.
    let prompt_id = job.prompt_id.as_deref().unwrap();
    let mut history = rig.comfy.history(prompt_id);
    for _ in 0..100 {
        if history.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        history = rig.comfy.history(prompt_id);
    }
    let history = history.expect("the server settled the prompt");
    assert!(
        history.to_string().contains("execution_interrupted"),
        "{history}"
    );
    assert!(!rec.stages().contains(&Stage::Downloading));
    assert_eq!(rig.runpod.billing().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_cap_stops_the_render_and_tears_down() {
    let rig = rig(200, Duration::from_millis(20)).await;
    let engine = rig.engine();
    let mut spec = rig.new_pod();
    // About 0.4 s of an A100 at the stand-in's price: reached before the render could finish.
    spec.budget_usd = Some(0.0002);
    let job = engine.submit(&spec, None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "jobs.budget_reached", "{err:?}");
    let job = engine.journal().get(&job.id).unwrap();
    assert_eq!(job.stage, Stage::Failed);
    assert!(job.cost_usd.unwrap() >= 0.0002);
    assert_eq!(rig.runpod.pods_billing(), 0);
    assert_eq!(rig.runpod.billing().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_vanishes_mid_render_fails_the_job_with_nothing_billing() {
    let rig = rig(300, Duration::from_millis(20)).await;
    rig.runpod
        .set_faults(|f| f.vanish_after = Some(Duration::from_millis(2500)));
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    let job = engine.journal().get(&job.id).unwrap();
    assert_eq!(job.stage, Stage::Failed, "{err:?}");
    assert_eq!(err.code(), "jobs.pod_vanished", "{err:?}");
    assert_eq!(rig.runpod.pods_billing(), 0);
}

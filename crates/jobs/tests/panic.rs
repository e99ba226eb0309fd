//! A panic inside a render (a backend bug, a decoder, an event sink) still tears the pod down
//! and settles the job: zero pods billing on the stand-in's clock, the job failed with its
//! cost, and the final event sent.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PanicsOnVerify, Recorder, is_stage, rig};
use std::sync::Arc;
use std::time::Duration;
use studio_jobs::{JobEvent, Stage};
use tokio_util::sync::CancellationToken;

/// `studio_jobs::PANICKED`, spelled out so this test also builds against the code before it.
const PANICKED: &str = "jobs.panicked";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_mid_render_still_terminates_the_pod_and_settles_the_job() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let engine = rig.engine_with_media(Arc::new(PanicsOnVerify::new(u32::MAX)));
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let rec = Recorder::default();
    let sink = rec.sink();
    let id = job.id.clone();
    let runner = engine.clone();
    // Spawned so that, were the panic to escape, the test still sees the pod left billing.
    let ran =
        tokio::spawn(async move { runner.run(&id, CancellationToken::new(), sink).await }).await;
    let err = match ran {
        Ok(result) => result.unwrap_err(),
        Err(join) => panic!("the panic escaped the render: {join}"),
    };
    assert_eq!(err.code(), PANICKED, "{err:?}");
    assert_eq!(rig.runpod.pods_billing(), 0, "{:?}", rig.runpod.billing());
    assert_eq!(
        rig.runpod.billing().len(),
        1,
        "the pod existed when it panicked"
    );
    let job = engine.journal().get(&job.id).unwrap();
    assert_eq!(job.stage, Stage::Failed);
    assert_eq!(job.error_code.as_deref(), Some(PANICKED));
    assert!(job.pod_ended_ms.is_some());
    assert!(job.cost_usd.is_some_and(|c| c > 0.0), "{:?}", job.cost_usd);
    assert!(rec.stages().contains(&Stage::Verifying));
    assert!(matches!(
        rec.0.lock().unwrap().last(),
        Some((
            _,
            JobEvent::Finished {
                stage: Stage::Failed,
                ..
            }
        ))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_event_sink_loses_events_not_the_pod() {
    let rig = rig(4, Duration::from_millis(10)).await;
    let engine = rig.engine();
    let job = engine.submit(&rig.new_pod(), None).unwrap();
    let rec = Recorder::default();
    let sink = rec.sink_with(|e| {
        if is_stage(e, Stage::Uploading) {
            panic!("injected: the window's channel is gone");
        }
    });
    let id = job.id.clone();
    let runner = engine.clone();
    let ran =
        tokio::spawn(async move { runner.run(&id, CancellationToken::new(), sink).await }).await;
    assert!(ran.is_ok(), "the panic escaped the render");
    assert_eq!(rig.runpod.pods_billing(), 0, "{:?}", rig.runpod.billing());
    let job = engine.journal().get(&job.id).unwrap();
    assert!(job.stage.is_terminal(), "{:?}", job.stage);
}

//! Terminate-and-confirm against a stand-in RunPod that does not end a pod the instant it is
//! told to: one that lingers, one whose first DELETE is lost, one that never goes.
#![allow(clippy::unwrap_used)]

mod common;

use common::Rig;
use std::time::{Duration, Instant};
use studio_pods::{PodSpec, ReadyPod, codes, journal::states};
use tokio_util::sync::CancellationToken;

async fn ready_pod(terminate_timeout: Duration) -> (Rig, ReadyPod) {
    let r = common::rig_with(|c| c.terminate_timeout = terminate_timeout).await;
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    (r, ready)
}

fn deletes(r: &Rig, pod_id: &str) -> usize {
    let path = format!("/v2/pods/{pod_id}");
    r.standin
        .requests()
        .iter()
        .filter(|q| q.method == "DELETE" && q.path == path)
        .count()
}

fn journal_state(r: &Rig, pod_id: &str) -> String {
    let rows = r.manager.journal_pods().unwrap();
    let row = rows
        .iter()
        .find(|p| p.pod_id.as_deref() == Some(pod_id))
        .expect("the pod is in the journal");
    row.state.clone()
}

#[tokio::test]
async fn a_pod_that_lingers_after_delete_is_waited_for_and_confirmed() {
    let (r, ready) = ready_pod(Duration::from_secs(3)).await;
    r.standin
        .set_faults(|f| f.terminate_lingers = Some(Duration::from_millis(700)));
    let began = Instant::now();
    let done = r
        .manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    assert!(done.was_running);
    assert!(
        began.elapsed() >= Duration::from_millis(650),
        "confirmed only once RunPod stopped listing it: {:?}",
        began.elapsed()
    );
    assert_eq!(journal_state(&r, &ready.pod_id), states::TERMINATED);
    r.assert_nothing_billing();
}

// The first DELETE is answered but lost, and the second takes a while to act: a re-send left
// to the last poll before the deadline would never be seen to work.
#[tokio::test]
async fn a_lost_delete_is_sent_again_in_time_to_be_confirmed() {
    let (r, ready) = ready_pod(Duration::from_secs(3)).await;
    r.standin.set_faults(|f| {
        f.deletes_lost = 1;
        f.terminate_lingers = Some(Duration::from_millis(500));
    });
    let done = r.manager.terminate(&ready.pod_id, &r.reporter).await;
    assert!(done.is_ok(), "{done:?}");
    assert!(deletes(&r, &ready.pod_id) >= 2);
    assert_eq!(journal_state(&r, &ready.pod_id), states::TERMINATED);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn a_pod_that_never_goes_is_reported_and_left_for_the_sweep() {
    let (r, ready) = ready_pod(Duration::from_millis(900)).await;
    r.standin.set_faults(|f| f.terminate_never = true);
    let began = Instant::now();
    let err = r
        .manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::TERMINATE_UNCONFIRMED, "{err:?}");
    assert!(began.elapsed() >= Duration::from_millis(900));
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let msg = err.message();
    assert!(msg.contains(&ready.pod_id), "{msg}");
    assert!(msg.contains("listed on the Pods screen"), "{msg}");
    assert!(msg.contains("Terminate"), "says what to do: {msg}");
    assert!(msg.contains("billing"), "says why it matters: {msg}");
    assert!(deletes(&r, &ready.pod_id) >= 2, "the DELETE was sent again");
    assert_ne!(journal_state(&r, &ready.pod_id), states::TERMINATED);
    assert_eq!(r.standin.pods_billing(), 1, "the stand-in still bills it");

    // Once RunPod acts again, the next attempt settles the journal and the bill.
    r.standin.set_faults(|f| f.terminate_never = false);
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    assert_eq!(journal_state(&r, &ready.pod_id), states::TERMINATED);
    r.assert_nothing_billing();
}

//! A crash in the instant between RunPod's create call and anything the queue writes after it:
//! only the pods journal's intent (held by the batch since before the call) knows the pod.
//! Recovery must still end it; before the owner went in with the intent, it billed on.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;
use studio_jobs::{BatchSpec, Stage, no_events};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_pod_created_just_before_a_crash_is_ended_by_recovery() {
    let rig = common::rig(2, Duration::from_millis(10)).await;
    let engine = rig.engine();
    let batch = engine
        .submit_batch(
            &BatchSpec {
                renders: vec![rig.new_pod(), rig.new_pod()],
                max_pods: 1,
                budget_usd: None,
            },
            None,
        )
        .unwrap();
    let first = &batch.job_ids[0];
    // Where the crashed run was: the first render prepared and its pod being created.
    let journal = engine.journal();
    for (from, to) in [
        (Stage::Queued, Stage::CheckingInputs),
        (Stage::CheckingInputs, Stage::Normalising),
        (Stage::Normalising, Stage::StartingPod),
    ] {
        journal.transition(first, from, to).unwrap();
    }
    let name = "sds-crashed-create01";
    let pod = rig.runpod.inject_pod(name, "NVIDIA A100 80GB PCIe");
    studio_pods::Journal::open(&rig.journal_path())
        .unwrap()
        .record_intent_for(
            name,
            "NVIDIA A100 80GB PCIe",
            1.64,
            Some(&format!("batch:{}", batch.id)),
        )
        .unwrap();

    let settled = engine
        .recover(CancellationToken::new(), no_events())
        .await
        .unwrap();

    let billing: Vec<_> = rig
        .runpod
        .billing()
        .into_iter()
        .filter(|b| b.billing)
        .map(|b| b.id)
        .collect();
    assert!(billing.is_empty(), "pod {pod} still bills: {billing:?}");
    let first_now = settled.iter().find(|r| &r.job_id == first).unwrap();
    assert_eq!(first_now.to, Stage::Interrupted);
    // The render that never started waits in its batch, unpaid.
    assert_eq!(journal.get(&batch.job_ids[1]).unwrap().stage, Stage::Queued);
}

//! The orphan sweep and start-up recovery from the journal.
#![allow(clippy::unwrap_used)]

mod common;

use common::{rig, rig_with};
use std::collections::HashSet;
use studio_pods::{Journal, journal::states};

const INSTALL: &str = "0a1b2c3d";

#[tokio::test]
async fn sweep_terminates_orphans_of_ours_only() {
    let r = rig_with(|c| c.install_id = Some(INSTALL.into())).await;
    let orphan = r
        .standin
        .inject_pod("sds-0a1b2c3d-orphan01", "NVIDIA H100 PCIe");
    let owned = r
        .standin
        .inject_pod("sds-0a1b2c3d-owned001", "NVIDIA H100 PCIe");
    let foreign = r
        .standin
        .inject_pod("someone-elses", "NVIDIA GeForce RTX 4090");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let listed = r.manager.list().await.unwrap();
    let ids: HashSet<_> = listed.iter().map(|v| v.pod_id.clone()).collect();
    assert_eq!(ids, HashSet::from([orphan.clone(), owned.clone()]));

    let owned_set = HashSet::from([owned.clone()]);
    let swept = r.manager.sweep(&owned_set, &r.reporter).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].view.pod_id, orphan);
    assert!(swept[0].terminated);
    let billing = r.standin.billing();
    let still: HashSet<_> = billing
        .iter()
        .filter(|b| b.billing)
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(still, HashSet::from([owned.clone(), foreign.clone()]));

    // Clean up so nothing is left billing.
    r.manager.terminate(&owned, &r.reporter).await.unwrap();
    r.manager.client().delete_pod(&foreign).await.unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn a_crash_between_create_and_id_is_recovered_from_the_journal() {
    let r = rig().await;
    // The app wrote its intent, RunPod made the pod, and the app died before learning the id.
    let journal_path = Journal::path_in(r.dir.path());
    let pod_id = r
        .standin
        .inject_pod("sds-crash001", "NVIDIA A100 80GB PCIe");
    {
        let j = Journal::open(&journal_path).unwrap();
        j.record_intent("sds-crash001", "NVIDIA A100 80GB PCIe", 1.64)
            .unwrap();
    }
    let unsettled = r.manager.unsettled().unwrap();
    assert!(
        unsettled.is_empty(),
        "an intent without an id is not yet a pod"
    );

    let swept = r.manager.sweep(&HashSet::new(), &r.reporter).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].view.pod_id, pod_id);
    assert!(swept[0].view.cost_usd.is_some());
    let row = Journal::open(&journal_path)
        .unwrap()
        .get("sds-crash001")
        .unwrap()
        .unwrap();
    assert_eq!(row.state, states::TERMINATED);
    assert_eq!(row.pod_id.as_deref(), Some(pod_id.as_str()));
    r.assert_nothing_billing();
}

#[tokio::test]
async fn pods_gone_outside_the_app_are_settled_in_the_journal() {
    let r = rig().await;
    let ready = r
        .manager
        .start(
            &studio_pods::PodSpec::default(),
            &r.reporter,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    // Someone terminates it in the RunPod console.
    r.manager.client().delete_pod(&ready.pod_id).await.unwrap();
    assert_eq!(r.manager.unsettled().unwrap().len(), 1);
    assert!(r.manager.list().await.unwrap().is_empty());
    assert!(r.manager.unsettled().unwrap().is_empty());
    r.assert_nothing_billing();
}

#[tokio::test]
async fn the_sweep_never_takes_a_pod_this_app_is_using() {
    let r = rig().await;
    let ready = r
        .manager
        .start(
            &studio_pods::PodSpec::default(),
            &r.reporter,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let swept = r.manager.sweep(&HashSet::new(), &r.reporter).await.unwrap();
    assert!(swept.is_empty(), "{swept:?}");
    assert_eq!(r.standin.pods_billing(), 1);
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    assert!(r.manager.active_pods().is_empty());
    r.assert_nothing_billing();
}

#[tokio::test]
async fn terminate_all_takes_pods_in_use_too() {
    let r = rig_with(|c| c.install_id = Some(INSTALL.into())).await;
    let ready = r
        .manager
        .start(
            &studio_pods::PodSpec::default(),
            &r.reporter,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let other = r
        .standin
        .inject_pod("sds-0a1b2c3d-other001", "NVIDIA H100 NVL");
    let done = r.manager.terminate_all(&r.reporter).await.unwrap();
    let ids: HashSet<_> = done.iter().map(|s| s.view.pod_id.clone()).collect();
    assert_eq!(ids, HashSet::from([ready.pod_id.clone(), other]));
    assert!(done.iter().all(|s| s.terminated));
    r.assert_nothing_billing();
}

/// Two installs (two computers, or two data folders) on one RunPod account: each one's sweep,
/// "Terminate all" and orphan list leave the other's pods alone, and list them as such. An
/// old-format name counts as ours only when our journal knows it.
#[tokio::test]
async fn pods_of_other_installs_are_listed_as_such_and_never_swept() {
    let r = rig_with(|c| c.install_id = Some(INSTALL.into())).await;
    let mine = r
        .standin
        .inject_pod("sds-0a1b2c3d-mine0001", "NVIDIA H100 PCIe");
    let theirs = r
        .standin
        .inject_pod("sds-99999999-theirs01", "NVIDIA H100 PCIe");
    let old_known = r.standin.inject_pod("sds-oldknown", "NVIDIA H100 PCIe");
    let old_unknown = r.standin.inject_pod("sds-oldother", "NVIDIA H100 PCIe");
    {
        let j = Journal::open_in(r.dir.path()).unwrap();
        j.record_intent("sds-oldknown", "NVIDIA H100 PCIe", 2.0)
            .unwrap();
        j.record_created("sds-oldknown", &old_known, 2.0).unwrap();
    }

    let listed = r.manager.list().await.unwrap();
    let other: HashSet<_> = listed
        .iter()
        .filter(|v| v.other_install)
        .map(|v| v.pod_id.clone())
        .collect();
    assert_eq!(listed.len(), 4, "every pod with our prefix is listed");
    assert_eq!(other, HashSet::from([theirs.clone(), old_unknown.clone()]));

    let orphans: HashSet<_> = r
        .manager
        .orphans(&HashSet::new())
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.pod_id)
        .collect();
    assert_eq!(orphans, HashSet::from([mine.clone(), old_known.clone()]));

    let swept = r.manager.sweep(&HashSet::new(), &r.reporter).await.unwrap();
    assert_eq!(swept.len(), 2, "{swept:?}");
    let all = r.manager.terminate_all(&r.reporter).await.unwrap();
    assert!(all.is_empty(), "nothing of ours is left: {all:?}");
    let billing: HashSet<_> = r
        .standin
        .billing()
        .into_iter()
        .filter(|b| b.billing)
        .map(|b| b.id)
        .collect();
    assert_eq!(
        billing,
        HashSet::from([theirs.clone(), old_unknown.clone()])
    );

    // The explicit choice: terminating one by id works whoever started it.
    r.manager.terminate(&theirs, &r.reporter).await.unwrap();
    r.manager
        .terminate(&old_unknown, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

/// A pod this install starts is named with its install id.
#[tokio::test]
async fn started_pods_carry_the_install_id() {
    let r = rig_with(|c| c.install_id = Some(INSTALL.into())).await;
    let ready = r
        .manager
        .start(
            &studio_pods::PodSpec::default(),
            &r.reporter,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(studio_pods::name_install(&ready.name), Some(INSTALL));
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

/// Recovery of a queue ends the pods its owner holds, whatever moment the crash came: a pod
/// known by id, and a create that went through after the intent was written and before the
/// id was (the pod is found by name). Another owner's pod is left alone.
#[tokio::test]
async fn the_pods_an_owner_holds_are_ended_even_a_create_in_flight() {
    let r = rig().await;
    let journal_path = Journal::path_in(r.dir.path());
    let in_flight = r
        .standin
        .inject_pod("sds-batch-inflight", "NVIDIA A100 80GB PCIe");
    let known = r
        .standin
        .inject_pod("sds-batch-known001", "NVIDIA A100 80GB PCIe");
    let other = r
        .standin
        .inject_pod("sds-other-batch001", "NVIDIA A100 80GB PCIe");
    {
        let j = Journal::open(&journal_path).unwrap();
        j.record_intent_for(
            "sds-batch-inflight",
            "NVIDIA A100 80GB PCIe",
            1.64,
            Some("batch:b1"),
        )
        .unwrap();
        j.record_intent_for(
            "sds-batch-known001",
            "NVIDIA A100 80GB PCIe",
            1.64,
            Some("batch:b1"),
        )
        .unwrap();
        j.record_created("sds-batch-known001", &known, 1.64)
            .unwrap();
        j.record_intent_for(
            "sds-other-batch001",
            "NVIDIA A100 80GB PCIe",
            1.64,
            Some("batch:b2"),
        )
        .unwrap();
        j.record_created("sds-other-batch001", &other, 1.64)
            .unwrap();
        // A create that failed for good: nothing to end, and no error for it.
        j.record_intent_for(
            "sds-batch-nopod001",
            "NVIDIA A100 80GB PCIe",
            1.64,
            Some("batch:b1"),
        )
        .unwrap();
    }
    let ended = r
        .manager
        .end_held(&HashSet::from(["batch:b1".to_string()]), &r.reporter)
        .await
        .unwrap();
    assert_eq!(ended, 2);
    let billing: HashSet<_> = r
        .standin
        .billing()
        .iter()
        .filter(|b| b.billing)
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(
        billing,
        HashSet::from([other.clone()]),
        "only batch b2's pod bills"
    );
    let j = Journal::open(&journal_path).unwrap();
    let row = j.get("sds-batch-inflight").unwrap().unwrap();
    assert_eq!(row.state, states::TERMINATED);
    assert_eq!(row.pod_id.as_deref(), Some(in_flight.as_str()));
    assert_eq!(
        j.get("sds-batch-nopod001").unwrap().unwrap().state,
        states::ABANDONED
    );
    r.manager.terminate(&other, &r.reporter).await.unwrap();
    r.assert_nothing_billing();
}

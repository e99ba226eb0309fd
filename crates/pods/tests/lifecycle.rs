//! The pod lifecycle against the stand-in RunPod, with its billing clock as the judge.
#![allow(clippy::unwrap_used)]

mod common;

use common::rig;
use std::time::Duration;
use studio_pods::{PodSpec, Stage, codes, journal::states};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn starts_through_every_stage_and_terminates_clean() {
    let mut r = rig().await;
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(ready.gpu_id, "NVIDIA A100 80GB PCIe");
    assert!(ready.name.starts_with("sds-"));
    assert_eq!(ready.rate_per_hour, 1.64);
    assert!(
        ready.deadman_armed,
        "the pinned environment always carries the in-pod timer"
    );
    let stats = reqwest::get(format!(
        "{}/system_stats",
        ready.comfy_url.as_str().trim_end_matches('/')
    ))
    .await
    .unwrap();
    assert_eq!(stats.status(), 200);

    let mut stages: Vec<Stage> = r.drain().into_iter().map(|e| e.stage).collect();
    stages.dedup();
    assert_eq!(
        stages,
        [
            Stage::Creating,
            Stage::Provisioning,
            Stage::ContainerStarting,
            // The pinned environment's bootstrap, read from the pod's log.
            Stage::Installing,
            Stage::DownloadingModels,
            Stage::StartingComfy,
            Stage::ModelsPresent,
            Stage::Ready
        ]
    );

    let done = r
        .manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    assert!(done.was_running);
    assert!(done.cost_usd.unwrap() > 0.0);
    let rows = r.manager.journal_pods().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, states::TERMINATED);
    assert_eq!(rows[0].pod_id.as_deref(), Some(ready.pod_id.as_str()));
    r.assert_nothing_billing();
}

#[tokio::test]
async fn no_capacity_on_first_two_candidates_uses_the_third() {
    let r = rig().await;
    r.standin.set_faults(|f| {
        f.no_capacity.insert("NVIDIA A100 80GB PCIe".into());
        f.no_capacity.insert("NVIDIA A100-SXM4-80GB".into());
    });
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(ready.gpu_id, "NVIDIA H100 80GB HBM3");
    assert_eq!(r.standin.billing().len(), 1);
    let rows = r.manager.journal_pods().unwrap();
    let abandoned = rows.iter().filter(|p| p.state == states::ABANDONED).count();
    assert_eq!(abandoned, 2);
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn no_capacity_anywhere_is_one_clear_error() {
    let r = rig().await;
    r.standin.set_faults(|f| {
        for g in PodSpec::default().gpu_candidates {
            f.no_capacity.insert(g);
        }
    });
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::NO_CAPACITY);
    assert!(
        err.message().contains("NVIDIA H100 NVL"),
        "{}",
        err.message()
    );
    assert!(r.standin.billing().is_empty());
    r.assert_nothing_billing();
}

#[tokio::test]
async fn rate_limit_and_server_error_bursts_still_start() {
    let r = rig().await;
    r.standin.set_faults(|f| {
        f.rate_limit_burst = 2;
        f.retry_after_secs = 1;
        f.server_error_burst = 4;
    });
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let statuses: Vec<u16> = r.standin.requests().iter().map(|q| q.status).collect();
    assert!(
        statuses.contains(&429) && statuses.contains(&503),
        "{statuses:?}"
    );
    assert_eq!(
        r.standin.billing().len(),
        1,
        "a burst must not make two pods"
    );
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn create_500_but_created_is_found_by_name_and_used() {
    let r = rig().await;
    r.standin.set_faults(|f| f.create_500_but_created = 1);
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let billing = r.standin.billing();
    assert_eq!(billing.len(), 1, "{billing:?}");
    assert_eq!(billing[0].id, ready.pod_id);
    r.manager
        .terminate(&ready.pod_id, &r.reporter)
        .await
        .unwrap();
    r.assert_nothing_billing();
}

#[tokio::test]
async fn create_500_but_created_then_cancel_is_terminated() {
    let r = rig().await;
    r.standin.set_faults(|f| {
        f.create_500_but_created = 1;
        f.slow = Some(Duration::from_millis(150));
    });
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        c2.cancel();
    });
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.code(), studio_error::codes::CANCELLED, "{err:?}");
    assert_eq!(r.standin.billing().len(), 1);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn never_ready_is_terminated_at_the_deadline() {
    let r = common::rig_with(|c| c.deadlines.comfy = Duration::from_millis(400)).await;
    r.standin.set_faults(|f| f.never_ready = true);
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::DEADLINE);
    assert!(err.message().contains("ComfyUI"), "{}", err.message());
    assert!(err.message().contains("terminated"), "{}", err.message());
    r.assert_nothing_billing();
    // Terminated promptly after the deadline, not left to run.
    let billed = r.standin.billing()[0].seconds;
    assert!(billed < 2.5, "billed {billed}s");
}

#[tokio::test]
async fn missing_models_are_named_when_the_deadline_passes() {
    let r = common::rig_with(|c| c.deadlines.models = Duration::from_millis(300)).await;
    r.models_present
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::DEADLINE);
    assert!(
        err.message().contains(common::REQUIRED_NODE),
        "{}",
        err.message()
    );
    r.assert_nothing_billing();
}

#[tokio::test]
async fn spot_vanish_during_start_is_a_clear_error_and_nothing_is_left() {
    let r = rig().await;
    r.standin
        .set_faults(|f| f.vanish_after = Some(Duration::from_millis(200)));
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::VANISHED, "{err:?}");
    assert!(err.message().contains("disappeared"));
    r.assert_nothing_billing();
    let rows = r.manager.journal_pods().unwrap();
    assert_eq!(rows[0].state, states::TERMINATED);
}

#[tokio::test]
async fn spot_vanish_while_watching_is_reported() {
    let r = rig().await;
    r.standin
        .set_faults(|f| f.vanish_after = Some(Duration::from_millis(3000)));
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let err = r
        .manager
        .watch(&ready, None, &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::VANISHED);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn budget_cap_terminates_during_start() {
    // A100 PCIe at $1.64/h: $0.0004 is reached after about 0.9 s; ComfyUI never comes up.
    let r = common::rig_with(|c| c.budget_usd = Some(0.0004)).await;
    r.standin.set_faults(|f| f.never_ready = true);
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::BUDGET_EXCEEDED, "{err:?}");
    r.assert_nothing_billing();
    let billed = r.standin.billing()[0].cost_usd;
    assert!(billed < 0.0008, "billed ${billed}");
}

#[tokio::test]
async fn budget_cap_terminates_while_watching() {
    let r = rig().await;
    let ready = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap();
    let cap = ready.meter().cost() + 0.0002;
    let err = r
        .manager
        .watch(&ready, Some(cap), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::BUDGET_EXCEEDED);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn cancel_during_readiness_terminates() {
    let r = rig().await;
    r.standin.set_faults(|f| f.never_ready = true);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c2.cancel();
    });
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.code(), studio_error::codes::CANCELLED);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn insufficient_balance_stops_the_walk() {
    let r = rig().await;
    r.standin.set_faults(|f| f.insufficient_balance = true);
    let err = r
        .manager
        .start(&PodSpec::default(), &r.reporter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), studio_runpod::codes::INSUFFICIENT_BALANCE);
    let posts = r
        .standin
        .requests()
        .iter()
        .filter(|q| q.method == "POST")
        .count();
    assert_eq!(posts, 1);
    r.assert_nothing_billing();
}

#[tokio::test]
async fn an_abandoned_start_still_terminates_its_pod() {
    let r = std::sync::Arc::new(rig().await);
    r.standin.set_faults(|f| f.never_ready = true);
    let r2 = r.clone();
    let task = tokio::spawn(async move {
        let _ = r2
            .manager
            .start(&PodSpec::default(), &r2.reporter, &CancellationToken::new())
            .await;
    });
    // Wait until the pod exists, then drop the start future mid-readiness.
    for _ in 0..100 {
        if r.standin.pods_billing() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.standin.pods_billing(), 1);
    // Let the create answer arrive (before that only the journal's intent and the sweep cover it).
    tokio::time::sleep(Duration::from_millis(150)).await;
    task.abort();
    let _ = task.await;
    for _ in 0..100 {
        if r.standin.pods_billing() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r.assert_nothing_billing();
}

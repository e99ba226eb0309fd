//! The client against the stand-in RunPod over real sockets.
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use studio_error::Sensitive;
use studio_runpod::{
    Availability, Cloud, CreateGpu, CreatePodRequest, PodStatus, RetryPolicy, RunPodClient, codes,
};

async fn setup() -> (StandIn, RunPodClient) {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let c = RunPodClient::with_policy(
        s.api_url(),
        Sensitive::new(s.api_key().to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    (s, c)
}

fn request(name: &str, gpu: &str) -> CreatePodRequest {
    CreatePodRequest {
        name: name.to_string(),
        image: "ghcr.io/example/comfy:latest".to_string(),
        args: None,
        disk: 20,
        ports: vec!["8188/http".to_string()],
        env: BTreeMap::from([("ENABLE_STEADYDANCER".to_string(), "true".to_string())]),
        cloud: Cloud::Secure,
        data_center_ids: vec![],
        gpu: CreateGpu {
            id: gpu.to_string(),
            count: 1,
            allowed_cuda_versions: vec![],
            min_cuda_version: None,
        },
        mounts: None,
    }
}

#[tokio::test]
async fn create_get_list_terminate_round_trip() {
    let (s, c) = setup().await;
    let pod = c
        .create_pod(&request("sds-roundtrip", "NVIDIA A100 80GB PCIe"))
        .await
        .unwrap();
    assert_eq!(pod.name, "sds-roundtrip");
    assert_eq!(pod.status, PodStatus::Provisioning);
    assert_eq!(pod.gpu.as_ref().unwrap().id, "NVIDIA A100 80GB PCIe");
    let listed = c.list_pods().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, pod.id);
    assert!(c.get_pod(&pod.id).await.unwrap().is_some());
    assert!(c.terminate_pod(&pod.id).await.unwrap());
    assert!(
        !c.delete_pod(&pod.id).await.unwrap(),
        "404 on delete means already gone"
    );
    assert!(c.get_pod(&pod.id).await.unwrap().is_none());
    assert_eq!(s.pods_billing(), 0);
}

#[tokio::test]
async fn catalog_has_prices_and_availability() {
    let (s, c) = setup().await;
    s.set_faults(|f| {
        f.no_capacity.insert("NVIDIA H100 PCIe".to_string());
    });
    let gpus = c.list_gpus().await.unwrap();
    let a100 = gpus
        .iter()
        .find(|g| g.id == "NVIDIA A100 80GB PCIe")
        .unwrap();
    assert_eq!(a100.rate(Cloud::Secure, 2), 1.64 * 2.0);
    assert_eq!(a100.availability, Some(Availability::High));
    let h100 = gpus.iter().find(|g| g.id == "NVIDIA H100 PCIe").unwrap();
    assert_eq!(h100.availability, Some(Availability::None));
}

#[tokio::test]
async fn rate_limit_burst_honours_retry_after_then_succeeds() {
    let (s, c) = setup().await;
    s.set_faults(|f| {
        f.rate_limit_burst = 2;
        f.retry_after_secs = 1;
    });
    let started = Instant::now();
    let pods = c.list_pods().await.unwrap();
    assert!(pods.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After ignored"
    );
    let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
}

#[tokio::test]
async fn server_error_burst_is_retried_for_reads_not_for_creates() {
    let (s, c) = setup().await;
    s.set_faults(|f| f.server_error_burst = 3);
    assert!(c.list_pods().await.unwrap().is_empty());
    s.set_faults(|f| f.server_error_burst = 1);
    let err = c
        .create_pod(&request("sds-5xx", "NVIDIA A100 80GB PCIe"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::UNAVAILABLE);
    // The create was not sent twice: the caller decides after looking the name up.
    let creates = s.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(creates, 1);
    assert_eq!(s.pods_billing(), 0);
}

#[tokio::test]
async fn endless_5xx_gives_up_with_unavailable() {
    let (s, c) = setup().await;
    s.set_faults(|f| f.server_error_burst = 100);
    let err = c.list_pods().await.unwrap_err();
    assert_eq!(err.code(), codes::UNAVAILABLE);
    assert_eq!(
        s.requests().len(),
        RetryPolicy::fast().max_attempts as usize
    );
}

#[tokio::test]
async fn errors_map_to_stable_codes() {
    let (s, c) = setup().await;
    s.set_faults(|f| {
        f.no_capacity.insert("NVIDIA A100 80GB PCIe".to_string());
        f.forbidden_gpus.insert("NVIDIA H100 NVL".to_string());
    });
    let err = c
        .create_pod(&request("sds-a", "NVIDIA A100 80GB PCIe"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::NO_CAPACITY, "{err:?}");
    let err = c
        .create_pod(&request("sds-b", "NVIDIA H100 NVL"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::FORBIDDEN, "{err:?}");
    // Contract checks need RunPod's OpenAPI document (mandatory under CI).
    let contract = s.openapi().is_some();
    if contract {
        let mut bad = request("sds-c", "NVIDIA H100 PCIe");
        bad.disk = 0;
        let err = c.create_pod(&bad).await.unwrap_err();
        assert_eq!(err.code(), codes::INVALID_REQUEST, "{err:?}");
        assert!(err.message().contains("disk"), "{}", err.message());
    } else {
        studio_error::cannot_run_here(
            "errors_map_to_stable_codes (its 422 part)",
            "RunPod's OpenAPI document is not present",
        );
    }
    s.set_faults(|f| f.insufficient_balance = true);
    let err = c
        .create_pod(&request("sds-d", "NVIDIA H100 PCIe"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::INSUFFICIENT_BALANCE);
    // 422 is never retried.
    let posts = s.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, if contract { 4 } else { 3 });
    assert_eq!(s.pods_billing(), 0);
}

#[tokio::test]
async fn validate_key_says_at_once_when_the_key_is_wrong() {
    let (s, good) = setup().await;
    good.validate_key().await.unwrap();
    let wrong = RunPodClient::with_policy(
        s.api_url(),
        Sensitive::new("rpa_WRONG".to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    let err = wrong.validate_key().await.unwrap_err();
    assert_eq!(err.code(), codes::UNAUTHORIZED);
    assert!(
        !format!("{wrong:?}").contains("rpa_WRONG"),
        "key leaked in Debug"
    );
    // One request: a 401 is final.
    assert_eq!(s.requests().iter().filter(|r| r.status == 401).count(), 1);
}

#[tokio::test]
async fn unreachable_runpod_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = RunPodClient::with_policy(
        url::Url::parse(&format!("http://{addr}/v2")).unwrap(),
        Sensitive::new("k".to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    let err = c.list_pods().await.unwrap_err();
    assert_eq!(err.code(), codes::UNAVAILABLE);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried_then_reported() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let policy = RetryPolicy {
        max_attempts: 2,
        request_timeout: Duration::from_millis(150),
        ..RetryPolicy::fast()
    };
    let c = RunPodClient::with_policy(s.api_url(), Sensitive::new(s.api_key().to_string()), policy)
        .unwrap();
    s.set_faults(|f| f.slow = Some(Duration::from_millis(400)));
    let started = Instant::now();
    let err = c.list_pods().await.unwrap_err();
    assert_eq!(err.code(), codes::UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Slow but within the timeout is fine.
    s.set_faults(|f| f.slow = Some(Duration::from_millis(50)));
    assert!(c.list_pods().await.unwrap().is_empty());
}

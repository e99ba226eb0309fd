//! The stand-in against RunPod's own contract: what it accepts, what it sends, how it gates.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use standin_runpod::{OpenApi, StandIn, StandInConfig};
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("contract-test/1")
        .build()
        .unwrap()
}

fn body(name: &str) -> Value {
    json!({
        "name": name,
        "image": "ghcr.io/example/comfy:latest",
        "disk": 20,
        "ports": ["8188/http"],
        "env": {"A": "1"},
        "cloud": "SECURE",
        "gpu": {"id": "NVIDIA A100 80GB PCIe", "count": 1}
    })
}

#[tokio::test]
async fn responses_are_valid_documents_and_status_moves_on() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    // Without the document (allowed outside CI only; under CI `load` panics) there is no
    // contract to check against.
    let Some(api) = OpenApi::load() else {
        studio_error::cannot_run_here(
            "responses_are_valid_documents_and_status_moves_on",
            "RunPod's OpenAPI document is not present",
        );
        return;
    };
    let http = client();
    let base = s.api_url();
    let created = http
        .post(format!("{base}/pods"))
        .bearer_auth(s.api_key())
        .json(&body("sds-contract"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let pod: Value = created.json().await.unwrap();
    api.check("Pod", &pod).unwrap();
    assert_eq!(pod["status"], "PROVISIONING");
    assert!(pod["runtime"].is_null());
    let id = pod["id"].as_str().unwrap().to_string();

    // RUNNING arrives before runtime does, as v2 reports it.
    let mut saw_running_without_runtime = false;
    let mut saw_runtime = false;
    for _ in 0..60 {
        let p: Value = http
            .get(format!("{base}/pods/{id}"))
            .bearer_auth(s.api_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        api.check("Pod", &p).unwrap();
        if p["status"] == "RUNNING" && p["runtime"].is_null() {
            saw_running_without_runtime = true;
        }
        if !p["runtime"].is_null() {
            saw_runtime = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(saw_running_without_runtime && saw_runtime);

    let list: Value = http
        .get(format!("{base}/pods"))
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    api.check("ListPodsResponse", &list).unwrap();
    assert_eq!(list["pods"].as_array().unwrap().len(), 1);

    let gpus: Value = http
        .get(format!(
            "{base}/catalog/gpus?include=AVAILABILITY&product=POD"
        ))
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    api.check("ListGpuTypesResponse", &gpus).unwrap();
    assert_eq!(gpus["gpus"][0]["availability"], "HIGH");

    let del = http
        .delete(format!("{base}/pods/{id}"))
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let again = http
        .delete(format!("{base}/pods/{id}"))
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let problem: Value = again.json().await.unwrap();
    api.check("ErrorResponse", &problem).unwrap();
    assert_eq!(s.pods_billing(), 0);
    let bill = &s.billing()[0];
    assert!(
        bill.cost_usd > 0.0 && bill.rate_per_hour == 1.64,
        "{bill:?}"
    );
}

#[tokio::test]
async fn bodies_that_break_the_contract_get_422() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    if s.openapi().is_none() {
        studio_error::cannot_run_here(
            "bodies_that_break_the_contract_get_422",
            "RunPod's OpenAPI document is not present",
        );
        return;
    }
    let mut b = body("sds-bad");
    b["bogus"] = json!(true);
    b["disk"] = json!(0);
    let resp = client()
        .post(format!("{}/pods", s.api_url()))
        .bearer_auth(s.api_key())
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    let errors = problem["errors"].to_string();
    assert!(errors.contains("bogus"), "{errors}");
    assert!(errors.contains("disk"), "{errors}");
    assert_eq!(s.pods_billing(), 0);
}

#[tokio::test]
async fn no_user_agent_is_403_and_wrong_key_is_401() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let bare = reqwest::Client::new();
    let resp = bare
        .get(format!("{}/pods", s.api_url()))
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("1010"));
    let resp = client()
        .get(format!("{}/pods", s.api_url()))
        .bearer_auth("rpa_WRONG")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn spot_pods_vanish_and_stop_billing() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    s.set_faults(|f| f.vanish_after = Some(Duration::from_millis(100)));
    let resp = client()
        .post(format!("{}/pods", s.api_url()))
        .bearer_auth(s.api_key())
        .json(&body("sds-spot"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(s.pods_billing(), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(s.pods_billing(), 0);
    assert_eq!(s.billing()[0].end_reason.as_deref(), Some("vanished"));
}

#[tokio::test]
async fn control_routes_set_faults_and_show_billing() {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let http = client();
    let base = format!("http://{}", s.addr());
    let put = http
        .put(format!("{base}/_standin/faults"))
        .json(&json!({"no_capacity": ["NVIDIA A100 80GB PCIe"], "slow": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let resp = http
        .post(format!("{}/pods", s.api_url()))
        .bearer_auth(s.api_key())
        .json(&body("sds-ctl"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let problem: Value = resp.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no longer any instances")
    );
    s.inject_pod("sds-ctl2", "NVIDIA H100 PCIe");
    let bill: Value = http
        .get(format!("{base}/_standin/billing"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bill["billing"], 1);
    assert_eq!(bill["pods"][0]["rate_per_hour"], 2.39);
}

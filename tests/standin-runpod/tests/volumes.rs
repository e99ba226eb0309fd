//! Network volumes and the data-centre catalog against RunPod's contract, and the placement rule
//! for pods that mount a volume.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use standin_runpod::{OpenApi, StandIn, StandInConfig};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("contract-test/1")
        .build()
        .unwrap()
}

struct Api {
    s: StandIn,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            s: StandIn::start(StandInConfig::default()).await.unwrap(),
            http: client(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.s.api_url()))
            .bearer_auth(self.s.api_key());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create_pod(&self, dcs: &[&str], gpu: &str, volume: Option<&str>) -> (u16, Value) {
        let mut body = json!({
            "name": "sds-vol-pod", "image": "img:1", "disk": 20, "ports": ["8188/http"],
            "env": {}, "cloud": "SECURE", "gpu": {"id": gpu, "count": 1},
        });
        if !dcs.is_empty() {
            body["dataCenterIds"] = json!(dcs);
        }
        if let Some(v) = volume {
            body["mounts"] = json!({"network": [{"volumeId": v, "path": "/workspace"}]});
        }
        self.call(reqwest::Method::POST, "/pods", Some(body)).await
    }
}

#[tokio::test]
async fn volumes_and_data_centres_match_the_contract() {
    let a = Api::start().await;
    let Some(api) = OpenApi::load() else {
        studio_error::cannot_run_here(
            "volumes_and_data_centres_match_the_contract",
            "RunPod's OpenAPI document is not present",
        );
        return;
    };
    use reqwest::Method as M;
    let (st, plain) = a.call(M::GET, "/catalog/datacenters", None).await;
    assert_eq!(st, 200);
    api.check("ListDataCentersResponse", &plain).unwrap();
    assert!(plain["dataCenters"][0].get("gpuAvailability").is_none());
    let (_, with_gpus) = a
        .call(
            M::GET,
            "/catalog/datacenters?include=GPU_AVAILABILITY",
            None,
        )
        .await;
    api.check("ListDataCentersResponse", &with_gpus).unwrap();
    assert!(with_gpus["dataCenters"][0]["gpuAvailability"].is_array());

    let (st, created) = a
        .call(
            M::POST,
            "/network-volumes",
            Some(json!({"name": "sds-models-t", "size": 60, "dataCenter": "EU-RO-1", "type": "STANDARD"})),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    api.check("NetworkVolume", &created).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let (_, list) = a.call(M::GET, "/network-volumes", None).await;
    api.check("ListNetworkVolumesResponse", &list).unwrap();
    assert_eq!(list["networkVolumes"][0]["id"], id.as_str());
    let (st, one) = a
        .call(M::GET, &format!("/network-volumes/{id}"), None)
        .await;
    assert_eq!(st, 200);
    api.check("NetworkVolume", &one).unwrap();

    let (st, problem) = a
        .call(
            M::POST,
            "/network-volumes",
            Some(json!({"name": "x", "size": 5, "dataCenter": "EU-RO-1", "bogus": 1})),
        )
        .await;
    assert_eq!(st, 422);
    api.check("ErrorResponse", &problem).unwrap();
    let (st, problem) = a
        .call(
            M::POST,
            "/network-volumes",
            Some(json!({"name": "x", "size": 10, "dataCenter": "US-KS-2"})),
        )
        .await;
    assert_eq!(st, 400, "Kansas has no network volumes");
    api.check("ErrorResponse", &problem).unwrap();

    let (st, _) = a
        .call(M::DELETE, &format!("/network-volumes/{id}"), None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT.as_u16());
    let (st, problem) = a
        .call(M::DELETE, &format!("/network-volumes/{id}"), None)
        .await;
    assert_eq!(st, 404);
    api.check("ErrorResponse", &problem).unwrap();
    let (st, _) = a
        .call(M::GET, &format!("/network-volumes/{id}"), None)
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn pods_mount_only_a_volume_that_exists_where_they_start() {
    let a = Api::start().await;
    let (_, vol) = a
        .call(
            reqwest::Method::POST,
            "/network-volumes",
            Some(json!({"name": "sds-models-p", "size": 60, "dataCenter": "US-TX-3"})),
        )
        .await;
    assert_eq!(vol["type"], "STANDARD", "the data centre's primary tier");
    let id = vol["id"].as_str().unwrap();
    let a100 = "NVIDIA A100 80GB PCIe";

    let (st, pod) = a.create_pod(&["US-TX-3"], a100, Some(id)).await;
    assert_eq!(st, 201, "{pod}");
    assert_eq!(pod["dataCenterId"], "US-TX-3");
    assert_eq!(pod["mounts"]["network"][0]["volumeId"], id);

    let (st, p) = a.create_pod(&["US-KS-2"], a100, Some(id)).await;
    assert_eq!(st, 400);
    assert!(p["detail"].as_str().unwrap().contains("US-TX-3"), "{p}");
    let (st, p) = a.create_pod(&["US-TX-3"], a100, Some("nosuchvol")).await;
    assert_eq!(st, 400);
    assert!(p["detail"].as_str().unwrap().contains("not found"), "{p}");
    let (st, p) = a.create_pod(&["EU-RO-1"], a100, None).await;
    assert_eq!(st, 400, "no A100 in Romania");
    assert_eq!(p["detail"], standin_runpod::api::NO_CAPACITY_DETAIL);
    let (st, p) = a.create_pod(&["XX-NO-1"], a100, None).await;
    assert_eq!(st, 400, "{p}");

    assert!(a.s.remove_volume(id));
    let (st, _) = a.create_pod(&["US-TX-3"], a100, Some(id)).await;
    assert_eq!(st, 400, "a volume deleted elsewhere cannot be mounted");
    assert!(a.s.volumes().is_empty());
}

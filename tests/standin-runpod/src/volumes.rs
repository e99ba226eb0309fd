//! Network volumes and the data-centre catalog, and the placement rule they impose on pods: a
//! pod mounts only a volume that exists, in one of the data centres the pod may start in.

use crate::api::{NO_CAPACITY_DETAIL, problem};
use crate::shared::Shared;
use crate::state::State;
use crate::{StandIn, catalog};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// One data centre: which volume tiers it has and which GPU types of the catalog it hosts.
#[derive(Debug, Clone, Copy)]
pub struct DataCenterEntry {
    pub id: &'static str,
    pub name: &'static str,
    pub region: &'static str,
    pub volume_types: &'static [&'static str],
    pub gpus: &'static [&'static str],
}

/// Enough variety for placement tests: the A100s only in Texas, the H100 NVL in Romania and in
/// Kansas, and Kansas without network volumes. Every catalog GPU is somewhere.
pub const DATA_CENTERS: &[DataCenterEntry] = &[
    DataCenterEntry {
        id: "US-TX-3",
        name: "US Texas 3",
        region: "NORTH_AMERICA",
        volume_types: &["STANDARD", "HIGH_PERFORMANCE"],
        gpus: &[
            "NVIDIA A100 80GB PCIe",
            "NVIDIA A100-SXM4-80GB",
            "NVIDIA H100 80GB HBM3",
            "NVIDIA GeForce RTX 4090",
        ],
    },
    DataCenterEntry {
        id: "EU-RO-1",
        name: "Europe Romania 1",
        region: "EUROPE",
        volume_types: &["STANDARD"],
        gpus: &[
            "NVIDIA H100 80GB HBM3",
            "NVIDIA H100 PCIe",
            "NVIDIA H100 NVL",
            "NVIDIA GeForce RTX 4090",
        ],
    },
    DataCenterEntry {
        id: "US-KS-2",
        name: "US Kansas 2",
        region: "NORTH_AMERICA",
        volume_types: &[],
        gpus: &["NVIDIA A100 80GB PCIe", "NVIDIA H100 NVL"],
    },
];

/// Where pods start when the create body names no data centre.
pub const DEFAULT_DATA_CENTER: &str = "US-TX-3";

pub fn find_data_center(id: &str) -> Option<&'static DataCenterEntry> {
    DATA_CENTERS.iter().find(|d| d.id == id)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeRecord {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub data_center: String,
    pub volume_type: String,
}

impl VolumeRecord {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "dataCenter": self.data_center,
            "type": self.volume_type,
        })
    }
}

impl StandIn {
    /// Every volume that exists now.
    pub fn volumes(&self) -> Vec<VolumeRecord> {
        self.shared.lock().volumes.clone()
    }

    /// Removes a volume behind the client's back (deleted in RunPod's console, say).
    pub fn remove_volume(&self, id: &str) -> bool {
        let mut st = self.shared.lock();
        let before = st.volumes.len();
        st.volumes.retain(|v| v.id != id);
        st.volumes.len() != before
    }
}

fn dc_json(dc: &DataCenterEntry, st: &State, with_gpus: bool) -> Value {
    let mut v = json!({
        "id": dc.id,
        "name": dc.name,
        "region": dc.region,
        "globalNetwork": false,
        "networkVolumeTypes": dc.volume_types,
        "compliance": [],
    });
    if with_gpus {
        let gpus: Vec<Value> = dc
            .gpus
            .iter()
            .filter_map(|id| catalog::find(id))
            .map(|g| {
                let level = if st.faults.no_capacity.iter().any(|n| n == g.id) {
                    "NONE"
                } else {
                    "HIGH"
                };
                json!({"id": g.id, "name": g.name, "availability": level})
            })
            .collect();
        v["gpuAvailability"] = json!(gpus);
    }
    v
}

pub async fn list_data_centers(
    AxState(shared): AxState<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let with_gpus = query
        .get("include")
        .is_some_and(|v| v.split(',').any(|s| s == "GPU_AVAILABILITY"));
    let st = shared.lock();
    let dcs: Vec<Value> = DATA_CENTERS
        .iter()
        .map(|d| dc_json(d, &st, with_gpus))
        .collect();
    Json(json!({ "dataCenters": dcs })).into_response()
}

pub async fn list(AxState(shared): AxState<Shared>) -> Response {
    let st = shared.lock();
    let vols: Vec<Value> = st.volumes.iter().map(VolumeRecord::to_json).collect();
    Json(json!({ "networkVolumes": vols })).into_response()
}

fn not_found(id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        &format!("network volume {id} not found"),
        None,
    )
}

pub async fn get(AxState(shared): AxState<Shared>, Path(id): Path<String>) -> Response {
    let st = shared.lock();
    match st.volumes.iter().find(|v| v.id == id) {
        Some(v) => Json(v.to_json()).into_response(),
        None => not_found(&id),
    }
}

pub async fn delete(AxState(shared): AxState<Shared>, Path(id): Path<String>) -> Response {
    let mut st = shared.lock();
    let before = st.volumes.len();
    st.volumes.retain(|v| v.id != id);
    if st.volumes.len() == before {
        return not_found(&id);
    }
    StatusCode::NO_CONTENT.into_response()
}

pub async fn create(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "request body is not JSON", None);
    };
    if let Some(api) = shared.openapi()
        && let Err(errors) = api.check("CreateNetworkVolumeRequest", &body)
    {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Request validation failed.",
            Some(errors),
        );
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let Some(dc) = find_data_center(text("dataCenter")) else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("unknown data center {}", text("dataCenter")),
            None,
        );
    };
    // The data centre's primary tier when none is asked for, as RunPod does.
    let tier = match body.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None => dc.volume_types.first().copied().unwrap_or("STANDARD"),
    };
    if !dc.volume_types.contains(&tier) {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!(
                "data center {} does not offer {tier} network volumes",
                dc.id
            ),
            None,
        );
    }
    let mut st = shared.lock();
    let record = VolumeRecord {
        id: st.new_id(),
        name: text("name").to_string(),
        size: body.get("size").and_then(Value::as_u64).unwrap_or(10),
        data_center: dc.id.to_string(),
        volume_type: tier.to_string(),
    };
    let doc = record.to_json();
    st.volumes.push(record);
    (StatusCode::CREATED, Json(doc)).into_response()
}

/// RunPod's placement rules for a pod create body, as a problem response when broken: the
/// data centres must exist and host the GPU (else "no capacity", as RunPod says it), and a
/// network volume must exist in one of them.
pub fn refuse_placement(st: &State, body: &Value, gpu_id: &str) -> Option<Response> {
    let wanted: Vec<&str> = body
        .get("dataCenterIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(unknown) = wanted.iter().find(|id| find_data_center(id).is_none()) {
        let detail = format!("unknown data center {unknown}");
        return Some(problem(StatusCode::BAD_REQUEST, &detail, None));
    }
    let hosts_gpu = |id: &&str| find_data_center(id).is_some_and(|d| d.gpus.contains(&gpu_id));
    if !wanted.is_empty() && !wanted.iter().any(hosts_gpu) {
        return Some(problem(StatusCode::BAD_REQUEST, NO_CAPACITY_DETAIL, None));
    }
    let mounts = body
        .pointer("/mounts/network")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for mount in mounts {
        let id = mount
            .get("volumeId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(vol) = st.volumes.iter().find(|v| v.id == id) else {
            let detail = format!("network volume {id} not found");
            return Some(problem(StatusCode::BAD_REQUEST, &detail, None));
        };
        if !wanted.is_empty() && !wanted.contains(&vol.data_center.as_str()) {
            let detail = format!(
                "network volume {id} is in {}; the pod's dataCenterIds must include it",
                vol.data_center
            );
            return Some(problem(StatusCode::BAD_REQUEST, &detail, None));
        }
    }
    None
}

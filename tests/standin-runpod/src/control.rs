//! Control routes for tests in other processes and for hand use (no auth: 127.0.0.1 only).

use crate::faults::Faults;
use crate::shared::Shared;
use crate::state::{PodRecord, State};
use axum::Json;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Instant;

pub async fn billing(AxState(shared): AxState<Shared>) -> Response {
    let now = Instant::now();
    let mut st = shared.lock();
    st.settle(now);
    let pods: Vec<_> = st.pods.iter().map(|p| p.billing(now)).collect();
    let billing = pods.iter().filter(|p| p.billing).count();
    Json(json!({"pods": pods, "billing": billing})).into_response()
}

pub async fn get_faults(AxState(shared): AxState<Shared>) -> Response {
    Json(shared.lock().faults.clone()).into_response()
}

pub async fn put_faults(AxState(shared): AxState<Shared>, Json(faults): Json<Faults>) -> Response {
    shared.lock().faults = faults;
    Json(json!({"ok": true})).into_response()
}

/// Adds a pod without going through the API (gates, faults), as another client would have.
pub fn insert_pod(shared: &Shared, body: Value) -> String {
    let gpu_id = body
        .pointer("/gpu/id")
        .and_then(Value::as_str)
        .unwrap_or("NVIDIA GeForce RTX 4090")
        .to_string();
    let name = body["name"].as_str().unwrap_or("pod").to_string();
    let rate = State::rate_for(&gpu_id, "SECURE", 1).unwrap_or(1.0);
    let mut st = shared.lock();
    let id = st.new_id();
    st.pods.push(PodRecord {
        id: id.clone(),
        name,
        request: body,
        gpu_id,
        gpu_count: 1,
        cloud: "SECURE".to_string(),
        rate,
        created: Instant::now(),
        created_at: time::OffsetDateTime::now_utc(),
        ended: None,
        ends_at: None,
        end_reason: None,
        stopped: false,
        never_ready: false,
        vanish_after: None,
        boot: Default::default(),
    });
    id
}

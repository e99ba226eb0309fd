//! The `/v2` routes the app touches, with RunPod's status codes and problem documents.

use crate::catalog;
use crate::shared::Shared;
use crate::state::{PodRecord, State};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

pub const NO_CAPACITY_DETAIL: &str = "There are no longer any instances available with the requested specifications. Please refresh and try again.";

/// An RFC 9457 problem document, as RunPod sends them.
pub fn problem(status: StatusCode, detail: &str, errors: Option<Vec<String>>) -> Response {
    let mut body = json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(errors) = errors {
        body["errors"] = json!(errors);
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// Cloudflare, slow responses, bursts of 429/5xx, then bearer auth: in the order RunPod's edge
/// and API apply them.
pub async fn gate(AxState(shared): AxState<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let resp = gate_inner(&shared, req, next).await;
    shared.log_request(&method, &path, resp.status().as_u16());
    resp
}

async fn gate_inner(shared: &Shared, req: Request, next: Next) -> Response {
    let has_agent = req
        .headers()
        .get(header::USER_AGENT)
        .is_some_and(|v| !v.is_empty());
    if !has_agent {
        return (StatusCode::FORBIDDEN, "error code: 1010").into_response();
    }
    let (slow, burst) = {
        let mut st = shared.lock();
        let f = &mut st.faults;
        let burst = if f.rate_limit_burst > 0 {
            f.rate_limit_burst -= 1;
            Some((StatusCode::TOO_MANY_REQUESTS, f.retry_after_secs))
        } else if f.server_error_burst > 0 {
            f.server_error_burst -= 1;
            Some((StatusCode::SERVICE_UNAVAILABLE, 0))
        } else {
            None
        };
        (f.slow, burst)
    };
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    if let Some((status, retry_after)) = burst {
        let mut resp = problem(status, "injected fault", None);
        if status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        return resp;
    }
    let expected = format!("Bearer {}", shared.api_key());
    let authorised = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorised {
        return problem(
            StatusCode::UNAUTHORIZED,
            "invalid or missing bearer token",
            None,
        );
    }
    next.run(req).await
}

pub async fn list_pods(AxState(shared): AxState<Shared>) -> Response {
    let now = Instant::now();
    let mut st = shared.lock();
    st.settle(now);
    let pods: Vec<Value> = st
        .pods
        .iter()
        .filter(|p| !p.is_gone())
        .map(|p| p.to_json(shared.timings(), now))
        .collect();
    Json(json!({ "pods": pods })).into_response()
}

pub async fn create_pod(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "request body is not JSON", None);
    };
    if let Some(api) = shared.openapi()
        && let Err(errors) = api.check("CreatePodRequest", &body)
    {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Request validation failed.",
            Some(errors),
        );
    }
    if body.get("cpu").is_some() || body.get("gpu").is_none() {
        return problem(
            StatusCode::BAD_REQUEST,
            "exactly one of gpu or cpu must be set (the stand-in makes GPU pods only)",
            None,
        );
    }
    let gpu_id = body
        .pointer("/gpu/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let count = body
        .pointer("/gpu/count")
        .and_then(Value::as_u64)
        .unwrap_or(1) as u32;
    let cloud = body
        .get("cloud")
        .and_then(Value::as_str)
        .unwrap_or("SECURE")
        .to_string();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(rate) = State::rate_for(&gpu_id, &cloud, count) else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("unknown GPU type {gpu_id}"),
            None,
        );
    };
    let now = Instant::now();
    let mut st = shared.lock();
    if st.faults.insufficient_balance {
        return problem(
            StatusCode::PAYMENT_REQUIRED,
            "Insufficient balance: at least one hour of credit is needed to deploy this pod.",
            None,
        );
    }
    if let Some(contract) = &st.pod_contract
        && let Err(what) = contract.check(&body)
    {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("the create body breaks the lock: {what}"),
            None,
        );
    }
    if st.faults.forbidden_gpus.contains(&gpu_id) {
        return problem(
            StatusCode::FORBIDDEN,
            "this GPU pool is not accessible to your account",
            None,
        );
    }
    if st.faults.no_capacity.contains(&gpu_id) {
        return problem(StatusCode::BAD_REQUEST, NO_CAPACITY_DETAIL, None);
    }
    if let Some(refused) = crate::volumes::refuse_placement(&st, &body, &gpu_id) {
        return refused;
    }
    let boot = crate::boot::plan(&body, shared.timings(), st.faults.bootstrap_hash_mismatch);
    let id = st.new_id();
    let record = PodRecord {
        id,
        name,
        request: body,
        gpu_id,
        gpu_count: count,
        cloud,
        rate,
        created: now,
        created_at: time::OffsetDateTime::now_utc(),
        ended: None,
        ends_at: None,
        end_reason: None,
        stopped: false,
        never_ready: st.faults.never_ready,
        vanish_after: st.faults.vanish_after,
        boot,
    };
    let doc = record.to_json(shared.timings(), now);
    st.pods.push(record);
    if st.faults.create_500_but_created > 0 {
        st.faults.create_500_but_created -= 1;
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error while creating the pod",
            None,
        );
    }
    (StatusCode::CREATED, Json(doc)).into_response()
}

fn not_found(id: &str) -> Response {
    problem(StatusCode::NOT_FOUND, &format!("pod {id} not found"), None)
}

pub async fn get_pod(AxState(shared): AxState<Shared>, Path(id): Path<String>) -> Response {
    let now = Instant::now();
    let mut st = shared.lock();
    st.settle(now);
    match st.live_pod_mut(&id) {
        Some(p) => Json(p.to_json(shared.timings(), now)).into_response(),
        None => not_found(&id),
    }
}

pub async fn delete_pod(AxState(shared): AxState<Shared>, Path(id): Path<String>) -> Response {
    let now = Instant::now();
    let mut st = shared.lock();
    st.settle(now);
    terminate(&mut st, &id, now)
}

fn terminate(st: &mut State, id: &str, now: Instant) -> Response {
    let f = &mut st.faults;
    let lost = f.deletes_lost > 0;
    f.deletes_lost = f.deletes_lost.saturating_sub(u32::from(lost));
    let (never, linger) = (f.terminate_never, f.terminate_lingers);
    let Some(p) = st.live_pod_mut(id) else {
        return not_found(id);
    };
    if lost || never {
        return StatusCode::NO_CONTENT.into_response();
    }
    match linger {
        // A second DELETE does not hurry the first.
        Some(d) => {
            p.ends_at.get_or_insert(now + d);
        }
        None => {
            p.ended = Some(now);
            p.end_reason = Some("terminated");
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

pub async fn pod_action(
    AxState(shared): AxState<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "request body is not JSON", None);
    };
    if let Some(api) = shared.openapi()
        && let Err(errors) = api.check("PodActionRequest", &body)
    {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Request validation failed.",
            Some(errors),
        );
    }
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    let now = Instant::now();
    let timings = *shared.timings();
    let mut st = shared.lock();
    st.settle(now);
    if action == "terminate" {
        return terminate(&mut st, &id, now);
    }
    let Some(p) = st.live_pod_mut(&id) else {
        return not_found(&id);
    };
    let status = p.status(&timings, now);
    let allowed = match action {
        "stop" => status != "EXITED",
        "start" => status == "EXITED",
        "restart" => status == "RUNNING",
        _ => false,
    };
    if !allowed {
        return problem(
            StatusCode::CONFLICT,
            &format!("action {action} is not valid while the pod is {status}"),
            None,
        );
    }
    match action {
        "stop" => p.stopped = true,
        "start" => p.stopped = false,
        _ => {}
    }
    Json(p.to_json(&timings, now)).into_response()
}

pub async fn list_gpus(
    AxState(shared): AxState<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let with_availability = query
        .get("include")
        .is_some_and(|v| v.split(',').any(|s| s == "AVAILABILITY"));
    if with_availability && !query.contains_key("product") {
        return problem(
            StatusCode::BAD_REQUEST,
            "include=AVAILABILITY requires product",
            None,
        );
    }
    let st = shared.lock();
    let gpus: Vec<Value> = catalog::GPUS
        .iter()
        .map(|g| {
            let level = if st.faults.no_capacity.contains(g.id) {
                "NONE"
            } else {
                "HIGH"
            };
            catalog::gpu_json(g, with_availability.then_some(level))
        })
        .collect();
    Json(json!({ "gpus": gpus })).into_response()
}

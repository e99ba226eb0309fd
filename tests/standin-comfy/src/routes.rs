//! ComfyUI's HTTP routes, each also under `/api`, plus the 524 fault in front of them.

use crate::catalog::{self, object_info_entry};
use crate::{Job, Route, Shared, lock};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

type St = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let limit = usize::try_from(shared.config.max_upload_bytes).unwrap_or(usize::MAX);
    let routes: Router<Arc<Shared>> = Router::new()
        .route("/system_stats", get(system_stats))
        .route("/object_info", get(object_info))
        .route("/object_info/{class}", get(object_info_one))
        .route(
            "/upload/image",
            post(upload).layer(DefaultBodyLimit::max(limit.saturating_add(64 * 1024))),
        )
        .route("/prompt", post(queue_prompt).get(prompt_info))
        .route("/queue", get(queue).post(queue_edit))
        .route("/interrupt", post(interrupt))
        .route("/free", post(|| async { StatusCode::OK }))
        .route("/history", get(history_all))
        .route("/history/{id}", get(history_one))
        .route("/view", get(view))
        .route("/ws", get(crate::ws::handler));
    Router::new()
        .merge(routes.clone())
        .nest("/api", routes)
        .layer(middleware::from_fn_with_state(shared.clone(), fault_524))
        .with_state(shared)
}

/// The RunPod proxy gives up after 100 s with a 524 page; this answers the same, after draining
/// the request body as the proxy would have.
async fn fault_524(State(s): St, req: Request, next: Next) -> Response {
    let path = req.uri().path().trim_start_matches("/api");
    let route = match path {
        "/upload/image" => Some(Route::Upload),
        "/prompt" => Some(Route::Prompt),
        "/view" => Some(Route::View),
        p if p.starts_with("/history") => Some(Route::History),
        _ => None,
    };
    let (fire, delay) = {
        let mut f = lock(&s.faults);
        let fire = match (&mut f.answer_524, route) {
            (Some((r, n)), Some(route)) if *r == route && *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        (fire, f.delay_524)
    };
    if !fire {
        return next.run(req).await;
    }
    let after_queueing = route == Some(Route::Prompt) && lock(&s.faults).answer_524_after_queueing;
    if after_queueing {
        // The server takes the prompt; only its answer is lost on the way back.
        let _ = next.run(req).await;
    } else {
        let _ = axum::body::to_bytes(req.into_body(), usize::MAX).await;
    }
    tokio::time::sleep(delay).await;
    (
        StatusCode::from_u16(524).unwrap_or(StatusCode::GATEWAY_TIMEOUT),
        "error code: 524",
    )
        .into_response()
}

async fn system_stats() -> Json<Value> {
    Json(json!({
        "system": {"os": "posix", "ram_total": 270_000_000_000u64, "ram_free": 250_000_000_000u64,
            "comfyui_version": "0.3.75-standin", "python_version": "3.12.3", "pytorch_version": "2.8.0+cu128",
            "embedded_python": false, "argv": ["main.py", "--listen"]},
        "devices": [{"name": "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync", "type": "cuda", "index": 0,
            "vram_total": 85_520_809_984u64, "vram_free": 84_000_000_000u64,
            "torch_vram_total": 0, "torch_vram_free": 0}]
    }))
}

async fn object_info(State(s): St) -> Json<Value> {
    let map: serde_json::Map<String, Value> = s
        .config
        .node_classes
        .iter()
        .map(|c| {
            (
                c.clone(),
                object_info_entry(c, &s.config.models, &s.input_dir),
            )
        })
        .collect();
    Json(Value::Object(map))
}

async fn object_info_one(State(s): St, Path(class): Path<String>) -> Json<Value> {
    if !s.config.node_classes.contains(&class) {
        return Json(json!({}));
    }
    Json(json!({ class.clone(): object_info_entry(&class, &s.config.models, &s.input_dir) }))
}

fn too_large() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large").into_response()
}

async fn upload(State(s): St, headers: HeaderMap, mut form: Multipart) -> Response {
    s.uploads.fetch_add(1, Ordering::SeqCst);
    if take_one(&mut lock(&s.faults).stall_uploads) {
        // Nothing is read: the client's sends fill the socket buffers and stop.
        std::future::pending::<()>().await;
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.config.max_upload_bytes) {
        return too_large();
    }
    let mut overwrite = false;
    let mut saved: Option<String> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
            Err(e) => return (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        };
        match field.name() {
            Some("overwrite") => {
                overwrite = field.text().await.is_ok_and(|t| t == "true" || t == "1")
            }
            Some("image") => {
                // Only the last path component counts, as in ComfyUI.
                let raw = field.file_name().unwrap_or("upload").to_string();
                let base = raw
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("upload")
                    .to_string();
                let name = if overwrite {
                    base
                } else {
                    free_name(&s.input_dir, &base)
                };
                match save_field(field, &s.input_dir.join(&name), s.config.max_upload_bytes).await {
                    Ok(()) => saved = Some(name),
                    Err(resp) => return resp,
                }
            }
            _ => {}
        }
    }
    match saved {
        Some(name) => Json(json!({"name": name, "subfolder": "", "type": "input"})).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn free_name(dir: &std::path::Path, base: &str) -> String {
    let (stem, ext) = match base.rsplit_once('.') {
        Some((a, b)) => (a.to_string(), format!(".{b}")),
        None => (base.to_string(), String::new()),
    };
    let mut name = base.to_string();
    let mut i = 1;
    while dir.join(&name).exists() {
        name = format!("{stem} ({i}){ext}");
        i += 1;
    }
    name
}

async fn save_field(
    mut field: axum::extract::multipart::Field<'_>,
    path: &std::path::Path,
    limit: u64,
) -> Result<(), Response> {
    let err =
        |e: std::io::Error| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    let mut file = tokio::fs::File::create(path).await.map_err(err)?;
    let mut written = 0u64;
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                written += bytes.len() as u64;
                if written > limit {
                    let _ = tokio::fs::remove_file(path).await;
                    return Err(too_large());
                }
                file.write_all(&bytes).await.map_err(err)?;
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tokio::fs::remove_file(path).await;
                return Err(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    (StatusCode::BAD_REQUEST, e.body_text()).into_response()
                });
            }
        }
    }
    file.flush().await.map_err(err)
}

async fn prompt_info(State(s): St) -> Json<Value> {
    Json(json!({"exec_info": {"queue_remaining": s.queue_remaining()}}))
}

async fn queue_prompt(State(s): St, Json(body): Json<Value>) -> Response {
    let Some(prompt) = body.get("prompt").and_then(Value::as_object) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "no_prompt", "message": "No prompt provided", "details": "", "extra_info": {}}, "node_errors": {}}))).into_response();
    };
    let outputs = match catalog::validate(
        prompt,
        &s.config.node_classes,
        &s.config.models,
        &s.input_dir,
    ) {
        Ok(o) => o,
        Err(body) => return (StatusCode::BAD_REQUEST, Json(body)).into_response(),
    };
    let id = body
        .get("prompt_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client_id = body
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let number = s.counter.fetch_add(1, Ordering::SeqCst);
    let job = Job {
        number,
        id: id.clone(),
        client_id,
        prompt: Value::Object(prompt.clone()),
        outputs,
    };
    if !lock(&s.faults).forget_prompts {
        lock(&s.queue).pending.push_back(job);
    }
    s.wake.notify_one();
    s.prompts.fetch_add(1, Ordering::SeqCst);
    Json(json!({"prompt_id": id, "number": number, "node_errors": {}})).into_response()
}

fn queue_item(j: &Job) -> Value {
    json!([j.number, j.id, j.prompt, {"client_id": j.client_id}, j.outputs])
}

async fn queue(State(s): St) -> Json<Value> {
    let q = lock(&s.queue);
    Json(json!({
        "queue_running": q.running.iter().map(queue_item).collect::<Vec<_>>(),
        "queue_pending": q.pending.iter().map(queue_item).collect::<Vec<_>>(),
    }))
}

async fn queue_edit(State(s): St, Json(body): Json<Value>) -> StatusCode {
    let mut q = lock(&s.queue);
    if body.get("clear").and_then(Value::as_bool) == Some(true) {
        q.pending.clear();
    }
    if let Some(ids) = body.get("delete").and_then(Value::as_array) {
        q.pending
            .retain(|j| !ids.iter().any(|i| i.as_str() == Some(&j.id)));
    }
    StatusCode::OK
}

async fn interrupt(State(s): St, body: Option<Json<Value>>) -> StatusCode {
    let wanted = body.and_then(|Json(b)| {
        b.get("prompt_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let running = lock(&s.queue).running.as_ref().map(|j| j.id.clone());
    if running.is_some() && (wanted.is_none() || wanted == running) {
        s.interrupt.store(true, Ordering::SeqCst);
    }
    StatusCode::OK
}

async fn history_all(State(s): St) -> Json<Value> {
    Json(json!(*lock(&s.history)))
}

async fn history_one(State(s): St, Path(id): Path<String>) -> Json<Value> {
    match lock(&s.history).get(&id) {
        Some(entry) => Json(json!({ id: entry })),
        None => Json(json!({})),
    }
}

#[derive(Deserialize)]
struct ViewQuery {
    filename: String,
    #[serde(default)]
    subfolder: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

async fn view(State(s): St, Query(q): Query<ViewQuery>, headers: HeaderMap) -> Response {
    let hostile = |p: &str| p.contains("..") || p.contains('\\') || p.starts_with('/');
    if hostile(&q.filename) || q.filename.contains('/') || hostile(&q.subfolder) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let dir = match q.kind.as_deref() {
        Some("input") => &s.input_dir,
        _ => &s.output_dir,
    };
    if let Some(to) = lock(&s.faults).redirect_view_to.clone() {
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response();
    }
    let path = dir.join(&q.subfolder).join(&q.filename);
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let size = match file.metadata().await {
        Ok(m) => m.len(),
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let start = headers.get(header::RANGE).and_then(|v| {
        v.to_str()
            .ok()?
            .strip_prefix("bytes=")?
            .split('-')
            .next()?
            .parse::<u64>()
            .ok()
    });
    if start.is_some_and(|st| st >= size) {
        return (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{size}"))],
        )
            .into_response();
    }
    if start.is_some() {
        s.ranged_views.fetch_add(1, Ordering::SeqCst);
    }
    let (stall, padding, start) = {
        let mut f = lock(&s.faults);
        let stall = match &mut f.stall_download {
            Some((after, n)) => take_one(n).then_some(*after),
            None => None,
        };
        (
            stall,
            f.view_padding,
            if f.ignore_range { None } else { start },
        )
    };
    let offset = start.unwrap_or(0);
    if file.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let cut = lock(&s.faults).cut_download_after.take();
    if let Some(n) = stall {
        return stalled_view(file, n, start.map(|st| (st, size)), size - offset).await;
    }
    if padding > 0 {
        let file = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        let zeros = futures_util::stream::iter((0..padding.div_ceil(CHUNK)).map(move |i| {
            let len = CHUNK.min(padding - i * CHUNK);
            Ok(bytes::Bytes::from(vec![0u8; len as usize]))
        }));
        return Response::builder()
            .header(header::CONTENT_TYPE, "video/mp4")
            .body(Body::from_stream(file.chain(zeros)))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let body = match cut {
        // Send `n` bytes, let them reach the client, then fail the body: the connection drops
        // short of its Content-Length.
        Some(n) => {
            let mut head = Vec::new();
            if (&mut file).take(n).read_to_end(&mut head).await.is_err() {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let first =
                futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(head))]);
            let fail = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Err(std::io::Error::other("fault: download cut"))
            });
            Body::from_stream(first.chain(fail))
        }
        None => Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
            file,
            256 * 1024,
        )),
    };
    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, size - offset)
        .header(header::ACCEPT_RANGES, "bytes");
    resp = if start.is_some() {
        resp.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {offset}-{}/{size}", size - 1),
        )
    } else {
        resp.status(StatusCode::OK)
    };
    resp.body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

const CHUNK: u64 = 64 * 1024;

/// Counts a fault down; `true` while it still fires.
fn take_one(n: &mut u32) -> bool {
    let fire = *n > 0;
    *n = n.saturating_sub(1);
    fire
}

/// `n` bytes of the file and then silence with the connection open: the client sees neither an
/// end nor an error, only that nothing more comes.
async fn stalled_view(
    mut file: tokio::fs::File,
    n: u64,
    range: Option<(u64, u64)>,
    length: u64,
) -> Response {
    let mut head = Vec::new();
    if (&mut file).take(n).read_to_end(&mut head).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(head))]);
    let silence = futures_util::stream::pending();
    let mut resp = Response::builder().status(StatusCode::OK);
    if let Some((start, size)) = range {
        resp = resp.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", size - 1),
        );
    }
    resp.header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, length)
        .body(Body::from_stream(first.chain(silence)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

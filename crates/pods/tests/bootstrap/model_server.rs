//! A stand-in for Hugging Face's file downloads: `/{repo}/resolve/{rev}/{path}` answers with a
//! redirect that carries `X-Repo-Commit`, `X-Linked-Etag` and `X-Linked-Size`, and the blob
//! behind it honours `Range`. A file can cut its first answer half-way or stall it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

/// The one repository commit every file is served at (besides `main`).
pub const COMMIT: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The first full answer closes the connection after half the body.
    Cut,
    /// The first full answer sends half the body, then nothing, with the socket open.
    Stall,
}

#[derive(Debug, Clone)]
pub struct File {
    pub bytes: Vec<u8>,
    /// Hugging Face sends the hash headers for LFS files only.
    pub lfs: bool,
    pub fault: Option<Fault>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keyed by `{repo}/{path}`.
    files: Mutex<HashMap<String, File>>,
    log: Mutex<Vec<Request>>,
    /// Writers of stalled bodies, kept so their readers wait instead of ending.
    stalled: Mutex<Vec<tokio::io::DuplexStream>>,
}

#[derive(Debug, Clone)]
pub struct ModelServer {
    pub base: String,
    inner: Arc<Inner>,
}

impl ModelServer {
    pub async fn start(files: Vec<(&str, File)>) -> Self {
        let inner = Arc::new(Inner::default());
        inner
            .files
            .lock()
            .unwrap()
            .extend(files.into_iter().map(|(key, file)| (key.to_string(), file)));
        let app = Router::new()
            .route("/{owner}/{name}/resolve/{rev}/{*path}", get(resolve))
            .route("/blobs/{*key}", get(blob))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, inner }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.log.lock().unwrap().clone()
    }
}

fn record(inner: &Inner, path: String, headers: &HeaderMap) {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    inner.log.lock().unwrap().push(Request {
        path,
        range: text(header::RANGE),
        authorization: text(header::AUTHORIZATION),
    });
}

async fn resolve(
    State(inner): State<Arc<Inner>>,
    Path((owner, name, rev, path)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    record(
        &inner,
        format!("/{owner}/{name}/resolve/{rev}/{path}"),
        &headers,
    );
    let key = format!("{owner}/{name}/{path}");
    let Some(file) = inner.files.lock().unwrap().get(&key).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if rev != COMMIT && rev != "main" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = (
        StatusCode::FOUND,
        [
            (header::LOCATION, format!("/blobs/{key}")),
            (
                header::HeaderName::from_static("x-repo-commit"),
                COMMIT.into(),
            ),
        ],
    )
        .into_response();
    if file.lfs {
        let h = response.headers_mut();
        let etag = format!("\"{}\"", crate::fixtures::sha256(&file.bytes));
        h.insert("x-linked-etag", etag.parse().unwrap());
        h.insert("x-linked-size", file.bytes.len().into());
    }
    response
}

async fn blob(
    State(inner): State<Arc<Inner>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&inner, format!("/blobs/{key}"), &headers);
    let Some(file) = inner.files.lock().unwrap().get(&key).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let len = file.bytes.len();
    let start = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(start) = start {
        if start >= len {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
        return (
            StatusCode::PARTIAL_CONTENT,
            [
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{len}", len - 1),
                ),
                (header::CONTENT_LENGTH, (len - start).to_string()),
            ],
            file.bytes[start..].to_vec(),
        )
            .into_response();
    }
    let fault = inner
        .files
        .lock()
        .unwrap()
        .get_mut(&key)
        .and_then(|f| f.fault.take());
    let Some(fault) = fault else {
        return file.bytes.into_response();
    };
    // Half the body, then either the end of the stream (the connection is cut short of its
    // Content-Length) or a reader that never gets more data.
    let (writer, reader) = tokio::io::duplex(64);
    match fault {
        Fault::Cut => drop(writer),
        Fault::Stall => inner.stalled.lock().unwrap().push(writer),
    }
    let half = std::io::Cursor::new(file.bytes[..len / 2].to_vec());
    let body = Body::from_stream(ReaderStream::new(half.chain(reader)));
    (
        StatusCode::OK,
        [(header::CONTENT_LENGTH, len.to_string())],
        body,
    )
        .into_response()
}

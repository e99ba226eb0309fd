//! The downloader against a real local HTTP server: a cut transfer resumes with a Range request,
//! a wrong hash is refused, the first hash is pinned, offline gives `pose.download_failed`.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use sha2::{Digest, Sha256};
use studio_pose::{DownloadProgress, ModelFile, ensure_model};

#[derive(Clone, Default)]
struct Server {
    body: Arc<Mutex<Vec<u8>>>,
    /// Cut the next full (non-Range) transfer after this many bytes.
    cut_after: Arc<Mutex<Option<usize>>>,
    ignore_range: Arc<Mutex<bool>>,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

async fn serve_file(State(s): State<Server>, headers: HeaderMap) -> Response {
    let body = s.body.lock().unwrap().clone();
    let range = headers
        .get(header::RANGE)
        .map(|v| v.to_str().unwrap().to_string());
    s.ranges.lock().unwrap().push(range.clone());
    let total = body.len();
    if let Some(r) = range.filter(|_| !*s.ignore_range.lock().unwrap()) {
        let start: usize = r
            .trim_start_matches("bytes=")
            .trim_end_matches('-')
            .parse()
            .unwrap();
        if start >= total {
            return Response::builder().status(416).body(Body::empty()).unwrap();
        }
        return Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_LENGTH, total - start)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{total}", total - 1),
            )
            .body(Body::from(body[start..].to_vec()))
            .unwrap();
    }
    let cut = s.cut_after.lock().unwrap().take();
    let stream_body = match cut {
        Some(n) => {
            // Send n bytes, give them time to arrive, then fail the stream: hyper drops the
            // connection mid-body, as a pulled cable would.
            use futures_util::StreamExt;
            let first = bytes::Bytes::from(body[..n].to_vec());
            let sent = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) });
            let cut = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                Err(std::io::Error::other("cable pulled"))
            });
            Body::from_stream(sent.chain(cut))
        }
        None => Body::from(body),
    };
    Response::builder()
        .header(header::CONTENT_LENGTH, total)
        .body(stream_body)
        .unwrap()
}

async fn start(server: Server) -> String {
    let app = Router::new()
        .route("/m/{name}", get(serve_file))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/m/model.onnx")
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn file(url: &str, sha256: Option<String>) -> ModelFile {
    ModelFile {
        file_name: "model.onnx".into(),
        url: url.into(),
        size: None,
        sha256,
        approx_size: None,
    }
}

#[tokio::test]
async fn resumes_after_a_cut_and_pins_the_hash() {
    let server = Server::default();
    let data = payload(300_000);
    *server.body.lock().unwrap() = data.clone();
    *server.cut_after.lock().unwrap() = Some(120_000);
    let url = start(server.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let f = file(&url, None);
    let mut seen: Vec<DownloadProgress> = Vec::new();

    let err = ensure_model(&client, &f, dir.path(), &mut |p| seen.push(p))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_failed");
    let part = dir.path().join("model.onnx.part");
    let kept = std::fs::metadata(&part)
        .expect("the partial file stays")
        .len();
    assert!(kept > 0 && kept <= 120_000, "{kept}");

    let path = ensure_model(&client, &f, dir.path(), &mut |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert!(!part.exists());
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec![None, Some(format!("bytes={kept}-"))]
    );
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.total), (300_000, Some(300_000)));
    let pin: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("model.onnx.pin.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pin["sha256"], sha(&data));
    assert_eq!(pin["size"], 300_000);

    // Present and pinned: no request at all.
    ensure_model(&client, &f, dir.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(server.ranges.lock().unwrap().len(), 2);

    // Deleted, and the server now has other bytes of the same size: refused against the pin.
    std::fs::remove_file(&path).unwrap();
    let mut other = data.clone();
    other[10] ^= 0xff;
    *server.body.lock().unwrap() = other;
    let err = ensure_model(&client, &f, dir.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_corrupt");
    assert!(!path.exists() && !part.exists());
}

#[tokio::test]
async fn wrong_published_hash_is_refused() {
    let server = Server::default();
    *server.body.lock().unwrap() = payload(50_000);
    let url = start(server).await;
    let dir = tempfile::tempdir().unwrap();
    let f = file(&url, Some("00".repeat(32)));
    let err = ensure_model(&reqwest::Client::new(), &f, dir.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_corrupt");
    assert!(err.message().contains("SHA-256"), "{}", err.message());
    assert!(!dir.path().join("model.onnx").exists());
    assert!(!dir.path().join("model.onnx.part").exists());
}

#[tokio::test]
async fn server_ignoring_range_restarts_cleanly() {
    let server = Server::default();
    let data = payload(80_000);
    *server.body.lock().unwrap() = data.clone();
    *server.ignore_range.lock().unwrap() = true;
    let url = start(server).await;
    let dir = tempfile::tempdir().unwrap();
    // A stale partial file from an earlier attempt.
    std::fs::write(dir.path().join("model.onnx.part"), &data[..1000]).unwrap();
    let f = file(&url, Some(sha(&data)));
    let path = ensure_model(&reqwest::Client::new(), &f, dir.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), data);
}

#[tokio::test]
async fn offline_is_a_clear_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let f = file(&format!("http://127.0.0.1:{port}/m/model.onnx"), None);
    let err = ensure_model(&reqwest::Client::new(), &f, dir.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_failed");
    assert!(err.message().contains("Check the internet connection"));
}

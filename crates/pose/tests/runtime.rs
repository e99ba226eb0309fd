//! The ONNX Runtime library download against a real local HTTP server serving wheels built here:
//! hash checked, only the library unpacked, the wheel removed, a new source replaces the old
//! library, a failure never fails `ensure_dwpose_from`, and a library that does not load leaves
//! the preview on RTen. (No real onnxruntime is loaded in this binary: see tests/models.rs.)
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use sha2::{Digest, Sha256};
use studio_pose::runtime::{
    ensure_runtime, onnxruntime_wheel, runtime_dir, runtime_library_name, runtime_status,
};
use studio_pose::{
    Backend, DownloadProgress, DwposeSources, ModelFile, PoseModels, dwpose_files,
    dwpose_status_from, ensure_dwpose_from,
};

/// File name -> bytes, and how often each was asked for.
#[derive(Clone, Default)]
struct Server {
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn put(&self, name: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(name.into(), body);
    }
    fn hits(&self, name: &str) -> usize {
        self.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

async fn serve(
    State(s): State<Server>,
    UrlPath(name): UrlPath<String>,
) -> Result<Vec<u8>, StatusCode> {
    *s.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    s.files
        .lock()
        .unwrap()
        .get(&name)
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

/// Base URL (`http://127.0.0.1:PORT/f`) of a server holding `server`'s files.
async fn start(server: Server) -> String {
    let app = Router::new()
        .route("/f/{name}", get(serve))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/f")
}

/// The library as the official wheels name it for this platform.
fn wheel_library_path() -> &'static str {
    if cfg!(windows) {
        "onnxruntime/capi/onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "onnxruntime/capi/libonnxruntime.1.32.0.dylib"
    } else {
        "onnxruntime/capi/libonnxruntime.so.1.32.0"
    }
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A wheel-shaped zip: the library among the files a real wheel carries beside it.
fn wheel(library: &[u8]) -> Vec<u8> {
    zip_of(&[
        ("onnxruntime/__init__.py", b"# python"),
        (
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            b"not this one",
        ),
        (wheel_library_path(), library),
        ("onnxruntime-1.32.0.dist-info/RECORD", b"..."),
    ])
}

fn library_bytes() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect()
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn source(base: &str, name: &str, body: &[u8]) -> ModelFile {
    ModelFile {
        file_name: name.into(),
        url: format!("{base}/{name}"),
        size: Some(body.len() as u64),
        sha256: Some(sha(body)),
        approx_size: None,
    }
}

fn installed_library(models: &Path) -> PathBuf {
    runtime_dir(models).join(runtime_library_name())
}

#[tokio::test]
async fn wheel_is_checked_unpacked_and_removed() {
    let server = Server::default();
    let lib = library_bytes();
    let whl = wheel(&lib);
    server.put("ort-a.whl", whl.clone());
    let base = start(server.clone()).await;
    let models = tempfile::tempdir().unwrap();
    let src = source(&base, "ort-a.whl", &whl);
    let client = reqwest::Client::new();

    let before = runtime_status(&src, models.path());
    assert!(!before.ready && before.optional);
    assert_eq!(before.expected, Some(whl.len() as u64));

    let mut seen: Vec<DownloadProgress> = Vec::new();
    let path = ensure_runtime(&client, &src, models.path(), &mut |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!(path, installed_library(models.path()));
    assert_eq!(std::fs::read(&path).unwrap(), lib);
    let dir = runtime_dir(models.path());
    assert!(!dir.join("ort-a.whl").exists(), "the wheel is deleted");
    assert!(!dir.join("ort-a.whl.pin.json").exists());
    let last = seen.last().unwrap();
    assert_eq!(
        (last.file.as_str(), last.done),
        ("ort-a.whl", whl.len() as u64)
    );
    let after = runtime_status(&src, models.path());
    assert!(after.ready);
    assert_eq!(after.have, whl.len() as u64);

    // Installed: no request.
    ensure_runtime(&client, &src, models.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(server.hits("ort-a.whl"), 1);

    // A newer pinned wheel replaces the library.
    let lib2: Vec<u8> = lib.iter().map(|b| b ^ 0x5a).collect();
    let whl2 = wheel(&lib2);
    server.put("ort-b.whl", whl2.clone());
    let src2 = source(&base, "ort-b.whl", &whl2);
    assert!(!runtime_status(&src2, models.path()).ready);
    ensure_runtime(&client, &src2, models.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), lib2);
}

#[tokio::test]
async fn wrong_hash_is_refused_and_nothing_is_installed() {
    let server = Server::default();
    let whl = wheel(&library_bytes());
    server.put("ort.whl", whl.clone());
    let base = start(server).await;
    let models = tempfile::tempdir().unwrap();
    let mut src = source(&base, "ort.whl", &whl);
    src.sha256 = Some("00".repeat(32));
    let err = ensure_runtime(&reqwest::Client::new(), &src, models.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_corrupt");
    assert!(
        err.message().contains("ONNX Runtime library"),
        "{}",
        err.message()
    );
    let dir = runtime_dir(models.path());
    assert!(!installed_library(models.path()).exists());
    assert!(!dir.join("ort.whl").exists() && !dir.join("ort.whl.part").exists());
}

#[tokio::test]
async fn a_zip_without_the_library_is_refused() {
    let server = Server::default();
    let whl = zip_of(&[("onnxruntime/__init__.py", b"# python")]);
    server.put("ort.whl", whl.clone());
    let base = start(server).await;
    let models = tempfile::tempdir().unwrap();
    let src = source(&base, "ort.whl", &whl);
    let err = ensure_runtime(&reqwest::Client::new(), &src, models.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.runtime_invalid");
    assert!(!installed_library(models.path()).exists());
    assert!(!runtime_dir(models.path()).join("ort.whl").exists());
}

fn model_sources(base: &str, runtime: Option<ModelFile>) -> DwposeSources {
    DwposeSources {
        models: dwpose_files(base).map(|f| ModelFile {
            approx_size: None,
            ..f
        }),
        runtime,
    }
}

fn serve_models(server: &Server) {
    server.put("yolox_l.onnx", vec![1; 5000]);
    server.put("dw-ll_ucoco_384.onnx", vec![2; 3000]);
}

#[tokio::test]
async fn ensure_dwpose_fetches_the_runtime_after_the_models() {
    let server = Server::default();
    serve_models(&server);
    let whl = wheel(&library_bytes());
    server.put("ort.whl", whl.clone());
    let base = start(server).await;
    let models = tempfile::tempdir().unwrap();
    let sources = model_sources(&base, Some(source(&base, "ort.whl", &whl)));
    assert!(
        dwpose_status_from(&sources, models.path())
            .iter()
            .all(|s| !s.ready)
    );
    let mut files = Vec::new();
    let (det, pose) =
        ensure_dwpose_from(&reqwest::Client::new(), &sources, models.path(), &mut |p| {
            files.push(p.file)
        })
        .await
        .unwrap();
    assert_eq!(std::fs::read(det).unwrap(), vec![1; 5000]);
    assert_eq!(std::fs::read(pose).unwrap(), vec![2; 3000]);
    assert!(installed_library(models.path()).is_file());
    assert_eq!(files.last().map(String::as_str), Some("ort.whl"));
    let status = dwpose_status_from(&sources, models.path());
    let names: Vec<_> = status
        .iter()
        .map(|s| (s.file.as_str(), s.ready, s.optional))
        .collect();
    assert_eq!(
        names,
        [
            ("yolox_l.onnx", true, false),
            ("dw-ll_ucoco_384.onnx", true, false),
            ("ort.whl", true, true)
        ]
    );
}

#[tokio::test]
async fn a_failed_runtime_download_does_not_fail_ensure_dwpose() {
    // The models are served, the wheel is not (404): the models arrive, the preview runs on RTen.
    let server = Server::default();
    serve_models(&server);
    let base = start(server.clone()).await;
    let models = tempfile::tempdir().unwrap();
    let sources = model_sources(&base, Some(source(&base, "missing.whl", b"x")));
    let client = reqwest::Client::new();
    let (det, _) = ensure_dwpose_from(&client, &sources, models.path(), &mut |_| {})
        .await
        .unwrap();
    assert!(det.is_file());
    assert!(!installed_library(models.path()).exists());
    assert_eq!(server.hits("missing.whl"), 1);
    // Loading the preview again soon after does not wait on the network again.
    ensure_dwpose_from(&client, &sources, models.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(server.hits("missing.whl"), 1);
    let status = dwpose_status_from(&sources, models.path());
    assert!(status[..2].iter().all(|s| s.ready) && !status[2].ready);
}

#[tokio::test]
async fn offline_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let models = tempfile::tempdir().unwrap();
    let src = source(&format!("http://127.0.0.1:{port}/f"), "ort.whl", b"x");
    let err = ensure_runtime(&reqwest::Client::new(), &src, models.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_failed");
    let msg = err.message();
    assert!(
        msg.contains("ONNX Runtime library")
            && msg.contains("Check the internet connection")
            && msg.contains("built-in engine"),
        "{msg}"
    );
}

#[test]
fn a_library_that_does_not_load_leaves_the_preview_on_rten() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join(runtime_library_name());
    std::fs::write(&bogus, b"not a shared library").unwrap();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let models = PoseModels::load_with(
        &testdata.join("det_test.onnx"),
        &testdata.join("pose_test.onnx"),
        Backend::OnnxRuntime(bogus),
    )
    .unwrap();
    assert_eq!(models.engine_name(), "rten");
    let out = models.detect(vec![0.0; 3 * 640 * 640]).unwrap();
    assert_eq!(out.len(), 8400 * 85);
}

#[test]
fn official_wheels_are_pinned_per_platform() {
    let linux = onnxruntime_wheel("linux", "x86_64").unwrap();
    assert!(
        linux
            .url
            .starts_with("https://files.pythonhosted.org/packages/")
    );
    assert!(
        linux
            .url
            .ends_with("/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_x86_64.whl")
    );
    assert_eq!(
        linux.file_name,
        "onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    );
    assert_eq!(linux.sha256.as_deref().map(str::len), Some(64));
    for (os, arch) in [
        ("linux", "aarch64"),
        ("macos", "aarch64"),
        ("windows", "x86_64"),
    ] {
        assert!(onnxruntime_wheel(os, arch).is_some(), "{os} {arch}");
    }
    // PyPI has no macOS Intel wheel after 1.23: those Macs stay on RTen.
    assert!(onnxruntime_wheel("macos", "x86_64").is_none());
}

//! The stand-in RunPod behind a small forwarding proxy that can refuse chosen calls, and the
//! child-process pattern the app tests need (the app reads its addresses and key from the
//! environment, which is process-wide).
#![allow(dead_code, clippy::unwrap_used)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use standin_runpod::StandIn;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use url::Url;

/// What the proxy refuses; everything else goes to the stand-in unchanged.
#[derive(Default)]
pub struct Refusals {
    /// DELETEs of these pod ids answer 400 every time.
    pub delete_of: Mutex<HashSet<String>>,
    /// The next N DELETEs (of any pod) answer 400.
    pub next_deletes: AtomicU32,
    /// Every call that reached the proxy, as `METHOD /path`.
    pub seen: Mutex<Vec<String>>,
}

pub struct Proxy {
    pub refusals: Arc<Refusals>,
    pub api_url: Url,
}

#[derive(Clone)]
struct Ctx {
    upstream: Url,
    refusals: Arc<Refusals>,
    http: reqwest::Client,
}

/// A proxy in front of `standin`'s API on a real socket.
pub async fn proxy(standin: &StandIn) -> Proxy {
    let refusals = Arc::new(Refusals::default());
    let ctx = Ctx {
        upstream: standin.api_url(),
        refusals: refusals.clone(),
        http: reqwest::Client::new(),
    };
    let app = axum::Router::new().fallback(forward).with_state(ctx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let path = standin.api_url().path().to_string();
    Proxy {
        refusals,
        api_url: Url::parse(&format!("http://{addr}{path}")).unwrap(),
    }
}

async fn forward(State(ctx): State<Ctx>, req: Request<Body>) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    ctx.refusals
        .seen
        .lock()
        .unwrap()
        .push(format!("{method} {path}"));
    if method == Method::DELETE {
        let pod = path.rsplit('/').next().unwrap_or_default().to_string();
        let by_id = ctx.refusals.delete_of.lock().unwrap().contains(&pod);
        let counted = ctx
            .refusals
            .next_deletes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if by_id || counted {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": "refused by the test proxy"})),
            )
                .into_response();
        }
    }
    let mut url = ctx.upstream.clone();
    url.set_path(&path);
    url.set_query(req.uri().query());
    let headers = req.headers().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut out = ctx.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let resp = out.send().await.unwrap();
    let status = resp.status();
    let content_type = resp.headers().get("content-type").cloned();
    let bytes = resp.bytes().await.unwrap();
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

/// Re-runs the test `name` of this test binary in a child process with `env` added; true when
/// it passed there.
pub async fn run_in_child(name: &str, env: &[(&str, String)]) -> bool {
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.status().await.unwrap().success()
}

/// The stand-in's addresses and key for a child, with the API through `api_url`.
pub fn app_env(standin: &StandIn, api_url: &Url) -> Vec<(&'static str, String)> {
    vec![
        ("STUDIO_RUNPOD_API_URL", api_url.to_string()),
        ("STUDIO_POD_URL_TEMPLATE", standin.pod_url_template()),
        ("RUNPOD_API_KEY", standin.api_key().to_string()),
    ]
}

/// Records a pod as this data folder's pods journal does when it makes one.
pub fn journal_pod(data: &std::path::Path, name: &str, id: &str) {
    let journal = studio_pods::Journal::open_in(data).unwrap();
    journal
        .record_intent(name, "NVIDIA A100 80GB PCIe", 1.64)
        .unwrap();
    journal.record_created(name, id, 1.64).unwrap();
}

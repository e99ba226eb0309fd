//! A stand-in RunPod REST v2 server (with the pods' HTTP proxy) for tests and demo mode.
//!
//! It answers like RunPod for everything the app touches: bearer auth (401), a missing
//! User-Agent answered 403 like Cloudflare, request bodies checked against RunPod's OpenAPI
//! document, pods moving PROVISIONING -> STARTING -> RUNNING (with `runtime: null` for a while),
//! a per-pod billing clock, and per-instance fault injection. Start one per test.

pub mod api;
pub mod boot;
pub mod catalog;
mod contract;
mod control;
pub mod faults;
mod logs;
pub mod openapi;
mod proxy;
pub mod shared;
pub mod state;
pub mod volumes;

pub use contract::PodContract;
pub use faults::Faults;
pub use openapi::OpenApi;
pub use shared::{RequestLogEntry, UpstreamFn};
pub use state::{BillingEntry, Timings};

use axum::Router;
use axum::routing::{any, get, post};
use shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;
use url::Url;

/// How a stand-in instance behaves.
#[derive(Clone)]
pub struct StandInConfig {
    pub api_key: String,
    pub timings: Timings,
    pub upstream: Option<UpstreamFn>,
    /// `127.0.0.1:0` for tests.
    pub bind: SocketAddr,
    /// Check bodies against the OpenAPI document (loaded with [`OpenApi::load`]).
    pub validate: bool,
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
            .field("timings", &self.timings)
            .field("bind", &self.bind)
            .finish_non_exhaustive()
    }
}

impl Default for StandInConfig {
    fn default() -> Self {
        Self {
            api_key: "rpa_STANDIN_TEST_KEY".to_string(),
            timings: Timings::fast(),
            upstream: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            validate: true,
        }
    }
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<oneshot::Sender<()>>,
}

impl StandIn {
    pub async fn start(config: StandInConfig) -> std::io::Result<Self> {
        let openapi = if config.validate {
            OpenApi::load()
        } else {
            None
        };
        let shared = Shared::new(config.timings, config.api_key, openapi, config.upstream);
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `STUDIO_RUNPOD_API_URL`.
    pub fn api_url(&self) -> Url {
        Url::parse(&format!("http://{}/v2", self.addr)).expect("a socket address makes a URL")
    }

    /// The value for `STUDIO_POD_URL_TEMPLATE`.
    pub fn pod_url_template(&self) -> String {
        format!("http://{}/proxy/{{pod_id}}-{{port}}", self.addr)
    }

    pub fn api_key(&self) -> &str {
        self.shared.api_key()
    }

    pub fn set_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.lock().faults);
    }

    /// From now on, refuse create bodies that break `contract` (400, saying what differs).
    pub fn set_pod_contract(&self, contract: Option<PodContract>) {
        self.shared.lock().pod_contract = contract;
    }

    pub fn set_upstream(&self, upstream: Option<UpstreamFn>) {
        self.shared.set_upstream(upstream);
    }

    /// Every pod ever created here, with its billed seconds and cost so far.
    pub fn billing(&self) -> Vec<BillingEntry> {
        let now = Instant::now();
        let mut st = self.shared.lock();
        st.settle(now);
        st.pods.iter().map(|p| p.billing(now)).collect()
    }

    /// Pods that still cost money right now: tests end by asserting this is zero.
    pub fn pods_billing(&self) -> usize {
        self.billing().iter().filter(|b| b.billing).count()
    }

    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.shared.requests()
    }

    /// Sequence numbers of the whole log events sent for `pod_id`, over all its connections:
    /// a reader that resumes right sees each once.
    pub fn log_events_served(&self, pod_id: &str) -> Vec<u64> {
        let st = self.shared.lock();
        st.log_served
            .iter()
            .filter(|(p, _)| p == pod_id)
            .map(|(_, seq)| *seq)
            .collect()
    }

    /// Creates a pod as if another client had (for sweep tests); returns its id.
    pub fn inject_pod(&self, name: &str, gpu_id: &str) -> String {
        let body = serde_json::json!({"name": name, "image": "x", "gpu": {"id": gpu_id}});
        control::insert_pod(&self.shared, body)
    }

    /// The OpenAPI contract this instance checks against, if the document was found.
    pub fn openapi(&self) -> Option<&OpenApi> {
        self.shared.openapi()
    }

    pub fn shared_openapi() -> Option<Arc<OpenApi>> {
        OpenApi::load()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Shared) -> Router {
    let v2 = Router::new()
        .route("/v2/pods", get(api::list_pods).post(api::create_pod))
        .route("/v2/pods/{id}", get(api::get_pod).delete(api::delete_pod))
        .route("/v2/pods/{id}/action", post(api::pod_action))
        .route("/v2/pods/{id}/logs", get(logs::stream))
        .route("/v2/catalog/gpus", get(api::list_gpus))
        .route("/v2/catalog/datacenters", get(volumes::list_data_centers))
        .route(
            "/v2/network-volumes",
            get(volumes::list).post(volumes::create),
        )
        .route(
            "/v2/network-volumes/{id}",
            get(volumes::get).delete(volumes::delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            api::gate,
        ));
    Router::new()
        .merge(v2)
        .route("/proxy/{target}", any(proxy::root))
        .route("/proxy/{target}/{*rest}", any(proxy::with_path))
        .route("/_standin/billing", get(control::billing))
        .route(
            "/_standin/faults",
            get(control::get_faults).put(control::put_faults),
        )
        .with_state(shared)
}

//! State shared by every handler of one stand-in instance.

use crate::openapi::OpenApi;
use crate::state::{State, Timings};
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use url::Url;

/// Picks the upstream ComfyUI for a pod id; `None` keeps the proxy answering 502.
pub type UpstreamFn = Arc<dyn Fn(&str) -> Option<Url> + Send + Sync>;

/// One API request as the stand-in saw it, for tests that assert retries happened.
#[derive(Debug, Clone, Serialize)]
pub struct RequestLogEntry {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Clone)]
pub struct Shared(Arc<Inner>);

struct Inner {
    state: Mutex<State>,
    timings: Timings,
    api_key: String,
    openapi: Option<Arc<OpenApi>>,
    upstream: RwLock<Option<UpstreamFn>>,
    log: Mutex<Vec<RequestLogEntry>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("timings", &self.0.timings)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new(
        timings: Timings,
        api_key: String,
        openapi: Option<Arc<OpenApi>>,
        upstream: Option<UpstreamFn>,
    ) -> Self {
        Self(Arc::new(Inner {
            state: Mutex::new(State::default()),
            timings,
            api_key,
            openapi,
            upstream: RwLock::new(upstream),
            log: Mutex::new(Vec::new()),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }))
    }

    /// A poisoned lock only means a handler panicked; the data is still what tests want to read.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn timings(&self) -> &Timings {
        &self.0.timings
    }

    pub fn api_key(&self) -> &str {
        &self.0.api_key
    }

    pub fn openapi(&self) -> Option<&OpenApi> {
        self.0.openapi.as_deref()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub fn upstream_for(&self, pod_id: &str) -> Option<Url> {
        let guard = self.0.upstream.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|f| f(pod_id))
    }

    pub fn set_upstream(&self, upstream: Option<UpstreamFn>) {
        *self.0.upstream.write().unwrap_or_else(|p| p.into_inner()) = upstream;
    }

    pub fn log_request(&self, method: &str, path: &str, status: u16) {
        self.0
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RequestLogEntry {
                method: method.to_string(),
                path: path.to_string(),
                status,
            });
    }

    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.0.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

//! Shared pieces for the lifecycle tests: a stand-in RunPod, a tiny ComfyUI upstream behind its
//! proxy, a probe that talks to it over HTTP, and a manager with short deadlines.
#![allow(dead_code, clippy::unwrap_used)]

use axum::Router;
use axum::routing::get;
use serde_json::json;
use standin_runpod::{StandIn, StandInConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_error::{Result, Sensitive};
use studio_pods::{
    Deadlines, Journal, LifecycleConfig, PodEvent, PodManager, ReadinessProbe, Reporter,
};
use studio_runpod::{RetryPolicy, RunPodClient};
use tokio::sync::mpsc;
use url::Url;

pub const REQUIRED_NODE: &str = "WanVideoAddSteadyDancerEmbeds";

/// A ComfyUI stand-in just big enough for readiness: `/system_stats` and `/object_info`.
pub async fn upstream(models_present: Arc<AtomicBool>) -> Url {
    let app = Router::new()
        .route(
            "/system_stats",
            get(|| async { axum::Json(json!({"system": {"os": "posix"}, "devices": []})) }),
        )
        .route(
            "/object_info",
            get(move || {
                let present = models_present.load(Ordering::SeqCst);
                async move {
                    let mut nodes = json!({"KSampler": {}});
                    if present {
                        nodes[REQUIRED_NODE] = json!({});
                    }
                    axum::Json(nodes)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

/// Readiness over plain HTTP, as the ComfyUI client will do it.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    http: reqwest::Client,
}

impl HttpProbe {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        }
    }

    fn at(base: &Url, path: &str) -> String {
        format!("{}/{path}", base.as_str().trim_end_matches('/'))
    }
}

fn net(e: reqwest::Error) -> studio_error::Error {
    studio_error::Error::new("comfy.unreachable", "ComfyUI did not answer.").with_source(e)
}

impl ReadinessProbe for HttpProbe {
    async fn comfy_answering(&self, base: &Url) -> Result<bool> {
        let resp = self
            .http
            .get(Self::at(base, "system_stats"))
            .send()
            .await
            .map_err(net)?;
        Ok(resp.status().is_success())
    }

    async fn requirements_present(&self, base: &Url) -> Result<Vec<String>> {
        let info: serde_json::Value = self
            .http
            .get(Self::at(base, "object_info"))
            .send()
            .await
            .map_err(net)?
            .json()
            .await
            .map_err(net)?;
        Ok([REQUIRED_NODE]
            .iter()
            .filter(|n| info.get(**n).is_none())
            .map(|n| n.to_string())
            .collect())
    }
}

pub struct Rig {
    pub standin: StandIn,
    pub manager: PodManager<HttpProbe>,
    pub models_present: Arc<AtomicBool>,
    pub events: mpsc::UnboundedReceiver<PodEvent>,
    pub reporter: Reporter,
    pub dir: tempfile::TempDir,
}

pub fn fast_config(template: String) -> LifecycleConfig {
    LifecycleConfig {
        poll_interval: Duration::from_millis(25),
        deadlines: Deadlines {
            provisioning: Duration::from_secs(3),
            container: Duration::from_secs(3),
            comfy: Duration::from_secs(3),
            models: Duration::from_secs(3),
        },
        create_retries: 3,
        create_retry_delay: Duration::from_millis(20),
        terminate_timeout: Duration::from_secs(3),
        ..LifecycleConfig::new(template)
    }
}

pub async fn rig() -> Rig {
    rig_with(|_| {}).await
}

pub async fn rig_with(adjust: impl FnOnce(&mut LifecycleConfig)) -> Rig {
    let models_present = Arc::new(AtomicBool::new(true));
    let up = upstream(models_present.clone()).await;
    let standin = StandIn::start(StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(up.clone()))),
        ..StandInConfig::default()
    })
    .await
    .unwrap();
    // Every body must be what the lock says (tests of other bodies clear this).
    let lock = studio_pods::EnvLock::bundled();
    standin.set_pod_contract(Some(standin_runpod::PodContract::new(
        lock.image.name.clone(),
        lock.bootstrap_env(),
        lock.environment_gb().into(),
    )));
    let client = RunPodClient::with_policy(
        standin.api_url(),
        Sensitive::new(standin.api_key().to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in(dir.path()).unwrap();
    let mut config = fast_config(standin.pod_url_template());
    adjust(&mut config);
    let manager = PodManager::new(
        client,
        Arc::new(Mutex::new(journal)),
        HttpProbe::new(),
        config,
    );
    let (tx, events) = mpsc::unbounded_channel();
    Rig {
        standin,
        manager,
        models_present,
        events,
        reporter: Reporter::new(tx),
        dir,
    }
}

impl Rig {
    pub fn drain(&mut self) -> Vec<PodEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    /// Every test ends here: nothing may be left billing.
    pub fn assert_nothing_billing(&self) {
        let billing = self.standin.billing();
        assert!(
            billing.iter().all(|b| !b.billing),
            "pods left billing: {billing:?}"
        );
    }
}

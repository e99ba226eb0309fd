//! Demo mode: the built-in stand-in RunPod and stand-in ComfyUI, started inside the app on
//! loopback, so every screen can be tried with no key and no cost. Nothing here can reach the
//! real RunPod: the endpoints and the key all come from the stand-ins.

use standin_comfy::{StandinComfy, StandinConfig as ComfyConfig};
use standin_runpod::{StandIn, StandInConfig, Timings};
use std::sync::Arc;
use std::time::Duration;
use studio_core::config::Endpoints;
use studio_error::{Error, Result, Sensitive};

pub struct Demo {
    runpod: StandIn,
    comfy: StandinComfy,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("runpod", &self.runpod.addr())
            .finish_non_exhaustive()
    }
}

fn demo_error(e: std::io::Error) -> Error {
    Error::new(
        "demo.start_failed",
        "Demo mode could not start its built-in servers. Restart the app and try again.",
    )
    .with_source(e)
}

impl Demo {
    /// Slow enough to watch every stage, quick enough not to bore: about 10 s to a ready pod.
    pub async fn start() -> Result<Self> {
        let comfy = StandinComfy::start(ComfyConfig {
            step_delay: Duration::from_millis(600),
            ..ComfyConfig::default()
        })
        .await
        .map_err(demo_error)?;
        let upstream = url::Url::parse(comfy.url())
            .map_err(|e| Error::internal(format!("stand-in ComfyUI URL: {e}")))?;
        let runpod = StandIn::start(StandInConfig {
            timings: Timings {
                provisioning: Duration::from_secs(2),
                starting: Duration::from_secs(2),
                runtime_null: Duration::from_secs(1),
                comfy_ready: Duration::from_secs(3),
            },
            upstream: Some(Arc::new(move |_pod: &str| Some(upstream.clone()))),
            // The OpenAPI document is development data, not shipped with the app.
            validate: false,
            ..StandInConfig::default()
        })
        .await
        .map_err(demo_error)?;
        tracing::info!(runpod = %runpod.addr(), comfy = %comfy.url(), "demo stand-ins started");
        Ok(Self { runpod, comfy })
    }

    pub fn endpoints(&self) -> Result<Endpoints> {
        Endpoints::from_values(
            Some(self.runpod.api_url().as_str()),
            Some(&self.runpod.pod_url_template()),
        )
    }

    pub fn key(&self) -> Sensitive<String> {
        Sensitive::new(self.runpod.api_key().to_string())
    }

    pub fn comfy_url(&self) -> String {
        self.comfy.url().to_string()
    }

    /// Pods of the stand-in that still bill (for tests of demo mode).
    pub fn pods_billing(&self) -> usize {
        self.runpod.pods_billing()
    }
}

//! The Pods screen and `studio pods`: every pod of ours with its live cost, a warm pod started
//! by hand, terminate one or all, and the orphan sweep.

use crate::Studio;
use serde::Serialize;
use std::collections::HashSet;
use studio_comfy::{ClientConfig, Manifest};
use studio_core::settings::Settings;
use studio_error::{Error, Result};
use studio_jobs::ComfyProbe;
use studio_pods::{PodEvent, PodManager, PodView, Reporter};
use tokio_util::sync::CancellationToken;

/// One pod as the UI shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub pod_id: String,
    pub name: String,
    pub status: String,
    pub gpu_id: Option<String>,
    pub rate_usd_per_hour: f64,
    pub uptime_secs: Option<f64>,
    pub cost_usd: Option<f64>,
    pub stage: Option<String>,
    pub owner: Option<String>,
}

impl From<PodView> for PodRow {
    fn from(v: PodView) -> Self {
        let status = serde_json::to_value(v.status)
            .ok()
            .and_then(|s| s.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", v.status).to_uppercase());
        Self {
            pod_id: v.pod_id,
            name: v.name,
            status,
            gpu_id: v.gpu_id,
            rate_usd_per_hour: v.rate_per_hour,
            uptime_secs: v.uptime_secs,
            cost_usd: v.cost_usd,
            stage: v.stage,
            owner: v.owner,
        }
    }
}

/// A pod-start progress event in camelCase for the UI.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodProgress {
    pub pod_id: Option<String>,
    pub gpu_id: Option<String>,
    pub stage: String,
    pub label: String,
    pub elapsed_secs: f64,
    pub cost_usd: f64,
    pub message: String,
}

impl From<PodEvent> for PodProgress {
    fn from(e: PodEvent) -> Self {
        Self {
            pod_id: e.pod_id,
            gpu_id: e.gpu_id,
            stage: e.stage.as_str().to_string(),
            label: e.stage.label().to_string(),
            elapsed_secs: e.elapsed_secs,
            cost_usd: e.cost_usd,
            message: e.message,
        }
    }
}

impl Studio {
    async fn pod_manager(&self, settings: &Settings) -> Result<PodManager<ComfyProbe>> {
        let mode = self.mode(settings).await?;
        let client = mode.runpod()?.ok_or_else(|| {
            Error::new(
                "secrets.no_key",
                "Add your RunPod API key in Settings to see and manage your pods.",
            )
        })?;
        let manifest = Manifest::load(&crate::default_manifest(self.data_dir())?).ok();
        Ok(PodManager::new(
            client,
            mode.pods.clone(),
            ComfyProbe::new(manifest, ClientConfig::default())
                .with_environment(mode.pinned(settings)),
            mode.lifecycle(),
        ))
    }

    /// Pods of ours on RunPod; with no key (and not in demo) an empty list, not an error.
    pub async fn pods(&self) -> Result<Vec<PodRow>> {
        let settings = self.settings()?;
        if !self.is_demo(&settings) && studio_core::secrets::load_api_key()?.is_none() {
            return Ok(Vec::new());
        }
        let manager = self.pod_manager(&settings).await?;
        Ok(manager
            .list()
            .await?
            .into_iter()
            .filter(|v| v.status != studio_runpod::PodStatus::Terminated)
            .map(PodRow::from)
            .collect())
    }

    #[tracing::instrument(skip(self))]
    pub async fn terminate_pod(&self, pod_id: &str) -> Result<Option<f64>> {
        let settings = self.settings()?;
        let manager = self.pod_manager(&settings).await?;
        Ok(manager
            .terminate(pod_id, &Reporter::default())
            .await?
            .cost_usd)
    }

    /// Terminates every pod of ours, including ones a render is using (their renders fail).
    #[tracing::instrument(skip(self))]
    pub async fn terminate_all(&self) -> Result<usize> {
        self.cancel_all();
        let settings = self.settings()?;
        let manager = self.pod_manager(&settings).await?;
        let mut count = 0;
        for pod in manager.list().await? {
            if pod.status != studio_runpod::PodStatus::Terminated {
                manager.terminate(&pod.pod_id, &Reporter::default()).await?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// Names of the RunPod pods this data folder started and has not seen terminated, from the
    /// journal alone: no keychain, no network, so closing the window never waits on either.
    pub fn live_pod_names(&self) -> Result<HashSet<String>> {
        let ctx = crate::modes::context(self, false)?;
        let rows = ctx
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unsettled()?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// Terminates those of `names` that are still live (warm pods a crashed app left). Pods
    /// made after `names` was taken (a new session's) and other installs' pods are left alone.
    pub async fn terminate_left_behind(&self, names: &HashSet<String>) -> Result<usize> {
        if names.is_empty() {
            return Ok(0);
        }
        let settings = self.settings()?;
        let manager = self.pod_manager(&settings).await?;
        // Settles the journal against RunPod: a create in flight at the crash gets its id.
        manager.list().await?;
        let mut count = 0;
        let mut first_error = None;
        for row in manager.unsettled()? {
            let Some(id) = row.pod_id.filter(|_| names.contains(&row.name)) else {
                continue;
            };
            match manager.terminate(&id, &Reporter::default()).await {
                Ok(_) => count += 1,
                Err(e) => {
                    tracing::error!(pod = %id, "terminating a pod left behind: {}", e.chain());
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(count), Err)
    }

    /// Terminates pods of ours that no running render owns, and says what each cost.
    #[tracing::instrument(skip(self))]
    pub async fn sweep(&self) -> Result<Vec<studio_pods::SweptPod>> {
        let settings = self.settings()?;
        let manager = self.pod_manager(&settings).await?;
        let owned = self.owned_pods(&settings).await?;
        manager.sweep(&owned, &Reporter::default()).await
    }

    /// Pods of ours that no running render owns (shown at start-up for one-click termination).
    pub async fn orphans(&self) -> Result<Vec<PodRow>> {
        let settings = self.settings()?;
        if !self.is_demo(&settings) && studio_core::secrets::load_api_key()?.is_none() {
            return Ok(Vec::new());
        }
        let manager = self.pod_manager(&settings).await?;
        let owned = self.owned_pods(&settings).await?;
        Ok(manager
            .orphans(&owned)
            .await?
            .into_iter()
            .map(PodRow::from)
            .collect())
    }

    async fn owned_pods(&self, settings: &Settings) -> Result<HashSet<String>> {
        let mode = self.mode(settings).await?;
        Ok(mode
            .jobs
            .unfinished()?
            .into_iter()
            .filter_map(|j| j.pod.map(|p| p.pod_id))
            .collect())
    }

    /// Starts a warm pod and waits until ComfyUI and the models are ready.
    #[tracing::instrument(skip_all)]
    pub async fn start_warm_pod(
        &self,
        on_event: impl Fn(PodProgress) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<PodRow> {
        let settings = self.settings()?;
        let manager = self.pod_manager(&settings).await?;
        let lock = crate::workflows::default_lock(self.data_dir())?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let forward = tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                on_event(PodProgress::from(e));
            }
        });
        let ready = manager
            .start(
                &crate::modes::pod_spec(&settings, &lock),
                &Reporter::new(tx),
                &cancel,
            )
            .await;
        let _ = forward.await;
        let ready = ready?;
        Ok(PodRow {
            pod_id: ready.pod_id,
            name: ready.name,
            status: "RUNNING".to_string(),
            gpu_id: Some(ready.gpu_id),
            rate_usd_per_hour: ready.rate_per_hour,
            uptime_secs: Some(ready.startup_secs),
            cost_usd: Some(ready.cost_so_far_usd),
            stage: Some("ready".to_string()),
            owner: None,
        })
    }
}

//! The Pods screen and `studio pods`: every pod of ours with its live cost, a warm pod started
//! by hand, terminate one or all, and the orphan sweep.

use crate::Studio;
use crate::modes::Mode;
use crate::warm::held_pods;
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;
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
    /// Another install's pod (another computer or data folder on the same account): never
    /// swept or terminated in bulk, only when the user picks it.
    pub other_install: bool,
    /// Unix ms when the idle timer will terminate this warm pod if no render takes it ("stops
    /// at 14:05 if unused"); `None` while a render or a queue holds it.
    pub idle_stops_at_ms: Option<i64>,
}

impl PodRow {
    /// The row, with the idle timer's end for a warm pod of ours idle up to `idle`.
    fn of(v: PodView, idle: Duration) -> Self {
        let stops = v
            .idle_since
            .as_deref()
            .filter(|_| v.owner.is_none() && !v.other_install)
            .and_then(studio_pods::journal::parse_time)
            .map(|t| ((t + idle).unix_timestamp_nanos() / 1_000_000) as i64);
        Self {
            idle_stops_at_ms: stops,
            ..Self::from(v)
        }
    }
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
            other_install: v.other_install,
            idle_stops_at_ms: None,
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
        self.manager_for(&mode, settings)
    }

    /// The manager over the real RunPod world, whatever Settings say (see `cleanup`).
    pub(crate) fn real_pod_manager(&self, settings: &Settings) -> Result<PodManager<ComfyProbe>> {
        self.manager_for(&self.real_mode()?, settings)
    }

    pub(crate) fn manager_for(
        &self,
        mode: &Mode,
        settings: &Settings,
    ) -> Result<PodManager<ComfyProbe>> {
        let client = mode.runpod()?.ok_or_else(|| {
            Error::new(
                "secrets.no_key",
                "Add your RunPod API key in Settings to see and manage your pods (pods this \
                 app started may still be running on RunPod).",
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
        let idle = crate::warm::idle_limit(&settings);
        Ok(manager
            .list()
            .await?
            .into_iter()
            .filter(|v| v.status != studio_runpod::PodStatus::Terminated)
            .map(|v| PodRow::of(v, idle))
            .collect())
    }

    /// Terminates one pod, whoever started it (picking it is the explicit choice). In demo,
    /// a pod the real journal knows (shown by the orphan banner) is a real one.
    #[tracing::instrument(skip(self))]
    pub async fn terminate_pod(&self, pod_id: &str) -> Result<Option<f64>> {
        let settings = self.cleanup_settings();
        let manager = if self.is_demo(&settings) && !self.real_journal_knows(pod_id)? {
            self.pod_manager(&settings).await?
        } else {
            self.real_pod_manager(&settings)?
        };
        Ok(manager
            .terminate(pod_id, &Reporter::default())
            .await?
            .cost_usd)
    }

    fn real_journal_knows(&self, pod_id: &str) -> Result<bool> {
        let ctx = crate::modes::context(self, false)?;
        let known = ctx
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_pod_id(pod_id)?
            .is_some();
        Ok(known)
    }

    /// Terminates every pod of this install, including ones a render is using (their renders
    /// fail). One failure does not stop the others; the error names every pod that failed.
    #[tracing::instrument(skip(self))]
    pub async fn terminate_all(&self) -> Result<usize> {
        self.cancel_all();
        let settings = self.cleanup_settings();
        let manager = self.pod_manager(&settings).await?;
        let done = manager.terminate_all(&Reporter::default()).await?;
        let failures: Vec<(String, Error)> = done
            .iter()
            .filter_map(|s| {
                let e = s.error.as_deref()?;
                Some((
                    s.view.pod_id.clone(),
                    Error::new("pods.terminate_failed", e.to_string()),
                ))
            })
            .collect();
        match crate::cleanup::failures_error(&failures) {
            Some(e) => Err(e),
            None => Ok(done.len()),
        }
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

    /// Terminates pods of ours that no running render owns, and says what each cost.
    /// Always the real RunPod pods of this install (see `cleanup`), and the demo's too while
    /// demo is on.
    #[tracing::instrument(skip(self))]
    pub async fn sweep(&self) -> Result<Vec<studio_pods::SweptPod>> {
        let settings = self.cleanup_settings();
        let mut swept = Vec::new();
        let real = self.real_mode()?;
        let idle = crate::warm::idle_limit(&settings);
        if real.key.is_some() {
            let owned = held_pods(&real, idle)?;
            let manager = self.manager_for(&real, &settings)?;
            swept = manager.sweep(&owned, &Reporter::default()).await?;
        }
        if self.is_demo(&settings) {
            let demo = self.mode(&settings).await?;
            let manager = self.manager_for(&demo, &settings)?;
            swept.extend(
                manager
                    .sweep(&held_pods(&demo, idle)?, &Reporter::default())
                    .await?,
            );
        }
        Ok(swept)
    }

    /// Pods of this install that no running render owns (shown at start-up for one-click
    /// termination): always the real RunPod ones, whatever Settings say, and the demo's too
    /// while demo is on. Without a RunPod key there are no real ones to show.
    pub async fn orphans(&self) -> Result<Vec<PodRow>> {
        let settings = self.cleanup_settings();
        let mut rows = Vec::new();
        let real = self.real_mode()?;
        let idle = crate::warm::idle_limit(&settings);
        if real.key.is_some() {
            let manager = self.manager_for(&real, &settings)?;
            rows.extend(manager.orphans(&held_pods(&real, idle)?).await?);
        }
        if self.is_demo(&settings) {
            let demo = self.mode(&settings).await?;
            let manager = self.manager_for(&demo, &settings)?;
            rows.extend(manager.orphans(&held_pods(&demo, idle)?).await?);
        }
        Ok(rows.into_iter().map(|v| PodRow::of(v, idle)).collect())
    }

    /// Starts a warm pod and waits until ComfyUI and the models are ready.
    #[tracing::instrument(skip_all)]
    pub async fn start_warm_pod(
        &self,
        on_event: impl Fn(PodProgress) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<PodRow> {
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let manager = self.manager_for(&mode, &settings)?;
        let lock = crate::workflows::default_lock(self.data_dir())?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PodEvent>();
        let ctx = mode.ctx.clone();
        let forward = tokio::spawn(async move {
            let mut starting = None;
            while let Some(e) = rx.recv().await {
                // From its id on, the pod is ours starting: not an orphan before it is ready.
                if let (None, Some(id)) = (&starting, &e.pod_id) {
                    ctx.warm_starting().insert(id.clone());
                    starting = Some(id.clone());
                }
                on_event(PodProgress::from(e));
            }
            starting
        });
        let ready = manager
            .start(
                &studio_pods::PodSpec::from_settings(&settings, &lock),
                &Reporter::new(tx),
                &cancel,
            )
            .await;
        if let Ok(Some(id)) = forward.await {
            mode.warm_starting().remove(&id);
        }
        let ready = ready?;
        // Ready with no owner: its idle clock started (see `warm`).
        let idle_stops_at_ms = mode
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_pod_id(&ready.pod_id)?
            .and_then(|r| r.idle_deadline_ms(crate::warm::idle_limit(&settings)));
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
            other_install: false,
            idle_stops_at_ms,
        })
    }
}

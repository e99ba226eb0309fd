//! [`PodProvider`] over studio-pods (RunPod REST v2): the candidate walk, readiness with
//! deadlines, terminate-and-confirm and the pods journal all live there; this adapts them.

use crate::backend::{CreatedPod, PodProgress, PodProvider, PodSetup, PodState, Quote, StartedPod};
use crate::estimate::ColdStart;
use crate::stage::Stage;
use async_trait::async_trait;
use std::path::Path;
use std::sync::{Arc, Mutex};
use studio_comfy::{ClientConfig, ComfyClient, Manifest, Readiness};
use studio_error::{Error, Result};
use studio_pods::{
    EnvLock, LifecycleConfig, PodEvent, PodManager, PodSpec, ReadinessProbe, Reporter,
};
use studio_runpod::{PodStatus, RunPodClient};
use tokio_util::sync::CancellationToken;
use url::Url;

pub const NO_PRICE: &str = "jobs.no_price";

/// RunPod through studio-pods, with ComfyUI readiness checked through studio-comfy.
#[derive(Debug, Clone)]
pub struct RunPodPods {
    client: RunPodClient,
    journal: Arc<Mutex<studio_pods::Journal>>,
    config: LifecycleConfig,
    spec: PodSpec,
    comfy: ClientConfig,
}

impl RunPodPods {
    /// `journal` is the pods journal the Pods screen and the sweep share; `spec` comes from
    /// Settings (its GPU candidates are used when a job names none).
    pub fn new(
        client: RunPodClient,
        journal: Arc<Mutex<studio_pods::Journal>>,
        config: LifecycleConfig,
        spec: PodSpec,
        comfy: ClientConfig,
    ) -> Self {
        Self {
            client,
            journal,
            config,
            spec,
            comfy,
        }
    }

    fn manager(
        &self,
        manifest: Option<Manifest>,
        environment: Option<EnvLock>,
    ) -> PodManager<ComfyProbe> {
        let probe = ComfyProbe {
            manifest,
            config: self.comfy.clone(),
            environment,
        };
        PodManager::new(
            self.client.clone(),
            self.journal.clone(),
            probe,
            self.config.clone(),
        )
    }

    fn candidates(&self, gpu_ids: &[String]) -> Vec<String> {
        if gpu_ids.is_empty() {
            self.spec.gpu_candidates.clone()
        } else {
            gpu_ids.to_vec()
        }
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, studio_pods::Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rate_of(&self, pod_id: &str) -> Option<f64> {
        let j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        j.by_pod_id(pod_id).ok().flatten().map(|p| p.rate_per_hour)
    }
}

/// ComfyUI answering and the manifest's requirements, for the pods crate's readiness stages.
#[derive(Debug)]
pub struct ComfyProbe {
    manifest: Option<Manifest>,
    config: ClientConfig,
    environment: Option<EnvLock>,
}

impl ComfyProbe {
    /// With no manifest only "ComfyUI answers" is checked.
    pub fn new(manifest: Option<Manifest>, config: ClientConfig) -> Self {
        Self {
            manifest,
            config,
            environment: None,
        }
    }

    /// Also checks that the server runs `lock`'s pinned environment.
    pub fn with_environment(mut self, lock: Option<EnvLock>) -> Self {
        self.environment = lock;
        self
    }
}

impl ReadinessProbe for ComfyProbe {
    async fn comfy_answering(&self, base: &Url) -> Result<bool> {
        // One request a poll: the readiness loop is the retry. The client's own retries (10 s
        // on a proxy's 502) would hold the loop and the bootstrap's progress lines behind it.
        let once = ClientConfig {
            retries: 0,
            ..self.config.clone()
        };
        let client = ComfyClient::with_config(base.as_str(), once)?;
        Ok(client.system_stats().await.is_ok())
    }

    async fn requirements_present(&self, base: &Url) -> Result<Vec<String>> {
        if self.manifest.is_none() && self.environment.is_none() {
            return Ok(Vec::new());
        }
        let client = ComfyClient::with_config(base.as_str(), self.config.clone())?;
        let info = client.object_info().await?;
        if let Some(lock) = &self.environment {
            // ComfyUI answers only after loading every custom node, so a wrong environment
            // will not change by waiting: the caller stops the pod at once.
            crate::environment::check_environment(&info, lock)?;
        }
        let Some(manifest) = &self.manifest else {
            return Ok(Vec::new());
        };
        let r = Readiness::of(&info, manifest);
        let mut out: Vec<String> = r
            .missing_nodes
            .iter()
            .map(|n| format!("node {n}"))
            .collect();
        out.extend(r.missing_models.iter().map(|m| format!("model {}", m.file)));
        Ok(out)
    }
}

#[async_trait]
impl PodProvider for RunPodPods {
    async fn quote(&self, gpu_ids: &[String]) -> Result<Quote> {
        let gpus = self.client.list_gpus().await?;
        let count = self.spec.gpu_count.max(1);
        self.candidates(gpu_ids)
            .iter()
            .find_map(|id| {
                let g = gpus.iter().find(|g| &g.id == id)?;
                let available = !matches!(g.availability, Some(studio_runpod::Availability::None));
                (available && g.rate(self.spec.cloud, count) > 0.0)
                    .then(|| Quote { gpu_id: id.clone(), rate_usd_per_hour: g.rate(self.spec.cloud, count) })
            })
            .ok_or_else(|| Error::new(NO_PRICE, "None of the chosen GPU types is offered right now. Add GPU types in Settings or try later."))
    }

    fn cold_start(&self, manifest: &Path) -> ColdStart {
        if !self.spec.bootstrap {
            return ColdStart::OwnImage;
        }
        let model_bytes = EnvLock::for_manifest(manifest)
            .unwrap_or_else(|_| EnvLock::bundled())
            .model_bytes();
        ColdStart::Pinned {
            model_bytes,
            volume: self.spec.network_volume_id.is_some(),
        }
    }

    #[tracing::instrument(skip(self, manifest, on, cancel), err(Debug))]
    async fn start(
        &self,
        owner: &str,
        gpu_ids: &[String],
        manifest: &Path,
        on: &(dyn Fn(PodProgress) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<StartedPod> {
        // The pinned environment is the workflow's own lock, and the preflight checks the pod
        // runs exactly it; an image of the user's own is not checked.
        let lock = EnvLock::for_manifest(manifest)?;
        let spec = PodSpec {
            gpu_candidates: self.candidates(gpu_ids),
            ..self.spec.clone()
        }
        .with_lock(&lock);
        let environment = spec.bootstrap.then_some(lock);
        let mgr = self.manager(Some(Manifest::load(manifest)?), environment);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PodEvent>();
        let reporter = Reporter::new(tx);
        let mut created: Option<String> = None;
        let mut handle = |ev: PodEvent| {
            if let (None, Some(pod_id)) = (&created, &ev.pod_id) {
                created = Some(pod_id.clone());
                let _ = mgr.set_owner(pod_id, Some(owner));
                on(PodProgress::Created(CreatedPod {
                    pod_id: pod_id.clone(),
                    name: ev.name.clone().unwrap_or_default(),
                    gpu_id: ev.gpu_id.clone().unwrap_or_default(),
                    rate_usd_per_hour: self.rate_of(pod_id).unwrap_or(0.0),
                }));
            }
            use studio_pods::Stage as Pod;
            let stage = match ev.stage {
                Pod::Installing => Some(Stage::InstallingSoftware),
                Pod::DownloadingModels => Some(Stage::DownloadingModels),
                Pod::StartingComfy | Pod::ComfyAnswering => Some(Stage::WaitingForComfy),
                Pod::ModelsPresent => Some(Stage::WaitingForModels),
                _ => None,
            };
            if let Some(stage) = stage {
                on(PodProgress::Stage(stage));
            }
            if matches!(
                ev.stage,
                Pod::Installing | Pod::DownloadingModels | Pod::StartingComfy
            ) {
                on(PodProgress::Setup(PodSetup {
                    message: ev.message.clone(),
                    done_bytes: ev.download.as_ref().map(|d| d.done_bytes),
                    total_bytes: ev.download.as_ref().map(|d| d.total_bytes),
                }));
            }
        };
        let result = {
            // The owner goes in with the intent: a crash right after the create call still
            // leaves a pod that recovery knows to end.
            let start = mgr.start_for(&spec, Some(owner), &reporter, cancel);
            tokio::pin!(start);
            loop {
                tokio::select! {
                    biased;
                    Some(ev) = rx.recv() => handle(ev),
                    r = &mut start => break r,
                }
            }
        };
        while let Ok(ev) = rx.try_recv() {
            handle(ev);
        }
        let ready = result?;
        if created.is_none() {
            let _ = mgr.set_owner(&ready.pod_id, Some(owner));
        }
        Ok(StartedPod {
            pod: CreatedPod {
                pod_id: ready.pod_id.clone(),
                name: ready.name.clone(),
                gpu_id: ready.gpu_id.clone(),
                rate_usd_per_hour: ready.rate_per_hour,
            },
            comfy_url: ready.comfy_url.to_string(),
        })
    }

    async fn state(&self, pod_id: &str) -> Result<PodState> {
        Ok(match self.client.get_pod(pod_id).await? {
            None => PodState::Gone,
            Some(p) => match p.status {
                PodStatus::Terminated => PodState::Gone,
                PodStatus::Exited | PodStatus::Error => PodState::Broken,
                PodStatus::Running => PodState::Running,
                _ => PodState::Starting,
            },
        })
    }

    async fn describe(&self, pod_id: &str) -> Result<CreatedPod> {
        let p = self.client.get_pod(pod_id).await?.ok_or_else(|| {
            Error::new(
                crate::steps::POD_NOT_RUNNING,
                format!(
                    "RunPod does not know pod {pod_id}. Pick a running pod on the Pods screen."
                ),
            )
        })?;
        Ok(CreatedPod {
            pod_id: p.id.clone(),
            name: p.name.clone(),
            gpu_id: p.gpu.map(|g| g.id).unwrap_or_default(),
            rate_usd_per_hour: self.rate_of(pod_id).unwrap_or(p.cost),
        })
    }

    fn comfy_url(&self, pod_id: &str) -> Result<String> {
        Ok(self.manager(None, None).comfy_url(pod_id)?.to_string())
    }

    async fn terminate(&self, pod_id: &str) -> Result<()> {
        let mgr = self.manager(None, None);
        mgr.terminate(pod_id, &Reporter::silent()).await?;
        let _ = mgr.set_owner(pod_id, None);
        Ok(())
    }

    async fn warm_pods(&self) -> Result<Vec<CreatedPod>> {
        let rows = self.journal().warm_pods()?;
        let mut out = Vec::new();
        for row in rows {
            let Some(pod_id) = row.pod_id.clone() else {
                continue;
            };
            // Only a pod that finished its start is warm; one still starting belongs to
            // whoever is starting it (or to the sweep).
            if row.state != studio_pods::journal::states::READY {
                continue;
            }
            if self.state(&pod_id).await? != PodState::Running {
                continue;
            }
            out.push(CreatedPod {
                pod_id,
                name: row.name,
                gpu_id: row.gpu_id,
                rate_usd_per_hour: row.rate_per_hour,
            });
        }
        Ok(out)
    }

    fn claim_warm(&self, pod_id: &str, owner: &str) -> Result<bool> {
        self.journal().claim_warm(pod_id, owner)
    }

    fn set_owner(&self, pod_id: &str, owner: Option<&str>) -> Result<()> {
        self.journal().set_owner(pod_id, owner)
    }

    fn shares_volume(&self) -> bool {
        // An image of the user's own is not ours to know; the pinned environment installs
        // and downloads onto the volume.
        self.spec.bootstrap && self.spec.network_volume_id.is_some()
    }

    async fn end_held(&self, owners: &std::collections::HashSet<String>) -> Result<usize> {
        self.manager(None, None)
            .end_held(owners, &Reporter::silent())
            .await
    }
}

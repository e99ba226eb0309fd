//! The pod manager: configuration, shared handles, and the start sequence (create with a
//! candidate walk, then readiness), which terminates the pod on every way out but success.

use crate::deadman::DeadMan;
use crate::dropguard::TerminateOnDrop;
use crate::events::{CostMeter, DownloadProgress, PodEvent, Reporter, Stage, dollars};
use crate::journal::Journal;
use crate::probe::ReadinessProbe;
use crate::spec::{COMFY_PORT, PodSpec};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use studio_error::{Error, Result};
use studio_runpod::RunPodClient;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use url::Url;

pub mod codes {
    /// Every GPU candidate answered "no capacity" (or was not accessible).
    pub const NO_CAPACITY: &str = "pods.no_capacity";
    /// A readiness stage took longer than its deadline; the pod was terminated.
    pub const DEADLINE: &str = "pods.deadline";
    /// The budget cap was reached; the pod was terminated.
    pub const BUDGET_EXCEEDED: &str = "pods.budget_exceeded";
    /// The pod disappeared (spot reclaim, or removed outside the app).
    pub const VANISHED: &str = "pods.vanished";
    /// The container exited or RunPod put it in ERROR.
    pub const CONTAINER_FAILED: &str = "pods.container_failed";
    /// The pod's ComfyUI does not run the lock's pinned environment; the pod was stopped.
    pub const ENVIRONMENT_MISMATCH: &str = "pods.environment_mismatch";
    /// Our bootstrap reported a fatal error in the pod's log (a hash mismatch, a full disk,
    /// a failed install); the pod was terminated without waiting for a deadline.
    pub const BOOTSTRAP_FAILED: &str = "pods.bootstrap_failed";
    /// The network volume the pod should mount no longer exists; nothing was created.
    pub const VOLUME_MISSING: &str = "pods.volume_missing";
    /// RunPod did not confirm the termination in time.
    pub const TERMINATE_UNCONFIRMED: &str = "pods.terminate_unconfirmed";
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadlines {
    pub provisioning: Duration,
    /// Image pull and container start.
    pub container: Duration,
    /// The image's start script often downloads tens of GB of models before ComfyUI listens.
    pub comfy: Duration,
    pub models: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            provisioning: Duration::from_secs(10 * 60),
            container: Duration::from_secs(20 * 60),
            comfy: Duration::from_secs(30 * 60),
            models: Duration::from_secs(10 * 60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// `https://{pod_id}-{port}.proxy.runpod.net` or the stand-in's.
    pub pod_url_template: String,
    pub poll_interval: Duration,
    pub deadlines: Deadlines,
    /// Per pod, in USD; reaching it terminates the pod.
    pub budget_usd: Option<f64>,
    /// Extra creates on the same GPU after a 5xx/429 that left no pod behind.
    pub create_retries: u32,
    pub create_retry_delay: Duration,
    /// How long to wait for RunPod to confirm a termination.
    pub terminate_timeout: Duration,
    /// The slowest model download that is still progress: the download stage's deadline is
    /// the bootstrap's total bytes at this rate, and never shorter than the ComfyUI deadline.
    pub min_download_bytes_per_sec: u64,
    /// This data folder's install id, put in every pod name. Pods named with another install's
    /// id are never swept; with `None` only the pods the journal knows count as ours.
    pub install_id: Option<String>,
}

impl LifecycleConfig {
    pub fn new(pod_url_template: impl Into<String>) -> Self {
        Self {
            pod_url_template: pod_url_template.into(),
            poll_interval: Duration::from_secs(5),
            deadlines: Deadlines::default(),
            budget_usd: None,
            create_retries: 2,
            create_retry_delay: Duration::from_secs(3),
            terminate_timeout: Duration::from_secs(120),
            // 10 MB/s: hosts fetch from Hugging Face at hundreds; 33 GB then takes at most 55 min.
            min_download_bytes_per_sec: 10_000_000,
            install_id: None,
        }
    }
}

/// A pod whose ComfyUI answers and has what the workflow needs.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyPod {
    pub pod_id: String,
    pub name: String,
    pub gpu_id: String,
    pub comfy_url: Url,
    pub rate_per_hour: f64,
    #[serde(skip)]
    pub created: Instant,
    pub startup_secs: f64,
    pub cost_so_far_usd: f64,
    /// Whether the in-pod dead-man timer was armed.
    pub deadman_armed: bool,
}

impl ReadyPod {
    pub fn meter(&self) -> CostMeter {
        CostMeter::new(self.rate_per_hour, self.created)
    }
}

/// A pod RunPod has accepted, not yet ready.
#[derive(Debug, Clone)]
pub(crate) struct Created {
    pub pod_id: String,
    pub name: String,
    pub gpu_id: String,
    pub meter: CostMeter,
}

#[derive(Debug)]
pub struct PodManager<P> {
    pub(crate) client: RunPodClient,
    journal: Arc<Mutex<Journal>>,
    pub(crate) probe: P,
    pub(crate) config: LifecycleConfig,
    /// Pods this manager created and has not terminated: never orphans, whatever the caller
    /// passes to the sweep (a pod mid-start has no job yet).
    active: Mutex<HashSet<String>>,
}

/// Context that every event of one lifecycle call shares.
pub(crate) struct Track<'a> {
    pub reporter: &'a Reporter,
    pub began: Instant,
    pub stage_began: Instant,
}

impl Track<'_> {
    pub fn emit(&self, stage: Stage, pod: Option<&Created>, message: impl Into<String>) {
        self.emit_with(stage, pod, message, None);
    }

    pub fn emit_with(
        &self,
        stage: Stage,
        pod: Option<&Created>,
        message: impl Into<String>,
        download: Option<DownloadProgress>,
    ) {
        self.reporter.send(PodEvent {
            name: pod.map(|p| p.name.clone()),
            pod_id: pod.map(|p| p.pod_id.clone()),
            gpu_id: pod.map(|p| p.gpu_id.clone()),
            stage,
            elapsed_secs: self.began.elapsed().as_secs_f64(),
            stage_elapsed_secs: self.stage_began.elapsed().as_secs_f64(),
            cost_usd: pod.map_or(0.0, |p| p.meter.cost()),
            message: message.into(),
            download,
        });
    }
}

impl<P: ReadinessProbe> PodManager<P> {
    pub fn new(
        client: RunPodClient,
        journal: Arc<Mutex<Journal>>,
        probe: P,
        config: LifecycleConfig,
    ) -> Self {
        Self {
            client,
            journal,
            probe,
            config,
            active: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn set_active(&self, pod_id: &str, active: bool) {
        let mut set = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active {
            set.insert(pod_id.to_string());
        } else {
            set.remove(pod_id);
        }
    }

    /// Ids of pods this manager started and has not terminated.
    pub fn active_pods(&self) -> HashSet<String> {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn client(&self) -> &RunPodClient {
        &self.client
    }

    pub fn config(&self) -> &LifecycleConfig {
        &self.config
    }

    pub(crate) fn drop_guard(&self, pod_id: &str) -> TerminateOnDrop {
        TerminateOnDrop::arm(self.client.clone(), self.journal.clone(), pod_id)
    }

    /// A poisoned lock means a panic mid-write; SQLite kept the data consistent.
    pub(crate) fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pod's ComfyUI address through the proxy.
    pub fn comfy_url(&self, pod_id: &str) -> Result<Url> {
        let text = self
            .config
            .pod_url_template
            .replace("{pod_id}", pod_id)
            .replace("{port}", &COMFY_PORT.to_string());
        Url::parse(&text).map_err(|e| {
            Error::new(
                "config.bad_url",
                format!("The pod address template gave an invalid address ({text})."),
            )
            .with_source(e)
        })
    }

    /// Creates a pod (walking the GPU candidates) and waits until it is ready. Every way out
    /// other than success (error, cancel, deadline, budget) terminates the pod first.
    pub async fn start(
        &self,
        spec: &PodSpec,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<ReadyPod> {
        self.start_for(spec, None, reporter, cancel).await
    }

    /// As [`PodManager::start`], the pod held by `owner` (`job:<id>`, `batch:<id>`) in the
    /// journal from before its create call, so recovery finds it whenever a crash comes.
    #[tracing::instrument(skip_all, fields(image = %spec.image, owner = owner.unwrap_or("")))]
    pub async fn start_for(
        &self,
        spec: &PodSpec,
        owner: Option<&str>,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<ReadyPod> {
        let mut track = Track {
            reporter,
            began: Instant::now(),
            stage_began: Instant::now(),
        };
        let deadman = spec
            .arms_deadman()
            .then(|| DeadMan::new(spec.max_lifetime, self.client.base_url().clone()));
        if deadman.is_none() {
            tracing::warn!("start command unknown: the in-pod dead-man timer is not armed");
        }
        self.check_volume(spec).await?;
        let (created, mut guard) = self
            .create_walk(spec, owner, deadman.as_ref(), &mut track, cancel)
            .await?;
        let span = tracing::info_span!("pod_readiness", id = %created.pod_id, name = %created.name);
        let outcome = match self
            .wait_ready(&created, &mut track, cancel)
            .instrument(span)
            .await
        {
            Ok(comfy_url) => {
                self.journal().record_ready(&created.name)?;
                track.emit(Stage::Ready, Some(&created), "The pod is ready.");
                Ok(ReadyPod {
                    pod_id: created.pod_id.clone(),
                    name: created.name.clone(),
                    gpu_id: created.gpu_id.clone(),
                    comfy_url,
                    rate_per_hour: created.meter.rate_per_hour,
                    created: created.meter.since,
                    startup_secs: track.began.elapsed().as_secs_f64(),
                    cost_so_far_usd: created.meter.cost(),
                    deadman_armed: deadman.is_some(),
                })
            }
            Err(e) => Err(self.fail_and_terminate(&created, e, &mut track).await),
        };
        guard.disarm();
        outcome
    }

    /// A model volume deleted outside the app makes RunPod refuse every create with a message
    /// about capacity; asking first says what is really wrong, before anything bills.
    async fn check_volume(&self, spec: &PodSpec) -> Result<()> {
        let Some(id) = &spec.network_volume_id else {
            return Ok(());
        };
        match self.client.get_network_volume(id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Error::new(
                codes::VOLUME_MISSING,
                format!(
                    "The model volume {id} no longer exists on RunPod (was it deleted in RunPod's console?). Nothing was started. In Settings, under \"Keep models between renders\", make a new volume or stop keeping models."
                ),
            )),
            // Not a verdict: the create that follows reports its own error.
            Err(e) => {
                tracing::info!(error = %e.chain(), "could not look the model volume up");
                Ok(())
            }
        }
    }

    /// Records the failure, terminates the pod and says what it cost.
    pub(crate) async fn fail_and_terminate(
        &self,
        pod: &Created,
        err: Error,
        track: &mut Track<'_>,
    ) -> Error {
        let _ = self.journal().record_error(&pod.name, &err.chain());
        let code = err.code().to_string();
        let ended = self.terminate_tracked(&pod.pod_id, Some(pod), track).await;
        let cost = dollars(pod.meter.cost());
        let tail = match ended {
            Ok(_) => format!(" The pod was terminated; it cost about {cost}."),
            Err(t) => format!(
                " Terminating the pod failed ({}); it is listed on the Pods screen and the sweep will retry. So far it cost about {cost}.",
                t.message()
            ),
        };
        Error::new(code, format!("{}{tail}", err.message())).with_source(err)
    }
}

//! The engine: creates, runs, cancels and settles render jobs.

use crate::backend::{MediaPrep, PodProvider, RenderServer, ServerConnector};
use crate::ctx::{AbortOnDrop, Ctx, Stop};
use crate::estimate::{ColdStart, Estimate, SpeedModel, estimate};
use crate::events::{ErrorInfo, EventSink, JobEvent};
use crate::gallery::GalleryEntry;
use crate::journal::{Journal, now_ms};
use crate::record::JobRecord;
use crate::spec::{JobSpec, Target};
use crate::stage::Stage;
use crate::unwind::catch_panic;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_error::{Error, Result, codes};
use tokio_util::sync::CancellationToken;

/// The one "no RunPod key" code of the app (the same as `studio_core::secrets`).
pub const NO_POD_PROVIDER: &str = "secrets.no_key";
pub const TEARDOWN_FAILED: &str = "jobs.teardown_failed";

/// Timings; the defaults suit real pods (a first start downloads tens of GB), tests shorten them.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder for normalised inputs and thumbnails (per job subfolders).
    pub work_dir: PathBuf,
    /// How often readiness is polled.
    pub poll: Duration,
    /// Both readiness waits on a server nothing boots on (the user's own ComfyUI, a pod the
    /// user started). A new pod's readiness is the pods crate's (`studio_pods::Deadlines`).
    pub own_server_deadline: Duration,
    /// Live cost event interval.
    pub cost_tick: Duration,
    /// How often the pod is checked for having vanished while the job runs.
    pub pod_check: Duration,
    pub teardown_attempts: u32,
    pub speed: SpeedModel,
    /// The upload and download stages end by a deadline of this margin plus their bytes at
    /// `min_transfer_bytes_per_sec`: no stalled connection keeps a pod billing.
    pub transfer_margin: Duration,
    pub min_transfer_bytes_per_sec: u64,
}

impl EngineConfig {
    pub fn new(work_dir: PathBuf) -> Self {
        Self {
            work_dir,
            poll: Duration::from_secs(3),
            own_server_deadline: Duration::from_secs(20),
            cost_tick: Duration::from_secs(1),
            pod_check: Duration::from_secs(15),
            teardown_attempts: 5,
            speed: SpeedModel::default(),
            transfer_margin: Duration::from_secs(120),
            min_transfer_bytes_per_sec: 100_000,
        }
    }
}

/// A finished render.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub job: JobRecord,
    pub entry: GalleryEntry,
}

/// The job engine. Cheap to clone; clones share the journal and backends.
#[derive(Clone)]
pub struct Engine {
    pub(crate) journal: Arc<Journal>,
    pub(crate) pods: Option<Arc<dyn PodProvider>>,
    pub(crate) servers: Arc<dyn ServerConnector>,
    pub(crate) media: Arc<dyn MediaPrep>,
    pub(crate) config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("journal", &self.journal.path())
            .finish_non_exhaustive()
    }
}

/// What the run needs besides the context: the stop token, the server once known, the meter.
pub(crate) struct Live {
    pub stop: Arc<Stop>,
    pub server: Mutex<Option<Arc<dyn RenderServer>>>,
    pub meter: Mutex<Option<AbortOnDrop>>,
    /// Where the render's share of a lease's pod ends (set by the lease, so the next render's
    /// share starts at exactly this instant); now when unset.
    pub cost_end_ms: Mutex<Option<i64>>,
}

impl Live {
    pub fn new(cancel: CancellationToken) -> Self {
        Self {
            stop: Stop::new(cancel),
            server: Mutex::new(None),
            meter: Mutex::new(None),
            cost_end_ms: Mutex::new(None),
        }
    }

    pub fn set_server(&self, server: Arc<dyn RenderServer>) {
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(server);
    }
    pub fn server(&self) -> Option<Arc<dyn RenderServer>> {
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Engine {
    /// An engine without RunPod: only `Target::ComfyUrl` jobs can run.
    pub fn new(
        journal: Arc<Journal>,
        servers: Arc<dyn ServerConnector>,
        media: Arc<dyn MediaPrep>,
        config: EngineConfig,
    ) -> Self {
        Self {
            journal,
            pods: None,
            servers,
            media,
            config,
        }
    }

    pub fn with_pods(mut self, pods: Arc<dyn PodProvider>) -> Self {
        self.pods = Some(pods);
        self
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    pub(crate) fn pods(&self) -> Result<&Arc<dyn PodProvider>> {
        self.pods.as_ref().ok_or_else(|| {
            Error::new(NO_POD_PROVIDER, "Rendering on RunPod needs an API key. Add it in Settings, or render on your own ComfyUI URL.")
        })
    }

    /// The estimate for `frames` output frames: catalog price of the first GPU candidate x the
    /// expected time (plus start-up for a new pod). Own servers cost nothing.
    #[tracing::instrument(skip(self, spec), err(Debug))]
    pub async fn estimate(&self, spec: &JobSpec, frames: u32) -> Result<Estimate> {
        let (rate, steps, cold) = self.pricing(spec).await?;
        Ok(estimate(&self.config.speed, rate, frames, steps, cold))
    }

    /// The rate, sampling steps and cold start a render of `spec` is priced with.
    pub(crate) async fn pricing(&self, spec: &JobSpec) -> Result<(f64, u32, ColdStart)> {
        // A plan with a parameter the workflow refuses is refused before the user confirms.
        crate::params::check_params(spec)?;
        let steps = spec
            .params
            .get("steps")
            .and_then(|v| v.as_u64())
            .map_or(4, |s| s as u32);
        Ok(match &spec.target {
            Target::NewPod { gpu_ids } => {
                let pods = self.pods()?;
                let rate = pods.quote(gpu_ids).await?.rate_usd_per_hour;
                (rate, steps, pods.cold_start(&spec.manifest))
            }
            Target::WarmPod { .. } | Target::ComfyUrl { .. } => (0.0, steps, ColdStart::None),
        })
    }

    /// Journals a new job in `queued`; run it with [`Engine::run`].
    pub fn submit(&self, spec: &JobSpec, estimate: Option<&Estimate>) -> Result<JobRecord> {
        self.journal.create(spec, estimate)
    }

    /// Runs a queued job to its end, as a queue of one: the same lease code as a batch.
    /// Every exit path ends the pod it started. Returns the result on success; a failed or
    /// cancelled job returns its error (code `cancelled`, `jobs.budget_reached`, ...) after
    /// teardown, and the journal keeps it.
    #[tracing::instrument(skip(self, cancel, events), err(Debug))]
    pub async fn run(
        &self,
        job_id: &str,
        cancel: CancellationToken,
        events: EventSink,
    ) -> Result<JobOutcome> {
        let rec = self.journal.get(job_id)?;
        if rec.stage != Stage::Queued {
            return Err(Error::new(
                crate::journal::CONFLICT,
                format!(
                    "Job {job_id} is {}, not queued; it cannot be started again. Use Render again.",
                    rec.stage.label()
                ),
            ));
        }
        self.run_alone(rec, cancel, events).await
    }

    /// Settles a job after its steps: teardown, cost, gallery, final stage, final event.
    pub(crate) async fn finish(
        &self,
        ctx: &Ctx,
        live: &Live,
        result: Result<Vec<PathBuf>>,
    ) -> Result<JobOutcome> {
        let result = match result {
            // A stop that raced a step's own error explains it better ("budget reached").
            Err(e) => Err(live.stop.error().unwrap_or(e)),
            ok => ok,
        };
        if let Err(e) = &result {
            tracing::warn!(job = %ctx.id, error = %e.chain(), "job ending with an error");
            let _ = self.journal.set_error(&ctx.id, e);
            self.interrupt_prompt(ctx, live).await;
        }
        // The meter stops before teardown so it cannot fire the budget during it.
        drop(live.meter.lock().unwrap_or_else(|p| p.into_inner()).take());
        // Teardown runs even if the stage cannot be journaled: a pod must never outlive its job.
        if let Err(e) = ctx.enter(Stage::TearingDown) {
            tracing::error!(job = %ctx.id, error = %e.chain(), "could not journal tearing down");
        }
        self.teardown(ctx).await?;
        let job = self.journal.get(&ctx.id)?;
        let until = live
            .cost_end_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(now_ms);
        let cost = job.cost_usd_at(until);
        self.journal.set_cost(&ctx.id, cost)?;
        let end = match &result {
            Ok(_) => Stage::Done,
            Err(e) if e.is(codes::CANCELLED) => Stage::Cancelled,
            Err(_) => Stage::Failed,
        };
        let entry = match &result {
            Ok(outputs) => Some(self.add_to_gallery(ctx, outputs).await?),
            Err(_) => None,
        };
        ctx.enter(end)?;
        let job = self.journal.get(&ctx.id)?;
        // The gallery keeps the final stage split (tearing down included).
        let entry = match entry {
            Some(mut e) => {
                e.stages = job.stages.clone();
                self.journal.gallery_add(&e)?;
                Some(e)
            }
            None => None,
        };
        ctx.emit(JobEvent::Finished {
            job_id: ctx.id.clone(),
            stage: end,
            outputs: job.outputs.clone(),
            cost_usd: cost,
            error: result.as_ref().err().map(ErrorInfo::from),
        });
        match (result, entry) {
            (Ok(_), Some(entry)) => Ok(JobOutcome { job, entry }),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(Error::internal("a finished job has no gallery entry")),
        }
    }

    pub(crate) async fn add_to_gallery(
        &self,
        ctx: &Ctx,
        outputs: &[PathBuf],
    ) -> Result<GalleryEntry> {
        let video = outputs
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("no output to add"))?;
        let thumb_path = self.config.work_dir.join(&ctx.id).join("thumbnail.jpg");
        if let Some(dir) = thumb_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A missing thumbnail is cosmetic: the result still goes in the gallery.
        let thumbnail = match catch_panic(self.media.thumbnail(&video, &thumb_path)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(job = %ctx.id, error = %e.chain(), "no thumbnail");
                None
            }
        };
        let job = self.journal.get(&ctx.id)?;
        let entry = GalleryEntry::from_job(&job, video, thumbnail);
        self.journal.gallery_add(&entry)?;
        Ok(entry)
    }

    async fn interrupt_prompt(&self, ctx: &Ctx, live: &Live) {
        let Ok(job) = self.journal.get(&ctx.id) else {
            return;
        };
        if let (Some(prompt), Some(server)) = (job.prompt_id, live.server())
            && matches!(job.stage, Stage::QueuedOnComfy | Stage::Generating)
        {
            let r = tokio::time::timeout(Duration::from_secs(10), server.interrupt(&prompt)).await;
            tracing::info!(job = %ctx.id, ok = matches!(r, Ok(Ok(()))), "interrupt prompt");
        }
    }

    /// Terminates the job's own pod and confirms it. A pod the user started by hand stays.
    #[tracing::instrument(skip(self, ctx), fields(job = %ctx.id), err(Debug))]
    pub(crate) async fn teardown(&self, ctx: &Ctx) -> Result<()> {
        let job = self.journal.get(&ctx.id)?;
        if job.pod_ended_ms.is_some() {
            return Ok(());
        }
        let pod_id = match &job.pod {
            Some(p) if p.owned => p.pod_id.clone(),
            _ => return Ok(()),
        };
        let pods = self.pods()?;
        let mut last = None;
        for attempt in 0..self.config.teardown_attempts.max(1) {
            match pods.terminate(&pod_id).await {
                Ok(()) => {
                    self.journal.set_pod_ended(&ctx.id, now_ms())?;
                    tracing::info!(pod = %pod_id, attempt, "pod terminated");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(pod = %pod_id, attempt, error = %e.chain(), "terminate failed");
                    last = Some(e);
                    tokio::time::sleep(self.config.poll.min(Duration::from_secs(2))).await;
                }
            }
        }
        Err(teardown_error(
            &pod_id,
            last.unwrap_or_else(|| Error::internal("no attempt")),
        ))
    }
}

pub(crate) fn teardown_error(pod: &str, cause: Error) -> Error {
    Error::new(
        TEARDOWN_FAILED,
        format!("Pod {pod} could not be terminated and may still be billing. Terminate it on the Pods screen (or `studio pods sweep`); the app retries at next start."),
    )
    .with_source(cause)
}

//! The render queue as the window and `studio render` drive it: every photo with every video,
//! planned and priced before anything is rented, started by its plan's id, cancelled one render
//! at a time or whole, and resumed after a restart. A single render is a batch of one.

use crate::Studio;
use crate::plan::RenderOptions;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use studio_core::settings::{MAX_PODS, Settings};
use studio_error::{Error, Result};
use studio_jobs::{BatchEstimate, BatchOutcome, BatchSpec, ErrorInfo, EventSink, JobSpec, Stage};

pub const NO_INPUTS: &str = "jobs.no_inputs";
pub const NOT_RUNNING: &str = "jobs.not_running";
pub const BATCH_RUNNING: &str = "jobs.batch_running";

/// What the Create screen or `studio render` asks for: every image with every video.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchRequest {
    pub images: Vec<PathBuf>,
    pub videos: Vec<PathBuf>,
    pub options: RenderOptions,
    pub params: BTreeMap<String, serde_json::Value>,
    /// Default: Settings' pods at once.
    pub max_pods: Option<u32>,
    /// Render on this ComfyUI instead (`studio render --comfy-url`).
    pub comfy_url: Option<String>,
    /// Default: Settings' GPUs.
    pub gpu_ids: Vec<String>,
    /// Default: Settings' output folder.
    pub out_dir: Option<PathBuf>,
    /// Default: Settings' budget per render x the renders.
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRender {
    pub image: PathBuf,
    pub video: PathBuf,
    pub frames: u32,
    pub spec: JobSpec,
}

/// A batch ready to confirm. The renders are for showing: the batch starts from `plan_id`, so
/// what runs is what was planned here, not specs a window sends back.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchPlan {
    pub plan_id: String,
    pub renders: Vec<PlannedRender>,
    pub estimate: BatchEstimate,
    pub max_pods: u32,
    pub budget_usd: Option<f64>,
    pub target_label: String,
    pub demo: bool,
}

/// One render as the queue view shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueItem {
    pub job_id: String,
    pub batch_id: Option<String>,
    /// 1-based place in its batch's queue order.
    pub position: u32,
    pub image: PathBuf,
    pub video: PathBuf,
    pub stage: Stage,
    pub cost_usd: Option<f64>,
    pub outputs: Vec<PathBuf>,
    pub error: Option<ErrorInfo>,
}

impl Studio {
    /// Plans every image with every video and keeps the plan until it is started by its id.
    /// Parameters, the range and the key are checked here: nothing is rented for a plan the
    /// workflow would refuse.
    #[tracing::instrument(skip_all, fields(images = req.images.len(), videos = req.videos.len()))]
    pub async fn plan_batch(&self, req: BatchRequest) -> Result<BatchPlan> {
        if req.images.is_empty() || req.videos.is_empty() {
            return Err(Error::new(
                NO_INPUTS,
                "Choose at least one photo and one dance video.",
            ));
        }
        check_limits(&req)?;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let max_pods = req.max_pods.unwrap_or(settings.max_pods).clamp(1, MAX_PODS);
        let (target, target_label) = crate::plan::target(&req, &settings, &mode, max_pods)?;
        let normalise = req.options.normalise()?;
        let out_dir = match &req.out_dir {
            Some(dir) => dir.clone(),
            None if mode.demo => self.data_dir().join("demo").join("renders"),
            None => settings.output_dir_or_default(self.data_dir()),
        };
        let manifest = crate::default_manifest(self.data_dir())?;
        let specs: Vec<JobSpec> = req
            .images
            .iter()
            .flat_map(|image| req.videos.iter().map(move |video| (image, video)))
            .map(|(image, video)| JobSpec {
                image: image.clone(),
                video: video.clone(),
                manifest: manifest.clone(),
                params: req.params.clone(),
                target: target.clone(),
                out_dir: out_dir.clone(),
                // One cap for the whole batch (below), enforced on what its pods billed.
                budget_usd: None,
                normalise: normalise.clone(),
            })
            .collect();
        // Every render shares the parameters: one check covers them all.
        studio_jobs::params::check_params(&specs[0])?;
        let engine = mode.engine(&settings)?;
        // The one frame count: the engine's, capped by the manifest; the same video gives the
        // same count whatever the photo.
        let mut by_video: HashMap<PathBuf, u32> = HashMap::new();
        let mut frames = Vec::with_capacity(specs.len());
        for spec in &specs {
            let n = match by_video.get(&spec.video) {
                Some(n) => *n,
                None => {
                    let n = engine.expected_frames(spec).await?;
                    by_video.insert(spec.video.clone(), n);
                    n
                }
            };
            frames.push(n);
        }
        let estimate = engine.estimate_batch(&specs, &frames, max_pods).await?;
        let budget_usd = budget(&req, &settings, &target, specs.len());
        let renders = specs
            .into_iter()
            .zip(frames)
            .map(|(spec, frames)| PlannedRender {
                image: spec.image.clone(),
                video: spec.video.clone(),
                frames,
                spec,
            })
            .collect();
        let plan = BatchPlan {
            plan_id: uuid::Uuid::new_v4().simple().to_string(),
            renders,
            estimate,
            max_pods,
            budget_usd,
            target_label,
            demo: mode.demo,
        };
        self.keep_plan(plan.clone());
        Ok(plan)
    }

    /// Submits the planned batch and runs it to its end; `on_batch_id` hears its id once it is
    /// journaled (and cancellable). Ok even when some renders failed: each has its result.
    #[tracing::instrument(skip(self, sink, on_batch_id))]
    pub async fn start_batch(
        &self,
        plan_id: &str,
        sink: EventSink,
        on_batch_id: impl FnOnce(&str),
    ) -> Result<BatchOutcome> {
        let plan = self.take_plan(plan_id)?;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        if mode.demo != plan.demo {
            return Err(Error::new(
                crate::window::PLAN_UNKNOWN,
                "Demo mode was switched since this render was planned. Plan it again.",
            ));
        }
        let engine = mode.engine(&settings)?;
        let spec = BatchSpec {
            renders: plan.renders.into_iter().map(|r| r.spec).collect(),
            max_pods: plan.max_pods,
            budget_usd: plan.budget_usd,
        };
        let record = engine.submit_batch(&spec, Some(&plan.estimate))?;
        tracing::info!(batch = %record.id, renders = record.job_ids.len(), "batch submitted");
        let (control, _registered) = self.register(&record)?;
        on_batch_id(&record.id);
        engine
            .run_batch(&record.id, control, self.unregistering(sink))
            .await
    }

    /// Runs what is left of a batch (renders still queued after a restart or a crash). Its
    /// renders a crash left mid-flight are settled first (resumed or ended, with their pods),
    /// under the recovery lock, so a resume never races the start-up recovery.
    #[tracing::instrument(skip(self, sink))]
    pub async fn resume_batch(&self, batch_id: &str, sink: EventSink) -> Result<BatchOutcome> {
        self.refuse_if_running(batch_id)?;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let engine = mode.engine(&settings)?;
        let unfinished: HashSet<String> = mode
            .jobs
            .batch_jobs(batch_id)?
            .into_iter()
            .filter(|j| !j.stage.is_terminal())
            .map(|j| j.id)
            .collect();
        if !unfinished.is_empty() {
            self.recover_only(studio_jobs::no_events(), false, Some(&unfinished))
                .await?;
        }
        let record = engine.batch(batch_id)?;
        let (control, _registered) = self.register(&record)?;
        engine
            .run_batch(&record.id, control, self.unregistering(sink))
            .await
    }

    /// The renders of every unfinished batch and of the latest one, oldest batch first, each
    /// batch in its queue order. Their results are granted to the window. The journal alone:
    /// the window asks every 2 s while a batch runs.
    pub async fn queue(&self) -> Result<Vec<QueueItem>> {
        let journal = self.journal_now()?;
        let batches = journal.batches()?;
        let latest = batches.first().map(|b| b.id.clone());
        let now = studio_jobs::journal::now_ms();
        let mut items = Vec::new();
        for batch in batches
            .iter()
            .rev()
            .filter(|b| b.finished_ms.is_none() || latest.as_deref() == Some(b.id.as_str()))
        {
            for (i, job) in journal.batch_jobs(&batch.id)?.into_iter().enumerate() {
                // The queue view plays its results.
                for file in &job.outputs {
                    self.grant_output(file);
                }
                items.push(QueueItem {
                    cost_usd: job
                        .cost_usd
                        .or_else(|| (job.stage != Stage::Queued).then(|| job.cost_usd_at(now))),
                    error: job.error_code.clone().map(|code| ErrorInfo {
                        code,
                        message: job.error_message.clone().unwrap_or_default(),
                    }),
                    job_id: job.id,
                    batch_id: Some(batch.id.clone()),
                    position: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    image: job.spec.image,
                    video: job.spec.video,
                    stage: job.stage,
                    outputs: job.outputs,
                });
            }
        }
        Ok(items)
    }
}

/// The request's own pods at once and cap follow the rules of Settings' (refused, not
/// quietly changed: `--pods 20` must not become 8 unnoticed).
fn check_limits(req: &BatchRequest) -> Result<()> {
    if let Some(n) = req.max_pods
        && !(1..=MAX_PODS).contains(&n)
    {
        return Err(Error::new(
            "jobs.bad_max_pods",
            format!("Pods at once must be between 1 and {MAX_PODS}."),
        ));
    }
    if let Some(b) = req.budget_usd
        && !(b > 0.0 && b.is_finite())
    {
        return Err(Error::new(
            "jobs.bad_budget",
            "The batch's spending cap must be more than $0.",
        ));
    }
    Ok(())
}

/// The request's cap, else Settings' cap per render for each render; renders on the user's own
/// ComfyUI cost nothing and have none.
fn budget(
    req: &BatchRequest,
    settings: &Settings,
    target: &studio_jobs::Target,
    renders: usize,
) -> Option<f64> {
    if !target.uses_pod() {
        return None;
    }
    req.budget_usd
        .or_else(|| settings.budget_usd.map(|b| b * renders as f64))
}

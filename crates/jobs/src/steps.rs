//! The steps of a render, each journaled (stage first, then the side effect).

use crate::backend::{CreatedPod, PodState, PreparedInputs, RenderServer, RunEvent};
use crate::ctx::Ctx;
use crate::deadline::TransferClock;
use crate::engine::{Engine, Live};
use crate::events::{Direction, JobEvent, Throttle};
use crate::meter::{self, MeterArgs};
use crate::record::PodInfo;
use crate::spec::JobSpec;
use crate::stage::Stage;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use studio_comfy::SaveAs;
use studio_error::{Error, Result};

pub const COMFY_TIMEOUT: &str = "jobs.comfy_timeout";
pub const MODELS_MISSING: &str = "jobs.models_missing";
pub const NO_OUTPUT: &str = "jobs.no_output";
pub const POD_NOT_RUNNING: &str = "jobs.pod_not_running";

impl Engine {
    /// Local work before any server is needed: checks, then normalising into the work folder.
    pub(crate) async fn prepare(
        &self,
        ctx: &Ctx,
        spec: &JobSpec,
        live: &Live,
    ) -> Result<PreparedInputs> {
        let stop = &live.stop;
        ctx.enter(Stage::CheckingInputs)?;
        crate::params::check_params(spec)?;
        stop.guard(self.media.check(spec)).await?;

        ctx.enter(Stage::Normalising)?;
        let work = self.config.work_dir.join(&ctx.id);
        std::fs::create_dir_all(&work)
            .map_err(|e| Error::io(&format!("create {}", work.display()), e))?;
        let progress = |fraction: f32| {
            ctx.emit(JobEvent::Progress {
                job_id: ctx.id.clone(),
                stage: Stage::Normalising,
                fraction,
            })
        };
        stop.guard(self.media.normalise(spec, &work, &progress, &stop.token))
            .await
    }

    /// The render on a ready server: upload, queue under our journaled prompt id, follow,
    /// download, verify. `on_queued` hears the moment the prompt sits in the server's queue,
    /// so the next render can upload and queue behind it.
    pub(crate) async fn on_server(
        &self,
        ctx: &Ctx,
        spec: &JobSpec,
        prepared: &PreparedInputs,
        server: &dyn RenderServer,
        live: &Live,
        on_queued: &(dyn Fn() + Send + Sync),
    ) -> Result<Vec<PathBuf>> {
        let stop = &live.stop;
        ctx.enter(Stage::Uploading)?;
        let mut uploads = BTreeMap::new();
        let clock = self.transfer_clock();
        for file in prepared.files.values() {
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            clock.saw(&file.to_string_lossy(), 0, Some(size));
        }
        let pod = spec.target.uses_pod();
        for (input, file) in &prepared.files {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let throttle = Mutex::new(Throttle::default());
            let progress = |done: u64, total: Option<u64>| {
                if throttle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .should_emit(done, total)
                {
                    ctx.emit(JobEvent::Transfer {
                        job_id: ctx.id.clone(),
                        direction: Direction::Upload,
                        file: name.clone(),
                        done,
                        total,
                    });
                }
            };
            let upload = stop.guard(server.upload(input, file, &progress));
            let uploaded = clock.bound("upload of the inputs", pod, upload).await?;
            uploads.insert(input.clone(), uploaded);
        }
        self.journal
            .set_uploads(&ctx.id, &serde_json::to_value(&uploads).unwrap_or_default())?;

        // The workflow renders at the size, rate and length the video was normalised to.
        let params = crate::params::workflow_params(spec, &prepared.params)?;
        // The prompt id is ours and journaled before the POST, so a crash right after queueing
        // still leaves an id that recovery can look up on the server.
        let prompt_id = uuid::Uuid::new_v4().to_string();
        self.journal.set_prompt(&ctx.id, &prompt_id)?;
        ctx.enter(Stage::QueuedOnComfy)?;
        let save = self.save_as(ctx, &spec.out_dir)?;
        let actual = stop
            .guard(server.queue(&prompt_id, &save, &uploads, &params))
            .await?;
        if actual != prompt_id {
            self.journal.set_prompt(&ctx.id, &actual)?;
        }
        on_queued();
        self.follow_and_fetch(ctx, server, &actual, &spec.out_dir, live)
            .await
    }

    /// A pod the user started by hand: it must exist and run; never charged to the render.
    pub(crate) async fn describe_warm(&self, pod_id: &str, live: &Live) -> Result<CreatedPod> {
        let pods = self.pods()?;
        let p = live.stop.guard(pods.describe(pod_id)).await?;
        if matches!(
            live.stop.guard(pods.state(pod_id)).await?,
            PodState::Gone | PodState::Broken
        ) {
            return Err(Error::new(
                POD_NOT_RUNNING,
                format!(
                    "Pod {pod_id} is not running. Start it on the Pods screen, or render on a new pod."
                ),
            ));
        }
        Ok(p)
    }

    /// The pod the render runs on; `created_ms` is when it began billing (its lease's start).
    pub(crate) fn record_pod(
        &self,
        ctx: &Ctx,
        p: &CreatedPod,
        owned: bool,
        created_ms: i64,
    ) -> Result<PodInfo> {
        self.journal.set_pod_name(&ctx.id, &p.name)?;
        let info = PodInfo {
            pod_id: p.pod_id.clone(),
            gpu_id: p.gpu_id.clone(),
            rate_usd_per_hour: p.rate_usd_per_hour,
            created_ms,
            owned,
        };
        self.journal.set_pod(&ctx.id, &info)?;
        tracing::info!(job = %ctx.id, pod = %p.pod_id, gpu = %p.gpu_id, rate = p.rate_usd_per_hour, owned, "pod recorded");
        Ok(info)
    }

    pub(crate) fn start_meter(
        &self,
        ctx: &Ctx,
        pod: PodInfo,
        budget_usd: Option<f64>,
        live: &Live,
    ) {
        let Some(pods) = self.pods.clone() else {
            return;
        };
        let m = meter::start(MeterArgs {
            job_id: ctx.id.clone(),
            events: ctx.events.clone(),
            pod,
            budget_usd,
            tick: self.config.cost_tick,
            pod_check: self.config.pod_check,
            pods,
            stop: live.stop.clone(),
        });
        *live.meter.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
    }

    /// ComfyUI answering, then every node and model the manifest needs present, on a server
    /// nothing is booting on (the user's own ComfyUI, a pod started by hand). A new pod's
    /// readiness is the pods crate's alone. Waiting long here would only hide a wrong address
    /// or a missing model, so the deadline is short.
    pub(crate) async fn wait_ready(
        &self,
        ctx: &Ctx,
        server: &dyn RenderServer,
        live: &Live,
    ) -> Result<()> {
        let wait = self.config.own_server_deadline;
        if ctx.stage() < Stage::WaitingForComfy {
            ctx.enter(Stage::WaitingForComfy)?;
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Errors while it comes up (proxy 502, connection refused) mean "not yet".
            if let Ok(true) = live
                .stop
                .guard(server.is_up())
                .await
                .or_else(|e| stop_or(e, live))
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    COMFY_TIMEOUT,
                    format!(
                        "ComfyUI did not answer within {}. Check the address and that ComfyUI is running there.",
                        span(wait)
                    ),
                ));
            }
            self.pause(live).await?;
        }
        ctx.enter(Stage::WaitingForModels)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let missing = live.stop.guard(server.missing_requirements()).await?;
            if missing.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    MODELS_MISSING,
                    format!(
                        "The server still lacks {} after {}. Install them there, or use an image or network volume that has them.",
                        missing.join(", "),
                        span(wait)
                    ),
                ));
            }
            self.pause(live).await?;
        }
    }

    async fn pause(&self, live: &Live) -> Result<()> {
        live.stop
            .guard(async {
                tokio::time::sleep(self.config.poll).await;
                Ok(())
            })
            .await
    }

    fn transfer_clock(&self) -> TransferClock {
        TransferClock::new(
            self.config.transfer_margin,
            self.config.min_transfer_bytes_per_sec,
        )
    }

    /// Where this job's results go. Built from the journal, so a resumed job gets the same
    /// names (and finds its own `.part` files) after a restart.
    fn save_as(&self, ctx: &Ctx, out_dir: &Path) -> Result<SaveAs> {
        let created_ms = self.journal.get(&ctx.id)?.created_ms;
        Ok(SaveAs {
            dir: out_dir.to_path_buf(),
            render_id: ctx.id.clone(),
            created_unix: created_ms.div_euclid(1000),
        })
    }

    /// Generating, downloading and verifying: shared by a fresh run and a recovered one.
    pub(crate) async fn follow_and_fetch(
        &self,
        ctx: &Ctx,
        server: &dyn RenderServer,
        prompt_id: &str,
        out_dir: &Path,
        live: &Live,
    ) -> Result<Vec<PathBuf>> {
        let stop = &live.stop;
        if matches!(ctx.stage(), Stage::QueuedOnComfy | Stage::Generating) {
            let failed: Mutex<Option<Error>> = Mutex::new(None);
            let on_event = |e: RunEvent| {
                if let Err(err) = ctx.advance_from(Stage::QueuedOnComfy, Stage::Generating) {
                    failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(err);
                }
                if let RunEvent::Progress { value, max } = e {
                    ctx.emit(JobEvent::Sampling {
                        job_id: ctx.id.clone(),
                        value,
                        max,
                    });
                }
            };
            stop.guard(server.follow(prompt_id, &on_event, &stop.token))
                .await?;
            if let Some(err) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
                return Err(err);
            }
            ctx.advance_from(Stage::QueuedOnComfy, Stage::Generating)?;
            ctx.enter(Stage::Downloading)?;
        }
        let mut outputs = self.journal.get(&ctx.id)?.outputs;
        if ctx.stage() == Stage::Downloading || outputs.is_empty() {
            ctx.enter(Stage::Downloading)?;
            std::fs::create_dir_all(out_dir)
                .map_err(|e| Error::io(&format!("create {}", out_dir.display()), e))?;
            let throttle = Mutex::new(Throttle::default());
            let clock = self.transfer_clock();
            let progress = |file: &str, done: u64, total: Option<u64>| {
                clock.saw(file, done, total);
                if throttle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .should_emit(done, total)
                {
                    ctx.emit(JobEvent::Transfer {
                        job_id: ctx.id.clone(),
                        direction: Direction::Download,
                        file: file.to_string(),
                        done,
                        total,
                    });
                }
            };
            let save = self.save_as(ctx, out_dir)?;
            let job = self.journal.get(&ctx.id)?;
            let pod = job
                .pod
                .is_some_and(|p| p.owned || job.billed_from_ms.is_some());
            let download = stop.guard(server.download(prompt_id, &save, &progress));
            outputs = clock.bound("download of the result", pod, download).await?;
            self.journal.set_outputs(&ctx.id, &outputs)?;
        }
        ctx.enter(Stage::Verifying)?;
        if outputs.is_empty() {
            return Err(Error::new(
                NO_OUTPUT,
                "The server finished but produced no video. Check the workflow's output node in the manifest.",
            ));
        }
        let manifest = self.journal.get(&ctx.id)?.spec.manifest;
        let kind = crate::result_check::expected_kind(&manifest)?;
        for o in &outputs {
            stop.guard(self.media.verify(o, kind)).await?;
        }
        Ok(outputs)
    }
}

/// "12 minutes" or "20 seconds".
fn span(d: std::time::Duration) -> String {
    match d.as_secs() {
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// While waiting, a backend error is "not up yet" unless the job was stopped.
fn stop_or(e: Error, live: &Live) -> Result<bool> {
    if live.stop.token.is_cancelled() {
        Err(e)
    } else {
        Ok(false)
    }
}

//! Recovery at start-up (and `studio jobs recover`): every unfinished job is settled. A job whose
//! pod still runs and whose prompt is pending, running or done there is resumed; any other is
//! torn down and marked interrupted with what it cost.

use crate::backend::{PodState, PromptStatus, RenderServer};
use crate::ctx::Ctx;
use crate::engine::{Engine, Live};
use crate::events::{ErrorInfo, EventSink, JobEvent};
use crate::journal::now_ms;
use crate::record::JobRecord;
use crate::stage::Stage;
use crate::unwind::catch_panic;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use studio_error::{Error, Result, codes};
use tokio_util::sync::CancellationToken;

pub const INTERRUPTED: &str = "jobs.interrupted";

/// How one unfinished job was settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recovered {
    pub job_id: String,
    /// The stage the journal held when the app started.
    pub from: Stage,
    /// Where it ended: done (resumed), interrupted, failed, cancelled; or `from` when it could not
    /// be settled now (RunPod unreachable) and will be retried next time.
    pub to: Stage,
    pub cost_usd: f64,
    pub error: Option<ErrorInfo>,
}

impl Engine {
    /// Settles every unfinished job. Call once at start-up, before any new job runs.
    #[tracing::instrument(skip_all)]
    pub async fn recover(
        &self,
        cancel: CancellationToken,
        events: EventSink,
    ) -> Result<Vec<Recovered>> {
        self.recover_only(cancel, events, None).await
    }

    /// As `recover`, limited to the jobs in `only` when given: a recoverer that waited for
    /// another one lists what to settle before waiting, so jobs started since (by a process
    /// that runs them right now) are never taken over.
    pub async fn recover_only(
        &self,
        cancel: CancellationToken,
        events: EventSink,
        only: Option<&HashSet<String>>,
    ) -> Result<Vec<Recovered>> {
        let mut out = Vec::new();
        let open_batches = self.journal.unfinished_batch_ids()?;
        // Leases to end once the renders are settled: theirs, or every open one at start-up.
        let mut owners: HashSet<String> = HashSet::new();
        for rec in self.journal.unfinished()? {
            if only.is_some_and(|ids| !ids.contains(&rec.id)) {
                continue;
            }
            match &rec.batch_id {
                Some(b) => owners.insert(format!("batch:{b}")),
                None => owners.insert(format!("job:{}", rec.id)),
            };
            let in_open_batch = rec
                .batch_id
                .as_ref()
                .is_some_and(|b| open_batches.contains(b));
            // Nothing was paid for a render of a batch still to run that never reached a pod:
            // it stays (or goes back) in the queue, and `run_batch` runs it.
            if in_open_batch && rec.pod.is_none() && rec.stage <= Stage::Normalising {
                if rec.stage != Stage::Queued {
                    self.journal.put_back(&rec.id, false)?;
                }
                continue;
            }
            let from = rec.stage;
            let id = rec.id.clone();
            // One job's panic leaves it for the next recovery, never the others unsettled.
            // Boxed: settling is a deep future, and every caller up to the app's start-up holds
            // this one across awaits.
            let settled =
                catch_panic(Box::pin(self.settle(rec, cancel.clone(), events.clone()))).await;
            let job = self.journal.get(&id)?;
            out.push(Recovered {
                job_id: id,
                from,
                to: job.stage,
                cost_usd: job.cost_usd.unwrap_or_else(|| job.cost_usd_at(now_ms())),
                error: settled.err().as_ref().map(ErrorInfo::from),
            });
        }
        // After the renders: one resumed on a lease's pod needed it until now.
        match self.pods() {
            Ok(_) => {
                let filter = only.is_some().then_some(&owners);
                if let Err(e) = self.end_open_leases(filter).await {
                    tracing::error!(error = %e.chain(), "a lease's pod could not be ended; retried next start");
                }
                // A crash between the create call and the lease's row leaves only the pods
                // journal's row, held by the owner since before the create.
                if let Err(e) = self.pods()?.end_held(&owners).await {
                    tracing::error!(error = %e.chain(), "a pod of a settled render could not be ended; retried next start");
                }
            }
            Err(_) => {
                tracing::warn!("no RunPod key: open leases are ended at the next start with one")
            }
        }
        for batch in owners.iter().filter_map(|o| o.strip_prefix("batch:")) {
            if let Err(e) = self.close_batch(batch) {
                tracing::warn!(batch, error = %e.chain(), "batch cost not recorded");
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(job = %rec.id, stage = rec.stage.as_str()), err(Debug))]
    async fn settle(
        &self,
        rec: JobRecord,
        cancel: CancellationToken,
        events: EventSink,
    ) -> Result<()> {
        let ctx = Ctx::new(
            self.journal.clone(),
            events,
            &rec.id,
            rec.stage,
            rec.stage_started_ms,
            rec.created_ms,
        );
        let live = Live::new(cancel);
        if let Some(server) = self.resumable(&rec).await? {
            tracing::info!("resuming");
            *live.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.clone());
            if let Some(pod) = rec.pod.clone().filter(|p| p.owned) {
                self.start_meter(&ctx, pod, rec.spec.budget_usd, &live);
            }
            let prompt = rec.prompt_id.clone().unwrap_or_default();
            let result = catch_panic(self.follow_and_fetch(
                &ctx,
                server.as_ref(),
                &prompt,
                &rec.spec.out_dir,
                &live,
            ))
            .await;
            return self.finish(&ctx, &live, result).await.map(|_| ());
        }
        // Not resumable: end the pod, then name the outcome the journal supports.
        ctx.enter(Stage::TearingDown)?;
        self.teardown(&ctx).await?;
        let job = self.journal.get(&ctx.id)?;
        let cost = job.cost_usd_at(now_ms());
        self.journal.set_cost(&ctx.id, cost)?;
        let end = match (rec.stage, job.error_code.as_deref()) {
            (Stage::TearingDown, Some(codes::CANCELLED)) => Stage::Cancelled,
            (Stage::TearingDown, Some(_)) => Stage::Failed,
            // Verified results and only the teardown left: the render succeeded.
            (Stage::TearingDown, None) if !job.outputs.is_empty() => Stage::Done,
            _ => Stage::Interrupted,
        };
        if end == Stage::Done {
            self.add_to_gallery(&ctx, &job.outputs).await?;
        }
        let err = (end == Stage::Interrupted).then(|| {
            Error::new(INTERRUPTED, format!(
                "The app closed while this render was {}; its pod was terminated after costing ${cost:.2}. Render again to retry.",
                rec.stage.label()
            ))
        });
        if let Some(e) = &err {
            self.journal.set_error(&ctx.id, e)?;
        }
        ctx.enter(end)?;
        ctx.emit(JobEvent::Finished {
            job_id: ctx.id.clone(),
            stage: end,
            outputs: job.outputs.clone(),
            cost_usd: cost,
            error: err.as_ref().map(ErrorInfo::from).or_else(|| {
                job.error_code.clone().map(|code| ErrorInfo {
                    code,
                    message: job.error_message.clone().unwrap_or_default(),
                })
            }),
        });
        Ok(())
    }

    /// The server to resume on, when the pod still runs and the prompt is alive or done there.
    async fn resumable(&self, rec: &JobRecord) -> Result<Option<Arc<dyn RenderServer>>> {
        if !matches!(
            rec.stage,
            Stage::QueuedOnComfy | Stage::Generating | Stage::Downloading | Stage::Verifying
        ) {
            return Ok(None);
        }
        let (Some(prompt), Some(url)) = (&rec.prompt_id, &rec.comfy_url) else {
            return Ok(None);
        };
        if let Some(pod) = &rec.pod {
            // Not knowing whether the pod runs is no reason to mark the job interrupted:
            // the error leaves it for the next attempt.
            match self.pods()?.state(&pod.pod_id).await? {
                PodState::Gone => {
                    // It ended without us (spot reclaim, dead-man timer): billing stopped at
                    // the latest now.
                    self.journal.set_pod_ended(&rec.id, now_ms())?;
                    return Ok(None);
                }
                PodState::Broken => return Ok(None),
                PodState::Starting | PodState::Running => {}
            }
        }
        let server = self.servers.connect(url, &rec.spec.manifest)?;
        let status = match server.status(prompt).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e.chain(), "prompt status unknown; settling");
                return Ok(None);
            }
        };
        tracing::info!(?status, "prompt status on the server");
        Ok(match status {
            PromptStatus::Pending | PromptStatus::Running | PromptStatus::Done => Some(server),
            PromptStatus::Unknown | PromptStatus::Failed(_) => None,
        })
    }
}

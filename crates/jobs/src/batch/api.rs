//! The queue's public entry points on [`Engine`].

use super::scheduler::Queue;
use super::{
    BatchControl, BatchEstimate, BatchOutcome, BatchRecord, BatchSpec, Owner, PodStart,
    RenderResult,
};
use crate::engine::{Engine, JobOutcome};
use crate::estimate::{ColdStart, estimate};
use crate::events::{EventSink, JobEvent};
use crate::record::JobRecord;
use crate::spec::JobSpec;
use crate::stage::Stage;
use studio_error::{Error, Result, codes};
use tokio_util::sync::CancellationToken;

impl Engine {
    /// Per-render estimates without a cold start, plus the cold start of each pod the batch
    /// will use. A batch of one costs what [`Engine::estimate`] says for that render.
    #[tracing::instrument(skip(self, specs, frames), err(Debug))]
    pub async fn estimate_batch(
        &self,
        specs: &[JobSpec],
        frames: &[u32],
        max_pods: u32,
    ) -> Result<BatchEstimate> {
        if specs.len() != frames.len() {
            return Err(Error::new(
                codes::INVALID_INPUT,
                "Each render needs its frame count for the estimate.",
            ));
        }
        let speed = &self.config.speed;
        let mut renders = Vec::with_capacity(specs.len());
        // The first render on a new pod prices the pods' cold start.
        let mut pod_start: Option<PodStart> = None;
        for (spec, &n) in specs.iter().zip(frames) {
            let (rate, steps, start) = self.pricing(spec).await?;
            let warm = estimate(speed, rate, n, steps, ColdStart::None);
            if pod_start.is_none() && start != ColdStart::None {
                let cold = estimate(speed, rate, n, steps, start);
                pod_start = Some(PodStart::of(&cold, &warm));
            }
            renders.push(warm);
        }
        let pods = max_pods.max(1).min(renders.len() as u32);
        let cold_secs = pod_start.map_or(0.0, |p| p.secs);
        let cold_start_usd = pod_start.map_or(0.0, |p| p.usd_per_pod) * f64::from(pods);
        // Renders go to the pods in turn; the last result comes from the busiest pod.
        let mut per_pod = vec![0.0_f64; pods.max(1) as usize];
        let slots = per_pod.len();
        for (i, r) in renders.iter().enumerate() {
            per_pod[i % slots] += r.total_secs;
        }
        let busiest = per_pod.into_iter().fold(0.0, f64::max);
        let total_usd = renders.iter().map(|r| r.cost_usd).sum::<f64>() + cold_start_usd;
        Ok(BatchEstimate {
            renders,
            pods,
            cold_start_usd,
            total_usd,
            wall_secs: if pods == 0 { 0.0 } else { cold_secs + busiest },
            pod_start,
        })
    }

    /// Journals the batch and all its renders (`queued`) in one transaction.
    pub fn submit_batch(
        &self,
        spec: &BatchSpec,
        estimate: Option<&BatchEstimate>,
    ) -> Result<BatchRecord> {
        if spec.renders.is_empty() {
            return Err(Error::new(
                codes::INVALID_INPUT,
                "A batch needs at least one render: choose a photo and a dance video.",
            ));
        }
        self.journal.create_batch(spec, estimate)
    }

    /// Runs the batch's queued renders to their end over up to `max_pods` leases. Ok even when
    /// some renders failed (each has its error); Err only when the batch cannot run.
    #[tracing::instrument(skip(self, control, events), err(Debug))]
    pub async fn run_batch(
        &self,
        batch_id: &str,
        control: BatchControl,
        events: EventSink,
    ) -> Result<BatchOutcome> {
        let batch = self.journal.batch(batch_id)?;
        let jobs = self.journal.batch_jobs(batch_id)?;
        let owner = Owner::Batch(batch_id.to_string());
        let q = Queue::new(
            self,
            owner,
            control,
            events,
            batch.budget_usd,
            batch.max_pods,
        );
        q.emit(JobEvent::BatchStarted {
            batch_id: batch_id.to_string(),
            job_ids: batch.job_ids.clone(),
        });
        let queued = jobs.into_iter().filter(|j| j.stage == Stage::Queued);
        q.drive(queued.collect()).await;
        let (cost, finished) = self.close_batch(batch_id)?;
        let jobs = self.journal.batch_jobs(batch_id)?;
        let count = |s: Stage| jobs.iter().filter(|j| j.stage == s).count() as u32;
        q.emit(JobEvent::BatchFinished {
            batch_id: batch_id.to_string(),
            done: count(Stage::Done),
            failed: count(Stage::Failed) + count(Stage::Interrupted),
            cancelled: count(Stage::Cancelled),
            cost_usd: cost,
        });
        tracing::info!(batch = batch_id, cost, finished, "batch ended");
        Ok(BatchOutcome {
            batch: self.journal.batch(batch_id)?,
            renders: jobs.iter().map(RenderResult::of).collect(),
        })
    }

    pub fn batch(&self, id: &str) -> Result<BatchRecord> {
        self.journal.batch(id)
    }

    /// Every batch, newest first.
    pub fn batches(&self) -> Result<Vec<BatchRecord>> {
        self.journal.batches()
    }

    /// A render still `queued` leaves the queue as cancelled.
    pub fn remove_queued(&self, job_id: &str) -> Result<()> {
        self.journal.remove_queued(job_id)
    }

    /// A render alone: a queue of one with its own budget, on one lease.
    pub(crate) async fn run_alone(
        &self,
        rec: JobRecord,
        cancel: CancellationToken,
        events: EventSink,
    ) -> Result<JobOutcome> {
        let id = rec.id.clone();
        let budget = rec.spec.budget_usd;
        let control = BatchControl::from_token(cancel);
        let q = Queue::new(self, Owner::Job(id.clone()), control, events, budget, 1);
        q.drive(vec![rec]).await;
        let (outcome, teardown) = {
            let mut st = q.lock();
            (st.outcomes.remove(&id), st.teardown_error.take())
        };
        let outcome = outcome.unwrap_or_else(|| {
            Err(Error::internal(
                "the render ended without a result; see the log",
            ))
        })?;
        if let Some(e) = teardown {
            return Err(e);
        }
        // The lease ended after the render: the journal now says when its pod went.
        let job = self.journal.get(&id)?;
        Ok(JobOutcome {
            job,
            entry: outcome.entry,
        })
    }
}

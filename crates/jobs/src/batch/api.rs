//! The queue's public entry points on [`Engine`].

use super::{BatchControl, BatchEstimate, BatchOutcome, BatchRecord, BatchSpec};
use crate::engine::Engine;
use crate::estimate::{ColdStart, estimate};
use crate::events::EventSink;
use crate::spec::JobSpec;
use studio_error::{Error, Result, codes};

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
        let mut cold: Option<(f64, f64)> = None;
        for (spec, &n) in specs.iter().zip(frames) {
            let (rate, steps, start) = self.pricing(spec).await?;
            let warm = estimate(speed, rate, n, steps, ColdStart::None);
            if cold.is_none() && start != ColdStart::None {
                let with = estimate(speed, rate, n, steps, start);
                cold = Some((with.startup_secs, with.cost_usd - warm.cost_usd));
            }
            renders.push(warm);
        }
        let pods = max_pods.max(1).min(renders.len() as u32);
        let (cold_secs, cold_usd) = cold.unwrap_or((0.0, 0.0));
        let cold_start_usd = cold_usd * f64::from(pods);
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
        self.run_queue(batch_id, control, events).await
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
}

//! What the queue's leases billed, the live cost events, the batch budget, and ending a
//! lease's pod (terminate and confirm a new one; hand a warm one back).

use super::journal::LeaseRow;
use super::scheduler::Queue;
use crate::ctx::{BUDGET_REACHED, StopReason};
use crate::engine::Engine;
use crate::events::JobEvent;
use crate::journal::now_ms;
use std::collections::HashSet;
use std::time::Duration;
use studio_error::{Error, Result};

impl Queue<'_> {
    /// What every lease of this queue billed, this run and earlier ones (a resumed batch).
    pub fn billed(&self) -> f64 {
        let now = now_ms();
        match self.engine.journal.leases_of_owner(&self.owner.label()) {
            Ok(rows) => rows.iter().map(|l| l.billed_usd(now)).sum(),
            Err(e) => {
                tracing::warn!(error = %e.chain(), "lease costs unknown");
                0.0
            }
        }
    }

    /// One meter tick: each running render's share, the batch's total, the budget.
    pub fn tick_cost(&self) {
        let now = now_ms();
        let leases = self.lock().leases.clone();
        for lease in leases {
            if let Some((job_id, usd, rate, secs)) = lease.share_now(now) {
                self.emit(JobEvent::Cost {
                    job_id,
                    usd,
                    rate_usd_per_hour: rate,
                    elapsed_secs: secs,
                });
            }
        }
        let usd = self.billed();
        if let Some(batch_id) = self.owner.batch_id() {
            self.emit(JobEvent::BatchCost {
                batch_id: batch_id.to_string(),
                usd,
                budget_usd: self.budget,
            });
        }
        let Some(budget) = self.budget.filter(|b| usd >= *b) else {
            return;
        };
        if self.halt.is_cancelled() {
            return;
        }
        tracing::warn!(owner = %self.owner.label(), usd, budget, "budget reached");
        let message = if self.owner.batch_id().is_some() {
            format!(
                "The batch reached its budget of ${budget:.2}; every render still running was stopped and every pod terminated. Raise the budget or render fewer videos."
            )
        } else {
            format!(
                "The render reached its budget of ${budget:.2} and was stopped; the pod was terminated. Raise the budget or render fewer frames."
            )
        };
        self.halt_with(Error::new(BUDGET_REACHED, message.clone()));
        for (_, live) in self.lock().renders.values() {
            live.stop.stop(StopReason::Budget, message.clone());
        }
    }
}

impl Engine {
    /// Writes what the batch's leases billed (every run of it) and marks it finished once all
    /// its renders ended. Returns the cost and whether it finished.
    pub(crate) fn close_batch(&self, batch_id: &str) -> Result<(f64, bool)> {
        let now = now_ms();
        let cost = self
            .journal
            .leases_of_owner(&format!("batch:{batch_id}"))?
            .iter()
            .map(|l| l.billed_usd(now))
            .sum();
        let finished = self
            .journal
            .batch_jobs(batch_id)?
            .iter()
            .all(|j| j.stage.is_terminal());
        self.journal.set_batch_cost(batch_id, cost, finished)?;
        Ok((cost, finished))
    }

    /// Ends the lease's pod: a new one is terminated and confirmed gone, a warm one is handed
    /// back to the user (owner cleared, its idle clock restarts). The lease row ends only
    /// once that is done, so a failure leaves it for recovery.
    pub(crate) async fn end_lease_row(&self, row: &LeaseRow) -> Result<()> {
        if row.warm {
            self.release_warm(Some(row)).await;
            return Ok(());
        }
        let pods = self.pods()?;
        let mut last = None;
        for attempt in 0..self.config.teardown_attempts.max(1) {
            match pods.terminate(&row.pod_id).await {
                Ok(()) => {
                    self.journal.end_lease(row, now_ms())?;
                    tracing::info!(pod = %row.pod_id, owner = %row.owner, attempt, "lease ended: pod terminated");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(pod = %row.pod_id, attempt, error = %e.chain(), "terminate failed");
                    last = Some(e);
                    tokio::time::sleep(self.config.poll.min(Duration::from_secs(2))).await;
                }
            }
        }
        Err(crate::engine::teardown_error(
            &row.pod_id,
            last.unwrap_or_else(|| Error::internal("no attempt")),
        ))
    }

    /// Hands a warm pod back: its lease row when one was written, else just its owner.
    pub(crate) async fn release_warm_pod(&self, pod_id: &str, row: Option<&LeaseRow>) {
        match row {
            Some(row) => self.release_warm(Some(row)).await,
            None => {
                if let Ok(pods) = self.pods()
                    && let Err(e) = pods.set_owner(pod_id, None)
                {
                    tracing::warn!(pod = pod_id, error = %e.chain(), "could not hand the pod back");
                }
            }
        }
    }

    pub(crate) async fn release_warm(&self, row: Option<&LeaseRow>) {
        let Some(row) = row else { return };
        if let Ok(pods) = self.pods()
            && let Err(e) = pods.set_owner(&row.pod_id, None)
        {
            tracing::warn!(pod = %row.pod_id, error = %e.chain(), "could not hand the pod back");
        }
        if let Err(e) = self.journal.end_lease(row, now_ms()) {
            tracing::warn!(pod = %row.pod_id, error = %e.chain(), "could not end the lease");
        }
        tracing::info!(pod = %row.pod_id, "lease ended: warm pod released");
    }

    /// Ends every open lease of `owners` (all open leases when `None`): the safety net after a
    /// queue stopped on a panic, and recovery after a crash.
    pub(crate) async fn end_open_leases(&self, owners: Option<&HashSet<String>>) -> Result<()> {
        let mut first_err = None;
        for row in self.journal.open_leases()? {
            if owners.is_some_and(|o| !o.contains(&row.owner)) {
                continue;
            }
            if let Err(e) = self.end_lease_row(&row).await {
                tracing::error!(pod = %row.pod_id, error = %e.chain(), "open lease not ended");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

//! The running job's context: current stage, stage changes with events, stopping (user cancel,
//! budget cap, pod gone) and the live cost meter.

use crate::events::{EventSink, JobEvent};
use crate::journal::{Journal, now_ms};
use crate::stage::Stage;
use std::future::Future;
use std::sync::{Arc, Mutex};
use studio_error::{Error, Result, codes};
use tokio_util::sync::CancellationToken;

pub const BUDGET_REACHED: &str = "jobs.budget_reached";
pub const POD_VANISHED: &str = "jobs.pod_vanished";

/// Why a job was stopped from outside its own steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Budget,
    PodGone,
}

/// One token that fires for the user's cancel, the budget cap or a vanished pod.
#[derive(Debug)]
pub(crate) struct Stop {
    pub token: CancellationToken,
    user: CancellationToken,
    reason: Mutex<Option<(StopReason, String)>>,
}

impl Stop {
    pub fn new(user: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            token: user.child_token(),
            user,
            reason: Mutex::new(None),
        })
    }

    pub fn stop(&self, reason: StopReason, message: String) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        r.get_or_insert((reason, message));
        self.token.cancel();
    }

    /// The error that explains the stop, if the job was stopped.
    pub fn error(&self) -> Option<Error> {
        let r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        match &*r {
            Some((StopReason::Budget, m)) => Some(Error::new(BUDGET_REACHED, m.clone())),
            Some((StopReason::PodGone, m)) => Some(Error::new(POD_VANISHED, m.clone())),
            None if self.user.is_cancelled() => Some(cancelled()),
            None => None,
        }
    }

    /// Runs `fut` unless the job is stopped first.
    pub async fn guard<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            biased;
            _ = self.token.cancelled() => Err(self.error().unwrap_or_else(cancelled)),
            r = fut => r,
        }
    }
}

pub(crate) fn cancelled() -> Error {
    Error::new(
        codes::CANCELLED,
        "The render was cancelled. Anything already paid for is shown with the job.",
    )
}

/// The job's identity and current stage, shared with callbacks.
pub(crate) struct Ctx {
    pub id: String,
    pub journal: Arc<Journal>,
    pub events: EventSink,
    created_ms: i64,
    cur: Mutex<(Stage, i64)>,
}

impl Ctx {
    pub fn new(
        journal: Arc<Journal>,
        events: EventSink,
        id: &str,
        stage: Stage,
        stage_started: i64,
        created_ms: i64,
    ) -> Self {
        Self {
            id: id.to_string(),
            journal,
            events,
            created_ms,
            cur: Mutex::new((stage, stage_started)),
        }
    }

    pub fn stage(&self) -> Stage {
        self.cur.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Journals the new stage (compare-and-swap on the current one) and then announces it.
    pub fn enter(&self, to: Stage) -> Result<()> {
        let mut cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
        let (from, since) = *cur;
        if from == to {
            return Ok(());
        }
        self.journal.transition(&self.id, from, to)?;
        let now = now_ms();
        *cur = (to, now);
        drop(cur);
        tracing::info!(job = %self.id, from = from.as_str(), to = to.as_str(), "stage");
        self.emit(JobEvent::Stage {
            job_id: self.id.clone(),
            stage: to,
            previous: Some(from),
            previous_ms: now - since,
            elapsed_ms: now - self.created_ms,
        });
        Ok(())
    }

    /// Enters `to` only if the job is still in `from` (callbacks that race the main flow).
    pub fn advance_from(&self, from: Stage, to: Stage) -> Result<()> {
        if self.stage() == from {
            self.enter(to)
        } else {
            Ok(())
        }
    }

    /// A sink that panics (the UI's channel, a test's) loses the event, not the job's clean-up.
    pub fn emit(&self, e: JobEvent) {
        crate::unwind::ignore_panic("an event sink", || (self.events)(e));
    }
}

/// Aborts a background task when dropped, so a dropped job (app crash simulated in tests,
/// a cancelled future) leaves nothing running.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

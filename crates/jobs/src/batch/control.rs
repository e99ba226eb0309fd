//! Cancelling renders of a running batch from outside it (the GUI's buttons, the CLI's Ctrl-C).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Cheap to clone; the facade keeps one per running batch.
#[derive(Clone, Default)]
pub struct BatchControl {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    all: CancellationToken,
    /// One token per render the run has taken on (queued or running).
    renders: Mutex<HashMap<String, CancellationToken>>,
    wake: Notify,
}

impl std::fmt::Debug for BatchControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchControl")
            .field("cancelled_all", &self.inner.all.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl BatchControl {
    /// A control whose `cancel_all` follows `token` (a lone render's cancel).
    pub(crate) fn from_token(token: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                all: token,
                ..Inner::default()
            }),
        }
    }

    /// Cancels one render: a running one stops (its pod carries on with the rest), a queued
    /// one leaves the queue. False when the render is not (yet) part of a running batch; it is
    /// still cancelled if the batch takes it on later.
    pub fn cancel(&self, job_id: &str) -> bool {
        let known = {
            let mut r = self.inner.renders.lock().unwrap_or_else(|p| p.into_inner());
            let known = r.contains_key(job_id);
            r.entry(job_id.to_string())
                .or_insert_with(|| self.inner.all.child_token())
                .cancel();
            known
        };
        self.inner.wake.notify_waiters();
        known
    }

    /// Cancels every render and ends every lease.
    pub fn cancel_all(&self) {
        self.inner.all.cancel();
        self.inner.wake.notify_waiters();
    }

    pub fn is_cancelled_all(&self) -> bool {
        self.inner.all.is_cancelled()
    }

    /// The render's cancel token (created on first use, cancelled by `cancel_all` too).
    pub(crate) fn token(&self, job_id: &str) -> CancellationToken {
        self.inner
            .renders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(job_id.to_string())
            .or_insert_with(|| self.inner.all.child_token())
            .clone()
    }

    pub(crate) fn all(&self) -> &CancellationToken {
        &self.inner.all
    }

    pub(crate) async fn changed(&self) {
        self.inner.wake.notified().await;
    }
}

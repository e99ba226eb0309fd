//! The last way out: a start future dropped mid-way (its task aborted, the window closed)
//! runs no more code, so this guard's `Drop` hands the termination to the runtime.

use crate::journal::Journal;
use std::sync::{Arc, Mutex};
use studio_runpod::RunPodClient;

#[derive(Debug)]
pub(crate) struct TerminateOnDrop {
    client: RunPodClient,
    journal: Arc<Mutex<Journal>>,
    pod_id: Option<String>,
}

impl TerminateOnDrop {
    pub fn arm(client: RunPodClient, journal: Arc<Mutex<Journal>>, pod_id: &str) -> Self {
        Self {
            client,
            journal,
            pod_id: Some(pod_id.to_string()),
        }
    }

    /// The pod was handed over (ready) or already terminated by the normal path.
    pub fn disarm(&mut self) {
        self.pod_id = None;
    }
}

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        let Some(pod_id) = self.pod_id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime left (process exit): the journal has the id and the sweep at the
            // next start settles it; the in-pod dead-man timer covers the time between.
            tracing::warn!(pod = %pod_id, "start abandoned without a runtime; the sweep will terminate the pod");
            return;
        };
        let client = self.client.clone();
        let journal = self.journal.clone();
        tracing::warn!(pod = %pod_id, "start abandoned; terminating the pod in the background");
        runtime.spawn(async move {
            match client.delete_pod(&pod_id).await {
                Ok(_) => {
                    let j = journal.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = j.record_terminated(&pod_id);
                }
                Err(e) => tracing::error!(pod = %pod_id, error = %e.chain(), "could not terminate an abandoned pod; the sweep will retry"),
            }
        });
    }
}

//! Terminate, never stop, and confirm it: RunPod answers 404 or TERMINATED. Also the watch
//! over a ready pod (budget cap, spot vanish) while a job uses it.

use crate::events::{CostMeter, Reporter, Stage, dollars};
use crate::journal::JournalPod;
use crate::manager::{Created, PodManager, ReadyPod, Track, codes};
use crate::probe::ReadinessProbe;
use crate::readiness::{check_alive, check_guards};
use serde::Serialize;
use std::time::Instant;
use studio_error::{Error, Result};
use studio_runpod::PodStatus;
use tokio_util::sync::CancellationToken;

/// What a termination ended with.
#[derive(Debug, Clone, Serialize)]
pub struct Terminated {
    pub pod_id: String,
    /// From the journal's captured rate, when the app made the pod.
    pub cost_usd: Option<f64>,
    /// False when RunPod no longer knew the pod (already gone).
    pub was_running: bool,
}

impl<P: ReadinessProbe> PodManager<P> {
    /// Terminates the pod and waits until RunPod confirms it is gone.
    #[tracing::instrument(skip(self, reporter))]
    pub async fn terminate(&self, pod_id: &str, reporter: &Reporter) -> Result<Terminated> {
        let mut track = Track {
            reporter,
            began: Instant::now(),
            stage_began: Instant::now(),
        };
        self.terminate_tracked(pod_id, None, &mut track).await
    }

    pub(crate) async fn terminate_tracked(
        &self,
        pod_id: &str,
        pod: Option<&Created>,
        track: &mut Track<'_>,
    ) -> Result<Terminated> {
        // No longer in use from here on, so a failed termination is retried by the sweep.
        self.set_active(pod_id, false);
        track.stage_began = Instant::now();
        track.emit(Stage::Terminating, pod, format!("Terminating pod {pod_id}"));
        let was_running = self.client.delete_pod(pod_id).await?;
        let timeout = self.config.terminate_timeout;
        let deadline = Instant::now() + timeout;
        // A DELETE can be lost behind RunPod's edge while still answered 204. Sending it again
        // only at the very end would leave no time to see it work, so it goes out again after
        // each third of the timeout: the last one still has a third left to be confirmed.
        let resend_every = (timeout / 3).max(self.config.poll_interval);
        let mut last_delete = Instant::now();
        loop {
            match self.client.get_pod(pod_id).await {
                Ok(None) => break,
                Ok(Some(p)) if p.status == PodStatus::Terminated => break,
                Ok(Some(_)) if last_delete.elapsed() >= resend_every => {
                    last_delete = Instant::now();
                    if let Err(e) = self.client.delete_pod(pod_id).await {
                        tracing::info!(error = %e.chain(), "sending the terminate again failed; still waiting");
                    }
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::info!(error = %e.chain(), "confirming termination failed; asking again")
                }
            }
            if Instant::now() >= deadline {
                return Err(unconfirmed(pod_id, timeout));
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
        let row = self.journal().record_terminated(pod_id)?;
        let cost = row.and_then(|r| r.cost_usd);
        let msg = match cost {
            Some(c) => format!("Pod {pod_id} terminated; it cost about {}.", dollars(c)),
            None => format!("Pod {pod_id} terminated."),
        };
        track.emit(Stage::Terminated, pod, msg);
        Ok(Terminated {
            pod_id: pod_id.to_string(),
            cost_usd: cost,
            was_running,
        })
    }

    /// Watches a ready pod while a job uses it: reports cost, terminates at the budget cap,
    /// and fails with `pods.vanished` when RunPod takes the pod away. Returns `Ok` when
    /// `stop` is cancelled; the pod is then left running for its owner to terminate or reuse.
    #[tracing::instrument(skip_all, fields(pod = %ready.pod_id))]
    pub async fn watch(
        &self,
        ready: &ReadyPod,
        budget_usd: Option<f64>,
        reporter: &Reporter,
        stop: &CancellationToken,
    ) -> Result<()> {
        let pod = Created {
            pod_id: ready.pod_id.clone(),
            name: ready.name.clone(),
            gpu_id: ready.gpu_id.clone(),
            meter: CostMeter::new(ready.rate_per_hour, ready.created),
        };
        let mut track = Track {
            reporter,
            began: Instant::now(),
            stage_began: Instant::now(),
        };
        let never = CancellationToken::new();
        loop {
            if stop.is_cancelled() {
                return Ok(());
            }
            if let Err(e) = check_guards(&pod, &never, budget_usd) {
                return Err(self.fail_and_terminate(&pod, e, &mut track).await);
            }
            match self.client.get_pod(&pod.pod_id).await {
                Ok(seen) => {
                    if let Err(e) = check_alive(&pod, seen.as_ref()) {
                        // Gone already: settle the journal; if merely broken, terminate.
                        if e.is(codes::VANISHED) {
                            let _ = self.journal().record_error(&pod.name, &e.chain());
                            self.set_active(&pod.pod_id, false);
                            let _ = self.journal().record_terminated(&pod.pod_id);
                            track.emit(Stage::Terminated, Some(&pod), e.message());
                            return Err(e);
                        }
                        return Err(self.fail_and_terminate(&pod, e, &mut track).await);
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e.chain(), "reading the pod failed; will ask again")
                }
            }
            track.emit(Stage::Watching, Some(&pod), "Running");
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = stop.cancelled() => {}
            }
        }
    }

    /// Records which job owns a pod; the sweep never touches owned pods.
    pub fn set_owner(&self, pod_id: &str, owner: Option<&str>) -> Result<()> {
        self.journal().set_owner(pod_id, owner)
    }

    pub fn journal_pods(&self) -> Result<Vec<JournalPod>> {
        self.journal().all()
    }
}

fn unconfirmed(pod_id: &str, waited: std::time::Duration) -> Error {
    Error::new(
        codes::TERMINATE_UNCONFIRMED,
        format!(
            "RunPod still lists pod {pod_id} {} seconds after it was told to terminate it, so it \
             may still be billing. It stays listed on the Pods screen: press Terminate there (or \
             terminate it in the RunPod console, runpod.io/console/pods). The app also tries again \
             at its next sweep.",
            waited.as_secs()
        ),
    )
}

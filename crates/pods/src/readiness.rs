//! Readiness in stages, each with a deadline: provisioning, container starting, ComfyUI
//! answering through the proxy, required nodes and models present. Status is not readiness
//! (v2 reports RUNNING early): only ComfyUI answering counts.

use crate::events::{Stage, dollars};
use crate::manager::{Created, PodManager, Track, codes};
use crate::probe::ReadinessProbe;
use std::time::{Duration, Instant};
use studio_error::{Error, Result};
use studio_runpod::PodStatus;
use tokio_util::sync::CancellationToken;
use url::Url;

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Why a running pod must stop: checked on every poll, in readiness and while watching.
pub(crate) fn check_guards(
    pod: &Created,
    cancel: &CancellationToken,
    budget: Option<f64>,
) -> Result<()> {
    if cancel.is_cancelled() {
        return Err(Error::new(
            studio_error::codes::CANCELLED,
            "Cancelled.".to_string(),
        ));
    }
    if let Some(cap) = budget {
        let cost = pod.meter.cost();
        if cost >= cap {
            return Err(Error::new(
                codes::BUDGET_EXCEEDED,
                format!(
                    "The pod reached the budget cap of {} (it has cost {}). Raise the cap in Settings if this job needs more.",
                    dollars(cap),
                    dollars(cost)
                ),
            ));
        }
    }
    Ok(())
}

/// The pod's state from RunPod's side: an error if it is gone or broken.
pub(crate) fn check_alive(pod: &Created, seen: Option<&studio_runpod::Pod>) -> Result<PodStatus> {
    match seen.map(|p| p.status) {
        None | Some(PodStatus::Terminated) => Err(Error::new(
            codes::VANISHED,
            format!(
                "The pod {} on {} disappeared (RunPod reclaimed it or it was removed outside the app). Nothing is left running; start again.",
                pod.pod_id, pod.gpu_id
            ),
        )),
        Some(PodStatus::Exited) | Some(PodStatus::Error) => Err(Error::new(
            codes::CONTAINER_FAILED,
            format!(
                "The pod's container stopped ({:?}). Check the image and start command in Settings.",
                seen.map(|p| p.status)
            ),
        )),
        Some(s) => Ok(s),
    }
}

impl<P: ReadinessProbe> PodManager<P> {
    pub(crate) async fn wait_ready(
        &self,
        pod: &Created,
        track: &mut Track<'_>,
        cancel: &CancellationToken,
    ) -> Result<Url> {
        let base = self.comfy_url(&pod.pod_id)?;
        let mut stage = Stage::Provisioning;
        let mut last_status: Option<PodStatus> = None;
        let mut missing: Vec<String> = Vec::new();
        self.journal().record_stage(&pod.name, stage.as_str())?;
        loop {
            check_guards(pod, cancel, self.config.budget_usd)?;
            let deadline = match stage {
                Stage::Provisioning => self.config.deadlines.provisioning,
                Stage::ContainerStarting => self.config.deadlines.container,
                Stage::ComfyAnswering => self.config.deadlines.comfy,
                _ => self.config.deadlines.models,
            };
            if track.stage_began.elapsed() > deadline {
                let extra = if missing.is_empty() {
                    String::new()
                } else {
                    format!(" Still missing: {}.", missing.join(", "))
                };
                return Err(Error::new(
                    codes::DEADLINE,
                    format!(
                        "The pod spent more than {} in the stage \"{}\".{extra} Raise the deadline in Settings if first starts need longer.",
                        minutes(deadline),
                        stage.label()
                    ),
                ));
            }
            // A failed read is not a verdict: the deadline bounds how long we keep asking.
            let seen = match self.client.get_pod(&pod.pod_id).await {
                Ok(seen) => Some(seen),
                Err(e) => {
                    tracing::info!(error = %e.chain(), "reading the pod failed; will ask again");
                    None
                }
            };
            if let Some(seen) = seen {
                let status = check_alive(pod, seen.as_ref())?;
                if last_status != Some(status) {
                    let _ = self
                        .journal()
                        .record_status(&pod.name, &format!("{status:?}"));
                    last_status = Some(status);
                }
                let has_runtime = seen.as_ref().is_some_and(|p| p.runtime.is_some());
                let next = match stage {
                    Stage::Provisioning if status != PodStatus::Provisioning => {
                        Some(Stage::ContainerStarting)
                    }
                    Stage::ContainerStarting
                        if (status == PodStatus::Running && has_runtime)
                            || self.answering(&base).await =>
                    {
                        Some(Stage::ComfyAnswering)
                    }
                    Stage::ComfyAnswering if self.answering(&base).await => {
                        Some(Stage::ModelsPresent)
                    }
                    Stage::ModelsPresent => {
                        match self.probe.requirements_present(&base).await {
                            Ok(m) if m.is_empty() => return Ok(base),
                            Ok(m) => missing = m,
                            Err(e) => {
                                tracing::info!(error = %e.chain(), "requirements check failed")
                            }
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(next) = next {
                    stage = next;
                    track.stage_began = Instant::now();
                    self.journal().record_stage(&pod.name, stage.as_str())?;
                    track.emit(stage, Some(pod), stage.label());
                    continue;
                }
            }
            let note = if missing.is_empty() {
                stage.label().to_string()
            } else {
                format!("{} (missing: {})", stage.label(), missing.join(", "))
            };
            track.emit(stage, Some(pod), note);
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = cancel.cancelled() => {}
            }
        }
    }

    async fn answering(&self, base: &Url) -> bool {
        match self.probe.comfy_answering(base).await {
            Ok(up) => up,
            Err(e) => {
                tracing::debug!(error = %e.chain(), "ComfyUI probe failed");
                false
            }
        }
    }
}

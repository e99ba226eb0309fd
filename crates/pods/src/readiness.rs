//! Readiness in stages, each with a deadline: provisioning, container starting, ComfyUI
//! answering through the proxy, required nodes and models present. Status is not readiness
//! (v2 reports RUNNING early): only ComfyUI answering counts.
//!
//! Pods running our bootstrap also report through their log (see `progress`): installing,
//! downloading models, starting ComfyUI take the place of the status-based guess, and a fatal
//! bootstrap error fails readiness at once. Without a readable log, nothing changes.

use crate::events::{DownloadProgress, Stage, dollars};
use crate::manager::{Created, PodManager, Track, codes};
use crate::probe::ReadinessProbe;
use crate::progress::{self, Boot};
use std::time::{Duration, Instant};
use studio_error::{Error, Result};
use studio_runpod::PodStatus;
use tokio_util::sync::CancellationToken;
use url::Url;

fn bootstrap_failed(code: &str, message: &str) -> Error {
    let message = if message.trim().is_empty() {
        "no details were given. Check the pod settings and start again."
    } else {
        message.trim()
    };
    Error::new(
        codes::BOOTSTRAP_FAILED,
        format!("Setting up the pod failed ({code}): {message}"),
    )
}

/// What an event says in `stage`: the bootstrap's words in its own stages, the label otherwise.
fn boot_note(stage: Stage, boot: &Boot) -> (String, Option<DownloadProgress>) {
    if progress::rank(stage) == 0 {
        return (stage.label().to_string(), None);
    }
    let download = (stage == Stage::DownloadingModels)
        .then(|| boot.download.clone())
        .flatten();
    (boot.note(stage), download)
}

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
        let mut follow = progress::follow(&self.client, &pod.pod_id, self.config.poll_interval * 2);
        let mut following = true;
        let mut boot = Boot::default();
        loop {
            check_guards(pod, cancel, self.config.budget_usd)?;
            if let Some((code, message)) = &boot.failure {
                return Err(bootstrap_failed(code, message));
            }
            let deadline = match stage {
                Stage::Provisioning => self.config.deadlines.provisioning,
                Stage::ContainerStarting => self.config.deadlines.container,
                Stage::ComfyAnswering | Stage::Installing | Stage::StartingComfy => {
                    self.config.deadlines.comfy
                }
                Stage::DownloadingModels => self.download_deadline(&boot),
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
                    // The bootstrap's own word beats the guess from status.
                    Stage::ContainerStarting | Stage::ComfyAnswering if boot.stage.is_some() => {
                        boot.stage
                    }
                    Stage::Installing | Stage::DownloadingModels | Stage::StartingComfy => {
                        match boot.stage {
                            Some(b) if progress::rank(b) > progress::rank(stage) => Some(b),
                            // Probed in every bootstrap stage: should the log stop, ComfyUI
                            // answering still moves readiness on.
                            _ if self.answering(&base).await => Some(Stage::ModelsPresent),
                            _ => None,
                        }
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
                            Err(e) if e.code() == codes::ENVIRONMENT_MISMATCH => return Err(e),
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
                    let (note, download) = boot_note(stage, &boot);
                    track.emit_with(stage, Some(pod), note, download);
                    continue;
                }
            }
            let (note, download) = boot_note(stage, &boot);
            let note = if missing.is_empty() {
                note
            } else {
                format!("{} (missing: {})", stage.label(), missing.join(", "))
            };
            track.emit_with(stage, Some(pod), note, download);
            let wake = tokio::time::sleep(self.config.poll_interval);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    () = &mut wake => break,
                    () = cancel.cancelled() => break,
                    line = follow.rx.recv(), if following => {
                        let Some(line) = line else {
                            following = false;
                            continue;
                        };
                        let before = boot.stage;
                        if !boot.apply(line) {
                            continue;
                        }
                        // A new stage or a failure is acted on at once; mere download progress
                        // is shown without asking RunPod or ComfyUI again before the next poll.
                        if boot.failure.is_some() || boot.stage != before {
                            break;
                        }
                        let (note, download) = boot_note(stage, &boot);
                        track.emit_with(stage, Some(pod), note, download);
                    }
                }
            }
        }
    }

    /// Long enough for the bootstrap's total bytes at the slowest rate still counted as
    /// progress, and never shorter than the ComfyUI deadline.
    fn download_deadline(&self, boot: &Boot) -> Duration {
        let comfy = self.config.deadlines.comfy;
        let rate = self.config.min_download_bytes_per_sec.max(1);
        boot.download.as_ref().map_or(comfy, |d| {
            comfy.max(Duration::from_secs(d.total_bytes / rate))
        })
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

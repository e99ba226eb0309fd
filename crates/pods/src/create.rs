//! The create step: one GPU type per request, candidates in order, and after ANY create error
//! a lookup by name, because RunPod has answered 500 for pods it did create.

use crate::deadman::DeadMan;
use crate::dropguard::TerminateOnDrop;
use crate::events::{CostMeter, Stage};
use crate::manager::{Created, PodManager, Track, codes};
use crate::probe::ReadinessProbe;
use crate::spec::{PodSpec, new_pod_name_for};
use std::collections::HashMap;
use std::time::Instant;
use studio_error::{Error, Result};
use studio_runpod::{Pod, codes as rp};
use tokio_util::sync::CancellationToken;

fn cancelled() -> Error {
    Error::new(
        studio_error::codes::CANCELLED,
        "Starting the pod was cancelled.",
    )
}

impl<P: ReadinessProbe> PodManager<P> {
    /// The pod called `name`, if RunPod lists one.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<Pod>> {
        Ok(self
            .client
            .list_pods()
            .await?
            .into_iter()
            .find(|p| p.name == name))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn create_walk(
        &self,
        spec: &PodSpec,
        owner: Option<&str>,
        deadman: Option<&DeadMan>,
        track: &mut Track<'_>,
        cancel: &CancellationToken,
    ) -> Result<(Created, TerminateOnDrop)> {
        // Prices read at run time; the rate is captured per pod at create.
        let prices: HashMap<String, f64> = match self.client.list_gpus().await {
            Ok(gpus) => gpus
                .iter()
                .map(|g| (g.id.clone(), g.rate(spec.cloud, spec.gpu_count.max(1))))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e.chain(), "GPU prices unavailable; using the pod's own cost field");
                HashMap::new()
            }
        };
        let mut skipped: Vec<String> = Vec::new();
        let mut last_error: Option<Error> = None;
        for gpu in &spec.gpu_candidates {
            let mut attempt = 0;
            loop {
                if cancel.is_cancelled() {
                    return Err(cancelled());
                }
                attempt += 1;
                let name = new_pod_name_for(self.config.install_id.as_deref());
                let estimate = prices.get(gpu).copied().unwrap_or(0.0);
                self.journal()
                    .record_intent_for(&name, gpu, estimate, owner)?;
                track.emit(
                    Stage::Creating,
                    None,
                    format!("Asking RunPod for {gpu} ({name})"),
                );
                let request = spec.create_request(&name, gpu, deadman);
                let outcome = self.client.create_pod(&request).await;
                let pod = match outcome {
                    Ok(pod) => Some(pod),
                    Err(e) => {
                        tracing::info!(gpu = %gpu, code = e.code(), "create failed; looking the pod up by name");
                        match self.find_by_name(&name).await {
                            Ok(Some(pod)) => {
                                tracing::warn!(pod = %pod.id, "create answered an error but the pod exists; using it");
                                Some(pod)
                            }
                            Ok(None) => {
                                self.journal().record_abandoned(&name, e.code())?;
                                last_error = Some(e);
                                None
                            }
                            Err(lookup) => {
                                // Unknown whether the pod exists: the journal keeps the intent
                                // so the sweep settles it once RunPod answers again.
                                let _ = self.journal().record_error(&name, &lookup.chain());
                                return Err(Error::new(
                                    e.code().to_string(),
                                    format!(
                                        "{} RunPod could not be asked whether the pod was created anyway; the sweep will check when RunPod answers again.",
                                        e.message()
                                    ),
                                )
                                .with_source(e));
                            }
                        }
                    }
                };
                if let Some(pod) = pod {
                    let rate = if estimate > 0.0 { estimate } else { pod.cost };
                    // From here on, even a dropped future terminates the pod.
                    let mut guard = self.drop_guard(&pod.id);
                    self.set_active(&pod.id, true);
                    self.journal().record_created(&name, &pod.id, rate)?;
                    let created = Created {
                        pod_id: pod.id,
                        name,
                        gpu_id: gpu.clone(),
                        meter: CostMeter::new(rate, Instant::now()),
                    };
                    if cancel.is_cancelled() {
                        let err = self.fail_and_terminate(&created, cancelled(), track).await;
                        guard.disarm();
                        return Err(err);
                    }
                    track.stage_began = Instant::now();
                    track.emit(
                        Stage::Provisioning,
                        Some(&created),
                        format!("RunPod accepted the pod on {gpu} at ${rate:.2}/h"),
                    );
                    return Ok((created, guard));
                }
                let code = last_error
                    .as_ref()
                    .map(|e| e.code().to_string())
                    .unwrap_or_default();
                match code.as_str() {
                    rp::NO_CAPACITY | rp::FORBIDDEN | rp::REJECTED => {
                        skipped.push(gpu.clone());
                        break;
                    }
                    rp::UNAVAILABLE | rp::RATE_LIMITED if attempt <= self.config.create_retries => {
                        tokio::select! {
                            () = tokio::time::sleep(self.config.create_retry_delay) => {}
                            () = cancel.cancelled() => return Err(cancelled()),
                        }
                    }
                    rp::UNAVAILABLE | rp::RATE_LIMITED => break,
                    _ => return Err(last_error.unwrap_or_else(|| Error::internal("create failed"))),
                }
            }
        }
        let all_busy = last_error
            .as_ref()
            .is_some_and(|e| e.is(rp::NO_CAPACITY) || e.is(rp::FORBIDDEN));
        match last_error {
            Some(e) if all_busy || skipped.len() == spec.gpu_candidates.len() => Err(Error::new(
                codes::NO_CAPACITY,
                format!(
                    "No GPU of the chosen types is free on RunPod right now (tried {}). Try again in a few minutes, or add GPU types in Settings.",
                    spec.gpu_candidates.join(", ")
                ),
            )
            .with_source(e)),
            Some(e) => Err(e),
            None => Err(Error::new(
                studio_error::codes::INVALID_INPUT,
                "No GPU types are chosen in Settings. Pick at least one.",
            )),
        }
    }
}

//! Pods the user started by hand ("warm" pods: no owner in the pods journal) wait for renders
//! at most `Settings.warm_idle_minutes` after they were last left alone; then the idle timer
//! terminates them, so a forgotten pod never bills for hours. Within that time they are held,
//! not orphans: the banner and the sweep leave them alone while the app that may use them runs.

use crate::Studio;
use crate::modes::{self, Mode};
use std::collections::HashSet;
use std::time::Duration;
use studio_core::settings::Settings;
use studio_error::{Error, Result};
use studio_jobs::batch::BATCH_NOT_FOUND;
use studio_jobs::journal::now_ms;
use studio_pods::{JournalPod, Reporter};
use tracing::Instrument;

/// How often the idle timer looks.
pub const REAP_EVERY: Duration = Duration::from_secs(30);
/// The owner the idle timer writes while it terminates a pod, so a queue cannot take it then.
pub const IDLE_STOP: &str = "idle-stop";

/// How long a warm pod may sit unused.
pub(crate) fn idle_limit(settings: &Settings) -> Duration {
    Duration::from_secs(u64::from(settings.warm_idle_minutes) * 60)
}

/// The pod ids of `mode` that are held and so never orphans: pods of unfinished renders and
/// of unfinished batches (a lease between two renders), warm pods inside their idle time, and
/// warm pods this process is starting now.
pub(crate) fn held_pods(mode: &Mode, idle: Duration) -> Result<HashSet<String>> {
    let unfinished = mode.jobs.unfinished()?;
    let mut held: HashSet<String> = unfinished
        .iter()
        .filter_map(|j| j.pod.as_ref().map(|p| p.pod_id.clone()))
        .collect();
    let jobs: HashSet<&str> = unfinished.iter().map(|j| j.id.as_str()).collect();
    held.extend(mode.warm_starting().iter().cloned());
    let rows = mode
        .pods
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unsettled()?;
    let now = now_ms();
    for row in rows {
        let Some(pod_id) = row.pod_id.clone() else {
            continue;
        };
        let keep = match row.owner.as_deref() {
            None => row.idle_deadline_ms(idle).is_some_and(|end| end > now),
            Some(owner) => match owner.split_once(':') {
                Some(("job", id)) => jobs.contains(id),
                Some(("batch", id)) => batch_unfinished(mode, id)?,
                _ => false,
            },
        };
        if keep {
            held.insert(pod_id);
        }
    }
    Ok(held)
}

fn batch_unfinished(mode: &Mode, id: &str) -> Result<bool> {
    match mode.jobs.batch(id) {
        Ok(b) => Ok(b.finished_ms.is_none()),
        Err(e) if e.is(BATCH_NOT_FOUND) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Warm pods of `ctx` idle longer than `idle`.
fn idle_too_long(ctx: &modes::ModeCtx, idle: Duration) -> Result<Vec<JournalPod>> {
    let now = now_ms();
    Ok(ctx
        .pods
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .warm_pods()?
        .into_iter()
        .filter(|p| p.idle_deadline_ms(idle).is_some_and(|end| end <= now))
        .collect())
}

impl Studio {
    /// Terminates (and confirms) every warm pod of this install idle longer than Settings
    /// allow; returns their ids. The real RunPod world always, the demo's while demo is on.
    pub async fn reap_idle_warm_pods(&self) -> Result<Vec<String>> {
        let idle = idle_limit(&self.cleanup_settings());
        self.reap_idle_warm_pods_older_than(idle).await
    }

    /// As [`Studio::reap_idle_warm_pods`] with the idle time given. Every pod is tried; the
    /// error names each one that could not be confirmed gone (it stays warm and is tried
    /// again at the next round, its idle clock unchanged).
    #[tracing::instrument(skip(self))]
    pub async fn reap_idle_warm_pods_older_than(&self, idle: Duration) -> Result<Vec<String>> {
        let settings = self.cleanup_settings();
        let mut ended = Vec::new();
        let mut failures = Vec::new();
        // The journal first: a round with nothing to end reads no keychain and no network.
        if !idle_too_long(&*modes::context(self, false)?, idle)?.is_empty() {
            let real = self.real_mode()?;
            if real.key.is_some() {
                self.reap_in(&real, &settings, idle, &mut ended, &mut failures)
                    .await?;
            } else {
                tracing::warn!("warm pods idle too long, but no RunPod key to terminate them");
            }
        }
        if self.is_demo(&settings)
            && !idle_too_long(&*modes::context(self, true)?, idle)?.is_empty()
        {
            let demo = self.mode(&settings).await?;
            self.reap_in(&demo, &settings, idle, &mut ended, &mut failures)
                .await?;
        }
        match crate::cleanup::failures_error(&failures) {
            Some(e) => Err(e),
            None => Ok(ended),
        }
    }

    async fn reap_in(
        &self,
        mode: &Mode,
        settings: &Settings,
        idle: Duration,
        ended: &mut Vec<String>,
        failures: &mut Vec<(String, Error)>,
    ) -> Result<()> {
        let manager = self.manager_for(mode, settings)?;
        for pod in idle_too_long(mode, idle)? {
            let Some(pod_id) = pod.pod_id.clone() else {
                continue;
            };
            let claimed = mode
                .pods
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .claim_warm(&pod_id, IDLE_STOP)?;
            if !claimed {
                // A queue took it between the look and the claim: it is in use again.
                continue;
            }
            let span = tracing::info_span!("idle_stop", pod = %pod_id, name = %pod.name, since = ?pod.idle_since);
            match manager
                .terminate(&pod_id, &Reporter::default())
                .instrument(span)
                .await
            {
                Ok(t) => {
                    tracing::info!(pod = %pod_id, cost_usd = ?t.cost_usd, idle_mins = idle.as_secs() / 60, "a warm pod sat unused too long and was terminated");
                    ended.push(pod_id);
                }
                Err(e) => {
                    let _ = mode.pods.lock().unwrap_or_else(|p| p.into_inner()).unclaim(
                        &pod_id,
                        IDLE_STOP,
                        pod.idle_since.as_deref(),
                    );
                    failures.push((pod_id, e));
                }
            }
        }
        Ok(())
    }

    /// The idle timer: every 30 s, ends warm pods idle too long. Each round runs as its own
    /// task, so an error or even a panic in one is logged and the next round still comes.
    pub fn spawn_idle_reaper(&self) -> tokio::task::JoinHandle<()> {
        let studio = self.clone();
        tokio::spawn(
            async move {
                let mut tick = tokio::time::interval(REAP_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let round = studio.clone();
                    match tokio::spawn(async move { round.reap_idle_warm_pods().await }).await {
                        Ok(Ok(ended)) if !ended.is_empty() => {
                            tracing::info!(pods = ?ended, "idle warm pods terminated");
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!("idle timer: {}", e.chain()),
                        Err(e) => tracing::error!("idle timer round failed: {e}"),
                    }
                }
            }
            .instrument(tracing::info_span!("idle_reaper")),
        )
    }
}

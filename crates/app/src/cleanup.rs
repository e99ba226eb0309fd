//! Clean-up (quit, the crash guard, start-up recovery, the orphan banner) acts on the real
//! RunPod world whatever Settings say: Settings choose where new renders run, not whether a
//! pod that bills is seen. Switching Settings to Demo, or a torn settings file, must never
//! turn "a real pod is billing" into "nothing left running". The demo world is settled as
//! well while demo is on (its pods bill nothing, but its renders want an ending).

use crate::Studio;
use crate::modes::{self, Mode};
use std::collections::{HashMap, HashSet};
use studio_core::settings::Settings;
use studio_error::{Error, Result, Sensitive};
use studio_jobs::{EventSink, Recovered};
use studio_pods::Reporter;
use tokio_util::sync::CancellationToken;

/// Some pods could not be confirmed terminated; the message names each.
pub const LEFT_RUNNING: &str = "pods.left_running";

impl Studio {
    /// Settings as clean-up reads them: a damaged file means the defaults (logged), so a pod
    /// is never left billing because a preference could not be parsed.
    pub(crate) fn cleanup_settings(&self) -> Settings {
        Settings::load_or_default(&self.inner.data_dir)
    }

    /// Reads the RunPod key now and keeps it for every later clean-up of this process. The
    /// crash guard calls it at its start: when the app is gone (log-out, shut-down) the
    /// keychain may already be locked.
    pub fn remember_key_for_cleanup(&self) -> Result<()> {
        let key = studio_core::secrets::load_api_key()?;
        let _ = self.inner.cleanup_key.set(key);
        Ok(())
    }

    /// The remembered key, else the key as stored now; a keychain that cannot be read means
    /// no key (logged): jobs on the user's own ComfyUI still settle without one.
    fn cleanup_key(&self) -> Option<Sensitive<String>> {
        if let Some(key) = self.inner.cleanup_key.get() {
            return key.clone();
        }
        studio_core::secrets::load_api_key()
            .inspect_err(|e| tracing::error!("clean-up cannot read the RunPod key: {}", e.chain()))
            .ok()
            .flatten()
    }

    /// The real RunPod world: the data folder's own journals, the addresses from the
    /// environment and the real key, whatever Settings say.
    pub(crate) fn real_mode(&self) -> Result<Mode> {
        let lock = crate::workflows::default_lock(&self.inner.data_dir).unwrap_or_else(|e| {
            tracing::warn!("clean-up uses the bundled lock: {}", e.chain());
            studio_pods::EnvLock::bundled()
        });
        Ok(Mode {
            demo: false,
            ctx: modes::context(self, false)?,
            endpoints: self.inner.endpoints.clone(),
            key: self.cleanup_key(),
            lock,
            install_id: modes::install_id(self),
        })
    }

    /// Settles every render a crash or a closed window left unfinished (resume or terminate):
    /// always the real ones, and the demo's too while demo is on. `keep`: the outcome is also
    /// written down for the next start's notice (see `startup`).
    pub(crate) async fn recover_keeping(
        &self,
        sink: EventSink,
        keep: bool,
    ) -> Result<Vec<Recovered>> {
        self.recover_only(sink, keep, None).await
    }

    /// Ids of the renders left unfinished now (both worlds): the crash guard takes them once,
    /// so that its later rounds never take over a render a new session has started since.
    pub(crate) fn unfinished_renders(&self) -> Result<HashSet<String>> {
        let mut ids = HashSet::new();
        // The demo's journal only when it was ever used: no `demo/` folder made for nothing.
        let demo_used = self
            .inner
            .data_dir
            .join("demo")
            .join("jobs.sqlite")
            .exists();
        for demo in [false, true].into_iter().filter(|d| !d || demo_used) {
            let ctx = modes::context(self, demo)?;
            ids.extend(ctx.jobs.unfinished()?.into_iter().map(|r| r.id));
        }
        Ok(ids)
    }

    /// As `recover_keeping`, limited to the renders in `only` when given.
    pub(crate) async fn recover_only(
        &self,
        sink: EventSink,
        keep: bool,
        only: Option<&HashSet<String>>,
    ) -> Result<Vec<Recovered>> {
        let settings = self.cleanup_settings();
        let mut settled = self
            .recover_world(false, &settings, sink.clone(), keep, only)
            .await?;
        if self.is_demo(&settings) {
            match self.recover_world(true, &settings, sink, keep, only).await {
                Ok(mut demo) => settled.append(&mut demo),
                Err(e) => tracing::warn!("settling demo renders: {}", e.chain()),
            }
        }
        Ok(settled)
    }

    /// One recovery at a time per data folder (the crash guard, the next start and `studio
    /// jobs recover` may overlap). What to settle is listed before waiting for the others,
    /// without the renders this process runs itself: a render started meanwhile is never
    /// taken over.
    #[tracing::instrument(skip(self, settings, sink, only))]
    async fn recover_world(
        &self,
        demo: bool,
        settings: &Settings,
        sink: EventSink,
        keep: bool,
        only: Option<&HashSet<String>>,
    ) -> Result<Vec<Recovered>> {
        let ctx = modes::context(self, demo)?;
        let running: HashSet<String> = self.lock_running().keys().cloned().collect();
        let todo: HashSet<String> = ctx
            .jobs
            .unfinished()?
            .into_iter()
            .map(|r| r.id)
            .filter(|id| !running.contains(id) && only.is_none_or(|ids| ids.contains(id)))
            .collect();
        if todo.is_empty() {
            return Ok(Vec::new());
        }
        let _lock = crate::startup::recovery_lock(&self.inner.data_dir).await?;
        let mode = if demo {
            self.mode(settings).await?
        } else {
            self.real_mode()?
        };
        let settled = mode
            .engine(settings)?
            .recover_only(CancellationToken::new(), sink, Some(&todo))
            .await?;
        if keep {
            crate::startup::keep_for_next_start(&self.inner.data_dir, &settled);
        }
        Ok(settled)
    }

    /// Terminates those of `names` (pods of the real journal) that are still live. Pods made
    /// after `names` was taken (a new session's) and other installs' pods are left alone.
    /// Journaled pod ids are terminated directly, without listing first (one failing list
    /// call must not block them); only a create in flight at a crash needs the list to be
    /// found by name. Every pod is tried; the error names each one that failed.
    #[tracing::instrument(skip(self, names), fields(names = names.len()))]
    pub async fn terminate_left_behind(&self, names: &HashSet<String>) -> Result<usize> {
        if names.is_empty() {
            return Ok(0);
        }
        let ctx = modes::context(self, false)?;
        let live = || -> Result<Vec<studio_pods::JournalPod>> {
            Ok(ctx
                .pods
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unsettled()?
                .into_iter()
                .filter(|r| names.contains(&r.name))
                .collect())
        };
        let rows = live()?;
        if rows.is_empty() {
            return Ok(0);
        }
        let manager = self.real_pod_manager(&self.cleanup_settings())?;
        let mut failures: Vec<(String, Error)> = Vec::new();
        let mut tried = HashSet::new();
        let mut count = 0;
        for id in rows.iter().filter_map(|r| r.pod_id.clone()) {
            tried.insert(id.clone());
            match manager.terminate(&id, &Reporter::default()).await {
                Ok(_) => count += 1,
                Err(e) => failures.push((id, e)),
            }
        }
        let in_flight: Vec<String> = rows
            .iter()
            .filter(|r| r.pod_id.is_none())
            .map(|r| r.name.clone())
            .collect();
        if !in_flight.is_empty() {
            // Settles the journal against RunPod: a create in flight at the crash gets its id
            // (or is recorded as never made).
            match manager.list().await {
                Ok(_) => {
                    for id in live()?.into_iter().filter_map(|r| r.pod_id) {
                        if tried.insert(id.clone()) {
                            match manager.terminate(&id, &Reporter::default()).await {
                                Ok(_) => count += 1,
                                Err(e) => failures.push((id, e)),
                            }
                        }
                    }
                }
                Err(e) => failures.extend(
                    in_flight
                        .into_iter()
                        .map(|n| (n, Error::new(e.code().to_string(), e.message()))),
                ),
            }
        }
        match failures_error(&failures) {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }
}

/// One error naming every pod that could not be confirmed gone, or `None` when none failed.
pub(crate) fn failures_error(failures: &[(String, Error)]) -> Option<Error> {
    failures.first()?;
    let mut by_pod: HashMap<&str, &Error> = HashMap::new();
    for (pod, e) in failures {
        tracing::error!(pod = %pod, "a pod could not be terminated: {}", e.chain());
        by_pod.entry(pod).or_insert(e);
    }
    let mut listed: Vec<String> = by_pod
        .iter()
        .map(|(pod, e)| format!("{pod} ({})", e.message()))
        .collect();
    listed.sort();
    // Each cause is in the log above; the message is for people.
    Some(Error::new(
        LEFT_RUNNING,
        format!(
            "{} pod(s) could not be confirmed terminated and may still be billing: {}. Try \
             Terminate again on the Pods screen, or terminate them in the RunPod console.",
            listed.len(),
            listed.join("; ")
        ),
    ))
}

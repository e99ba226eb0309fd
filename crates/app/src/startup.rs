//! What a start settles, and what the user is then told: renders a crash interrupted, resumed
//! by this start or already by the crash guard of the session that died (which writes its
//! outcome down, under the recovery lock, for this notice); and batches that still have
//! renders queued, which the window offers to resume.

use crate::Studio;
use serde::Serialize;
use std::path::Path;
use studio_error::{Error, Result};
use studio_jobs::{Recovered, Stage};

/// A batch a crash or a quit stopped with renders still queued; nothing was paid for those.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumableBatch {
    pub batch_id: String,
    pub created_ms: i64,
    /// Renders still waiting in the queue.
    pub queued: u32,
    /// Every render of the batch.
    pub renders: u32,
}

const REPORT_FILE: &str = "recovered-by-guard.json";

impl Studio {
    /// Start-up recovery, run once per process; every caller (the shell's start-up task, the
    /// window asking what to show) waits for the same run and gets the same list.
    pub async fn startup_report(&self) -> Vec<Recovered> {
        self.inner
            .startup
            .get_or_init(|| async {
                let mut settled =
                    self.recover(studio_jobs::no_events())
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!("recovery at start-up: {}", e.chain());
                            Vec::new()
                        });
                match take_kept(&self.inner.data_dir).await {
                    Ok(mut kept) => {
                        kept.append(&mut settled);
                        settled = kept;
                    }
                    Err(e) => tracing::warn!("the crash guard's report: {}", e.chain()),
                }
                settled
            })
            .await
            .clone()
    }
}

impl Studio {
    /// Batches with renders still queued that this process is not running, once start-up
    /// recovery has settled the renders that were mid-flight: the window offers "Resume"
    /// ([`Studio::resume_batch`]), `studio jobs resume BATCH_ID` does it from the terminal.
    pub async fn resumable_batches(&self) -> Result<Vec<ResumableBatch>> {
        self.startup_report().await;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let mut resumable = Vec::new();
        for batch in mode.jobs.batches()? {
            if batch.finished_ms.is_some()
                || self.lock_running().values().any(|r| r.batch_id == batch.id)
            {
                continue;
            }
            let jobs = mode.jobs.batch_jobs(&batch.id)?;
            let queued = jobs.iter().filter(|j| j.stage == Stage::Queued).count();
            if queued > 0 {
                tracing::info!(batch = %batch.id, queued, "a batch waits to be resumed");
                resumable.push(ResumableBatch {
                    batch_id: batch.id,
                    created_ms: batch.created_ms,
                    queued: u32::try_from(queued).unwrap_or(u32::MAX),
                    renders: u32::try_from(jobs.len()).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(resumable)
    }
}

/// Held (an OS file lock, released when the process ends in any way) while renders are
/// recovered or the guard's report is read.
pub(crate) async fn recovery_lock(data_dir: &Path) -> Result<std::fs::File> {
    let path = data_dir.join("recovery.lock");
    let shown = path.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| Error::internal(format!("The recovery lock task stopped: {e}")))?
    .map_err(|e| Error::io(&format!("lock {}", shown.display()), e))
}

/// Appends to the report; the caller holds the recovery lock. A failure only loses the notice.
pub(crate) fn keep_for_next_start(data_dir: &Path, settled: &[Recovered]) {
    let path = data_dir.join(REPORT_FILE);
    let mut all: Vec<Recovered> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // The crash guard settles in rounds: a render's later outcome replaces its earlier one.
    all.retain(|old| !settled.iter().any(|new| new.job_id == old.job_id));
    all.extend_from_slice(settled);
    let written = serde_json::to_vec_pretty(&all)
        .map_err(|e| Error::internal(format!("the report did not serialise: {e}")))
        .and_then(|bytes| studio_core::atomic_file::write_atomic(&path, &bytes));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), "keeping the recovery report: {}", e.chain());
    }
}

async fn take_kept(data_dir: &Path) -> Result<Vec<Recovered>> {
    let path = data_dir.join(REPORT_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let _lock = recovery_lock(data_dir).await?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&format!("read {}", path.display()), e)),
    };
    std::fs::remove_file(&path).map_err(|e| Error::io(&format!("remove {}", path.display()), e))?;
    Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        tracing::warn!("an unreadable recovery report was dropped: {e}");
        Vec::new()
    }))
}

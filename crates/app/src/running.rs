//! The batches this process runs, by render: how the window's buttons, Ctrl-C and quitting
//! reach them (cancel one render, a batch, or everything), and what `running_jobs` and
//! recovery count as ours.

use crate::Studio;
use crate::batch::{BATCH_RUNNING, NOT_RUNNING};
use std::collections::HashMap;
use studio_error::{Error, Result};
use studio_jobs::{BatchControl, BatchRecord, EventSink, JobEvent, Stage};

/// A render of a batch this process runs, and how to stop it.
pub(crate) struct Running {
    pub batch_id: String,
    pub control: BatchControl,
}

/// Unregisters the batch's renders however its run ends (error, cancelled future, panic).
pub(crate) struct Registration<'a> {
    studio: &'a Studio,
    batch_id: String,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.studio
            .lock_running()
            .retain(|_, r| r.batch_id != self.batch_id);
    }
}

impl Studio {
    /// Renders of the batches this process runs, by job id.
    pub(crate) fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Renders of this process's batches that have not ended yet (queued ones included).
    pub fn running_jobs(&self) -> usize {
        self.lock_running().len()
    }

    /// Cancels every batch this process runs (the window is closing, Ctrl-C); each tears its
    /// pods down. Returns how many renders that stopped or removed.
    pub fn cancel_all(&self) -> usize {
        let running = self.lock_running();
        for r in running.values() {
            r.control.cancel_all();
        }
        running.len()
    }

    /// A running render stops (its pod goes on with the rest of the batch); a queued one
    /// leaves the queue, also in a batch that waits to be resumed.
    #[tracing::instrument(skip(self))]
    pub fn cancel_render(&self, job_id: &str) -> Result<()> {
        let control = self.lock_running().get(job_id).map(|r| r.control.clone());
        match control {
            Some(control) => {
                control.cancel(job_id);
                Ok(())
            }
            None => self.journal_now()?.remove_queued(job_id).map_err(|e| {
                Error::new(NOT_RUNNING, "That render is not running any more.").with_source(e)
            }),
        }
    }

    /// Stops every render of the batch and ends its pods; a batch waiting to be resumed has its
    /// queued renders removed.
    #[tracing::instrument(skip(self))]
    pub fn cancel_batch(&self, batch_id: &str) -> Result<()> {
        let control = self
            .lock_running()
            .values()
            .find(|r| r.batch_id == batch_id)
            .map(|r| r.control.clone());
        if let Some(control) = control {
            control.cancel_all();
            return Ok(());
        }
        let journal = self.journal_now()?;
        let mut removed = 0;
        for job in journal.batch_jobs(batch_id)? {
            if job.stage == Stage::Queued {
                journal.remove_queued(&job.id)?;
                removed += 1;
            }
        }
        if removed == 0 {
            return Err(Error::new(
                NOT_RUNNING,
                "That batch is not running and has no render waiting.",
            ));
        }
        Ok(())
    }

    /// The job journal of the world Settings choose now (no network, no key): what the views
    /// the window polls read, so polling never reads the keychain or starts the demo.
    pub(crate) fn journal_now(&self) -> Result<std::sync::Arc<studio_jobs::Journal>> {
        let demo = self.is_demo(&self.settings()?);
        Ok(crate::modes::context(self, demo)?.jobs.clone())
    }

    /// Refused while the batch runs here: a batch runs in one place at a time.
    pub(crate) fn refuse_if_running(&self, batch_id: &str) -> Result<()> {
        refuse(&self.lock_running(), batch_id)
    }

    /// Registers the batch's renders, checked and done under one lock.
    pub(crate) fn register(
        &self,
        record: &BatchRecord,
    ) -> Result<(BatchControl, Registration<'_>)> {
        let control = BatchControl::default();
        let mut running = self.lock_running();
        refuse(&running, &record.id)?;
        for job_id in &record.job_ids {
            running.insert(
                job_id.clone(),
                Running {
                    batch_id: record.id.clone(),
                    control: control.clone(),
                },
            );
        }
        let registration = Registration {
            studio: self,
            batch_id: record.id.clone(),
        };
        Ok((control, registration))
    }

    /// `sink`, once each render that ends is forgotten (`running_jobs` counts what is left,
    /// recovery may settle what this process no longer runs) and its results are granted to
    /// the window (before it hears of the end, so a result plays at once).
    pub(crate) fn unregistering(&self, sink: EventSink) -> EventSink {
        let studio = self.clone();
        std::sync::Arc::new(move |event: JobEvent| {
            if let JobEvent::Finished {
                job_id, outputs, ..
            } = &event
            {
                studio.lock_running().remove(job_id);
                for file in outputs {
                    studio.grant_output(file);
                }
            }
            sink(event);
        })
    }
}

fn refuse(running: &HashMap<String, Running>, batch_id: &str) -> Result<()> {
    if running.values().any(|r| r.batch_id == batch_id) {
        return Err(Error::new(
            BATCH_RUNNING,
            "That batch is already running; its renders are in the queue.",
        ));
    }
    Ok(())
}

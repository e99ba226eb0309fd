//! A lease: one pod (or the user's own server) running renders back to back, with at most
//! two in flight: while one generates, the next uploads and queues behind it, and the
//! previous result downloads while the next generates.

use super::copy_err;
use super::journal::LeaseRow;
use super::render::Render;
use super::scheduler::Queue;
use crate::backend::{CreatedPod, PodState};
use crate::ctx::{Ctx, StopReason};
use crate::engine::Live;
use crate::events::{JobEvent, LeaseState};
use crate::journal::now_ms;
use crate::spec::Target;
use crate::stage::Stage;
use crate::unwind::catch_panic;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use studio_error::{Error, Result};
use tracing::Instrument;

/// What a lease holds once it has a server: the pod's row (none for the user's own ComfyUI)
/// and ComfyUI's address.
pub(crate) struct Hold {
    pub row: Option<LeaseRow>,
    pub url: String,
}

impl LeaseRow {
    pub fn created_pod(&self) -> CreatedPod {
        CreatedPod {
            pod_id: self.pod_id.clone(),
            name: String::new(),
            gpu_id: self.gpu_id.clone(),
            rate_usd_per_hour: self.rate_usd_per_hour,
        }
    }
}

/// A lease as the scheduler and the meter see it while it runs.
pub(crate) struct LeaseLive {
    pub target: Target,
    /// Its pod vanished: nothing new starts on it, and it ends once its renders returned.
    vanished: AtomicBool,
    /// Its server answered with everything the workflow needs.
    ready: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    row: Option<LeaseRow>,
    /// Where the next render's share of the pod begins.
    last_end_ms: i64,
    /// Renders on this lease in the order taken, with when their share began (the first one
    /// only: the second's begins when the first ends).
    heads: VecDeque<(String, Option<i64>)>,
}

impl LeaseLive {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            vanished: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                row: None,
                last_end_ms: now_ms(),
                heads: VecDeque::new(),
            }),
        }
    }

    pub fn vanished(&self) -> bool {
        self.vanished.load(Ordering::SeqCst)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn row(&self) -> Option<LeaseRow> {
        self.lock().row.clone()
    }

    pub fn set_row(&self, row: Option<LeaseRow>) {
        let mut i = self.lock();
        if let Some(r) = &row {
            i.last_end_ms = r.started_ms;
        }
        i.row = row;
    }

    pub fn job_ids(&self) -> Vec<String> {
        self.lock().heads.iter().map(|(id, _)| id.clone()).collect()
    }

    /// Takes `job_id` on; the first render on the pod starts its share now (the lease's
    /// start or the previous render's end).
    pub fn became_head_if_first(&self, q: &Queue<'_>, job_id: &str) {
        let mut i = self.lock();
        if !i.heads.iter().any(|(id, _)| id == job_id) {
            i.heads.push_back((job_id.to_string(), None));
        }
        Self::bill_front(&mut i, q);
    }

    fn bill_front(i: &mut Inner, q: &Queue<'_>) {
        let billable = i.row.as_ref().is_some_and(|r| !r.warm);
        let from = i.last_end_ms;
        if let Some((id, slot @ None)) = i.heads.front_mut()
            && billable
        {
            *slot = Some(from);
            if let Err(e) = q.engine.journal.set_billed_from(id, from) {
                tracing::warn!(job = %id, error = %e.chain(), "could not journal a render's share");
            }
        }
    }

    /// `job_id` left the pod. Returns where its share ends when it had one (the next render's
    /// share begins at that same instant).
    pub fn ended(&self, q: &Queue<'_>, job_id: &str) -> Option<i64> {
        let mut i = self.lock();
        let at = i.heads.iter().position(|(id, _)| id == job_id)?;
        let (_, from) = i.heads.remove(at)?;
        from?;
        let end = now_ms();
        i.last_end_ms = end;
        Self::bill_front(&mut i, q);
        Some(end)
    }

    /// The share so far of the render billing now: (job, usd, rate, seconds).
    pub fn share_now(&self, now: i64) -> Option<(String, f64, f64, f64)> {
        let i = self.lock();
        let row = i.row.as_ref().filter(|r| !r.warm)?;
        let (id, from) = i.heads.iter().find(|(_, f)| f.is_some())?;
        let secs = ((now - (*from)?) as f64 / 1000.0).max(0.0);
        let usd = crate::estimate::cost_for(row.rate_usd_per_hour, secs);
        Some((id.clone(), usd, row.rate_usd_per_hour, secs))
    }
}

type Running<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

impl Queue<'_> {
    /// A lease from its first render to its pod's end. Never fails: what goes wrong ends up
    /// on the renders, and the pod is ended on every path.
    pub async fn lease(&self, display: Render) {
        let Some(lease) = display.lease.clone() else {
            return;
        };
        if let Err(e) = catch_panic(self.lease_body(&lease, display)).await {
            tracing::error!(error = %e.chain(), "a lease stopped on an error");
        }
        self.end_lease(&lease).await;
        self.lock().leases.retain(|l| !Arc::ptr_eq(l, &lease));
        self.notify();
    }

    async fn lease_body(&self, lease: &Arc<LeaseLive>, display: Render) -> Result<()> {
        let slot = Mutex::new(Some(display));
        let hold = match self.acquire(lease, &slot).await {
            Ok(h) => h,
            Err(e) => {
                let display = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                self.start_failed(lease, display, e).await;
                return Ok(());
            }
        };
        lease.ready.store(true, Ordering::SeqCst);
        // A lease that waited for this one to fill the model volume may start now.
        self.notify();
        let first = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.run_lease(lease, &hold, first).await
    }

    /// No server: with no other lease alive the renders waiting fail with `e`; otherwise the
    /// others carry on and the first render goes back in the queue.
    async fn start_failed(&self, lease: &LeaseLive, display: Option<Render>, e: Error) {
        tracing::warn!(error = %e.chain(), "a lease could not get a server");
        let own_stop = display.as_ref().and_then(|d| d.live.stop.error());
        let alone = {
            let mut st = self.lock();
            if own_stop.is_none() {
                st.start_error.get_or_insert(copy_err(&e));
            }
            st.leases.len() <= 1
        };
        let Some(d) = display else { return };
        if alone || own_stop.is_some() {
            self.done_on_lease(lease, d, Err(e)).await;
        } else {
            self.put_back(lease, d, false).await;
        }
    }

    async fn run_lease(
        &self,
        lease: &LeaseLive,
        hold: &Hold,
        mut next: Option<Render>,
    ) -> Result<()> {
        let mut running: FuturesUnordered<Running<'_>> = FuturesUnordered::new();
        let mut queued = Arc::new(AtomicBool::new(true));
        let watch = self.watch_pod(lease, hold);
        tokio::pin!(watch);
        let mut watching = hold.row.is_some();
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let room = running.len() < 2 && queued.load(Ordering::SeqCst);
            if room
                && !lease.vanished()
                && !self.halt.is_cancelled()
                && let Some(r) = next.take().or_else(|| self.take_ready(&lease.target))
            {
                if let Some(e) = r.live.stop.error() {
                    self.done_on_lease(lease, r, Err(e)).await;
                    continue;
                }
                queued = Arc::new(AtomicBool::new(false));
                let span = tracing::info_span!("render", job = %r.id());
                let run = self.run_one(lease, hold, r, queued.clone());
                running.push(Box::pin(run.instrument(span)));
                continue;
            }
            if let Some(r) = next.take() {
                // Halted before it could start.
                let e = self.halted().unwrap_or_else(crate::ctx::cancelled);
                self.done_on_lease(lease, r, Err(e)).await;
            }
            if running.is_empty() && (lease.vanished() || !self.more_may_come(&lease.target)) {
                return Ok(());
            }
            tokio::select! {
                Some(()) = running.next(), if !running.is_empty() => {}
                () = &mut watch, if watching => watching = false,
                _ = &mut woken => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// One render on the lease, then its end: finished, or put back when its pod vanished.
    /// Each runs on its own, so one render's download and finish never hold up the other's.
    async fn run_one(&self, lease: &LeaseLive, hold: &Hold, r: Render, queued: Arc<AtomicBool>) {
        let (r, result) = self.render_on(lease, hold, r, queued).await;
        if result.is_err() && !lease.vanished() && hold.row.is_some() && self.pod_gone(hold).await {
            self.mark_vanished(lease, hold);
        }
        self.render_ended(lease, r, result, lease.vanished()).await;
    }

    /// Checks the lease's pod every `pod_check`; returns once it vanished.
    async fn watch_pod(&self, lease: &LeaseLive, hold: &Hold) {
        let every = self.engine.config.pod_check.max(Duration::from_millis(10));
        while !lease.vanished() {
            tokio::time::sleep(every).await;
            if self.pod_gone(hold).await {
                self.mark_vanished(lease, hold);
            }
        }
    }

    async fn pod_gone(&self, hold: &Hold) -> bool {
        let (Some(row), Ok(pods)) = (&hold.row, self.engine.pods()) else {
            return false;
        };
        matches!(
            pods.state(&row.pod_id).await,
            Ok(PodState::Gone | PodState::Broken)
        )
    }

    fn mark_vanished(&self, lease: &LeaseLive, hold: &Hold) {
        if lease.vanished.swap(true, Ordering::SeqCst) {
            return;
        }
        self.notify();
        let pod = hold.row.as_ref().map_or("", |r| r.pod_id.as_str());
        tracing::warn!(pod, "the lease's pod vanished");
        let st = self.lock();
        for id in lease.job_ids() {
            if let Some((_, live)) = st.renders.get(&id) {
                live.stop.stop(
                    StopReason::PodGone,
                    format!(
                        "Pod {pod} disappeared while the render ran (RunPod reclaimed or stopped it). Render again; nothing is left billing."
                    ),
                );
            }
        }
    }

    /// A render's steps returned: put back in the queue when its pod vanished under it (once),
    /// else finished.
    async fn render_ended(
        &self,
        lease: &LeaseLive,
        r: Render,
        result: Result<Vec<PathBuf>>,
        vanished: bool,
    ) {
        let user_stopped = self.control.token(r.id()).is_cancelled() || self.halt.is_cancelled();
        if vanished && result.is_err() && !user_stopped {
            let requeues = self.engine.journal.get(r.id()).map_or(0, |j| j.requeues);
            if requeues == 0 {
                lease.ended(self, r.id());
                return self.put_back(lease, r, true).await;
            }
            tracing::warn!(job = %r.id(), "its pod vanished a second time");
        }
        self.done_on_lease(lease, r, result).await;
    }

    /// Finishes a render that a lease took: its share of the pod ends now.
    pub async fn done_on_lease(&self, lease: &LeaseLive, r: Render, result: Result<Vec<PathBuf>>) {
        if let Some(end) = lease.ended(self, r.id()) {
            *r.live.cost_end_ms.lock().unwrap_or_else(|p| p.into_inner()) = Some(end);
        }
        {
            let mut st = self.lock();
            st.on_leases = st.on_leases.saturating_sub(1);
        }
        self.finish_render(r, result).await;
    }

    /// Puts a render back at the front of the queue (same job, stage `queued`, history kept).
    async fn put_back(&self, lease: &LeaseLive, r: Render, counted: bool) {
        lease.ended(self, r.id());
        let id = r.id().to_string();
        let from = r.ctx.stage();
        if let Err(e) = self.engine.journal.put_back(&id, counted) {
            tracing::error!(job = %id, error = %e.chain(), "could not put a render back");
            return self.done_on_lease(lease, r, Err(e)).await;
        }
        tracing::info!(job = %id, counted, "render put back in the queue");
        let Ok(job) = self.engine.journal.get(&id) else {
            return;
        };
        let ctx = Arc::new(Ctx::new(
            self.engine.journal.clone(),
            self.events.clone(),
            &id,
            job.stage,
            job.stage_started_ms,
            job.created_ms,
        ));
        let live = Arc::new(Live::new(self.control.token(&id)));
        ctx.emit(JobEvent::Stage {
            job_id: id.clone(),
            stage: Stage::Queued,
            previous: Some(from),
            previous_ms: 0,
            elapsed_ms: job.stage_started_ms - job.created_ms,
        });
        let back = Render::new(ctx.clone(), live.clone(), r.spec, r.inputs);
        let mut st = self.lock();
        st.on_leases = st.on_leases.saturating_sub(1);
        st.renders.insert(id, (ctx, live));
        st.ready.push_front(back);
        drop(st);
        self.notify();
    }

    /// Terminates (and confirms) a new pod, or hands a warm one back.
    async fn end_lease(&self, lease: &LeaseLive) {
        let Some(row) = lease.row() else { return };
        let ended = self.engine.end_lease_row(&row).await;
        match ended {
            Ok(()) => {
                let state = if row.warm {
                    LeaseState::Released
                } else {
                    LeaseState::Terminated
                };
                self.emit_lease(&row, state);
            }
            Err(e) => {
                tracing::error!(pod = %row.pod_id, error = %e.chain(), "lease not ended");
                self.lock().teardown_error.get_or_insert(e);
            }
        }
    }

    pub fn emit_lease(&self, row: &LeaseRow, state: LeaseState) {
        if let Some(batch_id) = self.owner.batch_id() {
            self.emit(JobEvent::Lease {
                batch_id: batch_id.to_string(),
                pod_id: row.pod_id.clone(),
                gpu_id: row.gpu_id.clone(),
                rate_usd_per_hour: row.rate_usd_per_hour,
                state,
            });
        }
    }
}

//! The scheduler: local preparation first (one render at a time), then up to `max_pods` leases
//! over the prepared renders, never more than the renders left. Everything runs inside the
//! caller's future, so dropping it or a panic cannot leave a task running on its own.

use super::lease::LeaseLive;
use super::render::Render;
use super::{BatchControl, Owner, copy_err};
use crate::ctx::Ctx;
use crate::engine::{Engine, JobOutcome, Live};
use crate::events::{EventSink, JobEvent};
use crate::record::JobRecord;
use crate::spec::Target;
use crate::stage::Stage;
use crate::unwind::catch_panic;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use studio_error::{Error, Result};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub(crate) type Chore<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// One run of a queue: a batch, or a lone render (a queue of one).
pub(crate) struct Queue<'e> {
    pub engine: &'e Engine,
    pub owner: Owner,
    pub control: BatchControl,
    pub events: EventSink,
    pub budget: Option<f64>,
    pub max_pods: u32,
    pub st: Mutex<QState>,
    /// Any change a lease or the scheduler waits for.
    pub wake: Notify,
    /// Fires when the budget is reached or everything is cancelled: nothing new starts and
    /// every lease ends.
    pub halt: CancellationToken,
    halt_reason: Mutex<Option<Error>>,
}

#[derive(Default)]
pub(crate) struct QState {
    pub to_prepare: VecDeque<JobRecord>,
    pub preparing: usize,
    /// Prepared renders waiting for a lease.
    pub ready: VecDeque<Render>,
    /// Renders on leases right now.
    pub on_leases: usize,
    pub leases: Vec<Arc<LeaseLive>>,
    /// Every render taken on and not yet ended (for a stop that must reach them all).
    pub renders: HashMap<String, (Arc<Ctx>, Arc<Live>)>,
    /// A pod that could not be started: no new lease is tried in this run.
    pub start_error: Option<Error>,
    pub outcomes: HashMap<String, Result<JobOutcome>>,
    /// A lease whose pod could not be terminated (it may still bill).
    pub teardown_error: Option<Error>,
}

impl<'e> Queue<'e> {
    pub fn new(
        engine: &'e Engine,
        owner: Owner,
        control: BatchControl,
        events: EventSink,
        budget: Option<f64>,
        max_pods: u32,
    ) -> Self {
        let halt = control.all().child_token();
        Self {
            engine,
            owner,
            control,
            events,
            budget,
            max_pods: max_pods.max(1),
            st: Mutex::new(QState::default()),
            wake: Notify::new(),
            halt,
            halt_reason: Mutex::new(None),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, QState> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn emit(&self, e: JobEvent) {
        crate::unwind::ignore_panic("an event sink", || (self.events)(e));
    }

    pub fn notify(&self) {
        self.wake.notify_waiters();
    }

    /// Stops everything for `reason` (the budget): every render's steps stop with it.
    pub fn halt_with(&self, reason: Error) {
        self.halt_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(reason);
        self.halt.cancel();
        self.notify();
    }

    /// Why nothing may start any more, if so.
    pub fn halted(&self) -> Option<Error> {
        if !self.halt.is_cancelled() {
            return None;
        }
        let reason = self.halt_reason.lock().unwrap_or_else(|p| p.into_inner());
        Some(reason.as_ref().map_or_else(crate::ctx::cancelled, copy_err))
    }

    /// Runs the queue until every render taken on has ended and every lease is over.
    pub async fn drive(&self, jobs: Vec<JobRecord>) {
        {
            let mut st = self.lock();
            st.to_prepare.extend(jobs);
        }
        let mut dropped = EndLeasesOnDrop(Some((self.engine.clone(), self.owner.label())));
        let result = catch_panic(self.schedule()).await;
        if let Err(e) = &result {
            tracing::error!(owner = %self.owner.label(), error = %e.chain(), "the queue stopped");
            self.halt_with(copy_err(e));
        }
        // Whatever a panic left: no lease of ours stays open, no render stays running.
        let mine = std::collections::HashSet::from([self.owner.label()]);
        if let Err(e) = self.engine.end_open_leases(Some(&mine)).await {
            self.lock().teardown_error.get_or_insert(e);
        }
        dropped.0 = None;
        self.settle_leftovers(result.err()).await;
    }

    async fn schedule(&self) -> Result<()> {
        let mut chores: FuturesUnordered<Chore<'_>> = FuturesUnordered::new();
        let mut leases: FuturesUnordered<Chore<'_>> = FuturesUnordered::new();
        let tick = self.engine.config.cost_tick.max(Duration::from_millis(10));
        let mut meter = tokio::time::interval(tick);
        meter.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.sweep(&mut chores);
            if let Some(job) = self.next_to_prepare() {
                let span = tracing::info_span!("prepare", job = %job.id);
                chores.push(Box::pin(self.prepare_one(job).instrument(span)));
            }
            while let Some(display) = self.next_lease() {
                let span = tracing::info_span!("lease", owner = %self.owner.label());
                leases.push(Box::pin(self.lease(display).instrument(span)));
            }
            if chores.is_empty() && leases.is_empty() && self.idle() {
                return Ok(());
            }
            tokio::select! {
                Some(()) = chores.next(), if !chores.is_empty() => {}
                Some(()) = leases.next(), if !leases.is_empty() => {}
                _ = meter.tick() => self.tick_cost(),
                _ = &mut woken => {}
                _ = self.control.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    fn idle(&self) -> bool {
        let st = self.lock();
        st.to_prepare.is_empty() && st.preparing == 0 && st.ready.is_empty()
    }

    fn next_to_prepare(&self) -> Option<JobRecord> {
        if self.halt.is_cancelled() {
            return None;
        }
        let mut st = self.lock();
        if st.preparing > 0 {
            return None;
        }
        let job = st.to_prepare.pop_front()?;
        st.preparing += 1;
        Some(job)
    }

    /// A new lease when renders wait and fewer than `max_pods` leases (and fewer than the
    /// renders left) hold pods.
    fn next_lease(&self) -> Option<Render> {
        if self.halt.is_cancelled() {
            return None;
        }
        let mut st = self.lock();
        let alive = st.leases.len();
        let left = st.ready.len() + st.on_leases;
        if st.ready.is_empty()
            || st.start_error.is_some()
            || alive >= (self.max_pods as usize).min(left)
        {
            return None;
        }
        // A server the user named (their ComfyUI, their pod) gets one lease: a second would
        // only put more than two renders in flight on it.
        let named = |t: &Target| !matches!(t, Target::NewPod { .. });
        // Pods on one model volume share its files: while a new pod may still be installing
        // and downloading onto it, a second one would write the same files. The next waits
        // until that one is ready, and then finds everything on the volume.
        let filling = self.engine.pods.as_ref().is_some_and(|p| p.shares_volume())
            && st.leases.iter().any(|l| !named(&l.target) && !l.is_ready());
        let i = st.ready.iter().position(|r| {
            let t = &r.spec.target;
            if named(t) {
                !st.leases.iter().any(|l| &l.target == t)
            } else {
                !filling
            }
        })?;
        let display = st.ready.remove(i)?;
        st.on_leases += 1;
        let lease = Arc::new(LeaseLive::new(display.spec.target.clone()));
        st.leases.push(lease.clone());
        drop(st);
        Some(display.on(lease))
    }

    /// More work may still reach a lease of `target`: ready, being prepared, or to prepare.
    pub fn more_may_come(&self, target: &Target) -> bool {
        if self.halt.is_cancelled() {
            return false;
        }
        let st = self.lock();
        st.preparing > 0
            || !st.to_prepare.is_empty()
            || st.ready.iter().any(|r| &r.spec.target == target)
    }

    /// The next prepared render a lease of `target` can run.
    pub fn take_ready(&self, target: &Target) -> Option<Render> {
        if self.halt.is_cancelled() {
            return None;
        }
        let mut st = self.lock();
        let i = st.ready.iter().position(|r| &r.spec.target == target)?;
        let r = st.ready.remove(i)?;
        st.on_leases += 1;
        Some(r)
    }

    /// Ends renders that must not run: cancelled, or the queue halted, or no pod can start.
    fn sweep<'s>(&'s self, chores: &mut FuturesUnordered<Chore<'s>>) {
        let halted = self.halted();
        let mut st = self.lock();
        let no_pod = (st.leases.is_empty())
            .then(|| st.start_error.as_ref().map(copy_err))
            .flatten();
        let mut keep = VecDeque::new();
        while let Some(job) = st.to_prepare.pop_front() {
            let token = self.control.token(&job.id);
            let why = if token.is_cancelled() {
                Some(crate::ctx::cancelled())
            } else {
                halted.as_ref().or(no_pod.as_ref()).map(copy_err)
            };
            match why {
                Some(e) => chores.push(Box::pin(self.end_queued(job, e))),
                None => keep.push_back(job),
            }
        }
        st.to_prepare = keep;
        let mut keep = VecDeque::new();
        while let Some(r) = st.ready.pop_front() {
            let why = r
                .live
                .stop
                .error()
                .or_else(|| halted.as_ref().or(no_pod.as_ref()).map(copy_err));
            match why {
                Some(e) => chores.push(Box::pin(self.finish_render(r, Err(e)))),
                None => keep.push_back(r),
            }
        }
        st.ready = keep;
    }

    async fn prepare_one(&self, job: JobRecord) {
        let ctx = Arc::new(Ctx::new(
            self.engine.journal.clone(),
            self.events.clone(),
            &job.id,
            job.stage,
            job.stage_started_ms,
            job.created_ms,
        ));
        let live = Arc::new(Live::new(self.control.token(&job.id)));
        self.lock()
            .renders
            .insert(job.id.clone(), (ctx.clone(), live.clone()));
        let prepared = catch_panic(self.engine.prepare(&ctx, &job.spec, &live)).await;
        let render = |inputs| Render::new(ctx.clone(), live.clone(), job.spec.clone(), inputs);
        match prepared {
            Ok(inputs) => self.lock().ready.push_back(render(inputs)),
            Err(e) => {
                let r = render(Default::default());
                self.finish_render(r, Err(e)).await;
            }
        }
        self.lock().preparing -= 1;
        self.notify();
    }

    /// Ends a render that never ran on a server, or whose steps returned.
    pub async fn finish_render(&self, r: Render, result: Result<Vec<std::path::PathBuf>>) {
        let id = r.ctx.id.clone();
        let outcome = self.engine.finish(&r.ctx, &r.live, result).await;
        if let Err(e) = &outcome {
            tracing::info!(job = %id, code = e.code(), "render ended without a result");
        }
        let mut st = self.lock();
        st.renders.remove(&id);
        st.outcomes.insert(id, outcome);
        drop(st);
        self.notify();
    }

    /// A render still `queued` leaves the queue: cancelled (removed) or failed with `err`.
    async fn end_queued(&self, job: JobRecord, err: Error) {
        let journal = &self.engine.journal;
        let cancelled = err.is(studio_error::codes::CANCELLED);
        let ended = if cancelled {
            journal.remove_queued(&job.id)
        } else {
            journal
                .set_error(&job.id, &err)
                .and_then(|()| journal.set_cost(&job.id, 0.0))
                .and_then(|()| journal.transition(&job.id, Stage::Queued, Stage::Failed))
        };
        if let Err(e) = ended {
            tracing::warn!(job = %job.id, error = %e.chain(), "could not end a queued render");
            return;
        }
        let stage = if cancelled {
            Stage::Cancelled
        } else {
            Stage::Failed
        };
        self.emit(JobEvent::Finished {
            job_id: job.id.clone(),
            stage,
            outputs: Vec::new(),
            cost_usd: 0.0,
            error: Some((&err).into()),
        });
        self.lock().outcomes.insert(job.id, Err(err));
    }

    /// After a panic in the queue itself: renders it had taken on end with that error.
    async fn settle_leftovers(&self, err: Option<Error>) {
        let left: Vec<_> = self.lock().renders.drain().collect();
        for (id, (ctx, live)) in left {
            let e = err
                .as_ref()
                .map(copy_err)
                .unwrap_or_else(|| Error::internal("the queue ended before this render"));
            let spec = match self.engine.journal.get(&id) {
                Ok(job) if !job.stage.is_terminal() => job.spec,
                _ => continue,
            };
            let r = Render::new(ctx, live, spec, Default::default());
            self.finish_render(r, Err(e)).await;
        }
    }
}

/// A queue whose future is dropped mid-way (its task aborted, the window that awaited it
/// gone) runs no more code of its own: this ends its leases' pods from a new task. Its renders
/// stay unfinished in the journal for recovery to settle.
struct EndLeasesOnDrop(Option<(Engine, String)>);

impl Drop for EndLeasesOnDrop {
    fn drop(&mut self) {
        let Some((engine, owner)) = self.0.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                owner,
                "queue dropped outside a runtime: its pods end at next start"
            );
            return;
        };
        tracing::warn!(owner, "queue dropped mid-way: ending its leases");
        runtime.spawn(async move {
            let mine = std::collections::HashSet::from([owner]);
            if let Err(e) = engine.end_open_leases(Some(&mine)).await {
                tracing::error!(error = %e.chain(), "leases of a dropped queue not ended");
            }
        });
    }
}

//! How a lease gets its server: the user's own ComfyUI, a pod the user named, an idle pod the
//! user started by hand, or else a new pod. A new pod's readiness is the pods crate's alone;
//! a server nothing boots on gets the short check.

use super::journal::LeaseRow;
use super::lease::{Hold, LeaseLive};
use super::render::Render;
use super::scheduler::Queue;
use crate::backend::{CreatedPod, PodProgress};
use crate::events::{JobEvent, LeaseState};
use crate::journal::now_ms;
use crate::spec::Target;
use crate::stage::Stage;
use std::sync::{Mutex, MutexGuard};
use studio_error::{Error, Result};

type Slot = Mutex<Option<Render>>;

fn slot(s: &Slot) -> MutexGuard<'_, Option<Render>> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// The context, stop and manifest of the render a lease is acquired for.
fn first_render(
    display: &Slot,
) -> Result<(
    std::sync::Arc<crate::ctx::Ctx>,
    std::sync::Arc<crate::engine::Live>,
    std::path::PathBuf,
)> {
    let d = slot(display);
    let d = d
        .as_ref()
        .ok_or_else(|| Error::internal("a lease without a render"))?;
    Ok((d.ctx.clone(), d.live.clone(), d.spec.manifest.clone()))
}

impl Queue<'_> {
    /// The server for `lease`, shown on the render in `display` (its first render).
    pub async fn acquire(&self, lease: &LeaseLive, display: &Slot) -> Result<Hold> {
        let (ctx, live, manifest) = first_render(display)?;
        match &lease.target {
            Target::ComfyUrl { url } => {
                let server = self.engine.servers.connect(url, &manifest)?;
                self.engine.wait_ready(&ctx, server.as_ref(), &live).await?;
                Ok(Hold {
                    row: None,
                    url: url.clone(),
                })
            }
            Target::WarmPod { pod_id } => {
                ctx.enter(Stage::StartingPod)?;
                let p = self.engine.describe_warm(pod_id, &live).await?;
                let pods = self.engine.pods()?;
                pods.set_owner(pod_id, Some(&self.owner.label()))?;
                let hold = self.hold_warm(lease, &p, display).await;
                if hold.is_err() {
                    let row = lease.row();
                    self.engine.release_warm_pod(pod_id, row.as_ref()).await;
                    lease.set_row(None);
                }
                hold
            }
            Target::NewPod { gpu_ids } => {
                ctx.enter(Stage::StartingPod)?;
                if let Some(hold) = self.take_warm(lease, display).await? {
                    return Ok(hold);
                }
                self.start_new(lease, display, gpu_ids).await
            }
        }
    }

    /// A pod the user started by hand, idle and ready, instead of a new one.
    async fn take_warm(&self, lease: &LeaseLive, display: &Slot) -> Result<Option<Hold>> {
        let pods = self.engine.pods()?;
        let warm = match pods.warm_pods().await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e.chain(), "warm pods unknown; starting a new one");
                return Ok(None);
            }
        };
        let leased = self.engine.journal.open_leases()?;
        for p in warm {
            if leased.iter().any(|l| l.pod_id == p.pod_id)
                || !pods.claim_warm(&p.pod_id, &self.owner.label())?
            {
                continue;
            }
            tracing::info!(pod = %p.pod_id, "taking a warm pod");
            match self.hold_warm(lease, &p, display).await {
                Ok(hold) => return Ok(Some(hold)),
                Err(e) => {
                    let row = lease.row();
                    self.engine.release_warm_pod(&p.pod_id, row.as_ref()).await;
                    lease.set_row(None);
                    let stopped = slot(display).as_ref().and_then(|d| d.live.stop.error());
                    if stopped.is_some() {
                        return Err(e);
                    }
                    tracing::warn!(pod = %p.pod_id, error = %e.chain(), "warm pod not usable");
                }
            }
        }
        Ok(None)
    }

    /// Journals the lease of a pod the user started and checks its ComfyUI (short wait).
    async fn hold_warm(&self, lease: &LeaseLive, p: &CreatedPod, display: &Slot) -> Result<Hold> {
        let row = self.lease_row(p, true);
        self.engine.journal.open_lease(&row)?;
        lease.set_row(Some(row.clone()));
        let pods = self.engine.pods()?;
        let url = pods.comfy_url(&p.pod_id)?;
        let (ctx, live, manifest) = first_render(display)?;
        self.engine.record_pod(&ctx, p, false, row.started_ms)?;
        let server = self.engine.servers.connect(&url, &manifest)?;
        self.engine.wait_ready(&ctx, server.as_ref(), &live).await?;
        self.emit_lease(&row, LeaseState::Ready);
        Ok(Hold {
            row: Some(row),
            url,
        })
    }

    fn lease_row(&self, p: &CreatedPod, warm: bool) -> LeaseRow {
        LeaseRow {
            id: uuid::Uuid::new_v4().to_string(),
            owner: self.owner.label(),
            batch_id: self.owner.batch_id().map(str::to_string),
            pod_id: p.pod_id.clone(),
            gpu_id: p.gpu_id.clone(),
            rate_usd_per_hour: p.rate_usd_per_hour,
            warm,
            started_ms: now_ms(),
            ended_ms: None,
        }
    }

    /// Starts a new pod. Its stages show on the display render; if that render is cancelled
    /// meanwhile, the next waiting one takes its place, and with none left the start stops
    /// (the provider terminates what it made).
    async fn start_new(
        &self,
        lease: &LeaseLive,
        display: &Slot,
        gpu_ids: &[String],
    ) -> Result<Hold> {
        let pods = self.engine.pods()?.clone();
        let manifest = slot(display)
            .as_ref()
            .map(|d| d.spec.manifest.clone())
            .unwrap_or_default();
        let token = self.halt.child_token();
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let on = |p: PodProgress| {
            if let Err(e) = self.on_pod_progress(lease, display, p) {
                failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
            }
        };
        let label = self.owner.label();
        let start = pods.start(&label, gpu_ids, &manifest, &on, &token);
        tokio::pin!(start);
        let started = loop {
            let shown = slot(display).as_ref().map(|d| d.live.stop.token.clone());
            let shown_stopped = async move {
                match shown {
                    Some(t) => t.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = &mut start => break r,
                _ = shown_stopped => self.replace_display(lease, display, &token).await,
            }
        };
        let started = started?;
        if lease.row().is_none() {
            // RunPod's create answer never came through `Created`: journal the lease now, or
            // end the pod, which nothing would otherwise end.
            let created = PodProgress::Created(started.pod.clone());
            if let Err(e) = self.on_pod_progress(lease, display, created) {
                let _ = pods.terminate(&started.pod.pod_id).await;
                return Err(e);
            }
        }
        let failed = failed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(d) = slot(display).as_ref() {
            for to in [Stage::WaitingForComfy, Stage::WaitingForModels] {
                if d.ctx.stage() < to {
                    d.ctx.enter(to)?;
                }
            }
        }
        let row = lease
            .row()
            .ok_or_else(|| Error::internal("a started pod without its lease"))?;
        self.emit_lease(&row, LeaseState::Ready);
        Ok(Hold {
            row: Some(row),
            url: started.comfy_url,
        })
    }

    async fn replace_display(
        &self,
        lease: &LeaseLive,
        display: &Slot,
        token: &tokio_util::sync::CancellationToken,
    ) {
        let gone = slot(display).take();
        if let Some(d) = gone {
            let e = d.live.stop.error().unwrap_or_else(crate::ctx::cancelled);
            self.done_on_lease(lease, d, Err(e)).await;
        }
        match self.take_ready(&lease.target) {
            Some(next) => {
                let shown = next
                    .ctx
                    .enter(Stage::StartingPod)
                    .and_then(|()| match lease.row() {
                        Some(row) => self
                            .engine
                            .record_pod(&next.ctx, &row.created_pod(), false, row.started_ms)
                            .map(|_| lease.became_head_if_first(self, next.id())),
                        None => Ok(()),
                    });
                if let Err(e) = shown {
                    tracing::warn!(job = %next.id(), error = %e.chain(), "could not show the pod start");
                }
                *slot(display) = Some(next);
            }
            None if !self.more_may_come(&lease.target) => token.cancel(),
            None => {}
        }
    }

    fn on_pod_progress(&self, lease: &LeaseLive, display: &Slot, p: PodProgress) -> Result<()> {
        let d = slot(display);
        match p {
            // Journaled the moment RunPod accepts the pod: a crash from here on leaves a lease
            // that recovery ends.
            PodProgress::Created(created) => {
                if lease.row().is_some() {
                    return Ok(());
                }
                let row = self.lease_row(&created, false);
                self.engine.journal.open_lease(&row)?;
                lease.set_row(Some(row.clone()));
                self.emit_lease(&row, LeaseState::Starting);
                if let Some(d) = d.as_ref() {
                    self.engine
                        .record_pod(&d.ctx, &created, false, row.started_ms)?;
                    lease.became_head_if_first(self, d.id());
                }
                Ok(())
            }
            PodProgress::Stage(
                to @ (Stage::InstallingSoftware
                | Stage::DownloadingModels
                | Stage::WaitingForComfy
                | Stage::WaitingForModels),
            ) => match d.as_ref() {
                Some(d) if d.ctx.stage() < to => d.ctx.enter(to),
                _ => Ok(()),
            },
            PodProgress::Stage(_) => Ok(()),
            PodProgress::Setup(setup) => {
                if let Some(d) = d.as_ref() {
                    d.ctx.emit(JobEvent::PodSetup {
                        job_id: d.ctx.id.clone(),
                        message: setup.message,
                        done_bytes: setup.done_bytes,
                        total_bytes: setup.total_bytes,
                    });
                }
                Ok(())
            }
        }
    }
}

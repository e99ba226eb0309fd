//! One prepared render as the queue moves it: waiting for a lease, then on a lease's server.

use super::lease::{Hold, LeaseLive};
use super::scheduler::Queue;
use crate::backend::PreparedInputs;
use crate::ctx::Ctx;
use crate::engine::Live;
use crate::spec::JobSpec;
use crate::unwind::catch_panic;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use studio_error::Result;

pub(crate) struct Render {
    pub ctx: Arc<Ctx>,
    pub live: Arc<Live>,
    pub spec: JobSpec,
    pub inputs: PreparedInputs,
    /// The lease that took it first (the one whose pod start it shows).
    pub lease: Option<Arc<LeaseLive>>,
}

impl Render {
    pub fn new(ctx: Arc<Ctx>, live: Arc<Live>, spec: JobSpec, inputs: PreparedInputs) -> Self {
        Self {
            ctx,
            live,
            spec,
            inputs,
            lease: None,
        }
    }

    pub fn on(mut self, lease: Arc<LeaseLive>) -> Self {
        self.lease = Some(lease);
        self
    }

    pub fn id(&self) -> &str {
        &self.ctx.id
    }
}

impl Queue<'_> {
    /// Runs `r` on the lease's server. `queued` is set (and the lease woken) once its prompt
    /// sits in ComfyUI's queue, or once it ended without getting there.
    pub async fn render_on(
        &self,
        lease: &LeaseLive,
        hold: &Hold,
        r: Render,
        queued: Arc<AtomicBool>,
    ) -> (Render, Result<Vec<PathBuf>>) {
        let engine = self.engine;
        let result = catch_panic(async {
            if let Some(row) = &hold.row {
                engine.record_pod(&r.ctx, &row.created_pod(), false, row.started_ms)?;
            }
            lease.became_head_if_first(self, r.id());
            engine.journal.set_comfy_url(r.id(), &hold.url)?;
            let server = engine.servers.connect(&hold.url, &r.spec.manifest)?;
            r.live.set_server(server.clone());
            let on_queued = || {
                queued.store(true, Ordering::SeqCst);
                self.notify();
            };
            engine
                .on_server(
                    &r.ctx,
                    &r.spec,
                    &r.inputs,
                    server.as_ref(),
                    &r.live,
                    &on_queued,
                )
                .await
        })
        .await;
        queued.store(true, Ordering::SeqCst);
        self.notify();
        (r, result)
    }
}

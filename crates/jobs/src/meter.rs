//! The live cost meter: computed locally from the rate captured at create, since RunPod's own
//! cost fields have read 0. It also enforces the budget cap and notices a pod that vanished.

use crate::backend::{PodProvider, PodState};
use crate::ctx::{AbortOnDrop, Stop, StopReason};
use crate::estimate::cost_for;
use crate::events::{EventSink, JobEvent};
use crate::journal::now_ms;
use crate::record::PodInfo;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct MeterArgs {
    pub job_id: String,
    pub events: EventSink,
    pub pod: PodInfo,
    pub budget_usd: Option<f64>,
    pub tick: Duration,
    pub pod_check: Duration,
    pub pods: Arc<dyn PodProvider>,
    pub stop: Arc<Stop>,
}

pub(crate) fn start(a: MeterArgs) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut last_check = tokio::time::Instant::now();
        loop {
            let usd = tick(&a);
            if let Some(budget) = a.budget_usd.filter(|b| usd >= *b) {
                tracing::warn!(job = %a.job_id, usd, budget, "budget cap reached");
                a.stop.stop(
                    StopReason::Budget,
                    format!(
                        "The render reached its budget of ${budget:.2} and was stopped; the pod was terminated. Raise the budget or render fewer frames."
                    ),
                );
                return;
            }
            if last_check.elapsed() >= a.pod_check {
                last_check = tokio::time::Instant::now();
                if let Ok(PodState::Gone | PodState::Broken) = a.pods.state(&a.pod.pod_id).await {
                    a.stop.stop(
                        StopReason::PodGone,
                        format!(
                            "Pod {} disappeared while the render ran (RunPod reclaimed or stopped it). Render again; nothing is left billing.",
                            a.pod.pod_id
                        ),
                    );
                    return;
                }
            }
            tokio::time::sleep(a.tick).await;
        }
    }))
}

fn tick(a: &MeterArgs) -> f64 {
    let elapsed_secs = (now_ms() - a.pod.created_ms) as f64 / 1000.0;
    let usd = cost_for(a.pod.rate_usd_per_hour, elapsed_secs);
    crate::unwind::ignore_panic("an event sink", || {
        (a.events)(JobEvent::Cost {
            job_id: a.job_id.clone(),
            usd,
            rate_usd_per_hour: a.pod.rate_usd_per_hour,
            elapsed_secs,
        })
    });
    usd
}

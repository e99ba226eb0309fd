//! Renders are batches (a single render is a batch of one); the queue and its rules live in
//! `studio_app::batch` and `studio_jobs::batch`.

use crate::state::AppState;
use std::sync::Arc;
use studio_app::{BatchPlan, BatchRequest, QueueItem};
use studio_error::Result;
use studio_jobs::{BatchOutcome, EventSink, JobEvent};
use tauri::ipc::Channel;

fn sink(channel: Channel<JobEvent>) -> EventSink {
    Arc::new(move |e: JobEvent| {
        let _ = channel.send(e);
    })
}

/// Every photo with every video, priced; the plan stays in the engine until started by its id.
#[tauri::command]
pub async fn plan_batch(
    state: tauri::State<'_, AppState>,
    request: BatchRequest,
) -> Result<BatchPlan> {
    state.studio.plan_batch_for_window(request).await
}

/// Runs a planned batch to its end, streaming every event of every render and of the batch.
#[tauri::command]
pub async fn start_batch(
    state: tauri::State<'_, AppState>,
    plan_id: String,
    confirmed: bool,
    on_event: Channel<JobEvent>,
) -> Result<BatchOutcome> {
    state
        .studio
        .start_planned_batch(&plan_id, confirmed, sink(on_event))
        .await
}

#[tauri::command]
pub async fn render_queue(state: tauri::State<'_, AppState>) -> Result<Vec<QueueItem>> {
    state.studio.queue().await
}

/// Running: cancelled; queued: removed from its batch.
#[tauri::command]
pub fn cancel_render(state: tauri::State<'_, AppState>, job_id: String) -> Result<()> {
    state.studio.cancel_render(&job_id)
}

#[tauri::command]
pub fn cancel_batch(state: tauri::State<'_, AppState>, batch_id: String) -> Result<()> {
    state.studio.cancel_batch(&batch_id)
}

/// Runs the renders a restart left queued in that batch.
#[tauri::command]
pub async fn resume_batch(
    state: tauri::State<'_, AppState>,
    batch_id: String,
    on_event: Channel<JobEvent>,
) -> Result<BatchOutcome> {
    state.studio.resume_batch(&batch_id, sink(on_event)).await
}

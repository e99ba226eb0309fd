use crate::state::AppState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use studio_app::{RenderOptions, RenderPlan};
use studio_error::Result;
use studio_jobs::JobEvent;
use tauri::ipc::Channel;

/// The plan stays in the engine; the window gets its id, the price and what it will run.
#[tauri::command]
pub async fn plan_render(
    state: tauri::State<'_, AppState>,
    image: PathBuf,
    video: PathBuf,
    options: RenderOptions,
    params: BTreeMap<String, serde_json::Value>,
) -> Result<RenderPlan> {
    state.studio.plan(image, video, options, params).await
}

/// Runs a planned render to its end, streaming every event; returns the job id.
#[tauri::command]
pub async fn start_render(
    state: tauri::State<'_, AppState>,
    plan_id: String,
    confirmed: bool,
    on_event: Channel<JobEvent>,
) -> Result<String> {
    let sink = Arc::new(move |e: JobEvent| {
        let _ = on_event.send(e);
    });
    let outcome = state
        .studio
        .start_planned(&plan_id, confirmed, sink)
        .await?;
    Ok(outcome.job.id)
}

#[tauri::command]
pub fn cancel_render(state: tauri::State<'_, AppState>, job_id: String) -> Result<()> {
    state.studio.cancel(&job_id)
}

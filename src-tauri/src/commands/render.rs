use crate::state::AppState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use studio_app::{RenderOptions, RenderPlan};
use studio_error::Result;
use studio_jobs::{Estimate, JobEvent, JobSpec};
use tauri::ipc::Channel;

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

/// Runs the render to its end, streaming every event; returns the job id.
#[tauri::command]
pub async fn start_render(
    app: tauri::AppHandle,
    state: tauri::State<'_, AppState>,
    spec: JobSpec,
    estimate: Option<Estimate>,
    on_event: Channel<JobEvent>,
) -> Result<String> {
    super::assets::allow(&app, &spec.out_dir);
    let sink = Arc::new(move |e: JobEvent| {
        let _ = on_event.send(e);
    });
    let outcome = state.studio.render(spec, estimate, sink, |_| {}).await?;
    Ok(outcome.job.id)
}

#[tauri::command]
pub fn cancel_render(state: tauri::State<'_, AppState>, job_id: String) -> Result<()> {
    state.studio.cancel(&job_id)
}

use crate::state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use studio_app::{DownloadProgress, PoseModelsStatus, PreviewEvent, PreviewSummary};
use studio_error::Result;
use tauri::ipc::Channel;

#[tauri::command]
pub fn pose_models_status(state: tauri::State<'_, AppState>) -> PoseModelsStatus {
    state.studio.pose_models_status()
}

#[tauri::command]
pub async fn pose_models_download(
    state: tauri::State<'_, AppState>,
    on_progress: Channel<DownloadProgress>,
) -> Result<PoseModelsStatus> {
    let send = move |p: DownloadProgress| {
        let _ = on_progress.send(p);
    };
    state.studio.download_pose_models(send).await
}

#[tauri::command]
pub fn pose_models_cancel_download(state: tauri::State<'_, AppState>) -> bool {
    state.studio.cancel_pose_download()
}

/// Runs the preview to its end (or until cancelled or replaced), streaming every frame.
#[tauri::command]
pub async fn pose_preview(
    state: tauri::State<'_, AppState>,
    video: PathBuf,
    on_event: Channel<PreviewEvent>,
) -> Result<PreviewSummary> {
    let sink = Arc::new(move |e: PreviewEvent| {
        let _ = on_event.send(e);
    });
    state.studio.pose_preview(video, sink).await
}

#[tauri::command]
pub fn pose_preview_cancel(state: tauri::State<'_, AppState>) -> bool {
    state.studio.cancel_pose_preview()
}

/// A file is being dragged over the window: read the models now, the preview follows.
#[tauri::command]
pub async fn pose_warm_up(state: tauri::State<'_, AppState>) -> Result<()> {
    state.studio.warm_pose_models();
    Ok(())
}

use crate::state::AppState;
use studio_app::ModelCacheStatus;
use studio_error::Result;
use tauri::AppHandle;

#[tauri::command]
pub async fn model_cache_status(state: tauri::State<'_, AppState>) -> Result<ModelCacheStatus> {
    state.studio.model_cache_status().await
}

/// Settings are stored through the same store as the preferences form, so the two never race
/// on the file in different ways.
#[tauri::command]
#[tracing::instrument(skip(app, state))]
pub async fn keep_models(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    enable: bool,
) -> Result<ModelCacheStatus> {
    let state = state.inner();
    state
        .studio
        .keep_models(enable, |s| super::settings::persist(&app, state, s))
        .await
}

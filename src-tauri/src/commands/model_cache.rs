use crate::state::AppState;
use studio_app::ModelCacheStatus;
use studio_error::Result;

#[tauri::command]
pub async fn model_cache_status(state: tauri::State<'_, AppState>) -> Result<ModelCacheStatus> {
    state.studio.model_cache_status().await
}

#[tauri::command]
#[tracing::instrument(skip(state))]
pub async fn keep_models(
    state: tauri::State<'_, AppState>,
    enable: bool,
) -> Result<ModelCacheStatus> {
    let dir = state.studio.data_dir().to_path_buf();
    state.studio.keep_models(enable, |s| s.save(&dir)).await
}

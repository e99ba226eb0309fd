use crate::state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use studio_app::Studio;
use studio_error::Result;
use tauri::Manager;

/// The engine decides which output files the window may open; each one, and nothing beside it,
/// is opened to the `asset:` protocol here.
pub fn grant_outputs_to_asset_protocol(app: &tauri::AppHandle, studio: &Studio) {
    let app = app.clone();
    studio.on_output_granted(Arc::new(move |file| {
        if let Err(e) = app.asset_protocol_scope().allow_file(file) {
            tracing::warn!(file = %file.display(), "asset scope: {e}");
        }
    }));
}

/// Where the window's `<video>` should load `path` from; `None` means the `asset:` URL works.
/// WebKitGTK cannot play video from a custom scheme, so on Linux it comes over loopback HTTP.
#[tauri::command]
pub async fn video_url(state: tauri::State<'_, AppState>, path: PathBuf) -> Result<Option<String>> {
    if cfg!(target_os = "linux") {
        state.studio.video_url(&path).await.map(Some)
    } else {
        Ok(None)
    }
}

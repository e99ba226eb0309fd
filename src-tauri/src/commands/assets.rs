use crate::state::AppState;
use std::path::{Path, PathBuf};
use studio_error::Result;
use tauri::Manager;

/// Lets the window play videos from `dir` (the output folder) and nowhere else.
pub fn allow(app: &tauri::AppHandle, dir: &Path) {
    if let Err(e) = app.asset_protocol_scope().allow_directory(dir, true) {
        tracing::warn!(dir = %dir.display(), "asset scope: {e}");
    }
    app.state::<AppState>().studio.allow_video_dir(dir);
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

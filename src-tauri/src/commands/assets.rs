use std::path::Path;
use tauri::Manager;

/// Lets the window play videos from `dir` (the output folder) and nowhere else.
pub fn allow(app: &tauri::AppHandle, dir: &Path) {
    if let Err(e) = app.asset_protocol_scope().allow_directory(dir, true) {
        tracing::warn!(dir = %dir.display(), "asset scope: {e}");
    }
}

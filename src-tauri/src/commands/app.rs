use crate::state::AppState;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    version: &'static str,
    data_dir: String,
    /// Renders go to the built-in stand-ins (`--demo`, or chosen in Settings).
    demo: bool,
}

#[tauri::command]
pub fn app_info(state: tauri::State<'_, AppState>) -> AppInfo {
    let settings = state.studio.settings().unwrap_or_default();
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        data_dir: state.data_dir.display().to_string(),
        demo: state.studio.is_demo(&settings),
    }
}

/// Renders a crash interrupted and how each was settled; waits for start-up recovery to end.
#[tauri::command]
pub async fn startup_report(
    state: tauri::State<'_, AppState>,
) -> studio_error::Result<Vec<studio_jobs::Recovered>> {
    Ok(state.studio.startup_report().await)
}

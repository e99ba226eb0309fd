use crate::state::AppState;
use serde::Serialize;
use studio_core::settings::Settings;
use studio_error::Result;
use tauri::AppHandle;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    settings: Settings,
    defaults: Settings,
    /// The folder renders go to when none is chosen.
    default_output_dir: String,
}

fn view(state: &AppState, settings: Settings) -> SettingsView {
    SettingsView {
        default_output_dir: studio_core::paths::default_output_dir(&state.data_dir)
            .display()
            .to_string(),
        settings,
        defaults: Settings::default(),
    }
}

/// Written in one step (temp file, fsync, rename; see `studio_core::atomic_file`): a crash
/// mid-save never leaves a torn file for the next start or the crash guard. (The store plugin
/// wrote in place.) `_app` keeps the callers unchanged.
pub(crate) fn persist(_app: &AppHandle, state: &AppState, settings: &Settings) -> Result<()> {
    settings.save(&state.data_dir)
}

/// The model volume changes only through `keep_models`: a form holding an older copy, or
/// restored defaults, must not lose track of a volume that bills until it is deleted.
fn keep_volume(state: &AppState, mut settings: Settings) -> Settings {
    if let Ok(current) = Settings::load(&state.data_dir) {
        settings.network_volume_id = current.network_volume_id;
        settings.network_volume_data_center = current.network_volume_data_center;
    }
    settings
}

#[tauri::command]
pub fn get_settings(state: tauri::State<'_, AppState>) -> Result<SettingsView> {
    Ok(view(&state, Settings::load(&state.data_dir)?))
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn save_settings(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    settings: Settings,
) -> Result<SettingsView> {
    let settings = keep_volume(&state, settings.validated()?);
    persist(&app, &state, &settings)?;
    tracing::info!("settings saved");
    Ok(view(&state, settings))
}

#[tauri::command]
pub fn restore_default_settings(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
) -> Result<SettingsView> {
    let settings = keep_volume(&state, Settings::default());
    persist(&app, &state, &settings)?;
    Ok(view(&state, settings))
}

use crate::state::AppState;
use serde::Serialize;
use studio_core::settings::Settings;
use studio_error::Result;

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

#[tauri::command]
pub fn get_settings(state: tauri::State<'_, AppState>) -> Result<SettingsView> {
    Ok(view(&state, Settings::load(&state.data_dir)?))
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn save_settings(
    state: tauri::State<'_, AppState>,
    settings: Settings,
) -> Result<SettingsView> {
    let settings = state.studio.save_settings(settings)?;
    tracing::info!("settings saved");
    Ok(view(&state, settings))
}

#[tauri::command]
pub fn restore_default_settings(state: tauri::State<'_, AppState>) -> Result<SettingsView> {
    let settings = state.studio.save_settings(Settings::default())?;
    Ok(view(&state, settings))
}

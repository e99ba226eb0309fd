use crate::state::AppState;
use studio_core::secrets::{self, KeyStatus};
use studio_error::Result;

#[tauri::command]
pub async fn get_key_status() -> Result<KeyStatus> {
    super::blocking(secrets::key_status).await
}

/// The key crosses the IPC bridge once, on entry; it is checked with RunPod before it is
/// stored, and from then on only its last four characters travel.
#[tauri::command]
pub async fn save_api_key(state: tauri::State<'_, AppState>, key: String) -> Result<KeyStatus> {
    let key = secrets::parse_api_key(&key)?;
    state.studio.validate_key(&key).await?;
    super::blocking(move || {
        secrets::save_api_key(&key)?;
        secrets::key_status()
    })
    .await
}

#[tauri::command]
pub async fn remove_api_key() -> Result<KeyStatus> {
    super::blocking(|| {
        secrets::delete_api_key()?;
        secrets::key_status()
    })
    .await
}

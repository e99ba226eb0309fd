use crate::state::AppState;
use base64::Engine;
use serde::Serialize;
use std::path::PathBuf;
use studio_error::Result;
use studio_jobs::GalleryEntry;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryItem {
    #[serde(flatten)]
    entry: GalleryEntry,
    /// The first frame as a `data:` URL, so thumbnails need no file access.
    thumbnail_data: Option<String>,
}

fn data_url(path: &Option<PathBuf>) -> Option<String> {
    let bytes = std::fs::read(path.as_ref()?).ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[tauri::command]
pub async fn gallery_list(state: tauri::State<'_, AppState>) -> Result<Vec<GalleryItem>> {
    let entries = state.studio.gallery_for_window().await?;
    Ok(entries
        .into_iter()
        .map(|entry| GalleryItem {
            thumbnail_data: data_url(&entry.thumbnail),
            entry,
        })
        .collect())
}

#[tauri::command]
pub async fn gallery_delete(
    state: tauri::State<'_, AppState>,
    id: String,
    delete_files: bool,
) -> Result<()> {
    state.studio.gallery_delete(&id, delete_files).await
}

#[tauri::command]
pub fn reveal_file(state: tauri::State<'_, AppState>, path: PathBuf) -> Result<()> {
    let path = state.studio.granted_output(&path)?;
    tauri_plugin_opener::reveal_item_in_dir(&path).map_err(|e| {
        studio_error::Error::new(
            "app.reveal_failed",
            format!(
                "The folder could not be opened. The file is at {}.",
                path.display()
            ),
        )
        .with_source(e)
    })
}

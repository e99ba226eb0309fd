use crate::state::AppState;
use base64::Engine;
use serde::Serialize;
use std::path::PathBuf;
use studio_error::{Error, Result};
use studio_media::MediaFacts;
use tauri_plugin_dialog::DialogExt;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbedFile {
    facts: MediaFacts,
    /// A `data:` URL, so the UI needs no file access to show it.
    thumbnail: Option<String>,
}

/// The file dialog opens from here rather than from the page, so the engine knows the paths it
/// returns were chosen by the user.
#[tauri::command]
pub async fn pick_media_files(
    app: tauri::AppHandle,
    state: tauri::State<'_, AppState>,
) -> Result<Vec<PathBuf>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Choose photos and dance videos")
        .add_filter("Photos and videos", studio_app::window::MEDIA_EXTENSIONS)
        .pick_files(move |files| {
            let _ = tx.send(files);
        });
    let files = rx.await.map_err(|_| {
        Error::new(
            "app.dialog_failed",
            "The file dialog closed unexpectedly. Try again, or drop the files on the window.",
        )
    })?;
    let paths: Vec<PathBuf> = files
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.into_path().ok())
        .collect();
    state.studio.user_chose(&paths);
    Ok(paths)
}

#[tauri::command]
#[tracing::instrument(skip(state))]
pub async fn probe_media(state: tauri::State<'_, AppState>, path: PathBuf) -> Result<ProbedFile> {
    let path = state.studio.chosen_input(&path)?;
    super::blocking(move || {
        let facts = studio_media::probe(&path)?;
        let thumbnail = studio_media::thumbnail_jpeg(&path, 320)
            .map_err(|e| tracing::warn!("no thumbnail: {}", e.chain()))
            .ok()
            .map(|jpeg| {
                format!(
                    "data:image/jpeg;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(jpeg)
                )
            });
        Ok(ProbedFile { facts, thumbnail })
    })
    .await
}

/// Findings about the photo and the video together that neither file shows on its own
/// (for instance a portrait photo with a landscape dance).
#[tauri::command]
#[tracing::instrument(skip(state))]
pub async fn check_pair(
    state: tauri::State<'_, AppState>,
    photo: PathBuf,
    video: PathBuf,
) -> Result<Vec<studio_media::Check>> {
    let photo = state.studio.chosen_input(&photo)?;
    let video = state.studio.chosen_input(&video)?;
    super::blocking(move || {
        let (photo, video) = (studio_media::probe(&photo)?, studio_media::probe(&video)?);
        let shown: Vec<_> = photo.checks.iter().chain(&video.checks).collect();
        Ok(
            studio_media::check_inputs(&photo, &video, &studio_media::Limits::default())
                .into_iter()
                .filter(|c| !shown.contains(&c))
                .collect(),
        )
    })
    .await
}

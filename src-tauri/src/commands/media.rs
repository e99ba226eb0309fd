use base64::Engine;
use serde::Serialize;
use std::path::PathBuf;
use studio_error::Result;
use studio_media::MediaFacts;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbedFile {
    facts: MediaFacts,
    /// A `data:` URL, so the UI needs no file access to show it.
    thumbnail: Option<String>,
}

#[tauri::command]
#[tracing::instrument]
pub async fn probe_media(path: PathBuf) -> Result<ProbedFile> {
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
#[tracing::instrument]
pub async fn check_pair(photo: PathBuf, video: PathBuf) -> Result<Vec<studio_media::Check>> {
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

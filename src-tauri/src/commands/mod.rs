//! Tauri commands. Each forwards into `crates/`; errors reach the UI as `{code, message}`.

pub mod app;
pub mod assets;
pub mod gallery;
pub mod media;
pub mod model_cache;
pub mod pods;
pub mod pose;
pub mod render;
pub mod secrets;
pub mod settings;

use studio_error::{Error, Result};

/// Runs blocking engine work (FFmpeg, the keychain) off the UI thread.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("A background task stopped unexpectedly: {e}")))?
}

//! Streamed upload of an input file to `/upload/image` (ComfyUI takes videos on the same route).
//! The file is read from disk in chunks as the request goes out, never held whole in memory.

use crate::client::{ComfyClient, check_status, read_json, transport_error};
use crate::errors::{BAD_RESPONSE, UPLOAD_TOO_LARGE};
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};
use std::path::Path;
use studio_error::{Error, Result};
use tokio_util::io::ReaderStream;

// Large reads: each one is a hop to the blocking pool.
const CHUNK: usize = 1024 * 1024;

/// Where the server stored an upload. Use `name`: ComfyUI renames duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    pub name: String,
    #[serde(default)]
    pub subfolder: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl UploadedFile {
    /// The value a loader node expects: `subfolder/name` when a subfolder is used.
    pub fn reference(&self) -> String {
        if self.subfolder.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.subfolder, self.name)
        }
    }
}

impl ComfyClient {
    /// Refuses a file over the server's upload limit without sending anything.
    pub fn check_upload_size(&self, path: &Path) -> Result<()> {
        let total = std::fs::metadata(path)
            .map_err(|e| Error::io(&format!("read the size of {}", path.display()), e))?
            .len();
        self.size_fits(path, total)
    }

    fn size_fits(&self, path: &Path, total: u64) -> Result<()> {
        let limit = self.config.max_upload_bytes;
        if total > limit {
            return Err(Error::new(
                UPLOAD_TOO_LARGE,
                format!(
                    "{} is {:.1} MB, over the server's upload limit of {:.1} MB. Shorten the \
                     video or lower its resolution, then try again.",
                    path.display(),
                    total as f64 / 1e6,
                    limit as f64 / 1e6
                ),
            ));
        }
        Ok(())
    }

    /// Uploads `path` as an input file; `progress(sent, total)` is called as bytes go out.
    #[tracing::instrument(skip(self, progress), fields(url = %self.base_url(), file = %path.display()))]
    pub async fn upload(
        &self,
        path: &Path,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<UploadedFile> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(&format!("open {}", path.display()), e))?;
        let total = file
            .metadata()
            .await
            .map_err(|e| Error::io(&format!("read the size of {}", path.display()), e))?
            .len();
        self.size_fits(path, total)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());

        // The body stream reports bytes through a watch channel so that `progress` need not be
        // 'static; this function forwards each change while the request runs.
        let (tx, mut rx) = tokio::sync::watch::channel(0u64);
        let mut sent = 0u64;
        let stream = ReaderStream::with_capacity(file, CHUNK).map(move |chunk| {
            if let Ok(bytes) = &chunk {
                sent += bytes.len() as u64;
                let _ = tx.send(sent);
            }
            chunk
        });
        let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), total)
            .file_name(name)
            .mime_str(mime_for(path))
            .map_err(|e| Error::internal("bad mime type").with_source(e))?;
        let form = Form::new()
            .part("image", part)
            .text("type", "input")
            .text("overwrite", "false");
        let request = self
            .request(Method::POST, "upload/image")?
            .multipart(form)
            .send();
        tokio::pin!(request);
        progress(0, total);
        let resp = loop {
            tokio::select! {
                r = &mut request => break r,
                changed = rx.changed() => {
                    if changed.is_ok() {
                        let n = *rx.borrow_and_update();
                        progress(n, total);
                    }
                }
            }
        };
        let resp = resp.map_err(|e| transport_error("upload the file", self.base_url(), e))?;
        let resp = check_status("upload the file", resp).await?;
        let v = read_json("upload the file", resp).await?;
        let uploaded: UploadedFile = serde_json::from_value(v).map_err(|e| {
            Error::new(
                BAD_RESPONSE,
                "The server accepted the upload but did not say where it put it.",
            )
            .with_source(e)
        })?;
        progress(total, total);
        tracing::info!(name = %uploaded.name, bytes = total, "uploaded");
        Ok(uploaded)
    }
}

fn mime_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

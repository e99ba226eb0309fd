//! Streamed upload of an input file to `/upload/image` (ComfyUI takes videos on the same route).
//! The file is read from disk in chunks as the request goes out, never held whole in memory.

use crate::client::{ComfyClient, check_status, read_json, transport_error};
use crate::errors::{BAD_RESPONSE, TRANSFER_DEADLINE, TRANSFER_STALLED, UPLOAD_TOO_LARGE};
use crate::limits::megabytes;
use futures_util::StreamExt;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use studio_error::{Error, Result};
use tokio::time::Instant;
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

    /// Uploads `path` as an input file; `progress(sent, total)` is called as bytes go out. An
    /// upload that stalls (no byte taken for the stall timeout) or whose connection drops is
    /// sent again, a bounded number of times: ComfyUI renames a duplicate rather than replacing
    /// it, and the name it answers with is the one used.
    #[tracing::instrument(skip(self, progress), fields(url = %self.base_url(), file = %path.display()))]
    pub async fn upload(
        &self,
        path: &Path,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<UploadedFile> {
        let attempts = self.config.upload_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.upload_once(path, &mut progress).await {
                Ok(uploaded) => return Ok(uploaded),
                Err(Attempt::Again(e)) if attempt < attempts => {
                    tracing::warn!(attempt, error = %e.chain(), "the upload stopped; sending it again");
                    tokio::time::sleep(self.config.retry_delay * attempt).await;
                    attempt += 1;
                }
                Err(Attempt::Again(e) | Attempt::Fatal(e)) => return Err(e),
            }
        }
    }

    async fn upload_once(
        &self,
        path: &Path,
        progress: &mut (impl FnMut(u64, u64) + Send),
    ) -> std::result::Result<UploadedFile, Attempt> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Attempt::Fatal(Error::io(&format!("open {}", path.display()), e)))?;
        let total = file
            .metadata()
            .await
            .map_err(|e| {
                Attempt::Fatal(Error::io(
                    &format!("read the size of {}", path.display()),
                    e,
                ))
            })?
            .len();
        self.size_fits(path, total).map_err(Attempt::Fatal)?;
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
            .map_err(|e| Attempt::Fatal(Error::internal("bad mime type").with_source(e)))?;
        let form = Form::new()
            .part("image", part)
            .text("type", "input")
            .text("overwrite", "false");
        let url = self.url("upload/image").map_err(Attempt::Fatal)?;
        let request = self.upload_http.post(url).multipart(form).send();
        tokio::pin!(request);
        progress(0, total);
        let config = &self.config;
        let deadline = Instant::now() + config.transfer_deadline(total);
        // Once the whole file is handed to the socket, what sits in the send buffers still has
        // to cross the link before the server can answer.
        let in_flight = config.transfer_deadline(total.min(IN_FLIGHT)) - config.transfer_margin;
        let (mut moved, mut n, mut watching) = (Instant::now(), 0, true);
        let resp = loop {
            let quiet = config.stall_timeout
                + if n >= total {
                    in_flight
                } else {
                    Duration::ZERO
                };
            tokio::select! {
                r = &mut request => break r,
                changed = rx.changed(), if watching => match changed {
                    Ok(()) => {
                        n = *rx.borrow_and_update();
                        moved = Instant::now();
                        progress(n, total);
                    }
                    // The body was dropped: the answer (or the error) follows.
                    Err(_) => watching = false,
                },
                () = tokio::time::sleep_until((moved + quiet).min(deadline)) => {
                    return Err(if Instant::now() >= deadline {
                        Attempt::Fatal(upload_too_slow(path, deadline_secs(config, total), n, total))
                    } else {
                        Attempt::Again(upload_stalled(path, quiet, n, total))
                    });
                }
            }
        };
        let resp = resp.map_err(|e| {
            let fatal = e.is_redirect();
            let e = transport_error("upload the file", self.base_url(), e);
            if fatal {
                Attempt::Fatal(e)
            } else {
                Attempt::Again(e)
            }
        })?;
        let resp = check_status("upload the file", resp)
            .await
            .map_err(Attempt::Fatal)?;
        let v = read_json("upload the file", resp)
            .await
            .map_err(Attempt::Fatal)?;
        let uploaded: UploadedFile = serde_json::from_value(v).map_err(|e| {
            Attempt::Fatal(
                Error::new(
                    BAD_RESPONSE,
                    "The server accepted the upload but did not say where it put it.",
                )
                .with_source(e),
            )
        })?;
        progress(total, total);
        tracing::info!(name = %uploaded.name, bytes = total, "uploaded");
        Ok(uploaded)
    }
}

/// Bytes that may sit in socket buffers between us and the server.
const IN_FLIGHT: u64 = 8 << 20;

enum Attempt {
    Again(Error),
    Fatal(Error),
}

fn deadline_secs(config: &crate::ClientConfig, total: u64) -> u64 {
    config.transfer_deadline(total).as_secs()
}

fn upload_stalled(path: &Path, quiet: Duration, sent: u64, total: u64) -> Error {
    Error::new(
        TRANSFER_STALLED,
        format!(
            "The upload of {} stalled for {:.0} s at {} of {} with the connection still open, \
             and sending it again did not get through. Check the connection and render again.",
            path.display(),
            quiet.as_secs_f32().ceil(),
            megabytes(sent),
            megabytes(total)
        ),
    )
}

fn upload_too_slow(path: &Path, secs: u64, sent: u64, total: u64) -> Error {
    Error::new(
        TRANSFER_DEADLINE,
        format!(
            "The upload of {} was still unfinished at {} of {} after {secs} s, longer than a \
             connection at the slowest usable speed needs; it was stopped. Check the connection \
             and render again.",
            path.display(),
            megabytes(sent),
            megabytes(total)
        ),
    )
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

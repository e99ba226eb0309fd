//! Downloading outputs from `/view`: streamed to the render's own `.part` file, resumed with a
//! Range request after a drop or a stall (a server that ignores the range sends the whole file
//! again and the part is rewritten from zero), capped in size, checked against free disk space,
//! bounded in time, then moved to a free name (see `save_as`).
//! Server-supplied names are data, never paths.

use crate::client::{ComfyClient, check_status, transport_error};
use crate::errors::{
    BAD_OUTPUT_NAME, DISK_FULL, DOWNLOAD_INCOMPLETE, OUTPUT_MISSING, OUTPUT_TOO_LARGE,
    TRANSFER_DEADLINE, TRANSFER_STALLED,
};
use crate::limits::megabytes;
use crate::save_as::LocalFile;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use studio_error::{Error, Result};
use tokio::time::Instant;

// Chunks at least this large skip the buffer copy and go straight to the file.
const WRITE_BUFFER: usize = 128 * 1024;

/// One file a node produced, as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputFile {
    pub node: String,
    pub filename: String,
    pub subfolder: String,
    /// `output`, `temp` or `input`.
    pub kind: String,
    pub format: Option<String>,
    pub frame_rate: Option<f64>,
}

/// The files a node's history entry lists under `images`, `gifs` (VideoHelperSuite) or `videos`.
pub fn outputs_of(entry: &Value, node: &str) -> Vec<OutputFile> {
    let Some(out) = entry.get("outputs").and_then(|o| o.get(node)) else {
        return Vec::new();
    };
    ["gifs", "videos", "images"]
        .iter()
        .filter_map(|key| out.get(*key).and_then(Value::as_array))
        .flatten()
        .filter_map(|f| {
            let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
            Some(OutputFile {
                node: node.to_string(),
                filename: s("filename")?,
                subfolder: s("subfolder").unwrap_or_default(),
                kind: s("type").unwrap_or_else(|| "output".into()),
                format: s("format"),
                frame_rate: f.get("frame_rate").and_then(Value::as_f64),
            })
        })
        .collect()
}

/// The local file name for a server-supplied name, refusing anything that could leave the
/// output folder: separators, `..`, drive letters, control characters.
pub fn safe_file_name(name: &str) -> Result<&str> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.contains(['/', '\\', '\0'])
        || name.contains("..")
        || name.starts_with('.')
        || name.chars().any(char::is_control)
        || name.as_bytes().get(1) == Some(&b':');
    if bad {
        return Err(Error::new(
            BAD_OUTPUT_NAME,
            format!(
                "The server named an output {name:?}, which is not a plain file name; it was not \
                 saved. The server may be misconfigured or hostile."
            ),
        ));
    }
    Ok(name)
}

impl ComfyClient {
    /// Downloads `file` into `to.part`, resuming what that file holds, then gives it its final
    /// name (never replacing a file); `progress(received, total)` as bytes arrive. One file may
    /// be at most the config's `max_output_bytes`; see [`Self::download_limited`].
    pub async fn download(
        &self,
        file: &OutputFile,
        to: &LocalFile,
        progress: impl FnMut(u64, Option<u64>),
    ) -> Result<PathBuf> {
        self.download_limited(file, to, self.config.max_output_bytes, progress)
            .await
    }

    /// As [`Self::download`], refusing a file over `max_bytes`. A stall (no byte for the stall
    /// timeout) or a cut resumes with a range request; the whole file must arrive within its
    /// size at the slowest speed waited for, plus a margin.
    #[tracing::instrument(skip(self, to, progress), fields(url = %self.base_url(), file = %file.filename))]
    pub async fn download_limited(
        &self,
        file: &OutputFile,
        to: &LocalFile,
        max_bytes: u64,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<PathBuf> {
        // The server's name only goes back to the server; it must still be a plain name.
        safe_file_name(&file.filename)?;
        tokio::fs::create_dir_all(&to.dir)
            .await
            .map_err(|e| Error::io(&format!("create {}", to.dir.display()), e))?;
        let pass = PassArgs {
            file,
            to,
            max_bytes,
            started: Instant::now(),
        };
        let mut failures = 0;
        loop {
            let before = part_len(&to.part).await;
            match self.download_pass(&pass, &mut progress).await {
                Ok(()) => break,
                Err(Pass::Fatal(e)) => return Err(e),
                Err(Pass::Retry(e)) => {
                    // Only passes that fetched nothing count against the retries: a slow link
                    // that keeps moving is bounded by the deadline instead.
                    if part_len(&to.part).await > before {
                        failures = 0;
                    }
                    if failures >= self.config.retries {
                        return Err(e);
                    }
                    failures += 1;
                    tracing::warn!(failures, error = %e.chain(), "the download stopped; resuming with a range request");
                    tokio::time::sleep(self.config.retry_delay * failures).await;
                }
            }
        }
        let local = to.clone();
        let dest = tokio::task::spawn_blocking(move || local.finish())
            .await
            .map_err(|e| Error::internal("saving the download stopped").with_source(e))??;
        tracing::info!(path = %dest.display(), "downloaded");
        Ok(dest)
    }

    /// One request: from the `.part` file's current length to the end.
    async fn download_pass(
        &self,
        pass: &PassArgs<'_>,
        progress: &mut impl FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), Pass> {
        let (file, part) = (pass.file, &pass.to.part);
        let have = part_len(part).await;
        let query = [
            ("filename", file.filename.as_str()),
            ("subfolder", file.subfolder.as_str()),
            ("type", file.kind.as_str()),
        ];
        let mut req = self
            .request(Method::GET, "view")
            .map_err(Pass::Fatal)?
            .query(&query);
        if have > 0 {
            req = req.header("range", format!("bytes={have}-"));
        }
        let resp = req.send().await.map_err(|e| self.send_failed(e))?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Err(Pass::Fatal(Error::new(
                OUTPUT_MISSING,
                format!(
                    "The server lists the output {} but does not have it any more. Render again.",
                    file.filename
                ),
            )));
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            // The part file is longer than the server's file: start over.
            let _ = tokio::fs::remove_file(part).await;
            return Err(Pass::Retry(incomplete(&file.filename, have, None)));
        }
        if matches!(status.as_u16(), 502..=504 | 524) {
            let e = check_status("download the video", resp).await.err();
            return Err(Pass::Retry(
                e.unwrap_or_else(|| incomplete(&file.filename, have, None)),
            ));
        }
        let resp = check_status("download the video", resp)
            .await
            .map_err(Pass::Fatal)?;
        // A server that ignores Range answers 200 with the whole file: start from zero.
        let (mut offset, total) = if status == StatusCode::PARTIAL_CONTENT {
            let (start, total) = content_range(&resp)
                .ok_or_else(|| Pass::Retry(incomplete(&file.filename, have, None)))?;
            if start != have {
                let _ = tokio::fs::remove_file(part).await;
                return Err(Pass::Retry(incomplete(&file.filename, have, total)));
            }
            (have, total)
        } else {
            if have > 0 {
                tracing::info!(
                    have,
                    "the server ignored the range and sent the whole file; starting over"
                );
            }
            (0, resp.content_length())
        };
        if let Some(t) = total
            && t > pass.max_bytes
        {
            let _ = tokio::fs::remove_file(part).await;
            return Err(Pass::Fatal(too_large(&file.filename, pass.max_bytes)));
        }
        self.check_disk(&pass.to.dir, total.map(|t| t.saturating_sub(offset)))
            .map_err(Pass::Fatal)?;
        let handle = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(offset > 0)
            .truncate(offset == 0)
            .open(part)
            .await
            .map_err(|e| Pass::Fatal(Error::io(&format!("write {}", part.display()), e)))?;
        // The disk is written on its own thread so the socket keeps being read meanwhile; awaiting
        // each file write in this loop stalls the connection (a third of curl's speed).
        let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
        let std_file = handle.into_std().await;
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = std::io::BufWriter::with_capacity(WRITE_BUFFER, std_file);
            while let Some(b) = rx.blocking_recv() {
                w.write_all(&b)?;
            }
            w.flush()
        });
        progress(offset, total);
        let mut body = resp.bytes_stream();
        let mut cut = None;
        let mut stop = None;
        let stall = self.config.stall_timeout;
        loop {
            let chunk = match tokio::time::timeout(stall, body.next()).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(_) => {
                    stop = Some((
                        Pass::Retry(stalled(&file.filename, stall, offset, total)),
                        false,
                    ));
                    break;
                }
            };
            match chunk {
                Ok(bytes) => {
                    let n = bytes.len() as u64;
                    if offset + n > pass.max_bytes {
                        // What was written is not a file this render made: removed below.
                        stop = Some((Pass::Fatal(too_large(&file.filename, pass.max_bytes)), true));
                        break;
                    }
                    if tx.send(bytes).await.is_err() {
                        break; // The writer failed; its error is reported below.
                    }
                    offset += n;
                    progress(offset, total);
                    let allowed = self.config.transfer_deadline(total.unwrap_or(offset));
                    if pass.started.elapsed() > allowed {
                        let e = too_slow(&file.filename, allowed, offset, total);
                        stop = Some((Pass::Fatal(e), false));
                        break;
                    }
                }
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        drop((tx, body));
        let written = writer.await.map_err(|e| {
            Pass::Fatal(Error::internal("the download writer stopped").with_source(e))
        })?;
        written.map_err(|e| Pass::Fatal(Error::io(&format!("write {}", part.display()), e)))?;
        if let Some((stop, discard)) = stop {
            if discard {
                let _ = tokio::fs::remove_file(part).await;
            }
            return Err(stop);
        }
        let complete = total.is_none_or(|t| offset == t) && cut.is_none();
        if !complete {
            let mut e = incomplete(&file.filename, offset, total);
            if let Some(cause) = cut {
                e = e.with_source(cause);
            }
            if total.is_some_and(|t| offset > t) {
                let _ = tokio::fs::remove_file(part).await;
            }
            return Err(Pass::Retry(e));
        }
        Ok(())
    }

    fn send_failed(&self, e: reqwest::Error) -> Pass {
        let redirect = e.is_redirect();
        let e = transport_error("download the video", self.base_url(), e);
        if redirect {
            Pass::Fatal(e)
        } else {
            Pass::Retry(e)
        }
    }

    /// Refuses to start a download that would leave less than the configured reserve free.
    fn check_disk(&self, dir: &Path, remaining: Option<u64>) -> Result<()> {
        let reserve = self.config.min_free_disk_bytes;
        let need = remaining.unwrap_or(0).saturating_add(reserve);
        let free = match fs4::available_space(dir) {
            Ok(free) => free,
            Err(e) => {
                // A file system that cannot say (some network shares) is not a reason to stop.
                tracing::warn!(dir = %dir.display(), "free space unknown: {e}");
                return Ok(());
            }
        };
        if free >= need {
            return Ok(());
        }
        let size = remaining.map_or_else(
            || "a result of unknown size".to_string(),
            |r| format!("the result's {}", megabytes(r)),
        );
        Err(Error::new(
            DISK_FULL,
            format!(
                "There is not enough free space in {} for the result: {free_mb} free, and {size} \
                 needs {need_mb} with the {reserve_mb} kept free. Free some space there or \
                 choose another output folder, then render again.",
                dir.display(),
                free_mb = megabytes(free),
                need_mb = megabytes(need),
                reserve_mb = megabytes(reserve),
            ),
        ))
    }
}

struct PassArgs<'a> {
    file: &'a OutputFile,
    to: &'a LocalFile,
    max_bytes: u64,
    started: Instant,
}

enum Pass {
    Retry(Error),
    Fatal(Error),
}

async fn part_len(part: &Path) -> u64 {
    tokio::fs::metadata(part).await.map_or(0, |m| m.len())
}

fn incomplete(name: &str, got: u64, total: Option<u64>) -> Error {
    let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
    Error::new(
        DOWNLOAD_INCOMPLETE,
        format!(
            "The download of {name} stopped at {got}{of} bytes and could not be completed. \
             Check the connection and try again; the part already fetched is kept."
        ),
    )
}

fn of_total(got: u64, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("{} of {}", megabytes(got), megabytes(t)),
        None => megabytes(got),
    }
}

fn stalled(name: &str, stall: Duration, got: u64, total: Option<u64>) -> Error {
    Error::new(
        TRANSFER_STALLED,
        format!(
            "The download of the result ({name}) stalled for {} s at {} with the connection \
             still open. Check the connection and render again; the part already fetched is kept.",
            stall.as_secs_f32(),
            of_total(got, total)
        ),
    )
}

fn too_large(name: &str, max: u64) -> Error {
    Error::new(
        OUTPUT_TOO_LARGE,
        format!(
            "The pod's server sent more than {} for one file ({name}), more than this render can \
             have produced; the download was stopped and the partial file removed. Render again \
             on a new pod; if it repeats, check the workflow's output settings.",
            megabytes(max)
        ),
    )
}

fn too_slow(name: &str, allowed: Duration, got: u64, total: Option<u64>) -> Error {
    Error::new(
        TRANSFER_DEADLINE,
        format!(
            "The download of the result ({name}) was still unfinished at {} after {} s, longer \
             than a connection at the slowest usable speed needs; it was stopped. Check the \
             connection and render again; the part already fetched is kept.",
            of_total(got, total),
            allowed.as_secs()
        ),
    )
}

/// `Content-Range: bytes START-END/TOTAL` -> (START, TOTAL).
fn content_range(resp: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    let rest = v.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, total.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for name in [
            "../x.mp4",
            "a/b.mp4",
            "..\\x.mp4",
            "C:evil.mp4",
            "c:\\x",
            "",
            ".hidden",
            "x\n.mp4",
            "a..b",
        ] {
            let err = safe_file_name(name).expect_err(name);
            assert_eq!(err.code(), BAD_OUTPUT_NAME, "{name}");
        }
        assert_eq!(
            safe_file_name("SteadyDancer_00001.mp4").expect("plain"),
            "SteadyDancer_00001.mp4"
        );
    }
}

//! Downloading outputs from `/view`: streamed to the render's own `.part` file, resumed with a
//! Range request after a drop, size-checked, then moved to a free name (see `save_as`).
//! Server-supplied names are data, never paths.

use crate::client::{ComfyClient, check_status, transport_error};
use crate::errors::{BAD_OUTPUT_NAME, DOWNLOAD_INCOMPLETE, OUTPUT_MISSING};
use crate::save_as::LocalFile;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

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
    /// name (never replacing a file); `progress(received, total)` as bytes arrive.
    #[tracing::instrument(skip(self, to, progress), fields(url = %self.base_url(), file = %file.filename))]
    pub async fn download(
        &self,
        file: &OutputFile,
        to: &LocalFile,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<PathBuf> {
        // The server's name only goes back to the server; it must still be a plain name.
        safe_file_name(&file.filename)?;
        tokio::fs::create_dir_all(&to.dir)
            .await
            .map_err(|e| Error::io(&format!("create {}", to.dir.display()), e))?;
        let mut failures = 0;
        loop {
            match self.download_pass(file, &to.part, &mut progress).await {
                Ok(()) => break,
                Err(Pass::Fatal(e)) => return Err(e),
                Err(Pass::Retry(e)) if failures >= self.config.retries => return Err(e),
                Err(Pass::Retry(e)) => {
                    failures += 1;
                    tracing::warn!(failures, "download interrupted, resuming: {}", e.chain());
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
        file: &OutputFile,
        part: &Path,
        progress: &mut impl FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), Pass> {
        let have = tokio::fs::metadata(part)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
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
        let resp = req
            .send()
            .await
            .map_err(|e| Pass::Retry(transport_error("download the video", self.base_url(), e)))?;
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
            (0, resp.content_length())
        };
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
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    let n = bytes.len() as u64;
                    if tx.send(bytes).await.is_err() {
                        break; // The writer failed; its error is reported below.
                    }
                    offset += n;
                    progress(offset, total);
                }
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let written = writer.await.map_err(|e| {
            Pass::Fatal(Error::internal("the download writer stopped").with_source(e))
        })?;
        written.map_err(|e| Pass::Fatal(Error::io(&format!("write {}", part.display()), e)))?;
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
}

enum Pass {
    Retry(Error),
    Fatal(Error),
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

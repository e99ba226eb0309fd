//! Fetches the pose weights on first use: streamed into `<name>.part`, resumed with a Range
//! request after a cut, size-checked and SHA-256-checked, then renamed into place. Where no hash
//! is published the first download's size and hash are pinned in `<name>.pin.json` and every
//! later download must match them.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use studio_error::{Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use crate::dwpose::{
    DwposeSources, ModelStatus, dwpose_status, dwpose_status_from, ensure_dwpose,
    ensure_dwpose_from, model_status, models_dir,
};

pub const DOWNLOAD_FAILED: &str = "pose.download_failed";
pub const DOWNLOAD_CORRUPT: &str = "pose.download_corrupt";

/// Where DWPose's ONNX files are published.
pub const DWPOSE_BASE_URL: &str = "https://huggingface.co/yzd-v/DWPose/resolve/main";
/// A mirror (or a test server) holding `yolox_l.onnx` and `dw-ll_ucoco_384.onnx` instead.
pub const POSE_MODELS_URL_ENV: &str = "STUDIO_POSE_MODELS_URL";

/// One file to fetch. `size` and `sha256` pin it exactly when known; `approx_size` catches an
/// error page or a different file when they are not.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub file_name: String,
    pub url: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub approx_size: Option<u64>,
}

/// The DWPose pair (detector, keypoints). No SHA-256 is published beside them, so the first
/// download pins size and hash; the sizes FACTS.md gives (217 MB, 134 MB) bound the first one.
pub fn dwpose_files(base_url: &str) -> [ModelFile; 2] {
    let file = |name: &str, approx: u64| ModelFile {
        file_name: name.to_string(),
        url: format!("{}/{name}", base_url.trim_end_matches('/')),
        size: None,
        sha256: None,
        approx_size: Some(approx),
    };
    [
        file("yolox_l.onnx", 217_000_000),
        file("dw-ll_ucoco_384.onnx", 134_000_000),
    ]
}

/// The DWPose pair from [`POSE_MODELS_URL_ENV`] when set, else from Hugging Face. A mirror's files
/// are pinned on first download like the published ones, but their size is not bounded by the
/// published sizes (a mirror may hold an equivalent export).
pub fn dwpose_source() -> [ModelFile; 2] {
    match std::env::var(POSE_MODELS_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => dwpose_files(url.trim()).map(|f| ModelFile {
            approx_size: None,
            ..f
        }),
        _ => dwpose_files(DWPOSE_BASE_URL),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownloadProgress {
    pub file: String,
    pub done: u64,
    pub total: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Pin {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

fn pin_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pin.json"))
}

pub(crate) fn read_pin(dir: &Path, name: &str) -> Option<Pin> {
    let text = std::fs::read_to_string(pin_path(dir, name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What a download is, for its error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Model,
    Runtime,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Model => "pose model",
            Kind::Runtime => "ONNX Runtime library",
        }
    }

    fn without(self) -> &'static str {
        match self {
            Kind::Model => "Everything else works without it.",
            Kind::Runtime => {
                "The pose preview works without it, on the built-in engine (about a third slower)."
            }
        }
    }
}

fn failed(file: &ModelFile, kind: Kind, why: impl std::fmt::Display) -> Error {
    Error::new(
        DOWNLOAD_FAILED,
        format!(
            "Could not download the {} {} from {} ({why}). Check the internet connection \
             and try the preview again; it resumes where it stopped. {}",
            kind.what(),
            file.file_name,
            file.url,
            kind.without()
        ),
    )
}

fn corrupt(file: &ModelFile, kind: Kind, why: impl std::fmt::Display) -> Error {
    Error::new(
        DOWNLOAD_CORRUPT,
        format!(
            "The downloaded {} {} is not the expected file ({why}). It was deleted; try \
             again, and if it keeps happening the file at {} has changed.",
            kind.what(),
            file.file_name,
            file.url
        ),
    )
}

/// Makes sure `file` is present and verified in `dir`, downloading or resuming as needed.
#[tracing::instrument(skip_all, fields(file = %file.file_name))]
pub async fn ensure_model(
    client: &reqwest::Client,
    file: &ModelFile,
    dir: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<PathBuf> {
    ensure_file(client, file, dir, Kind::Model, on_progress).await
}

/// [`ensure_model`] for any kind of file (the wording of its errors differs).
pub(crate) async fn ensure_file(
    client: &reqwest::Client,
    file: &ModelFile,
    dir: &Path,
    kind: Kind,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<PathBuf> {
    let dest = dir.join(&file.file_name);
    let pin = read_pin(dir, &file.file_name);
    if let Ok(meta) = tokio::fs::metadata(&dest).await {
        match &pin {
            Some(p) if p.size == meta.len() => return Ok(dest),
            // A file put there by hand (or a pin lost): verify it once and pin it.
            None => {
                verify_and_pin(file, kind, dir, &dest, None).await?;
                return Ok(dest);
            }
            Some(_) => {
                tracing::warn!("model size differs from its pin; downloading again");
                tokio::fs::remove_file(&dest)
                    .await
                    .map_err(|e| Error::io("remove a damaged pose model", e))?;
            }
        }
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io("create the model folder", e))?;
    let part = dir.join(format!("{}.part", file.file_name));
    fetch_into(client, file, kind, &part, on_progress).await?;
    verify_and_pin(file, kind, dir, &part, pin.as_ref()).await?;
    tokio::fs::rename(&part, &dest)
        .await
        .map_err(|e| Error::io("move the downloaded model into place", e))?;
    Ok(dest)
}

/// Downloads into `part`, continuing after the bytes it already holds.
async fn fetch_into(
    client: &reqwest::Client,
    file: &ModelFile,
    kind: Kind,
    part: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<()> {
    let have = tokio::fs::metadata(part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut req = client.get(&file.url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| failed(file, kind, &e).with_source(e))?;
    let status = resp.status();
    let (start, total) = match status.as_u16() {
        206 => {
            let total = content_range_total(&resp);
            (have, total)
        }
        200 => (0, resp.content_length()), // Range ignored: start over
        416 if have > 0 => {
            // Nothing left to send: the part is already whole (verification decides).
            return Ok(());
        }
        _ => return Err(failed(file, kind, format!("the server answered {status}"))),
    };
    let mut out = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(start == 0)
        .append(start > 0)
        .open(part)
        .await
        .map_err(|e| Error::io("open the partial model download", e))?;
    let mut done = start;
    let mut last_report = 0u64;
    on_progress(DownloadProgress {
        file: file.file_name.clone(),
        done,
        total,
    });
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| failed(file, kind, &e).with_source(e))?;
        out.write_all(&chunk)
            .await
            .map_err(|e| Error::io("write the model download", e))?;
        done += chunk.len() as u64;
        // Report about every 0.5%, so a GUI channel is not flooded.
        let step = total.map_or(1 << 20, |t| (t / 200).max(1));
        if done - last_report >= step || Some(done) == total {
            last_report = done;
            on_progress(DownloadProgress {
                file: file.file_name.clone(),
                done,
                total,
            });
        }
    }
    out.flush()
        .await
        .map_err(|e| Error::io("write the model download", e))?;
    if let Some(t) = total
        && done != t
    {
        return Err(failed(
            file,
            kind,
            format!("the transfer stopped at {done} of {t} bytes"),
        ));
    }
    Ok(())
}

fn content_range_total(resp: &reqwest::Response) -> Option<u64> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    v.rsplit('/').next()?.parse().ok()
}

/// Checks size and hash of `path` against what is published or pinned; pins on first success.
async fn verify_and_pin(
    file: &ModelFile,
    kind: Kind,
    dir: &Path,
    path: &Path,
    pin: Option<&Pin>,
) -> Result<()> {
    let (size, hash) = hash_file(path).await?;
    let reject = |why: String| async {
        let _ = tokio::fs::remove_file(path).await;
        Err(corrupt(file, kind, why))
    };
    if let Some(want) = file.size.or(pin.map(|p| p.size))
        && size != want
    {
        return reject(format!("{size} bytes instead of {want}")).await;
    }
    if let Some(approx) = file.approx_size
        && (size as f64 - approx as f64).abs() > approx as f64 * 0.05
    {
        return reject(format!("{size} bytes, expected about {approx}")).await;
    }
    if let Some(want) = file.sha256.as_deref().or(pin.map(|p| p.sha256.as_str()))
        && !hash.eq_ignore_ascii_case(want)
    {
        return reject(format!("SHA-256 {hash} instead of {want}")).await;
    }
    let pin = Pin { size, sha256: hash };
    let text = serde_json::to_string_pretty(&pin).map_err(|e| Error::internal(e.to_string()))?;
    tokio::fs::write(pin_path(dir, &file.file_name), text)
        .await
        .map_err(|e| Error::io("record the model's hash", e))
}

async fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io("read the model download", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .await
            .map_err(|e| Error::io("read the model download", e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, hex))
}

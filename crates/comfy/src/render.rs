//! The whole render on one ComfyUI server: check, upload, queue, follow, download, verify. The
//! CLI calls it with a URL the user gives; the job state machine calls it with a pod's URL.

use crate::client::ComfyClient;
use crate::download::{OutputFile, outputs_of};
use crate::errors::{BAD_OUTPUT, OUTPUT_MISSING};
use crate::events::ComfyEvent;
use crate::limits::OutputLimits;
use crate::manifest::Manifest;
use crate::save_as::{LocalFile, SaveAs, set_output_prefix};
use crate::template;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use studio_error::{Error, Result, codes};
use tokio_util::sync::CancellationToken;

/// Progress of a render, for a progress bar or a UI channel. Byte counts are throttled to
/// changes of at least 0.5 %.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum RenderEvent {
    Checking,
    Uploading {
        input: String,
        sent: u64,
        total: u64,
    },
    Uploaded {
        input: String,
        name: String,
    },
    Queued {
        prompt_id: String,
    },
    Run {
        event: ComfyEvent,
    },
    Downloading {
        file: String,
        received: u64,
        total: Option<u64>,
    },
    Done {
        files: Vec<PathBuf>,
    },
}

/// What a render asks for: the files for the manifest's inputs and the user's parameters.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    pub inputs: BTreeMap<String, PathBuf>,
    pub params: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub node: String,
    pub format: Option<String>,
    pub frame_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderOutput {
    pub prompt_id: String,
    pub files: Vec<RenderedFile>,
}

/// Runs `request` through `manifest` on the server behind `client`, saving outputs in `out_dir`.
#[tracing::instrument(skip_all, fields(url = %client.base_url(), workflow = %manifest.name))]
pub async fn render(
    client: &ComfyClient,
    manifest: &Manifest,
    request: &RenderRequest,
    out_dir: &Path,
    mut events: impl FnMut(RenderEvent) + Send,
    cancel: CancellationToken,
) -> Result<RenderOutput> {
    // Every parameter and input is checked before anything touches the network.
    let placeholders = manifest
        .inputs
        .keys()
        .filter(|k| request.inputs.contains_key(*k))
        .map(|k| (k.clone(), String::new()))
        .collect();
    template::fill(manifest, &placeholders, &request.params)?;
    for (name, path) in &request.inputs {
        if !manifest.inputs.contains_key(name) {
            tracing::info!(input = %name, "the workflow does not use this input; skipped");
        } else if !path.is_file() {
            return Err(Error::new(
                codes::INVALID_INPUT,
                format!("The {name} file {} does not exist.", path.display()),
            ));
        }
    }

    // Sizes are checked for every input before any upload, so nothing is sent in vain.
    for name in manifest.inputs.keys() {
        if let Some(path) = request.inputs.get(name) {
            client.check_upload_size(path)?;
        }
    }

    events(RenderEvent::Checking);
    until_cancelled(&cancel, client.ensure_ready(manifest)).await?;

    let mut uploaded = BTreeMap::new();
    for name in manifest.inputs.keys() {
        let Some(path) = request.inputs.get(name) else {
            continue;
        };
        let mut throttle = Throttle::default();
        let file = until_cancelled(
            &cancel,
            client.upload(path, |sent, total| {
                if throttle.pass(sent, Some(total)) {
                    events(RenderEvent::Uploading {
                        input: name.clone(),
                        sent,
                        total,
                    });
                }
            }),
        )
        .await?;
        events(RenderEvent::Uploaded {
            input: name.clone(),
            name: file.reference(),
        });
        uploaded.insert(name.clone(), file.reference());
    }

    let save = SaveAs::fresh(out_dir);
    let mut prompt = template::fill(manifest, &uploaded, &request.params)?;
    set_output_prefix(manifest, &mut prompt, &save.server_prefix(manifest));
    // The socket opens before queueing so that no early event is missed.
    let mut follower = client.events().await;
    let queued = until_cancelled(&cancel, client.queue_prompt(&prompt)).await?;
    let prompt_id = queued.prompt_id;
    tracing::info!(%prompt_id, "queued");
    events(RenderEvent::Queued {
        prompt_id: prompt_id.clone(),
    });
    let entry = follower
        .follow(&prompt_id, &cancel, |event| {
            events(RenderEvent::Run { event })
        })
        .await?;

    // Counted before any download, so a history listing thousands of files fetches none.
    let limits = OutputLimits::for_render(manifest, Some(&request.params), client.config());
    let listed: usize = manifest
        .outputs
        .iter()
        .map(|spec| outputs_of(&entry, &spec.node).len())
        .sum();
    limits.check_count(listed)?;
    let mut files = Vec::new();
    for spec in &manifest.outputs {
        let listed = outputs_of(&entry, &spec.node);
        if listed.is_empty() {
            return Err(Error::new(
                OUTPUT_MISSING,
                format!(
                    "The render finished but node {} saved no file. Check that the node saves \
                     its output (save_output on).",
                    spec.node
                ),
            ));
        }
        for out in listed {
            let to = save.local_file(manifest, &out, files.len());
            let max = limits.max_file_bytes;
            files.push(fetch(client, &out, &to, max, &mut events, &cancel).await?);
        }
    }
    for f in &files {
        crate::output_kind::check_file(manifest, &f.node, &f.path)?;
    }
    events(RenderEvent::Done {
        files: files.iter().map(|f| f.path.clone()).collect(),
    });
    Ok(RenderOutput { prompt_id, files })
}

async fn fetch(
    client: &ComfyClient,
    out: &OutputFile,
    to: &LocalFile,
    max_bytes: u64,
    events: &mut (impl FnMut(RenderEvent) + Send),
    cancel: &CancellationToken,
) -> Result<RenderedFile> {
    let mut throttle = Throttle::default();
    let path = until_cancelled(
        cancel,
        client.download_limited(out, to, max_bytes, |received, total| {
            if throttle.pass(received, total) {
                events(RenderEvent::Downloading {
                    file: out.filename.clone(),
                    received,
                    total,
                });
            }
        }),
    )
    .await?;
    let bytes = verify_download(&path, out).await?;
    Ok(RenderedFile {
        path,
        bytes,
        node: out.node.clone(),
        format: out.format.clone(),
        frame_rate: out.frame_rate,
    })
}

/// Checks a downloaded output: non-empty, and a video must look like MP4/MOV (an `ftyp` box
/// first). Returns its size in bytes.
pub async fn verify_download(path: &Path, out: &OutputFile) -> Result<u64> {
    let bad = |why: &str| {
        Error::new(
            BAD_OUTPUT,
            format!("The downloaded {} {why}; render again.", path.display()),
        )
    };
    let head = read_head(path)
        .await
        .map_err(|e| Error::io("read the download", e))?;
    let bytes = tokio::fs::metadata(path)
        .await
        .map_err(|e| Error::io("read the download", e))?
        .len();
    if bytes == 0 {
        return Err(bad("is empty"));
    }
    let mp4_name = |name: &str| {
        let lower = name.to_ascii_lowercase();
        lower.ends_with(".mp4") || lower.ends_with(".mov")
    };
    // The local name carries the format the workflow asked for.
    let mp4ish = out.format.as_deref().is_some_and(|f| f.contains("mp4"))
        || mp4_name(&out.filename)
        || mp4_name(&path.to_string_lossy());
    if mp4ish && head.get(4..8) != Some(b"ftyp".as_slice()) {
        return Err(bad("is not an MP4 video"));
    }
    Ok(bytes)
}

async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await?;
    let mut buf = vec![0; 16];
    let n = f.read(&mut buf).await?;
    buf.truncate(n);
    Ok(buf)
}

async fn until_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        () = cancel.cancelled() => Err(Error::new(codes::CANCELLED, "The render was cancelled.")),
        r = work => r,
    }
}

/// Lets a byte count through when it moved at least 0.5 % (or finished).
#[derive(Default)]
struct Throttle {
    last: Option<u64>,
}

impl Throttle {
    fn pass(&mut self, done: u64, total: Option<u64>) -> bool {
        let step = total.map_or(1 << 20, |t| (t / 200).max(1));
        let due = match self.last {
            None => true,
            Some(last) => done >= last + step || Some(done) == total,
        };
        if due && self.last != Some(done) {
            self.last = Some(done);
            return true;
        }
        false
    }
}

//! The bootstrap's progress, read from RunPod's pod log stream while readiness polls: the
//! bootstrap prints `##sds {json}` lines on the container's stdout (stages, model download
//! totals, pinned files, a fatal error); every other line is free text and ignored.

use crate::events::{DownloadProgress, Stage};
use serde::Deserialize;
use std::time::Duration;
use studio_runpod::{LogOptions, LogSource, RunPodClient, codes as rp};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub(crate) const PREFIX: &str = "##sds ";

/// One progress line as the bootstrap prints it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Line {
    Stage {
        stage: String,
        #[serde(default)]
        message: String,
    },
    Models {
        done_files: u64,
        files: u64,
        done_bytes: u64,
        total_bytes: u64,
        #[serde(default)]
        current: Option<String>,
    },
    Pinned {
        file: String,
        #[serde(default)]
        revision: String,
        #[serde(default)]
        sha256: String,
        #[serde(default)]
        size: u64,
    },
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
    /// An event a newer bootstrap prints that this app does not know.
    #[serde(other)]
    Unknown,
}

/// A progress line from a log line; `None` for free text and lines that do not parse.
pub(crate) fn parse(line: &str) -> Option<Line> {
    let json = line.trim_end().strip_prefix(PREFIX)?;
    match serde_json::from_str(json) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::debug!(error = %e, "a ##sds line that does not parse; ignored");
            None
        }
    }
}

/// The readiness stage a bootstrap stage belongs to.
fn stage_of(name: &str) -> Option<Stage> {
    match name {
        "prepare" | "install" | "python" => Some(Stage::Installing),
        "models" => Some(Stage::DownloadingModels),
        "start" => Some(Stage::StartingComfy),
        _ => None,
    }
}

/// Order of the bootstrap's stages: progress only ever moves forward.
pub(crate) fn rank(stage: Stage) -> u8 {
    match stage {
        Stage::Installing => 1,
        Stage::DownloadingModels => 2,
        Stage::StartingComfy => 3,
        _ => 0,
    }
}

/// What the bootstrap has said so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Boot {
    pub stage: Option<Stage>,
    /// The bootstrap's words for its current stage.
    pub message: String,
    pub download: Option<DownloadProgress>,
    /// `(code, message)` of a fatal error: the pod will never become ready.
    pub failure: Option<(String, String)>,
    /// The last file the bootstrap pinned on its first download: what Hugging Face reported
    /// (revision, SHA-256), which every later download must match.
    pub pinned: Option<(String, String, String)>,
}

impl Boot {
    /// Applies one line; `true` if anything a person would see changed.
    pub fn apply(&mut self, line: Line) -> bool {
        match line {
            Line::Stage { stage, message } => {
                let Some(s) = stage_of(&stage) else {
                    return false;
                };
                if self.stage.is_some_and(|cur| rank(cur) > rank(s)) {
                    return false;
                }
                self.stage = Some(s);
                self.message = message;
                true
            }
            Line::Models {
                done_files,
                files,
                done_bytes,
                total_bytes,
                current,
            } => {
                if self
                    .stage
                    .is_none_or(|cur| rank(cur) < rank(Stage::DownloadingModels))
                {
                    self.stage = Some(Stage::DownloadingModels);
                }
                self.download = Some(DownloadProgress {
                    done_files,
                    files,
                    done_bytes,
                    total_bytes,
                    // The last count of a download names no file.
                    current: current.filter(|c| !c.is_empty()),
                });
                true
            }
            Line::Pinned {
                file,
                revision,
                sha256,
                size,
            } => {
                tracing::info!(%file, %revision, %sha256, size, "model file pinned on its first download");
                self.pinned = Some((file, revision, sha256));
                true
            }
            Line::Error { code, message } => {
                self.failure = Some((code, message));
                true
            }
            Line::Unknown => false,
        }
    }

    /// Words for the current stage, with the download's figures when downloading. The
    /// bootstrap's own message is terse ("ComfyUI 783545f"), so it follows the stage's label.
    pub fn note(&self, stage: Stage) -> String {
        let label = stage.label();
        let message = self.message.trim();
        match (&self.download, stage) {
            (Some(d), Stage::DownloadingModels) => match &self.pinned {
                Some((file, revision, sha)) => format!(
                    "{}; pinned {file} at revision {}, SHA-256 {}",
                    download_message(d),
                    short(revision, 7),
                    short(sha, 12)
                ),
                None => download_message(d),
            },
            _ if message.is_empty() || message.eq_ignore_ascii_case(label) => label.to_string(),
            _ => format!("{label}: {message}"),
        }
    }
}

fn short(s: &str, n: usize) -> &str {
    s.get(..n).unwrap_or(s)
}

/// "Downloading model 3 of 8 (12.1 of 16.4 GB)".
pub(crate) fn download_message(d: &DownloadProgress) -> String {
    let n = if d.done_bytes >= d.total_bytes {
        d.files
    } else {
        (d.done_files + 1).min(d.files)
    };
    let (div, unit, decimals) = if d.total_bytes >= 1_000_000_000 {
        (1e9, "GB", 1)
    } else {
        (1e6, "MB", 0)
    };
    format!(
        "Downloading model {n} of {} ({:.*} of {:.*} {unit})",
        d.files,
        decimals,
        d.done_bytes as f64 / div,
        decimals,
        d.total_bytes as f64 / div,
    )
}

/// Follows the pod's log in a task; the readiness loop applies the lines from `rx` to its
/// [`Boot`] one by one, so every step is shown in order (a latest-value channel would drop
/// steps while the loop polls). Dropping it stops the task.
#[derive(Debug)]
pub(crate) struct Follow {
    pub rx: mpsc::UnboundedReceiver<Line>,
    task: JoinHandle<()>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following `pod_id`'s container log. When the stream is unavailable (404 before the
/// container exists, an endpoint RunPod does not serve, errors) it asks again every
/// `retry_every`, resuming after the last line it read; readiness meanwhile goes by status and
/// ComfyUI answering alone. Only a refused key ends it.
pub(crate) fn follow(client: &RunPodClient, pod_id: &str, retry_every: Duration) -> Follow {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = client.clone();
    let pod_id = pod_id.to_string();
    let span = tracing::info_span!("pod_log", id = %pod_id);
    let task = tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut last_event_id: Option<String> = None;
            loop {
                let mut logs = client.follow_pod_logs(
                    &pod_id,
                    LogOptions {
                        source: Some(LogSource::Container),
                        // On a first connection, everything printed so far (the maximum).
                        tail: Some(5000),
                        last_event_id: last_event_id.clone(),
                        ..LogOptions::default()
                    },
                );
                let err = loop {
                    match logs.next().await {
                        Ok(line) => {
                            let Some(progress) = parse(&line.line) else {
                                continue;
                            };
                            let fatal = matches!(progress, Line::Error { .. });
                            if tx.send(progress).is_err() || fatal {
                                return;
                            }
                        }
                        Err(e) => break e,
                    }
                };
                last_event_id = logs.last_event_id().map(str::to_string).or(last_event_id);
                if err.is(rp::UNAUTHORIZED) || err.is(rp::FORBIDDEN) {
                    tracing::info!(error = %err.chain(), "the pod's log cannot be read; readiness goes by status and ComfyUI alone");
                    return;
                }
                tracing::info!(error = %err.chain(), "the pod's log is unavailable for now; asking again later");
                tokio::time::sleep(retry_every).await;
            }
        },
        span,
    ));
    Follow { rx, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse_and_free_text_does_not() {
        assert_eq!(parse("Collecting torch"), None);
        assert_eq!(parse("##sds not json"), None);
        assert_eq!(
            parse(r#"##sds {"event":"stage","stage":"python","message":"pip"}"#),
            Some(Line::Stage {
                stage: "python".into(),
                message: "pip".into()
            })
        );
        assert_eq!(
            parse(r#"##sds {"event":"something_new","x":1}"#),
            Some(Line::Unknown)
        );
        assert!(matches!(
            parse(r#"##sds {"event":"error","code":"bootstrap.disk","message":"full"}"#),
            Some(Line::Error { .. })
        ));
    }

    #[test]
    fn stages_only_move_forward_and_downloads_count() {
        let mut b = Boot::default();
        assert!(b.apply(Line::Stage {
            stage: "install".into(),
            message: "ComfyUI 783545f".into()
        }));
        assert_eq!(
            b.note(Stage::Installing),
            "Installing ComfyUI and its Python packages: ComfyUI 783545f"
        );
        assert!(b.apply(Line::Stage {
            stage: "models".into(),
            message: "m".into()
        }));
        assert!(!b.apply(Line::Stage {
            stage: "install".into(),
            message: "i".into()
        }));
        assert_eq!(b.stage, Some(Stage::DownloadingModels));
        b.apply(Line::Models {
            done_files: 2,
            files: 8,
            done_bytes: 12_100_000_000,
            total_bytes: 16_400_000_000,
            current: Some("diffusion_models/x".into()),
        });
        assert_eq!(
            b.note(Stage::DownloadingModels),
            "Downloading model 3 of 8 (12.1 of 16.4 GB)"
        );
        b.apply(Line::Models {
            done_files: 8,
            files: 8,
            done_bytes: 16_400_000_000,
            total_bytes: 16_400_000_000,
            current: Some(String::new()),
        });
        assert_eq!(b.download.as_ref().and_then(|d| d.current.clone()), None);
        assert_eq!(
            b.note(Stage::DownloadingModels),
            "Downloading model 8 of 8 (16.4 of 16.4 GB)"
        );
        assert!(b.apply(Line::Stage {
            stage: "start".into(),
            message: "Starting ComfyUI".into()
        }));
        assert_eq!(b.note(Stage::StartingComfy), "Starting ComfyUI");
    }

    #[test]
    fn small_downloads_read_in_megabytes() {
        let d = DownloadProgress {
            done_files: 0,
            files: 2,
            done_bytes: 120_000_000,
            total_bytes: 316_000_000,
            current: None,
        };
        assert_eq!(
            download_message(&d),
            "Downloading model 1 of 2 (120 of 316 MB)"
        );
    }

    #[test]
    fn a_pin_learned_on_first_download_is_named_beside_the_count() {
        let mut boot = Boot::default();
        boot.apply(Line::Models {
            done_files: 1,
            files: 8,
            done_bytes: 16_400_000_000,
            total_bytes: 32_700_000_000,
            current: Some("text_encoders/umt5.safetensors".into()),
        });
        assert!(boot.apply(Line::Pinned {
            file: "diffusion_models/sd.safetensors".into(),
            revision: "0123456789abcdef".into(),
            sha256: "ab".repeat(32),
            size: 16_400_000_000,
        }));
        assert_eq!(
            boot.note(Stage::DownloadingModels),
            "Downloading model 2 of 8 (16.4 of 32.7 GB); pinned diffusion_models/sd.safetensors at revision 0123456, SHA-256 abababababab"
        );
    }
}

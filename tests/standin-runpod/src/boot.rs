//! What a pod prints while it starts: a few system and container lines for every pod, and for
//! pods created with our bootstrap (`SDS_MODELS` in the create `env`) the bootstrap's `##sds`
//! progress lines, on a clock scaled from the instance's timings so tests stay fast.

use crate::state::Timings;
use serde_json::{Value, json};
use std::time::Duration;

/// One line of a pod's log, due `at` after the pod was created.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub at: Duration,
    /// `container` or `system`, as RunPod's `source`.
    pub source: &'static str,
    pub line: String,
}

/// A pod's start-up as the stand-in plays it.
#[derive(Debug, Clone, Default)]
pub struct Boot {
    /// In the order they are printed (`at` never decreases).
    pub lines: Vec<LogEntry>,
    /// When ComfyUI answers, counted from create. `None`: the plain rule of [`Timings`].
    pub comfy_at: Option<Duration>,
    /// The bootstrap failed: ComfyUI never answers.
    pub never_ready: bool,
}

/// One `SDS_MODELS` line: `dest size sha256 revision repo path`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub dest: String,
    pub size: u64,
    pub sha256: String,
    pub revision: String,
}

pub const PREFIX: &str = "##sds ";

/// The model list of a create body, if it carries our bootstrap.
pub fn models_of(body: &Value) -> Option<Vec<ModelFile>> {
    let text = body.pointer("/env/SDS_MODELS")?.as_str()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some(ModelFile {
                    dest: f.first()?.to_string(),
                    size: f.get(1)?.parse().ok()?,
                    sha256: f.get(2).unwrap_or(&"").to_string(),
                    revision: f.get(3).unwrap_or(&"").to_string(),
                })
            })
            .collect(),
    )
}

struct Script {
    at: Duration,
    step: Duration,
    lines: Vec<LogEntry>,
}

impl Script {
    fn say(&mut self, source: &'static str, line: impl Into<String>) {
        self.lines.push(LogEntry {
            at: self.at,
            source,
            line: line.into(),
        });
    }

    fn sds(&mut self, event: Value) {
        self.say("container", format!("{PREFIX}{event}"));
    }

    fn tick(&mut self) {
        self.at += self.step;
    }
}

/// Plans a pod's log. `hash_mismatch` makes the bootstrap fail on the first model file.
pub fn plan(body: &Value, t: &Timings, hash_mismatch: bool) -> Boot {
    let image = body.get("image").and_then(Value::as_str).unwrap_or("");
    let running = t.provisioning + t.starting;
    let mut s = Script {
        at: Duration::ZERO,
        // Six steps per ComfyUI start keeps the whole bootstrap a few times `comfy_ready`.
        step: t.comfy_ready / 6,
        lines: Vec::new(),
    };
    s.say("system", "create container");
    s.say("system", format!("pulling image {image}"));
    s.at = t.provisioning;
    s.say("system", "image pulled; starting container");
    s.at = running;
    s.say("system", "container started");
    let Some(models) = models_of(body) else {
        s.say("container", "==> start.sh");
        s.at = running + t.comfy_ready;
        s.say("container", "To see the GUI go to: http://0.0.0.0:8188");
        return Boot {
            lines: s.lines,
            ..Boot::default()
        };
    };
    s.say("container", "sds-bootstrap: starting");
    s.sds(
        json!({"event": "stage", "stage": "prepare", "message": "Checking the disk and the GPU"}),
    );
    s.tick();
    s.say("container", "Cloning into '/workspace/ComfyUI'...");
    s.sds(json!({"event": "stage", "stage": "install", "message": "Installing ComfyUI and the node packs"}));
    s.tick();
    s.say("container", "Collecting torch==2.7.1");
    s.sds(json!({"event": "stage", "stage": "python", "message": "Installing Python packages"}));
    s.tick();
    let files = models.len();
    let total: u64 = models.iter().map(|m| m.size).sum();
    s.sds(json!({"event": "stage", "stage": "models", "message": format!("Downloading {files} model files")}));
    let mut done: u64 = 0;
    for (i, m) in models.iter().enumerate() {
        s.sds(json!({"event": "models", "done_files": i, "files": files, "done_bytes": done, "total_bytes": total, "current": m.dest}));
        s.tick();
        s.say("container", format!("{}: {}%", m.dest, 50));
        s.sds(json!({"event": "models", "done_files": i, "files": files, "done_bytes": done + m.size / 2, "total_bytes": total, "current": m.dest}));
        s.tick();
        if hash_mismatch {
            s.say("container", format!("sha256 mismatch for {}", m.dest));
            s.sds(json!({
                "event": "error",
                "code": "bootstrap.hash_mismatch",
                "message": format!(
                    "{}: the downloaded file's SHA-256 is not {} as the lock says; the file was removed. The file changed upstream or the download was damaged: start again, or update the lock.",
                    m.dest, m.sha256
                ),
            }));
            return Boot {
                lines: s.lines,
                comfy_at: None,
                never_ready: true,
            };
        }
        done += m.size;
        s.sds(json!({"event": "pinned", "file": m.dest, "revision": m.revision, "sha256": m.sha256, "size": m.size}));
    }
    s.sds(json!({"event": "models", "done_files": files, "files": files, "done_bytes": done, "total_bytes": total}));
    s.tick();
    s.sds(json!({"event": "stage", "stage": "start", "message": "Starting ComfyUI"}));
    s.say("container", "Starting server");
    s.tick();
    s.tick();
    s.say("container", "To see the GUI go to: http://0.0.0.0:8188");
    Boot {
        comfy_at: Some(s.at),
        lines: s.lines,
        never_ready: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(models: &str) -> Value {
        json!({"name": "p", "image": "runpod/pytorch:x", "env": {"SDS_MODELS": models}})
    }

    #[test]
    fn bootstrap_pods_print_stages_in_order_and_answer_after_start() {
        let b = plan(
            &body("a/x.safetensors 100 aa r1 repo x\n\nb/y.onnx 50 bb r2 repo y\n"),
            &Timings::fast(),
            false,
        );
        let stages: Vec<String> = b
            .lines
            .iter()
            .filter_map(|l| l.line.strip_prefix(PREFIX))
            .filter_map(|j| serde_json::from_str::<Value>(j).ok())
            .filter(|v| v["event"] == "stage")
            .map(|v| v["stage"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(stages, ["prepare", "install", "python", "models", "start"]);
        assert!(b.lines.windows(2).all(|w| w[0].at <= w[1].at));
        let start = b
            .lines
            .iter()
            .find(|l| l.line.contains("\"start\""))
            .map(|l| l.at);
        assert!(b.comfy_at > start);
        let pinned = b.lines.iter().filter(|l| l.line.contains("pinned")).count();
        assert_eq!(pinned, 2);
    }

    #[test]
    fn a_hash_mismatch_ends_with_an_error_and_never_answers() {
        let b = plan(
            &body("a/x.safetensors 100 aa r1 repo x"),
            &Timings::fast(),
            true,
        );
        assert!(b.never_ready);
        let last = &b.lines.last().map(|l| l.line.clone()).unwrap_or_default();
        assert!(last.contains("bootstrap.hash_mismatch"), "{last}");
    }

    #[test]
    fn pods_without_the_bootstrap_keep_the_plain_rule() {
        let b = plan(
            &json!({"name": "p", "env": {"A": "1"}}),
            &Timings::fast(),
            true,
        );
        assert!(b.comfy_at.is_none() && !b.never_ready);
        assert!(!b.lines.iter().any(|l| l.line.starts_with(PREFIX)));
    }
}

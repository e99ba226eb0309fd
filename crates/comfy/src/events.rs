//! Typed run events from ComfyUI's websocket messages, and the final state read from
//! `/history/{id}`, which is the source of truth when the socket misses something.

use crate::errors::{EXECUTION_FAILED, INTERRUPTED};
use serde::Serialize;
use serde_json::Value;
use studio_error::Error;

/// What happened to our prompt, in order. `Reconnecting`/`Reconnected` report the socket itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComfyEvent {
    /// Prompts waiting or running on the server (ours included).
    Queued {
        remaining: u64,
    },
    Started,
    Cached {
        nodes: Vec<String>,
    },
    Executing {
        node: String,
    },
    Progress {
        node: Option<String>,
        value: u64,
        max: u64,
    },
    NodeDone {
        node: String,
    },
    Finished,
    Failed {
        node: String,
        node_type: String,
        message: String,
    },
    Interrupted,
    Reconnecting {
        attempt: u32,
    },
    Reconnected,
}

impl ComfyEvent {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Finished | Self::Failed { .. } | Self::Interrupted
        )
    }
}

/// Parses one text frame; `None` for other prompts' events and for message types we ignore.
pub fn parse_message(text: &str, prompt_id: &str) -> Option<ComfyEvent> {
    let v: Value = serde_json::from_str(text).ok()?;
    let data = v.get("data")?;
    let kind = v.get("type")?.as_str()?;
    if kind == "status" {
        let remaining = data
            .pointer("/status/exec_info/queue_remaining")
            .and_then(Value::as_u64)?;
        return Some(ComfyEvent::Queued { remaining });
    }
    if data.get("prompt_id").and_then(Value::as_str) != Some(prompt_id) {
        return None;
    }
    let s = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    Some(match kind {
        "execution_start" => ComfyEvent::Started,
        "execution_cached" => ComfyEvent::Cached {
            nodes: data
                .get("nodes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        },
        // Older builds never send execution_success: `node: null` for our prompt means done.
        "executing" => match s("node") {
            Some(node) => ComfyEvent::Executing { node },
            None => ComfyEvent::Finished,
        },
        "progress" => ComfyEvent::Progress {
            node: s("node"),
            value: data.get("value").and_then(Value::as_u64)?,
            max: data.get("max").and_then(Value::as_u64)?,
        },
        "executed" => ComfyEvent::NodeDone { node: s("node")? },
        "execution_success" => ComfyEvent::Finished,
        "execution_error" => ComfyEvent::Failed {
            node: s("node_id").unwrap_or_default(),
            node_type: s("node_type").unwrap_or_default(),
            message: s("exception_message").unwrap_or_default(),
        },
        "execution_interrupted" => ComfyEvent::Interrupted,
        _ => return None,
    })
}

/// The outcome a history entry records, or `None` while it is not finished.
pub fn history_outcome(entry: &Value) -> Option<Result<(), ComfyEvent>> {
    let status = entry.get("status");
    let status_str = status
        .and_then(|s| s.get("status_str"))
        .and_then(Value::as_str);
    let completed = status
        .and_then(|s| s.get("completed"))
        .and_then(Value::as_bool);
    let messages = status
        .and_then(|s| s.get("messages"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let find = |name: &str| {
        messages
            .iter()
            .find(|m| m.get(0).and_then(Value::as_str) == Some(name))
            .and_then(|m| m.get(1))
            .cloned()
    };
    match (status_str, completed) {
        (Some("success"), _) | (None, Some(true)) => Some(Ok(())),
        (Some("error"), _) => {
            if find("execution_interrupted").is_some() {
                return Some(Err(ComfyEvent::Interrupted));
            }
            let e = find("execution_error").unwrap_or(Value::Null);
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Some(Err(ComfyEvent::Failed {
                node: s("node_id"),
                node_type: s("node_type"),
                message: s("exception_message"),
            }))
        }
        // An entry without status is written only once a prompt ends (very old builds).
        (None, None) if entry.get("outputs").is_some() => Some(Ok(())),
        _ => None,
    }
}

/// The error a failed or interrupted run becomes.
pub fn run_error(event: &ComfyEvent) -> Error {
    match event {
        ComfyEvent::Interrupted => Error::new(
            INTERRUPTED,
            "The render was stopped on the ComfyUI server before it finished.",
        ),
        ComfyEvent::Failed {
            node,
            node_type,
            message,
        } => {
            let hint = if message.to_ascii_lowercase().contains("out of memory") {
                " The GPU ran out of memory: lower the size or the number of frames, or use a \
                 card with more memory."
            } else {
                " Check the inputs and the server's log."
            };
            Error::new(
                EXECUTION_FAILED,
                format!(
                    "The render failed at node {node} ({node_type}): {}.{hint}",
                    message.trim().trim_end_matches('.')
                ),
            )
        }
        other => Error::internal(format!("{other:?} is not a failure")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_real_shapes_and_filters_other_prompts() {
        let p = |v: Value| parse_message(&v.to_string(), "p1");
        assert_eq!(
            p(
                json!({"type": "progress", "data": {"value": 2, "max": 4, "prompt_id": "p1", "node": "119"}})
            ),
            Some(ComfyEvent::Progress {
                node: Some("119".into()),
                value: 2,
                max: 4
            })
        );
        assert_eq!(
            p(
                json!({"type": "progress", "data": {"value": 2, "max": 4, "prompt_id": "p2", "node": "119"}})
            ),
            None
        );
        assert_eq!(
            p(json!({"type": "executing", "data": {"node": null, "prompt_id": "p1"}})),
            Some(ComfyEvent::Finished)
        );
        assert_eq!(
            p(json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 3}}}})),
            Some(ComfyEvent::Queued { remaining: 3 })
        );
    }

    #[test]
    fn history_outcomes() {
        assert_eq!(
            history_outcome(
                &json!({"status": {"status_str": "success", "completed": true, "messages": []}})
            ),
            Some(Ok(()))
        );
        let failed = json!({"status": {"status_str": "error", "completed": false, "messages": [
            ["execution_start", {}], ["execution_error", {"node_id": "28", "node_type": "WanVideoDecode", "exception_message": "CUDA out of memory"}]]}});
        let Some(Err(ev)) = history_outcome(&failed) else {
            panic!("expected a failure")
        };
        assert_eq!(run_error(&ev).code(), EXECUTION_FAILED);
        assert!(run_error(&ev).message().contains("ran out of memory"));
        assert_eq!(
            history_outcome(
                &json!({"prompt": [], "status": {"status_str": null, "completed": false}})
            ),
            None
        );
    }
}

//! Error codes of this crate and the translation of ComfyUI's validation answers into words a
//! user can act on.

use serde_json::Value;
use studio_error::Error;

pub const UNREACHABLE: &str = "comfy.unreachable";
pub const TIMEOUT: &str = "comfy.timeout";
pub const HTTP: &str = "comfy.http";
pub const BAD_RESPONSE: &str = "comfy.bad_response";
pub const UPLOAD_TOO_LARGE: &str = "comfy.upload_too_large";
pub const NODE_MISSING: &str = "comfy.node_missing";
pub const MODEL_MISSING: &str = "comfy.model_missing";
pub const INPUT_MISSING: &str = "comfy.input_missing";
pub const INVALID_PROMPT: &str = "comfy.invalid_prompt";
pub const EXECUTION_FAILED: &str = "comfy.execution_failed";
pub const INTERRUPTED: &str = "comfy.interrupted";
pub const PROMPT_LOST: &str = "comfy.prompt_lost";
pub const BAD_OUTPUT_NAME: &str = "comfy.bad_output_name";
pub const OUTPUT_MISSING: &str = "comfy.output_missing";
pub const DOWNLOAD_INCOMPLETE: &str = "comfy.download_incomplete";
/// A transfer moved no byte for the stall timeout and its retries were used up.
pub const TRANSFER_STALLED: &str = "comfy.transfer_stalled";
/// A transfer took longer than its deadline (its size at the slowest speed waited for).
pub const TRANSFER_DEADLINE: &str = "comfy.transfer_deadline";
/// The server sent more for one file than the render can have produced.
pub const OUTPUT_TOO_LARGE: &str = "comfy.output_too_large";
/// The server listed more output files than a render makes.
pub const TOO_MANY_OUTPUTS: &str = "comfy.too_many_outputs";
/// The output folder's disk lacks the room for the download.
pub const DISK_FULL: &str = "comfy.disk_full";
/// The server redirected a request to another host.
pub const REDIRECT_REFUSED: &str = "comfy.redirect_refused";
pub const BAD_OUTPUT: &str = "comfy.bad_output";
/// A finished download could not be given its final name.
pub const SAVE_FAILED: &str = "comfy.save_failed";
/// The workflow does not fit the server's node definitions (`/object_info`).
pub const WORKFLOW_MISMATCH: &str = "comfy.workflow_mismatch";

pub const MANIFEST_UNREADABLE: &str = "manifest.unreadable";
pub const MANIFEST_INVALID: &str = "manifest.invalid";
pub const MANIFEST_WORKFLOW: &str = "manifest.workflow_invalid";
pub const MANIFEST_UNKNOWN_NODE: &str = "manifest.unknown_node";
pub const MANIFEST_UNKNOWN_FIELD: &str = "manifest.unknown_field";
pub const MANIFEST_UNKNOWN_PARAM: &str = "manifest.unknown_param";
pub const MANIFEST_BAD_PARAM: &str = "manifest.bad_param";
pub const MANIFEST_MISSING_INPUT: &str = "manifest.missing_input";

/// The custom node pack a class comes from, so "node missing" can say what to install.
pub fn node_pack(class_type: &str) -> Option<&'static str> {
    let pack = if class_type.starts_with("WanVideo") {
        "ComfyUI-WanVideoWrapper (kijai)"
    } else if class_type.starts_with("VHS_") {
        "ComfyUI-VideoHelperSuite"
    } else if matches!(
        class_type,
        "OnnxDetectionModelLoader" | "PoseDetectionOneToAllAnimation"
    ) {
        "ComfyUI-WanAnimatePreprocess"
    } else if matches!(
        class_type,
        "ImageResizeKJv2" | "GetImageSizeAndCount" | "ImageConcatMulti" | "GetImageRangeFromBatch"
    ) {
        "ComfyUI-KJNodes"
    } else {
        return None;
    };
    Some(pack)
}

pub fn node_missing(node_id: &str, class_type: &str) -> Error {
    let from = node_pack(class_type)
        .map(|p| format!(" from the custom node pack {p}"))
        .unwrap_or_default();
    Error::new(
        NODE_MISSING,
        format!(
            "The ComfyUI server lacks the node {class_type}{from} (used by node {node_id}). \
             Install that pack on the server (or use a pod image that has it) and restart ComfyUI."
        ),
    )
}

pub fn model_missing(node_id: &str, class_type: &str, field: &str, file: &str) -> Error {
    Error::new(
        MODEL_MISSING,
        format!(
            "The model file {file} is not on the ComfyUI server ({class_type} node {node_id}, \
             input {field}). Download it into the server's models folder, or wait until the pod \
             has finished fetching its models."
        ),
    )
}

/// Model files are recognised by extension: a "value not in list" on such a value means the file
/// is absent, anything else is a workflow mistake.
pub fn looks_like_model_file(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        ".safetensors",
        ".onnx",
        ".ckpt",
        ".pt",
        ".pth",
        ".bin",
        ".gguf",
        ".sft",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// Turns the body of a 400 from `POST /prompt` into one error naming the node, class and input.
pub fn from_prompt_rejection(body: &Value, prompt: &Value) -> Error {
    let class_of = |id: &str| {
        prompt
            .get(id)
            .and_then(|n| n.get("class_type"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let error = body.get("error").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (etype, emsg, edetails) = (
        text(&error, "type"),
        text(&error, "message"),
        text(&error, "details"),
    );

    if etype == "invalid_prompt" && emsg.contains("does not exist") {
        // details look like "Node ID '#76'".
        let node_id: String = edetails
            .split('#')
            .nth(1)
            .map(|s| s.trim_end_matches('\'').to_string())
            .unwrap_or_default();
        let class = emsg
            .split("node ")
            .nth(1)
            .and_then(|s| s.split(" does not exist").next())
            .map(str::to_string)
            .unwrap_or_else(|| class_of(&node_id));
        return node_missing(&node_id, &class);
    }

    if let Some(nodes) = body.get("node_errors").and_then(Value::as_object) {
        for (node_id, node) in nodes {
            let class = node
                .get("class_type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| class_of(node_id));
            let Some(first) = node
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
            else {
                continue;
            };
            let extra = first.get("extra_info").cloned().unwrap_or(Value::Null);
            let field = text(&extra, "input_name");
            let received = extra
                .get("received_value")
                .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                .unwrap_or_default();
            if text(first, "type") == "value_not_in_list" {
                if looks_like_model_file(&received) {
                    return model_missing(node_id, &class, &field, &received);
                }
                if matches!(class.as_str(), "LoadImage" | "VHS_LoadVideo" | "LoadVideo") {
                    return Error::new(
                        INPUT_MISSING,
                        format!(
                            "The server does not have the uploaded file {received} that node \
                             {node_id} ({class}) reads. Render again; if it repeats, the server \
                             may be discarding uploads."
                        ),
                    );
                }
            }
            let field_part = if field.is_empty() {
                String::new()
            } else {
                format!(", input {field}")
            };
            return Error::new(
                INVALID_PROMPT,
                format!(
                    "ComfyUI rejected the workflow at node {node_id} ({class}{field_part}): {} {}. \
                     Check that the workflow matches the node versions on the server.",
                    text(first, "message"),
                    text(first, "details")
                )
                .replace("  ", " "),
            );
        }
    }
    Error::new(
        INVALID_PROMPT,
        format!(
            "ComfyUI rejected the workflow: {emsg} {edetails}. Check that the workflow file is in \
             ComfyUI's API format and matches the nodes on the server."
        )
        .replace(" .", "."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_class_names_node_and_pack() {
        let prompt = json!({"71": {"class_type": "WanVideoAddSteadyDancerEmbeds", "inputs": {}}});
        let body = json!({"error": {"type": "invalid_prompt",
            "message": "Cannot execute because node WanVideoAddSteadyDancerEmbeds does not exist.",
            "details": "Node ID '#71'", "extra_info": {}}, "node_errors": {}});
        let err = from_prompt_rejection(&body, &prompt);
        assert_eq!(err.code(), NODE_MISSING);
        assert!(err.message().contains("WanVideoAddSteadyDancerEmbeds"));
        assert!(err.message().contains("ComfyUI-WanVideoWrapper"));
        assert!(err.message().contains("node 71"));
    }

    #[test]
    fn value_not_in_list_on_a_model_is_model_missing() {
        let prompt = json!({"22": {"class_type": "WanVideoModelLoader", "inputs": {}}});
        let body = json!({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
            "node_errors": {"22": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
              "details": "model: 'a/b.safetensors' not in []",
              "extra_info": {"input_name": "model", "received_value": "a/b.safetensors"}}],
              "dependent_outputs": ["83"], "class_type": "WanVideoModelLoader"}}});
        let err = from_prompt_rejection(&body, &prompt);
        assert_eq!(err.code(), MODEL_MISSING);
        assert!(
            err.message().contains("a/b.safetensors"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn other_rejections_name_node_and_input() {
        let body = json!({"error": {"type": "prompt_outputs_failed_validation", "message": "x", "details": "", "extra_info": {}},
            "node_errors": {"119": {"errors": [{"type": "value_bigger_than_max", "message": "Value 99 bigger than max of 50",
              "details": "steps", "extra_info": {"input_name": "steps", "received_value": 99}}],
              "class_type": "WanVideoSamplerSettings"}}});
        let err = from_prompt_rejection(&body, &json!({}));
        assert_eq!(err.code(), INVALID_PROMPT);
        assert!(
            err.message()
                .contains("node 119 (WanVideoSamplerSettings, input steps)")
        );
    }
}

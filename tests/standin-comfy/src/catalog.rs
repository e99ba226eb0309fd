//! The node classes and loader choices the stand-in offers in `/object_info`, and the checks
//! `POST /prompt` makes before queueing, both in ComfyUI's shapes.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Classes whose execution writes something the history lists.
pub const OUTPUT_CLASSES: &[&str] = &["VHS_VideoCombine", "SaveImage", "PreviewImage", "SaveVideo"];

/// Every class the SteadyDancer workflow uses, plus ComfyUI's own basics.
pub fn steadydancer_classes() -> BTreeSet<String> {
    [
        "CLIPVisionLoader",
        "GetImageRangeFromBatch",
        "GetImageSizeAndCount",
        "ImageConcatMulti",
        "ImageResizeKJv2",
        "LoadImage",
        "OnnxDetectionModelLoader",
        "PoseDetectionOneToAllAnimation",
        "PreviewImage",
        "SaveImage",
        "VHS_LoadVideo",
        "VHS_VideoCombine",
        "VHS_VideoInfoLoaded",
        "WanVideoAddSteadyDancerEmbeds",
        "WanVideoBlockSwap",
        "WanVideoClipVisionEncode",
        "WanVideoContextOptions",
        "WanVideoDecode",
        "WanVideoEncode",
        "WanVideoImageToVideoEncode",
        "WanVideoLoraSelect",
        "WanVideoModelLoader",
        "WanVideoSamplerFromSettings",
        "WanVideoSamplerSettings",
        "WanVideoScheduler",
        "WanVideoSetBlockSwap",
        "WanVideoSetLoRAs",
        "WanVideoTextEncodeCached",
        "WanVideoTorchCompileSettings",
        "WanVideoVAELoader",
        studio_pods::bootstrap::ENVIRONMENT_NODE,
    ]
    .into_iter()
    .map(str::to_string)
    .collect()
}

/// Loader choices: class -> field -> files the loader can see (the model files a pod needs).
pub fn steadydancer_models() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let entries: &[(&str, &str, &[&str])] = &[
        (
            "WanVideoModelLoader",
            "model",
            &["WanVideo/SteadyDancer/Wan21_SteadyDancer_fp8_e4m3fn_scaled_KJ.safetensors"],
        ),
        (
            "WanVideoVAELoader",
            "model_name",
            &["wanvideo/Wan2_1_VAE_bf16.safetensors"],
        ),
        (
            "CLIPVisionLoader",
            "clip_name",
            &["clip_vision_h.safetensors"],
        ),
        (
            "WanVideoLoraSelect",
            "lora",
            &["WanVideo/Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors"],
        ),
        (
            "WanVideoTextEncodeCached",
            "model_name",
            &["umt5-xxl-enc-bf16.safetensors"],
        ),
        (
            "OnnxDetectionModelLoader",
            "vitpose_model",
            &["onnx/vitpose_h_wholebody_model.onnx"],
        ),
        (
            "OnnxDetectionModelLoader",
            "yolo_model",
            &["onnx/yolov10m.onnx"],
        ),
    ];
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    // As on a pod our bootstrap built from the bundled lock: its environment node reports the
    // pinned commits (tests of a wrong environment replace these).
    let lock = studio_pods::EnvLock::bundled();
    out.insert(
        studio_pods::bootstrap::ENVIRONMENT_NODE.to_string(),
        studio_pods::bootstrap::environment_fields(&lock)
            .into_iter()
            .map(|(field, value)| (field, vec![value]))
            .collect(),
    );
    for (class, field, files) in entries {
        out.entry(class.to_string()).or_default().insert(
            field.to_string(),
            files.iter().map(|f| f.to_string()).collect(),
        );
    }
    out
}

pub fn input_files(dir: &Path, video: bool) -> Vec<String> {
    let exts: &[&str] = if video {
        &["mp4", "mov", "webm", "mkv", "gif"]
    } else {
        &["png", "jpg", "jpeg", "webp"]
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let ext = n.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            exts.contains(&ext.as_str())
        })
        .collect();
    names.sort();
    names
}

/// The choices a class offers for a field, including the input folder for the media loaders.
pub fn choices(
    models: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    input_dir: &Path,
    class: &str,
    field: &str,
) -> Option<Vec<String>> {
    match (class, field) {
        ("LoadImage", "image") => Some(input_files(input_dir, false)),
        ("VHS_LoadVideo", "video") => Some(input_files(input_dir, true)),
        _ => models.get(class)?.get(field).cloned(),
    }
}

pub fn object_info_entry(
    class: &str,
    models: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    input_dir: &Path,
) -> Value {
    let mut fields: Vec<String> = models
        .get(class)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    match class {
        "LoadImage" => fields.push("image".into()),
        "VHS_LoadVideo" => fields.push("video".into()),
        _ => {}
    }
    let mut required = Map::new();
    for f in &fields {
        let list = choices(models, input_dir, class, f).unwrap_or_default();
        required.insert(f.clone(), json!([list, {}]));
    }
    json!({
        "input": {"required": required},
        "input_order": {"required": fields},
        "output": [], "output_is_list": [], "output_name": [],
        "name": class, "display_name": class, "description": "",
        "python_module": "custom_nodes.standin", "category": "standin",
        "output_node": OUTPUT_CLASSES.contains(&class),
    })
}

/// ComfyUI's validation: `Err((body))` is the 400 answer.
pub fn validate(
    prompt: &Map<String, Value>,
    classes: &BTreeSet<String>,
    models: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    input_dir: &Path,
) -> Result<Vec<String>, Value> {
    let fail = |t: &str, m: String, d: String| json!({"error": {"type": t, "message": m, "details": d, "extra_info": {}}, "node_errors": {}});
    let mut outputs = Vec::new();
    for (id, node) in prompt {
        let Some(class) = node.get("class_type").and_then(Value::as_str) else {
            return Err(fail(
                "invalid_prompt",
                "Cannot execute because a node is missing the class_type property.".to_string(),
                format!("Node ID '#{id}'"),
            ));
        };
        if !classes.contains(class) {
            return Err(fail(
                "invalid_prompt",
                format!("Cannot execute because node {class} does not exist."),
                format!("Node ID '#{id}'"),
            ));
        }
        if OUTPUT_CLASSES.contains(&class) {
            outputs.push(id.clone());
        }
    }
    if outputs.is_empty() {
        return Err(fail(
            "prompt_no_outputs",
            "Prompt has no outputs".into(),
            String::new(),
        ));
    }
    let mut node_errors = Map::new();
    for (id, node) in prompt {
        let class = node
            .get("class_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(inputs) = node.get("inputs").and_then(Value::as_object) else {
            continue;
        };
        for (field, value) in inputs {
            let Some(list) = choices(models, input_dir, class, field) else {
                continue;
            };
            let Some(v) = value.as_str() else { continue };
            if !list.iter().any(|c| c == v) {
                node_errors.insert(id.clone(), json!({
                    "errors": [{"type": "value_not_in_list", "message": "Value not in list",
                        "details": format!("{field}: '{v}' not in {list:?}"),
                        "extra_info": {"input_name": field, "input_config": [list, {}], "received_value": v}}],
                    "dependent_outputs": outputs, "class_type": class}));
            }
        }
    }
    if !node_errors.is_empty() {
        return Err(
            json!({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}, "node_errors": node_errors}),
        );
    }
    Ok(outputs)
}

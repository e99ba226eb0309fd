//! `SaveImage`: one still picture per run, the uploaded photo as PNG, listed under `images` as
//! ComfyUI lists it.

use crate::Shared;
use crate::naming::next_save_path;
use serde_json::{Map, Value, json};

pub(crate) async fn save_image(
    shared: &Shared,
    prompt: &Map<String, Value>,
    id: &str,
) -> Result<Value, String> {
    let image = prompt
        .values()
        .find(|n| n["class_type"] == "LoadImage")
        .and_then(|n| n["inputs"]["image"].as_str())
        .ok_or("no LoadImage node")?;
    let prefix = prompt[id]["inputs"]["filename_prefix"]
        .as_str()
        .unwrap_or("ComfyUI");
    let at = next_save_path(&shared.output_dir, prefix, "png")?;
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-i"])
        .arg(shared.input_dir.join(image))
        .args(["-frames:v", "1"])
        .arg(&at.full)
        .status()
        .await
        .map_err(|e| format!("ffmpeg did not run: {e}"))?;
    if !status.success() {
        return Err(format!("ffmpeg failed with {status}"));
    }
    Ok(json!({"filename": at.filename, "subfolder": at.subfolder, "type": "output"}))
}

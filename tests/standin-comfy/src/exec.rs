//! Executes queued prompts one at a time, as ComfyUI does: events in ComfyUI's shapes, sampling
//! steps at the configured speed, a real H.264 video from the reference image, and a history
//! entry the way VideoHelperSuite reports it (`gifs`).

use crate::naming::next_save_path;
use crate::{Job, Shared, WsOut, lock};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

const SAMPLERS: &[&str] = &["WanVideoSampler", "WanVideoSamplerFromSettings", "KSampler"];

pub(crate) async fn worker(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut q = lock(&shared.queue);
            let job = q.pending.pop_front();
            q.running.clone_from(&job);
            job
        };
        let Some(job) = job else {
            shared.wake.notified().await;
            continue;
        };
        shared.interrupt.store(false, Ordering::SeqCst);
        shared.executed.fetch_add(1, Ordering::SeqCst);
        let entry = run(&shared, &job).await;
        lock(&shared.history).insert(job.id.clone(), entry);
        lock(&shared.queue).running = None;
        shared.ws_refused.store(false, Ordering::SeqCst);
        let remaining = shared.queue_remaining();
        shared.send(
            None,
            "status",
            json!({"status": {"exec_info": {"queue_remaining": remaining}}}),
        );
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

enum End {
    Error {
        node: String,
        class: String,
        message: String,
    },
    Interrupted {
        node: String,
        class: String,
    },
}

async fn run(shared: &Shared, job: &Job) -> Value {
    let to = Some(job.client_id.as_str());
    let pid = job.id.as_str();
    let remaining = shared.queue_remaining();
    shared.send(
        None,
        "status",
        json!({"status": {"exec_info": {"queue_remaining": remaining}}}),
    );
    let mut messages = vec![json!(["execution_start", {"prompt_id": pid, "timestamp": now_ms()}])];
    shared.send(
        to,
        "execution_start",
        json!({"prompt_id": pid, "timestamp": now_ms()}),
    );
    shared.send(
        to,
        "execution_cached",
        json!({"nodes": [], "prompt_id": pid, "timestamp": now_ms()}),
    );
    let prompt = job.prompt.as_object().cloned().unwrap_or_default();
    let mut outputs = Map::new();
    let result = execute(shared, job, &prompt, &mut outputs).await;
    let (status_str, completed) = match result {
        Ok(()) => {
            messages.push(json!(["execution_success", {"prompt_id": pid, "timestamp": now_ms()}]));
            if !lock(&shared.faults).legacy_events {
                let data = json!({"prompt_id": pid, "timestamp": now_ms()});
                shared.send(to, "execution_success", data);
            }
            ("success", true)
        }
        Err(End::Error {
            node,
            class,
            message,
        }) => {
            let data = json!({"prompt_id": pid, "node_id": node, "node_type": class, "executed": [],
                "exception_message": message, "exception_type": "RuntimeError", "traceback": [],
                "current_inputs": {}, "current_outputs": {}, "timestamp": now_ms()});
            messages.push(json!(["execution_error", data.clone()]));
            shared.send(to, "execution_error", data);
            ("error", false)
        }
        Err(End::Interrupted { node, class }) => {
            let data = json!({"prompt_id": pid, "node_id": node, "node_type": class, "executed": [], "timestamp": now_ms()});
            messages.push(json!(["execution_interrupted", data.clone()]));
            shared.send(to, "execution_interrupted", data);
            ("error", false)
        }
    };
    shared.send(
        to,
        "executing",
        json!({"node": null, "display_node": null, "prompt_id": pid}),
    );
    json!({
        "prompt": [job.number, pid, job.prompt, {"client_id": job.client_id}, job.outputs],
        "outputs": outputs,
        "status": {"status_str": status_str, "completed": completed, "messages": messages},
        "meta": {},
    })
}

fn ordered(prompt: &Map<String, Value>) -> Vec<String> {
    let mut ids: Vec<String> = prompt.keys().cloned().collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
    ids
}

async fn execute(
    shared: &Shared,
    job: &Job,
    prompt: &Map<String, Value>,
    outputs: &mut Map<String, Value>,
) -> Result<(), End> {
    let to = Some(job.client_id.as_str());
    let pid = job.id.as_str();
    for id in ordered(prompt) {
        let class = prompt[&id]
            .get("class_type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if shared.interrupt.swap(false, Ordering::SeqCst) {
            return Err(End::Interrupted { node: id, class });
        }
        shared.send(
            to,
            "executing",
            json!({"node": id, "display_node": id, "prompt_id": pid}),
        );
        let fail = lock(&shared.faults).fail_at_node.clone();
        if let Some((node, message)) = fail.filter(|(n, _)| *n == id) {
            return Err(End::Error {
                node,
                class,
                message,
            });
        }
        if SAMPLERS.contains(&class.as_str()) {
            let steps = shared
                .config
                .steps
                .unwrap_or_else(|| steps_of(prompt, &id))
                .max(1);
            for step in 1..=u64::from(steps) {
                tokio::time::sleep(shared.config.step_delay).await;
                if shared.interrupt.swap(false, Ordering::SeqCst) {
                    return Err(End::Interrupted { node: id, class });
                }
                shared.send(
                    to,
                    "progress",
                    json!({"value": step, "max": steps, "prompt_id": pid, "node": id}),
                );
                let mut f = lock(&shared.faults);
                if f.ws_cut_at_step == Some(step) {
                    f.ws_cut_at_step = None;
                    if f.ws_down_until_done {
                        shared.ws_refused.store(true, Ordering::SeqCst);
                    }
                    let _ = shared.hub.send(WsOut::Cut);
                }
            }
        }
        if class == "VHS_VideoCombine" {
            let entry = make_video(shared, prompt, &id)
                .await
                .map_err(|message| End::Error {
                    node: id.clone(),
                    class: class.clone(),
                    message,
                })?;
            let output = json!({"gifs": [entry]});
            shared.send(
                to,
                "executed",
                json!({"node": id, "display_node": id, "output": output, "prompt_id": pid}),
            );
            outputs.insert(id.clone(), output);
        }
        if class == "SaveImage" {
            let entry = crate::still::save_image(shared, prompt, &id)
                .await
                .map_err(|message| End::Error {
                    node: id.clone(),
                    class: class.clone(),
                    message,
                })?;
            let output = json!({"images": [entry]});
            shared.send(
                to,
                "executed",
                json!({"node": id, "display_node": id, "output": output, "prompt_id": pid}),
            );
            outputs.insert(id.clone(), output);
        }
    }
    Ok(())
}

/// Steps from the sampler's settings node (`sampler_inputs` link) or its own `steps` input.
fn steps_of(prompt: &Map<String, Value>, id: &str) -> u32 {
    let inputs = &prompt[id]["inputs"];
    let from = |v: &Value| v.as_u64().map(|n| n as u32);
    if let Some(n) = from(&inputs["steps"]) {
        return n;
    }
    let settings = inputs["sampler_inputs"][0].as_str().unwrap_or("");
    prompt
        .get(settings)
        .and_then(|s| from(&s["inputs"]["steps"]))
        .unwrap_or(4)
}

fn find<'a>(prompt: &'a Map<String, Value>, class: &str) -> Option<&'a Value> {
    prompt.values().find(|n| n["class_type"] == class)
}

async fn make_video(
    shared: &Shared,
    prompt: &Map<String, Value>,
    id: &str,
) -> Result<Value, String> {
    let node = &prompt[id]["inputs"];
    let image = find(prompt, "LoadImage")
        .and_then(|n| n["inputs"]["image"].as_str())
        .ok_or("no LoadImage node")?;
    let load = find(prompt, "VHS_LoadVideo").ok_or("no VHS_LoadVideo node")?;
    let video = load["inputs"]["video"].as_str().ok_or("no video")?;
    let image = shared.input_dir.join(image);
    let video = shared.input_dir.join(video);
    let force_rate = load["inputs"]["force_rate"].as_f64().unwrap_or(0.0);
    let source = probe_video(&video).await?;
    let load_rate = if force_rate > 0.0 {
        force_rate
    } else {
        source.1
    };
    // A literal frame rate is used as is; a link (VHS_VideoInfoLoaded) carries the load rate.
    let fps = node["frame_rate"].as_f64().unwrap_or(load_rate);
    let mut frames = (source.0 * load_rate).floor() as u64;
    let cap = load["inputs"]["frame_load_cap"].as_u64().unwrap_or(0);
    if cap > 0 {
        frames = frames.min(cap);
    }
    let frames = ((frames.saturating_sub(1)) / 4 * 4 + 1).max(1);
    let dim = |k: &str, d: u64| load["inputs"][k].as_u64().filter(|v| *v > 0).unwrap_or(d) / 2 * 2;
    let (w, h) = (dim("custom_width", 480), dim("custom_height", 832));
    let prefix = node["filename_prefix"].as_str().unwrap_or("ComfyUI");
    let at = next_save_path(&shared.output_dir, prefix, "mp4")?;
    encode(&image, &at.full, frames, fps, w, h).await?;
    let workflow = at.filename.replace(".mp4", ".png");
    let listed = lock(&shared.faults)
        .hostile_output_name
        .clone()
        .unwrap_or(at.filename);
    Ok(
        json!({"filename": listed, "subfolder": at.subfolder, "type": "output",
        "format": "video/h264-mp4", "frame_rate": fps, "workflow": workflow, "fullpath": at.full}),
    )
}

/// (duration in seconds, frame rate) of a video, read with `ffprobe`.
async fn probe_video(path: &Path) -> Result<(f64, f64), String> {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=r_frame_rate:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .await
        .map_err(|e| format!("ffprobe did not run: {e}"))?;
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{} is not a video", path.display()))?;
    let duration = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .ok_or("video without duration")?;
    let rate = v["streams"][0]["r_frame_rate"].as_str().and_then(|r| {
        let (a, b) = r.split_once('/')?;
        Some(a.parse::<f64>().ok()? / b.parse::<f64>().ok()?)
    });
    Ok((duration, rate.unwrap_or(16.0)))
}

async fn encode(
    image: &Path,
    out: &PathBuf,
    frames: u64,
    fps: f64,
    w: u64,
    h: u64,
) -> Result<(), String> {
    let filter =
        format!("scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},format=yuv420p");
    let status = tokio::process::Command::new("ffmpeg")
        .args([
            "-y",
            "-v",
            "error",
            "-loop",
            "1",
            "-framerate",
            &fps.to_string(),
            "-i",
        ])
        .arg(image)
        .args([
            "-frames:v",
            &frames.to_string(),
            "-vf",
            &filter,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ])
        .arg(out)
        .status()
        .await
        .map_err(|e| format!("ffmpeg did not run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ffmpeg failed with {status}"))
    }
}

//! Shared set-up: real media made with the ffmpeg CLI, the repository's manifest, a stand-in.
#![allow(dead_code, clippy::unwrap_used)]

use standin_comfy::{StandinComfy, StandinConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use studio_comfy::{ClientConfig, ComfyClient, Manifest, RenderEvent, RenderRequest};

pub fn manifest() -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/steadydancer.toml");
    Manifest::load(&path).expect("the repository's manifest loads")
}

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-y", "-v", "error"])
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(ok.success(), "ffmpeg {args:?}");
}

/// A photo and a one-second dance video in `dir`.
pub fn media(dir: &Path) -> (PathBuf, PathBuf) {
    let photo = dir.join("photo.png");
    let video = dir.join("dance.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x160",
        "-frames:v",
        "1",
        photo.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x160:rate=25",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        video.to_str().unwrap(),
    ]);
    (photo, video)
}

pub fn request(photo: &Path, video: &Path) -> RenderRequest {
    let mut r = RenderRequest::default();
    r.inputs
        .insert("reference_image".into(), photo.to_path_buf());
    r.inputs.insert("driving_video".into(), video.to_path_buf());
    let params: BTreeMap<String, serde_json::Value> = [
        ("width", 256.into()),
        ("height", 448.into()),
        ("fps", 8.into()),
        ("steps", 3.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    r.params = params;
    r
}

pub async fn standin() -> StandinComfy {
    standin_with(StandinConfig::default()).await
}

pub async fn standin_with(config: StandinConfig) -> StandinComfy {
    StandinComfy::start(config).await.expect("stand-in starts")
}

pub fn client(url: &str) -> ComfyClient {
    ComfyClient::with_config(url, ClientConfig::fast()).expect("client")
}

/// Collects events from a render for assertions.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<RenderEvent>>>);

impl Recorder {
    pub fn sink(&self) -> impl FnMut(RenderEvent) + Send + use<> {
        let inner = self.0.clone();
        move |e| inner.lock().unwrap().push(e)
    }

    pub fn events(&self) -> Vec<RenderEvent> {
        self.0.lock().unwrap().clone()
    }
}

/// (frames, frame rate, codec) of a video, read with ffprobe.
pub fn probe(path: &Path) -> (u64, f64, String) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,r_frame_rate,codec_name",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let s = &v["streams"][0];
    let frames = s["nb_read_frames"].as_str().unwrap().parse().unwrap();
    let (a, b) = s["r_frame_rate"].as_str().unwrap().split_once('/').unwrap();
    let rate = a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap();
    (frames, rate, s["codec_name"].as_str().unwrap().to_string())
}

/// The one MP4 in `dir` (a stand-in's output folder, or a render's).
pub fn only_video(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

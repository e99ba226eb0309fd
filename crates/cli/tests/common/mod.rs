//! A rig for `studio` commands that render: the stand-in RunPod in front of the stand-in
//! ComfyUI, two photos and two dances made by ffmpeg, and a data folder whose Settings ask for
//! two pods at once and a $2 budget per render.
#![allow(dead_code, clippy::unwrap_used)]

use standin_comfy::{StandinComfy, StandinConfig};
use standin_runpod::{StandIn, StandInConfig, Timings};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub const GPU: &str = "NVIDIA A100 80GB PCIe";

pub struct Rig {
    pub runpod: StandIn,
    pub comfy: StandinComfy,
    pub files: tempfile::TempDir,
    pub data: tempfile::TempDir,
}

pub async fn rig() -> Rig {
    rig_with(Duration::from_millis(50)).await
}

/// As [`rig`], with this long a sampling step on the stand-in ComfyUI (each render has 2).
pub async fn rig_with(step_delay: Duration) -> Rig {
    rig_on(step_delay, Timings::fast()).await
}

/// As [`rig_with`], with the stand-in RunPod's pod start-up timings.
pub async fn rig_on(step_delay: Duration, timings: Timings) -> Rig {
    let comfy = StandinComfy::start(StandinConfig {
        steps: Some(2),
        step_delay,
        ..StandinConfig::default()
    })
    .await
    .unwrap();
    let upstream = url::Url::parse(comfy.url()).unwrap();
    let runpod = StandIn::start(StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(upstream.clone()))),
        timings,
        ..StandInConfig::default()
    })
    .await
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    for (name, colour) in [("ana.png", "navy"), ("ben.png", "maroon")] {
        ffmpeg(
            files.path(),
            name,
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("color=c={colour}:s=480x832"),
                "-frames:v",
                "1",
            ],
        );
    }
    for (name, pattern) in [("salsa.mp4", "testsrc"), ("tango.mp4", "testsrc2")] {
        ffmpeg(
            files.path(),
            name,
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("{pattern}=size=480x832:rate=16:duration=1"),
                "-pix_fmt",
                "yuv420p",
            ],
        );
    }
    let data = tempfile::tempdir().unwrap();
    // Settings as the app saved them: the pods at once and the budget per render.
    let settings = studio_core::settings::Settings {
        gpu_ids: vec![GPU.to_string()],
        max_pods: 2,
        budget_usd: Some(2.0),
        output_dir: Some(data.path().join("renders")),
        ..Default::default()
    };
    settings.save(data.path()).unwrap();
    Rig {
        runpod,
        comfy,
        files,
        data,
    }
}

pub fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("the ffmpeg command is installed")
        .success();
    assert!(ok, "ffmpeg failed making {name}");
    out
}

impl Rig {
    pub fn file(&self, name: &str) -> String {
        self.files.path().join(name).display().to_string()
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STUDIO_DATA_DIR", self.data.path().display().to_string()),
            ("STUDIO_RUNPOD_API_URL", self.runpod.api_url().to_string()),
            ("STUDIO_POD_URL_TEMPLATE", self.runpod.pod_url_template()),
            ("RUNPOD_API_KEY", self.runpod.api_key().to_string()),
        ]
    }

    pub fn studio(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_studio"));
        cmd.args(args)
            .envs(self.env())
            .env_remove("STUDIO_COMFY_URL")
            .env_remove("STUDIO_DEMO")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.studio(args).output().await.unwrap()
    }

    pub fn two_by_two(&self) -> Vec<String> {
        let mut args = vec!["render".to_string()];
        for image in ["ana.png", "ben.png"] {
            args.extend(["--image".to_string(), self.file(image)]);
        }
        for video in ["salsa.mp4", "tango.mp4"] {
            args.extend(["--video".to_string(), self.file(video)]);
        }
        args.extend(["--param".to_string(), "seed=7".to_string()]);
        args
    }

    pub fn pods_created(&self) -> usize {
        self.runpod
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/pods"))
            .count()
    }
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

//! Typed progress for the CLI and the GUI: which stage, how long, what it has cost so far.

use serde::Serialize;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Walking the GPU candidates.
    Creating,
    Provisioning,
    ContainerStarting,
    /// Our bootstrap installs ComfyUI, the node packs and the Python packages (its `prepare`,
    /// `install` and `python` stages, read from the pod's log).
    Installing,
    /// Our bootstrap downloads and checks the model files; events carry byte progress.
    DownloadingModels,
    /// Our bootstrap has started ComfyUI, which does not answer yet.
    StartingComfy,
    /// ComfyUI answers through the proxy (`/system_stats`).
    ComfyAnswering,
    /// Custom nodes and model files the workflow needs are present (`/object_info`).
    ModelsPresent,
    Ready,
    /// Running a job; the cost meter and budget cap keep ticking.
    Watching,
    Terminating,
    Terminated,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Provisioning => "provisioning",
            Self::ContainerStarting => "container_starting",
            Self::Installing => "installing",
            Self::DownloadingModels => "downloading_models",
            Self::StartingComfy => "starting_comfy",
            Self::ComfyAnswering => "comfy_answering",
            Self::ModelsPresent => "models_present",
            Self::Ready => "ready",
            Self::Watching => "watching",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Creating => "Finding a GPU",
            Self::Provisioning => "Provisioning the pod",
            Self::ContainerStarting => "Starting the container (first start downloads the image)",
            Self::Installing => "Installing ComfyUI and its Python packages",
            Self::DownloadingModels => "Downloading models",
            Self::StartingComfy => "Starting ComfyUI",
            Self::ComfyAnswering => "Waiting for ComfyUI (first start downloads models)",
            Self::ModelsPresent => "Checking custom nodes and models",
            Self::Ready => "Ready",
            Self::Watching => "Running",
            Self::Terminating => "Terminating the pod",
            Self::Terminated => "Terminated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodEvent {
    pub name: Option<String>,
    pub pod_id: Option<String>,
    pub gpu_id: Option<String>,
    pub stage: Stage,
    /// Since the lifecycle call began.
    pub elapsed_secs: f64,
    /// Since this stage began.
    pub stage_elapsed_secs: f64,
    /// From the rate captured at create; 0 before a pod exists.
    pub cost_usd: f64,
    pub message: String,
    /// While models download on the pod: how far along, from the bootstrap's own count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<DownloadProgress>,
}

/// Model download progress on the pod, as its bootstrap reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadProgress {
    pub done_files: u64,
    pub files: u64,
    pub done_bytes: u64,
    pub total_bytes: u64,
    /// The file being downloaded, relative to ComfyUI's `models` folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// Sends events if anybody listens; a closed receiver never stops the lifecycle.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    tx: Option<UnboundedSender<PodEvent>>,
}

impl Reporter {
    pub fn new(tx: UnboundedSender<PodEvent>) -> Self {
        Self { tx: Some(tx) }
    }

    pub fn silent() -> Self {
        Self::default()
    }

    pub fn send(&self, event: PodEvent) {
        tracing::debug!(stage = event.stage.as_str(), pod = ?event.pod_id, cost = event.cost_usd, "{}", event.message);
        if let Some(tx) = &self.tx {
            let _ = tx.send(event);
        }
    }
}

/// Cost computed locally from the rate captured at create (RunPod's own cost fields have
/// read 0), counted from the moment the create was answered.
#[derive(Debug, Clone, Copy)]
pub struct CostMeter {
    pub rate_per_hour: f64,
    pub since: Instant,
}

impl CostMeter {
    pub fn new(rate_per_hour: f64, since: Instant) -> Self {
        Self {
            rate_per_hour,
            since,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.since.elapsed()
    }

    pub fn cost(&self) -> f64 {
        self.elapsed().as_secs_f64() * self.rate_per_hour / 3600.0
    }
}

/// "$0.42" for messages.
pub fn dollars(usd: f64) -> String {
    if usd < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_counts_from_create() {
        let m = CostMeter::new(3600.0, Instant::now() - Duration::from_secs(2));
        let c = m.cost();
        assert!((2.0..3.0).contains(&c), "{c}");
        assert_eq!(dollars(1.234), "$1.23");
        assert_eq!(dollars(0.00123), "$0.0012");
    }
}

//! What the user asked for: everything needed to run a render again with the same settings.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the render runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Target {
    /// A new RunPod pod started for this job (and always terminated by it).
    /// `gpu_ids` empty means the candidates from Settings.
    NewPod { gpu_ids: Vec<String> },
    /// A pod the user started by hand: the job uses it and leaves it running.
    WarmPod { pod_id: String },
    /// A ComfyUI server the user already has; no pod, no cost.
    ComfyUrl { url: String },
}

impl Target {
    pub fn uses_pod(&self) -> bool {
        !matches!(self, Target::ComfyUrl { .. })
    }
}

/// How the dance video is prepared before upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NormaliseOptions {
    /// Start of the chosen range, seconds.
    pub trim_start: Option<f64>,
    /// End of the chosen range, seconds.
    pub trim_end: Option<f64>,
    /// "portrait" | "landscape"; absent = follow the photo.
    pub orientation: Option<String>,
    /// "crop" | "pad".
    pub fit: Option<String>,
}

/// A render request. Stored whole in the journal and in the gallery ("render again").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub image: PathBuf,
    pub video: PathBuf,
    /// The workflow manifest (`workflows/steadydancer.toml` by default).
    pub manifest: PathBuf,
    /// Values for the manifest's `[params]`, by name.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub target: Target,
    pub out_dir: PathBuf,
    /// Stop and tear down once the live cost reaches this many US dollars.
    #[serde(default)]
    pub budget_usd: Option<f64>,
    #[serde(default)]
    pub normalise: NormaliseOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_serialises_with_a_kind_tag_in_camel_case() {
        let t = Target::NewPod {
            gpu_ids: vec!["NVIDIA A100 80GB PCIe".into()],
        };
        assert_eq!(
            serde_json::to_value(&t).expect("serialise"),
            serde_json::json!({"kind": "newPod", "gpuIds": ["NVIDIA A100 80GB PCIe"]})
        );
        let w: Target =
            serde_json::from_value(serde_json::json!({"kind": "warmPod", "podId": "abc"}))
                .expect("parse");
        assert_eq!(
            w,
            Target::WarmPod {
                pod_id: "abc".into()
            }
        );
        assert!(w.uses_pod());
        assert!(
            !Target::ComfyUrl {
                url: "http://x".into()
            }
            .uses_pod()
        );
    }
}

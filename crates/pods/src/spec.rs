//! What pod to ask for: the defaults from the seed's plan, every field editable in Settings.

use crate::deadman::DeadMan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use studio_core::settings;
use studio_runpod::{Cloud, CreateGpu, CreatePodRequest, Mounts, NetworkMount};

/// Every pod the app makes carries this prefix; the orphan sweep only touches such pods.
pub const NAME_PREFIX: &str = "sds-";
pub const COMFY_PORT: u16 = 8188;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodSpec {
    pub image: String,
    /// Tried in order on "no capacity"; v2 never falls back on its own.
    pub gpu_candidates: Vec<String>,
    pub gpu_count: u32,
    pub cloud: Cloud,
    /// Container disk, GB.
    pub disk_gb: u32,
    pub ports: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// A network volume keeps models across pods (pins the pod to the volume's data centre).
    pub network_volume_id: Option<String>,
    pub network_volume_path: String,
    pub data_center_ids: Vec<String>,
    /// The image's own start command. Needed to arm the in-pod dead-man timer (see
    /// DEADMAN.md); `None` leaves the image's command alone and the timer unarmed.
    pub start_command: Option<String>,
    /// The longest a pod may live, enforced inside the pod when `start_command` is known.
    #[serde(with = "secs")]
    pub max_lifetime: Duration,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

impl Default for PodSpec {
    fn default() -> Self {
        // One source for the defaults: Settings starts from the same values.
        let env = settings::DEFAULT_POD_ENV
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            image: settings::DEFAULT_IMAGE.to_string(),
            gpu_candidates: settings::DEFAULT_GPUS.map(str::to_string).to_vec(),
            gpu_count: 1,
            cloud: Cloud::Secure,
            disk_gb: 20,
            ports: vec![format!("{COMFY_PORT}/http")],
            env,
            network_volume_id: None,
            network_volume_path: "/workspace".to_string(),
            data_center_ids: Vec::new(),
            start_command: None,
            max_lifetime: Duration::from_secs(4 * 3600),
        }
    }
}

impl PodSpec {
    /// The create body for one candidate GPU. `deadman` wraps the start command when known.
    pub fn create_request(
        &self,
        name: &str,
        gpu_id: &str,
        deadman: Option<&DeadMan>,
    ) -> CreatePodRequest {
        let args = match (&self.start_command, deadman) {
            (Some(cmd), Some(d)) => Some(d.container_args(cmd)),
            (Some(cmd), None) => Some(cmd.clone()),
            _ => None,
        };
        CreatePodRequest {
            name: name.to_string(),
            image: self.image.clone(),
            args,
            disk: self.disk_gb,
            ports: self.ports.clone(),
            env: self.env.clone(),
            cloud: self.cloud,
            data_center_ids: self.data_center_ids.clone(),
            gpu: CreateGpu {
                id: gpu_id.to_string(),
                count: self.gpu_count.max(1),
                allowed_cuda_versions: Vec::new(),
                min_cuda_version: None,
            },
            mounts: self.network_volume_id.as_ref().map(|id| Mounts {
                persistent: None,
                network: vec![NetworkMount {
                    volume_id: id.clone(),
                    path: self.network_volume_path.clone(),
                }],
            }),
        }
    }
}

/// A fresh pod name: the prefix and eight random hex digits, one per create attempt so a
/// lookup by name after a failed create can only find that attempt's pod.
pub fn new_pod_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{NAME_PREFIX}{}", &id[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_plan() {
        let spec = PodSpec::default();
        let req = spec.create_request("sds-12345678", "NVIDIA A100 80GB PCIe", None);
        assert_eq!(req.disk, 20);
        assert_eq!(req.ports, vec!["8188/http"]);
        assert_eq!(req.env["STEADYDANCER_VARIANT"], "fp16");
        assert_eq!(req.cloud, Cloud::Secure);
        assert!(req.args.is_none() && req.mounts.is_none());
        assert_eq!(spec.gpu_candidates[0], "NVIDIA A100 80GB PCIe");
        assert_eq!(spec.gpu_candidates[1], "NVIDIA A100-SXM4-80GB");
        let json = serde_json::to_value(&spec).expect("spec serialises");
        let back: PodSpec = serde_json::from_value(json).expect("and reads back");
        assert_eq!(back, spec);
        let partial: PodSpec =
            serde_json::from_str(r#"{"disk_gb": 40}"#).expect("missing fields take defaults");
        assert_eq!(partial.disk_gb, 40);
        assert_eq!(partial.image, spec.image);
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let a = new_pod_name();
        let b = new_pod_name();
        assert!(a.starts_with(NAME_PREFIX) && a.len() == 12);
        assert_ne!(a, b);
    }

    #[test]
    fn network_volume_becomes_a_mount() {
        let spec = PodSpec {
            network_volume_id: Some("vol_1".to_string()),
            ..PodSpec::default()
        };
        let req = spec.create_request("sds-x", "NVIDIA H100 PCIe", None);
        let m = req.mounts.expect("mount");
        assert_eq!(m.network[0].volume_id, "vol_1");
        assert_eq!(m.network[0].path, "/workspace");
    }
}

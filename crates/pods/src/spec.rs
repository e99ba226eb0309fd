//! What pod to ask for: by default the pinned environment of the bundled lock (RunPod's PyTorch
//! image running our bootstrap), or an image of the user's own; every field editable in Settings.

use crate::deadman::DeadMan;
use crate::lock::EnvLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use studio_core::settings;
use studio_runpod::{Cloud, CreateGpu, CreatePodRequest, Mounts, NetworkMount};

/// Every pod the app makes carries this prefix, then (since install ids) the install id of the
/// data folder that made it: `sds-<install>-<random>`. Older pods are `sds-<random>`.
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
    /// The pod runs our bootstrap (the pinned environment, its data in `env`): the dead-man
    /// timer is always armed and `start_command` is not used.
    pub bootstrap: bool,
    /// With an image of the user's own: the image's start command. Needed to arm the in-pod
    /// dead-man timer (see DEADMAN.md); `None` leaves the image's command alone and the timer
    /// unarmed.
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
        Self::pinned(&EnvLock::bundled(), None)
    }
}

/// Container disk when the environment lives on a network volume: pip's temporary files and
/// the system's own needs only.
pub const DISK_WITH_VOLUME_GB: u32 = 20;

impl PodSpec {
    /// The pinned environment of `lock`; with a network volume everything is installed and
    /// cached there, without one the container disk is sized to hold it.
    pub fn pinned(lock: &EnvLock, network_volume_id: Option<String>) -> Self {
        Self {
            image: String::new(),
            gpu_candidates: settings::DEFAULT_GPUS.map(str::to_string).to_vec(),
            gpu_count: 1,
            cloud: Cloud::Secure,
            disk_gb: 0,
            ports: vec![format!("{COMFY_PORT}/http")],
            env: BTreeMap::new(),
            network_volume_id,
            network_volume_path: "/workspace".to_string(),
            data_center_ids: Vec::new(),
            bootstrap: true,
            start_command: None,
            max_lifetime: Duration::from_secs(4 * 3600),
        }
        .with_lock(lock)
    }

    /// The pinned environment's image, variables and disk from `lock` (a render's workflow
    /// may carry its own lock); an image of the user's own is left alone.
    pub fn with_lock(mut self, lock: &EnvLock) -> Self {
        if !self.bootstrap {
            return self;
        }
        self.image = lock.image.name.clone();
        self.env.extend(lock.bootstrap_env());
        self.disk_gb = if self.network_volume_id.is_some() {
            DISK_WITH_VOLUME_GB
        } else {
            lock.environment_gb()
        };
        self
    }

    /// From Settings: the pinned environment of `lock` (the user's extra variables added, never
    /// replacing the lock's), or the user's own image with its disk, variables and command.
    pub fn from_settings(settings: &settings::Settings, lock: &EnvLock) -> Self {
        let volume = settings.network_volume_id.clone();
        let base = if settings.own_image {
            Self {
                image: settings.pod_image.clone(),
                disk_gb: settings.pod_disk_gb,
                env: settings.pod_env.clone(),
                bootstrap: false,
                start_command: settings.pod_start_command.clone(),
                network_volume_id: volume,
                ..Self::pinned(lock, None)
            }
        } else {
            // The user's variables first, so the lock's replace any of the same name.
            Self {
                env: settings.pod_env.clone(),
                ..Self::pinned(lock, volume)
            }
            .with_lock(lock)
        };
        Self {
            gpu_candidates: settings.gpu_ids.clone(),
            cloud: if settings.pod_cloud == "COMMUNITY" {
                Cloud::Community
            } else {
                Cloud::Secure
            },
            data_center_ids: settings
                .network_volume_data_center
                .iter()
                .cloned()
                .collect(),
            max_lifetime: Duration::from_secs_f64(settings.pod_max_lifetime_hours * 3600.0),
            ..base
        }
    }

    /// Whether the pod carries the in-pod dead-man timer.
    pub fn arms_deadman(&self) -> bool {
        self.bootstrap || self.start_command.is_some()
    }

    /// The create body for one candidate GPU. `deadman` wraps the start command when known.
    pub fn create_request(
        &self,
        name: &str,
        gpu_id: &str,
        deadman: Option<&DeadMan>,
    ) -> CreatePodRequest {
        let args = match (self.bootstrap, &self.start_command, deadman) {
            (true, _, Some(d)) => Some(d.script_args(crate::bootstrap::SCRIPT)),
            (true, _, None) => Some(script_args(crate::bootstrap::SCRIPT)),
            (false, Some(cmd), Some(d)) => Some(d.container_args(cmd)),
            (false, Some(cmd), None) => Some(cmd.clone()),
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

/// `sh -c '<script>'`: the container's command when no timer wraps it.
fn script_args(script: &str) -> String {
    format!("sh -c {}", crate::deadman::sh_quote(script))
}

/// A fresh pod name: the prefix and eight random hex digits, one per create attempt so a
/// lookup by name after a failed create can only find that attempt's pod.
pub fn new_pod_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{NAME_PREFIX}{}", &id[..8])
}

/// As [`new_pod_name`], carrying `install` (see `studio_core::install`) when known, so the
/// sweeps of other installs on the same account leave the pod alone.
pub fn new_pod_name_for(install: Option<&str>) -> String {
    match install {
        Some(install) => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            format!("{NAME_PREFIX}{install}-{}", &id[..8])
        }
        None => new_pod_name(),
    }
}

/// The install id a pod name carries; `None` for old-format names and others' pods.
pub fn name_install(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (install, random) = rest.split_once('-')?;
    (studio_core::install::is_install_id(install) && !random.is_empty()).then_some(install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_plan() {
        let spec = PodSpec::default();
        let lock = EnvLock::bundled();
        let req = spec.create_request("sds-12345678", "NVIDIA A100 80GB PCIe", None);
        assert_eq!(req.image, lock.image.name);
        assert_eq!(req.disk, lock.environment_gb());
        assert!(u64::from(req.disk) * 1_000_000_000 > lock.model_bytes());
        assert_eq!(req.ports, vec!["8188/http"]);
        assert_eq!(req.env["SDS_MODELS"], lock.bootstrap_env()["SDS_MODELS"]);
        assert_eq!(req.cloud, Cloud::Secure);
        assert!(req.mounts.is_none());
        let args = req.args.expect("the bootstrap is the start command");
        assert!(args.starts_with("sh -c '") && args.contains("SDS_MODELS"));
        assert!(spec.arms_deadman());
        assert_eq!(spec.gpu_candidates[0], "NVIDIA A100 80GB PCIe");
        assert_eq!(spec.gpu_candidates[1], "NVIDIA A100-SXM4-80GB");
        let json = serde_json::to_value(&spec).expect("spec serialises");
        let back: PodSpec = serde_json::from_value(json).expect("and reads back");
        assert_eq!(back, spec);
        let partial: PodSpec =
            serde_json::from_str(r#"{"disk_gb": 40}"#).expect("missing fields take defaults");
        assert_eq!(partial.disk_gb, 40);
        assert!(partial.bootstrap);
        assert_eq!(partial.image, spec.image);
    }

    #[test]
    fn an_own_image_runs_its_own_command() {
        let spec = PodSpec {
            image: "me/comfy:1".into(),
            bootstrap: false,
            env: BTreeMap::new(),
            ..PodSpec::default()
        };
        assert!(!spec.arms_deadman());
        assert!(spec.create_request("sds-x", "g", None).args.is_none());
        let spec = PodSpec {
            start_command: Some("/start.sh".into()),
            ..spec
        };
        assert!(spec.arms_deadman());
        assert_eq!(
            spec.create_request("sds-x", "g", None).args.as_deref(),
            Some("/start.sh")
        );
    }

    #[test]
    fn settings_add_variables_but_never_replace_the_locks() {
        let lock = EnvLock::bundled();
        let s = settings::Settings {
            pod_env: [
                ("SDS_MODELS".to_string(), "x".to_string()),
                ("HF_TOKEN".to_string(), "t".to_string()),
            ]
            .into(),
            network_volume_id: Some("vol".into()),
            network_volume_data_center: Some("EU-RO-1".into()),
            pod_cloud: "COMMUNITY".into(),
            ..settings::Settings::default()
        };
        let spec = PodSpec::from_settings(&s, &lock);
        assert!(spec.bootstrap);
        assert_eq!(spec.env["SDS_MODELS"], lock.bootstrap_env()["SDS_MODELS"]);
        assert_eq!(spec.env["HF_TOKEN"], "t");
        assert_eq!(spec.data_center_ids, vec!["EU-RO-1".to_string()]);
        assert_eq!(spec.disk_gb, DISK_WITH_VOLUME_GB);
        assert_eq!(spec.cloud, Cloud::Community);
        let own = settings::Settings {
            own_image: true,
            pod_image: "me/img:1".into(),
            ..s
        };
        let spec = PodSpec::from_settings(&own, &lock);
        assert!(!spec.bootstrap && spec.image == "me/img:1");
        assert_eq!(
            spec.env["SDS_MODELS"], "x",
            "an own image gets the user's variables only"
        );
        assert!(!spec.env.contains_key("SDS_REPOS"));
    }

    #[test]
    fn names_carry_the_install_id() {
        let name = new_pod_name_for(Some("0a1b2c3d"));
        assert!(
            name.starts_with("sds-0a1b2c3d-") && name.len() == 21,
            "{name}"
        );
        assert_eq!(name_install(&name), Some("0a1b2c3d"));
        assert_eq!(name_install(&new_pod_name()), None, "old format");
        assert_eq!(name_install("sds-guard-left"), None);
        assert_eq!(name_install("someone-0a1b2c3d-x"), None);
        assert_eq!(new_pod_name_for(None).len(), 12);
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
        let spec = PodSpec::pinned(&EnvLock::bundled(), Some("vol_1".to_string()));
        let req = spec.create_request("sds-x", "NVIDIA H100 PCIe", None);
        assert_eq!(
            req.disk, DISK_WITH_VOLUME_GB,
            "the environment lives on the volume"
        );
        let m = req.mounts.expect("mount");
        assert_eq!(m.network[0].volume_id, "vol_1");
        assert_eq!(m.network[0].path, "/workspace");
    }
}

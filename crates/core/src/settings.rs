//! The user's preferences in `<data dir>/settings.json` (one key per field), written atomically
//! by [`Settings::save`] for the GUI; the CLI reads the same file.
//! The API key is never among them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

pub const DEFAULT_GPUS: [&str; 5] = [
    "NVIDIA A100 80GB PCIe",
    "NVIDIA A100-SXM4-80GB",
    "NVIDIA H100 80GB HBM3",
    "NVIDIA H100 PCIe",
    "NVIDIA H100 NVL",
];

/// The most pods a queue may keep at once: more is rarely cheaper and RunPod limits accounts.
pub const MAX_PODS: u32 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Run an image of the user's own instead of the pinned environment (advanced, unchecked:
    /// the app cannot know what such an image installs).
    pub own_image: bool,
    /// That image, when `own_image` is set.
    pub pod_image: String,
    /// GPU types to try, in order, until one has capacity.
    pub gpu_ids: Vec<String>,
    /// Where finished videos are saved; `None` means the default folder.
    pub output_dir: Option<PathBuf>,
    /// An existing ComfyUI server to render on instead of starting a pod.
    pub comfy_url: Option<String>,
    /// Renders run against the built-in stand-in RunPod and ComfyUI: no key, no cost.
    pub demo_mode: bool,
    /// "SECURE" or "COMMUNITY".
    pub pod_cloud: String,
    pub pod_disk_gb: u32,
    pub pod_env: BTreeMap<String, String>,
    /// A RunPod network volume that keeps the models between pods.
    pub network_volume_id: Option<String>,
    /// The volume's data centre: pods must start there to mount it.
    pub network_volume_data_center: Option<String>,
    /// With an image of the user's own: its start command; when known, the pod also carries a
    /// dead-man timer (the pinned environment always does).
    pub pod_start_command: Option<String>,
    /// The longest a pod may live, enforced inside the pod when the start command is known.
    pub pod_max_lifetime_hours: f64,
    /// A render stops and its pod is terminated once it has cost this much (US dollars).
    pub budget_usd: Option<f64>,
    /// Pods of ours that no render owns are terminated at start-up without asking.
    pub auto_sweep: bool,
    /// The most pods a queue of renders keeps at once (1 = one after the other on one pod).
    pub max_pods: u32,
    /// A pod the user started by hand is terminated after this many minutes without a render.
    pub warm_idle_minutes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            own_image: false,
            pod_image: String::new(),
            gpu_ids: DEFAULT_GPUS.iter().map(|s| s.to_string()).collect(),
            output_dir: None,
            comfy_url: None,
            demo_mode: false,
            pod_cloud: "SECURE".to_string(),
            pod_disk_gb: 20,
            pod_env: BTreeMap::new(),
            network_volume_id: None,
            network_volume_data_center: None,
            pod_start_command: None,
            pod_max_lifetime_hours: 4.0,
            budget_usd: Some(5.0),
            auto_sweep: false,
            max_pods: 1,
            warm_idle_minutes: 10,
        }
    }
}

impl Settings {
    /// Trims what the user typed and refuses values that would fail later, with the fix.
    pub fn validated(mut self) -> Result<Self> {
        self.pod_image = self.pod_image.trim().to_string();
        if self.own_image
            && (self.pod_image.is_empty() || self.pod_image.contains(char::is_whitespace))
        {
            return Err(Error::new(
                "settings.bad_image",
                "Your own pod image must be a container image name such as ghcr.io/owner/image:tag. Choose the pinned environment if unsure.",
            ));
        }
        self.gpu_ids = self
            .gpu_ids
            .into_iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if self.gpu_ids.is_empty() {
            return Err(Error::new(
                "settings.no_gpu",
                "Choose at least one GPU type for your pods.",
            ));
        }
        self.pod_cloud = self.pod_cloud.trim().to_uppercase();
        if !matches!(self.pod_cloud.as_str(), "SECURE" | "COMMUNITY") {
            return Err(Error::new(
                "settings.bad_cloud",
                "Choose Secure cloud or Community cloud for your pods.",
            ));
        }
        if !(10..=1000).contains(&self.pod_disk_gb) {
            return Err(Error::new(
                "settings.bad_disk",
                "The pod's container disk must be between 10 and 1000 GB (20 GB is the default).",
            ));
        }
        if let Some((k, _)) = self
            .pod_env
            .iter()
            .find(|(k, _)| k.is_empty() || k.contains(char::is_whitespace) || k.contains('='))
        {
            return Err(Error::new(
                "settings.bad_env",
                format!(
                    "\"{k}\" is not a valid environment variable name. Use letters, digits and _ only."
                ),
            ));
        }
        self.network_volume_id = trimmed(self.network_volume_id);
        self.network_volume_data_center = trimmed(self.network_volume_data_center);
        self.pod_start_command = trimmed(self.pod_start_command);
        if !(self.pod_max_lifetime_hours > 0.0 && self.pod_max_lifetime_hours <= 72.0) {
            return Err(Error::new(
                "settings.bad_lifetime",
                "The longest a pod may live must be between a few minutes and 72 hours.",
            ));
        }
        if let Some(b) = self.budget_usd
            && !(b > 0.0 && b.is_finite())
        {
            return Err(Error::new(
                "settings.bad_budget",
                "The spending cap per render must be more than $0. Clear it to have no cap.",
            ));
        }
        if !(1..=MAX_PODS).contains(&self.max_pods) {
            return Err(Error::new(
                "settings.bad_max_pods",
                format!(
                    "Pods at once must be between 1 and {MAX_PODS} (1 renders a queue one after the other on one pod)."
                ),
            ));
        }
        if !(1..=240).contains(&self.warm_idle_minutes) {
            return Err(Error::new(
                "settings.bad_idle",
                "A pod you started stops after 1 to 240 minutes without a render (10 is the default).",
            ));
        }
        self.output_dir = self.output_dir.filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = &self.output_dir
            && !dir.is_absolute()
        {
            return Err(Error::new(
                "settings.bad_output_dir",
                "Pick the output folder with the folder button so it is a full path.",
            ));
        }
        self.comfy_url = self
            .comfy_url
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty());
        if let Some(u) = &self.comfy_url {
            let ok = url::Url::parse(u)
                .map(|p| matches!(p.scheme(), "http" | "https"))
                .unwrap_or(false);
            if !ok {
                return Err(Error::new(
                    "settings.bad_comfy_url",
                    "The ComfyUI address must start with http:// or https://, for example http://192.168.1.20:8188.",
                ));
            }
        }
        Ok(self)
    }

    pub fn output_dir_or_default(&self, data_dir: &Path) -> PathBuf {
        self.output_dir
            .clone()
            .unwrap_or_else(|| super::paths::default_output_dir(data_dir))
    }

    /// Reads the file the GUI writes; a missing file means defaults, a damaged one is
    /// reported rather than silently replaced.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = super::paths::settings_file(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(&format!("read {}", path.display()), e)),
        };
        serde_json::from_str(&text).map_err(|e| {
            Error::new(
                "settings.corrupt",
                format!(
                    "The settings file {} is damaged. Fix it or delete it to go back to the defaults.",
                    path.display()
                ),
            )
            .with_source(e)
        })
    }

    /// What clean-up reads (quit, the crash guard, start-up recovery): a damaged file must not
    /// stop a pod from being terminated, so it means the defaults here, with a log line.
    pub fn load_or_default(data_dir: &Path) -> Self {
        Self::load(data_dir).unwrap_or_else(|e| {
            tracing::warn!("using default settings: {}", e.chain());
            Self::default()
        })
    }

    /// Writes the file in one step (see `atomic_file`): a crash mid-save never leaves a torn
    /// file that the next start cannot read.
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let path = super::paths::settings_file(data_dir);
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("settings did not serialise: {e}")))?;
        super::paths::ensure_dir(data_dir)?;
        super::atomic_file::write_atomic(&path, &bytes).map_err(|e| {
            Error::new(
                "settings.store",
                format!(
                    "Your preferences could not be saved to {}. Check that the app's data folder is writable and the disk is not full.",
                    path.display()
                ),
            )
            .with_source(e)
        })
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_plan() {
        let s = Settings::default();
        assert!(!s.own_image, "the pinned environment by default");
        assert_eq!(s.gpu_ids[0], "NVIDIA A100 80GB PCIe");
        assert_eq!(s.gpu_ids[1], "NVIDIA A100-SXM4-80GB");
        assert!(s.gpu_ids[2].starts_with("NVIDIA H100"));
        assert!(s.pod_env.is_empty());
        assert_eq!(s.pod_disk_gb, 20);
        assert_eq!(s.pod_cloud, "SECURE");
        assert_eq!(
            s.max_pods, 1,
            "a queue runs on one pod unless the user asks for more"
        );
        assert_eq!(s.warm_idle_minutes, 10);
    }

    #[test]
    fn pods_at_once_and_idle_minutes_are_bounded() {
        for (max_pods, warm_idle_minutes, code) in [
            (0, 10, "settings.bad_max_pods"),
            (MAX_PODS + 1, 10, "settings.bad_max_pods"),
            (2, 0, "settings.bad_idle"),
            (2, 241, "settings.bad_idle"),
        ] {
            let s = Settings {
                max_pods,
                warm_idle_minutes,
                ..Settings::default()
            };
            assert_eq!(s.validated().expect_err("bounded").code(), code);
        }
        // Older settings files have neither field: the defaults apply.
        let old: Settings = serde_json::from_str(r#"{"podCloud":"SECURE"}"#).expect("parse");
        assert_eq!((old.max_pods, old.warm_idle_minutes), (1, 10));
    }

    #[test]
    fn validation_trims_and_refuses_with_reasons() {
        let s = Settings {
            own_image: true,
            pod_image: "  img:1 ".into(),
            gpu_ids: vec![" NVIDIA H100 PCIe ".into(), "".into()],
            output_dir: Some(PathBuf::new()),
            comfy_url: Some(" http://10.0.0.2:8188/ ".into()),
            network_volume_id: Some("  ".into()),
            pod_cloud: "community".into(),
            ..Settings::default()
        }
        .validated()
        .expect("valid");
        assert_eq!(s.pod_image, "img:1");
        assert_eq!(s.gpu_ids, vec!["NVIDIA H100 PCIe".to_string()]);
        assert_eq!(s.output_dir, None);
        assert_eq!(s.comfy_url.as_deref(), Some("http://10.0.0.2:8188"));
        assert_eq!(s.network_volume_id, None);
        assert_eq!(s.pod_cloud, "COMMUNITY");
        let bad = Settings {
            own_image: true,
            pod_image: " ".into(),
            ..Settings::default()
        };
        assert_eq!(
            bad.validated().expect_err("image").code(),
            "settings.bad_image"
        );
        let bad = Settings {
            budget_usd: Some(0.0),
            ..Settings::default()
        };
        assert_eq!(
            bad.validated().expect_err("budget").code(),
            "settings.bad_budget"
        );
        let bad = Settings {
            pod_env: [("BAD KEY".to_string(), "1".to_string())].into(),
            ..Settings::default()
        };
        assert_eq!(bad.validated().expect_err("env").code(), "settings.bad_env");

        let bad = Settings {
            gpu_ids: vec![],
            ..Settings::default()
        };
        assert_eq!(
            bad.validated().expect_err("no gpu").code(),
            "settings.no_gpu"
        );
        let bad = Settings {
            comfy_url: Some("ftp://x".into()),
            ..Settings::default()
        };
        assert_eq!(
            bad.validated().expect_err("scheme").code(),
            "settings.bad_comfy_url"
        );
        let bad = Settings {
            output_dir: Some("relative/dir".into()),
            ..Settings::default()
        };
        assert_eq!(
            bad.validated().expect_err("relative").code(),
            "settings.bad_output_dir"
        );
    }

    #[test]
    fn load_reads_the_store_file_and_reports_damage() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(
            Settings::load(dir.path()).expect("missing"),
            Settings::default()
        );
        std::fs::write(
            dir.path().join("settings.json"),
            r#"{"podImage":"custom:2","unknownKey":1}"#,
        )
        .expect("write");
        let s = Settings::load(dir.path()).expect("load");
        assert_eq!(s.pod_image, "custom:2");
        assert!(
            !s.own_image,
            "an old file's image does not replace the pinned environment"
        );
        assert_eq!(s.gpu_ids, Settings::default().gpu_ids);
        std::fs::write(dir.path().join("settings.json"), "{not json").expect("write");
        assert_eq!(
            Settings::load(dir.path()).expect_err("corrupt").code(),
            "settings.corrupt"
        );
        assert_eq!(Settings::load_or_default(dir.path()), Settings::default());
    }

    #[test]
    fn save_writes_what_load_reads() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Settings {
            demo_mode: true,
            budget_usd: Some(2.5),
            ..Settings::default()
        };
        s.save(dir.path()).expect("save");
        assert_eq!(Settings::load(dir.path()).expect("load"), s);
    }
}

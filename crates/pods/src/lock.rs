//! The pod's software, pinned: `workflows/<name>.lock.toml` names the base image, ComfyUI and
//! every node pack at a commit, the Python constraints and every model file. The app builds
//! each RunPod pod from it (image, bootstrap input, container disk, network volume size) and
//! checks the running pod against it before uploading.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use studio_error::{Error, Result};

pub const LOCK_INVALID: &str = "lock.invalid";
pub const LOCK_UNREADABLE: &str = "lock.unreadable";

/// The lock that ships with the app, for the bundled SteadyDancer workflow.
pub const BUNDLED: &str = include_str!("../../../workflows/steadydancer.lock.toml");

/// Where the environment lives on the pod: on the network volume when one is mounted at
/// `/workspace`, so the next pod finds it installed.
pub const POD_ROOT: &str = "/workspace/sds";

/// Room beyond the models on a disk that holds the whole environment: ComfyUI and the node
/// packs, the virtualenv with onnxruntime-gpu and the packs' requirements, pip's cache, and
/// the half-downloaded `.part` files of a retry.
pub const ENV_HEADROOM_GB: u64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockImage {
    pub name: String,
    pub python: String,
    #[serde(default)]
    pub services: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockRepo {
    pub name: String,
    pub url: String,
    pub commit: String,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockPython {
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockModel {
    /// Hugging Face repository, `owner/name`.
    pub repo: String,
    /// Path of the file inside the repository.
    pub path: String,
    /// Path under ComfyUI's `models/` folder.
    pub dest: String,
    /// Bytes; approximate while `sha256` is unknown.
    pub size: u64,
    /// Hugging Face commit; empty until known (the bootstrap pins on first download).
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub sha256: String,
}

impl LockModel {
    /// The file name a ComfyUI loader lists: `dest` without its folder (`vae/wanvideo/x` is
    /// `wanvideo/x` in the `vae` folder).
    pub fn loader_value(&self) -> &str {
        self.dest
            .split_once('/')
            .map_or(&self.dest, |(_, rest)| rest)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvLock {
    pub lock_version: u32,
    pub workflow: String,
    pub image: LockImage,
    pub repos: Vec<LockRepo>,
    #[serde(default)]
    pub python: LockPython,
    #[serde(default)]
    pub models: Vec<LockModel>,
}

impl EnvLock {
    pub fn bundled() -> Self {
        Self::parse(BUNDLED, "the bundled lock").expect("the bundled lock is checked by tests")
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                LOCK_UNREADABLE,
                format!(
                    "Could not read the pod's software lock {}: {e}.",
                    path.display()
                ),
            )
            .with_source(e)
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The lock beside a workflow manifest (`x.toml` -> `x.lock.toml`), else the bundled one:
    /// a workflow of the user's own runs in the bundled environment and its nodes are still
    /// checked on the pod before anything is uploaded.
    pub fn for_manifest(manifest: &Path) -> Result<Self> {
        let beside = manifest.with_extension("lock.toml");
        if beside.is_file() {
            Self::load(&beside)
        } else {
            Ok(Self::bundled())
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let lock: Self = toml::from_str(text).map_err(|e| {
            Error::new(
                LOCK_INVALID,
                format!("The pod's software lock {origin} is not valid: {e}"),
            )
        })?;
        lock.validate(origin)?;
        Ok(lock)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |what: String| {
            Err(Error::new(
                LOCK_INVALID,
                format!("The pod's software lock {origin}: {what}"),
            ))
        };
        if self.lock_version != 1 {
            return bad(format!(
                "lock_version {} is not supported (1 is).",
                self.lock_version
            ));
        }
        if self.repos.first().map(|r| r.name.as_str()) != Some("ComfyUI") {
            return bad("the first [[repos]] entry must be ComfyUI.".into());
        }
        for r in &self.repos {
            if r.commit.len() != 40 || !r.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!(
                    "{} must be pinned to a full 40-digit commit.",
                    r.name
                ));
            }
            if !safe_word(&r.name) || r.url.contains(char::is_whitespace) {
                return bad(format!(
                    "the repository name or address of {} is not usable.",
                    r.name
                ));
            }
        }
        for m in &self.models {
            let parts_ok = m
                .dest
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..");
            if !parts_ok
                || !m.dest.contains('/')
                || [&m.repo, &m.path, &m.dest]
                    .iter()
                    .any(|s| s.contains(char::is_whitespace))
            {
                return bad(format!("model {} has an unusable path.", m.dest));
            }
            if !m.sha256.is_empty()
                && (m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return bad(format!("the SHA-256 of {} is not 64 hex digits.", m.dest));
            }
        }
        Ok(())
    }

    /// A short id of everything the pod runs; the pod reports it back so the preflight knows
    /// the environment is this lock's.
    pub fn id(&self) -> String {
        let text = toml::to_string(self).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn model_bytes(&self) -> u64 {
        self.models.iter().map(|m| m.size).sum()
    }

    /// Whole GB a disk needs to hold the environment: models plus headroom.
    pub fn environment_gb(&self) -> u32 {
        let gb = self.model_bytes().div_ceil(1_000_000_000) + ENV_HEADROOM_GB;
        u32::try_from(gb).unwrap_or(u32::MAX)
    }

    pub fn comfyui(&self) -> &LockRepo {
        &self.repos[0]
    }

    /// The variables the bootstrap reads (crates/pods/bootstrap/README.md has the contract):
    /// the data goes in env so the start command stays small.
    pub fn bootstrap_env(&self) -> BTreeMap<String, String> {
        let lines = |items: Vec<String>| items.join("\n");
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        let mut env = BTreeMap::new();
        env.insert("SDS_ROOT".into(), POD_ROOT.into());
        env.insert("SDS_PYTHON".into(), self.image.python.clone());
        env.insert("SDS_LOCK_ID".into(), self.id());
        env.insert(
            "SDS_NODE_PY".into(),
            crate::bootstrap::ENVIRONMENT_NODE_PY.to_string(),
        );
        env.insert(
            "SDS_REPOS".into(),
            lines(
                self.repos
                    .iter()
                    .map(|r| format!("{} {} {}", r.name, r.commit, r.url))
                    .collect(),
            ),
        );
        env.insert(
            "SDS_CONSTRAINTS".into(),
            lines(self.python.constraints.clone()),
        );
        env.insert("SDS_PIP".into(), lines(self.python.extra.clone()));
        env.insert(
            "SDS_MODELS".into(),
            lines(
                self.models
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {} {} {} {} {}",
                            m.dest,
                            m.size,
                            dash(&m.sha256),
                            dash(&m.revision),
                            m.repo,
                            m.path
                        )
                    })
                    .collect(),
            ),
        );
        env
    }
}

fn safe_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_lock_is_valid_and_pins_everything() {
        let lock = EnvLock::bundled();
        assert!(lock.image.name.starts_with("runpod/pytorch:"));
        assert!(!lock.image.name.ends_with(":latest"));
        assert_eq!(lock.comfyui().name, "ComfyUI");
        assert_eq!(lock.repos.len(), 5);
        assert_eq!(lock.models.len(), 8);
        let gb = lock.model_bytes() as f64 / 1e9;
        assert!((30.0..40.0).contains(&gb), "{gb} GB of models");
        assert_eq!(lock.environment_gb(), 33 + ENV_HEADROOM_GB as u32);
        assert_eq!(lock.id().len(), 12);
    }

    #[test]
    fn bootstrap_env_carries_one_line_per_repo_and_model() {
        let lock = EnvLock::bundled();
        let env = lock.bootstrap_env();
        let repos: Vec<&str> = env["SDS_REPOS"].lines().collect();
        assert_eq!(repos.len(), 5);
        assert!(repos[0].starts_with("ComfyUI 783545f689a0af730065994b46b382ae24844c99 https://"));
        let models: Vec<Vec<&str>> = env["SDS_MODELS"]
            .lines()
            .map(|l| l.split(' ').collect())
            .collect();
        assert_eq!(models.len(), 8);
        assert!(models.iter().all(|m| m.len() == 6));
        assert_eq!(models[0][2], "-", "unknown hash is a dash");
        assert_eq!(env["SDS_LOCK_ID"], lock.id());
        assert_eq!(env["SDS_PIP"], "onnxruntime-gpu==1.22.0");
        assert!(env["SDS_NODE_PY"].contains("SteadyDancerStudioEnvironment"));
        assert!(
            !env.contains_key("SDS_SERVICES"),
            "the image's own services start only when asked"
        );
    }

    #[test]
    fn unpinned_or_unsafe_entries_are_refused() {
        let broken = BUNDLED.replacen("783545f689a0af730065994b46b382ae24844c99", "master", 1);
        let e = EnvLock::parse(&broken, "t").expect_err("branch instead of commit");
        assert_eq!(e.code(), LOCK_INVALID);
        assert!(e.message().contains("40-digit"), "{}", e.message());
        let broken = BUNDLED.replacen("dest = \"text_encoders/", "dest = \"../../", 1);
        assert!(EnvLock::parse(&broken, "t").is_err());
        let broken = format!("{BUNDLED}\nsurprise = 1\n");
        assert!(EnvLock::parse(&broken, "t").is_err());
    }

    #[test]
    fn the_id_changes_with_any_pin() {
        let a = EnvLock::bundled();
        let mut b = a.clone();
        b.models[0].sha256 = "a".repeat(64);
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn loader_values_drop_the_folder() {
        let lock = EnvLock::bundled();
        let vae = lock
            .models
            .iter()
            .find(|m| m.dest.starts_with("vae/"))
            .expect("vae");
        assert_eq!(vae.loader_value(), "wanvideo/Wan2_1_VAE_bf16.safetensors");
    }
}

//! The pod bootstrap (`crates/pods/bootstrap/bootstrap.sh`) run locally with `sh` as a pod runs
//! it, against git repositories, a wheel and a Hugging Face stand-in on this machine.
#![allow(clippy::unwrap_used)]

mod clean_run;
mod create_body;
mod faults;
mod fixtures;
mod model_server;
mod run;

use fixtures::{bytes, sha256};
use model_server::{COMMIT, Fault, File, ModelServer};
use run::{Run, free_port, get_json};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(40);
/// Quotes and a backslash: the id must survive JSON on stdout, in environment.json and in
/// /object_info.
const LOCK_ID: &str = r#"lock "7" \ a1b2"#;

/// One pod's worth of variables and its data folder.
struct Pod {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Pod {
    fn new(repos: &[(&str, &Path, &str)], models: &[String], server: &ModelServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repos: Vec<String> = repos
            .iter()
            .map(|(name, path, commit)| format!("{name} {commit} file://{}", path.display()))
            .collect();
        let env = vec![
            ("SDS_ROOT", dir.path().join("sds").display().to_string()),
            ("SDS_PYTHON", "python3".into()),
            ("SDS_LOCK_ID", LOCK_ID.into()),
            ("SDS_REPOS", repos.join("\n")),
            ("SDS_CONSTRAINTS", String::new()),
            ("SDS_PIP", String::new()),
            ("SDS_PIP_ARGS", "--no-index".into()),
            ("SDS_MODELS", models.join("\n")),
            ("SDS_HF_BASE", server.base.clone()),
            ("SDS_PARALLEL", "3".into()),
            ("SDS_PORT", free_port().to_string()),
            ("SDS_COMFY_ARGS", "--disable-auto-launch".into()),
            ("SDS_PROGRESS_SECS", "1".into()),
            ("SDS_STALL_SECS", "2".into()),
            ("SDS_RETRY_SECS", "0".into()),
        ];
        Self { dir, env }
    }

    fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
    }

    fn get(&self, key: &str) -> &str {
        &self.env.iter().find(|(k, _)| *k == key).unwrap().1
    }

    fn root(&self) -> PathBuf {
        PathBuf::from(self.get("SDS_ROOT"))
    }

    fn model(&self, dest: &str) -> PathBuf {
        self.root().join("ComfyUI/models").join(dest)
    }

    fn start(&self) -> Run {
        Run::start(&self.env, &self.dir.path().join("stderr.txt"))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.get("SDS_PORT"))
    }
}

/// An `SDS_MODELS` line: `dest size sha256 revision repo path`.
fn model(dest: &str, size: usize, sha: Option<&str>, repo_path: &str) -> String {
    let (repo, path) = repo_path.split_at(repo_path.match_indices('/').nth(1).unwrap().0);
    format!(
        "{dest} {size} {} - {repo} {}",
        sha.unwrap_or("-"),
        &path[1..]
    )
}

fn lfs(bytes: Vec<u8>) -> File {
    File {
        bytes,
        lfs: true,
        fault: None,
    }
}

fn error_of(run: &Run) -> Value {
    let errors = run.of("error");
    assert_eq!(errors.len(), 1, "{}", run.transcript());
    errors[0].clone()
}

fn stages(run: &Run) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in run.of("stage") {
        let s = e["stage"].as_str().unwrap().to_string();
        if seen.last() != Some(&s) {
            seen.push(s);
        }
    }
    seen
}

fn required_inputs(object_info: &Value, node: &str) -> Value {
    object_info[node]["input"]["required"].clone()
}

/// A pod with ComfyUI alone (no requirements, so no pip) and `models`.
fn plain_pod(src: &Path, models: &[String], server: &ModelServer) -> Pod {
    let (comfy, commit) = fixtures::comfyui(src, "");
    Pod::new(&[("ComfyUI", &comfy, &commit)], models, server)
}

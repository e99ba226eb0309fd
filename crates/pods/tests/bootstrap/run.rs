//! Runs the bootstrap the way a pod does (`sh -c '<script>'` with its variables), in its own
//! process group that is killed when the run is dropped, and collects its progress lines.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const SCRIPT: &str = include_str!("../../bootstrap/bootstrap.sh");
pub const NODE_PY: &str = include_str!("../../bootstrap/sds_environment.py");

#[derive(Debug)]
pub struct Run {
    pgid: u32,
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
    stderr: PathBuf,
}

impl Run {
    pub fn start(env: &[(&str, String)], stderr: &Path) -> Self {
        Self::start_command(SCRIPT, env, stderr)
    }

    /// Runs `command` with `sh -c` (a pod's `args` are such a command line).
    pub fn start_command(command: &str, env: &[(&str, String)], stderr: &Path) -> Self {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(command);
        // Only what the test sets: nothing from the developer's shell leaks in.
        for (key, _) in std::env::vars() {
            if key.starts_with("SDS_") || key == "HF_TOKEN" {
                cmd.env_remove(key);
            }
        }
        cmd.env("SDS_NODE_PY", NODE_PY);
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).unwrap())
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(out).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            pgid,
            child,
            lines,
            reader: Some(reader),
            stderr: stderr.to_path_buf(),
        }
    }

    /// Every `##sds ` line, parsed; a line that is not JSON fails the test.
    pub fn events(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("##sds "))
            .map(|json| {
                serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"))
            })
            .collect()
    }

    pub fn of(&self, event: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == event)
            .collect()
    }

    /// What the script said, for failure messages.
    pub fn transcript(&self) -> String {
        let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "--- stdout\n{}\n--- stderr\n{err}",
            self.lines.lock().unwrap().join("\n")
        )
    }

    /// Waits until an event satisfies `pred`; panics with the transcript after `within`.
    pub async fn wait_for(&self, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + within;
        loop {
            if let Some(e) = self.events().into_iter().find(&pred) {
                return e;
            }
            assert!(
                Instant::now() < until,
                "event not seen in {within:?}\n{}",
                self.transcript()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_stage(&self, stage: &str, within: Duration) {
        self.wait_for(within, |e| e["event"] == "stage" && e["stage"] == stage)
            .await;
    }

    pub async fn exit(&mut self, within: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("still running after {within:?}\n{}", self.transcript()),
        };
        // The last lines may still be in the pipe.
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }

    pub fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pgid)])
            .stderr(Stdio::null())
            .status();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GETs `url` until it answers 200 with JSON, or panics after `within`.
pub async fn get_json(url: &str, within: Duration, run: &Run) -> Value {
    let until = Instant::now() + within;
    loop {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return r.json().await.unwrap();
        }
        assert!(
            Instant::now() < until,
            "{url} did not answer\n{}",
            run.transcript()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The crash guard: a second, windowless copy of the app, started with it, that outlives it.
//!
//! The app holds the write end of the guard's stdin for its whole life and never writes to it.
//! However the app ends (quit, crash, SIGKILL, out of memory), the operating system closes that
//! pipe and the guard reads end-of-file. It then does what the next start would do, at once
//! instead of whenever the user opens the app again: it resumes renders whose pod still runs
//! (follows them, downloads the result, terminates the pod) and terminates every other pod this
//! app started and never terminated. After a clean quit there is nothing left and it exits at
//! once. The default pod image cannot arm the in-pod timer (crates/pods/DEADMAN.md), so without
//! the guard a crash would leave the pod billing until the app is opened again.
//!
//! What it cannot cover: the whole computer going away (power loss, sleep, no network). The next
//! start's recovery and the orphan sweep remain for that.

use crate::Studio;
use std::io::Read;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use studio_error::{Error, Result};

/// The argument that makes the app binary run as the guard.
pub const GUARD_ARG: &str = "--crash-guard";

/// The app's end of the pipe. It is never written; the process ending closes it.
#[derive(Debug)]
pub struct Lifeline {
    _stdin: ChildStdin,
    child: Child,
}

impl Lifeline {
    pub fn guard_pid(&self) -> u32 {
        self.child.id()
    }
}

/// Starts `exe GUARD_ARG extra_args...` in its own process group (Ctrl-C or a closed terminal
/// reaching the app must not reach the guard), with the app's environment.
pub fn spawn(exe: &std::path::Path, extra_args: &[&str]) -> Result<Lifeline> {
    let mut cmd = Command::new(exe);
    cmd.arg(GUARD_ARG)
        .args(extra_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            "app.guard_unavailable",
            "The crash guard could not start, so a crash would leave a GPU running until the app \
             is opened again.",
        )
        .with_source(e)
    })?;
    let stdin = child.stdin.take().ok_or_else(|| {
        Error::internal("the crash guard started without its lifeline".to_string())
    })?;
    tracing::info!(pid = child.id(), "crash guard started");
    Ok(Lifeline {
        _stdin: stdin,
        child,
    })
}

/// Starts the guard for this app (the running program, with `GUARD_ARG`); none in forced demo
/// mode, which bills nothing. A guard that cannot start is logged, and the app runs without.
pub fn start_for(studio: &Studio) -> Option<Lifeline> {
    if studio.demo_forced() {
        return None;
    }
    let exe = std::env::current_exe()
        .inspect_err(|e| tracing::error!("crash guard: where is this program? {e}"))
        .ok()?;
    spawn(&exe, &[])
        .inspect_err(|e| tracing::error!("{}", e.chain()))
        .ok()
}

/// The guard process from start to end, for a program started with `GUARD_ARG`: no window,
/// its own log lines in the data folder's log, the wait, the clean-up.
pub fn main(data_dir: std::path::PathBuf) {
    let _log = studio_core::logging::init(&data_dir, false).ok();
    studio_media::init();
    let studio = match Studio::new(data_dir, false) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("crash guard cannot start: {}", e.chain());
            return;
        }
    };
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run(studio)),
        Err(e) => tracing::error!("crash guard cannot start: {e}"),
    }
}

/// How long the guard keeps trying and how it spaces its attempts.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// After this the guard gives up (logged); the next start and the orphan banner remain.
    pub give_up_after: Duration,
    pub first_retry: Duration,
    /// Retries double up to this.
    pub max_retry: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            give_up_after: Duration::from_secs(60 * 60),
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(60),
        }
    }
}

/// The guard's whole life: read the key, wait for the app to end, settle what it left.
#[tracing::instrument(skip(studio))]
pub async fn run(studio: Studio) {
    // Read now, while the session is surely unlocked: the app may end with a log-out that
    // locks the keychain before the guard needs the key.
    if let Err(e) = studio.remember_key_for_cleanup() {
        tracing::warn!(
            "crash guard: the RunPod key could not be read: {}",
            e.chain()
        );
    }
    let waited = tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        // Anything written is ignored; only end-of-file (the app is gone) matters.
        while !matches!(stdin.read(&mut sink), Ok(0) | Err(_)) {}
    })
    .await;
    if waited.is_err() {
        tracing::error!("crash guard: the wait for the app failed");
    }
    settle(&studio).await;
}

/// What the guard does once the app is gone, with the default retries (also used by tests).
pub async fn settle(studio: &Studio) -> bool {
    settle_with(studio, &GuardConfig::default()).await
}

/// Settles renders and terminates the pods the app left, retrying with capped backoff until
/// every one is confirmed gone or `config.give_up_after` has passed. True when all is settled.
#[tracing::instrument(skip_all)]
pub async fn settle_with(studio: &Studio, config: &GuardConfig) -> bool {
    let deadline = Instant::now() + config.give_up_after;
    let mut delay = config.first_retry;
    // Taken first, once: pods and renders a new session starts while the guard is busy are
    // not ours to settle.
    let (left, renders) = loop {
        match studio
            .live_pod_names()
            .and_then(|pods| Ok((pods, studio.unfinished_renders()?)))
        {
            Ok(snapshot) => break snapshot,
            Err(e) if Instant::now() + delay < deadline => {
                tracing::error!("crash guard: reading the journals: {}", e.chain());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(config.max_retry);
            }
            Err(e) => {
                tracing::error!("crash guard: giving up on the journals: {}", e.chain());
                return false;
            }
        }
    };
    delay = config.first_retry;
    for round in 1u32.. {
        let renders_settled = match studio
            .recover_only(studio_jobs::no_events(), true, Some(&renders))
            .await
        {
            Ok(settled) => {
                if !settled.is_empty() {
                    tracing::warn!(
                        count = settled.len(),
                        "crash guard: the app ended with renders running; they were finished or settled"
                    );
                }
                settled.iter().all(|r| r.to.is_terminal())
            }
            Err(e) => {
                tracing::error!(round, "crash guard: recovering renders: {}", e.chain());
                false
            }
        };
        let pods_gone = match studio.terminate_left_behind(&left).await {
            Ok(0) => {
                tracing::info!("crash guard: nothing was left running");
                true
            }
            Ok(n) => {
                tracing::warn!(
                    count = n,
                    "crash guard: terminated pods the app left running"
                );
                true
            }
            Err(e) => {
                tracing::error!(round, "crash guard: terminating pods: {}", e.chain());
                false
            }
        };
        if renders_settled && pods_gone {
            return true;
        }
        if Instant::now() + delay >= deadline {
            tracing::error!(
                round,
                "crash guard: giving up; the next start and the Pods screen will show what is left"
            );
            return false;
        }
        tracing::info!(round, retry_in = ?delay, "crash guard: trying again");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(config.max_retry);
    }
    false
}

//! `studio`: the command-line front end. It drives the same engine as the desktop app and
//! exposes only what works.

mod batch_view;
mod data_lock;
mod gallery_cmd;
mod jobs_cmd;
mod output;
mod pods_cmd;
mod preview_cmd;
mod probe_cmd;
mod render_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "studio",
    version,
    about = "SteadyDancer Studio from the command line: check media, preview poses, render on RunPod or your own ComfyUI, manage pods and results."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Each subcommand lives in its own `*_cmd.rs` module; add one variant and one match arm here.
#[derive(Subcommand)]
enum Command {
    /// Check a photo or video and print what the Create screen shows.
    Probe(probe_cmd::Args),
    /// GPU types on RunPod with prices and availability.
    Gpus(pods_cmd::GpusArgs),
    /// List, start, terminate and sweep this app's RunPod pods.
    Pods(pods_cmd::PodsArgs),
    /// Render photos dancing to videos: every photo with every video, as one batch on RunPod
    /// pods (as Settings describe them) or on your own ComfyUI.
    Render(render_cmd::Args),
    /// Pose preview of a dance video: skeleton and overlay videos, and the checks.
    Preview(preview_cmd::Args),
    /// Renders: list them, settle unfinished ones, resume a batch.
    Jobs(jobs_cmd::Args),
    /// Finished results.
    Gallery(gallery_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Probe(args) => probe_cmd::run(args),
            Command::Gpus(args) => pods_cmd::run_gpus(args).await,
            Command::Pods(args) => pods_cmd::run_pods(args).await,
            Command::Render(args) => render_cmd::run(args).await,
            Command::Preview(args) => preview_cmd::run(args).await,
            Command::Jobs(args) => jobs_cmd::run(args).await,
            Command::Gallery(args) => gallery_cmd::run(args).await,
        }
    })
}

/// A token cancelled when the user presses Ctrl-C or the system ends the process (SIGTERM, a
/// closed terminal's SIGHUP): the engine then terminates the pod before the command returns,
/// instead of dying with it billing. `note` is printed first.
fn cancel_on_termination(note: Option<&'static str>) -> tokio_util::sync::CancellationToken {
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        studio_core::signals::termination_requested().await;
        if let Some(note) = note {
            eprintln!("{note}");
        }
        on_signal.cancel();
    });
    cancel
}

/// The studio on this data folder, the same object the desktop app drives.
fn studio() -> studio_error::Result<studio_app::Studio> {
    studio_app::Studio::new(studio_core::paths::data_dir()?, false)
}

/// Ctrl-C or the system ending the process (SIGTERM, a closed terminal's SIGHUP) cancels every
/// batch this process runs: their pods are terminated before the command returns. Repeated
/// until exit, so a batch registered just after the signal is cancelled too.
fn cancel_batches_on_termination(studio: &studio_app::Studio) {
    let studio = studio.clone();
    tokio::spawn(async move {
        studio_core::signals::termination_requested().await;
        eprintln!("Cancelling: stopping the renders and terminating their pods...");
        loop {
            studio.cancel_all();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
}

/// Logs go to the data directory's log file only, so stdout stays clean for `--json`.
fn init_logging() -> Option<studio_core::logging::LogGuard> {
    let dir = studio_core::paths::data_dir().ok()?;
    studio_core::logging::init(&dir, false).ok()
}

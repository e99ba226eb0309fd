//! `studio`: the command-line front end. It drives the same engine as the desktop app and
//! exposes only what works.

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
    /// Render a photo dancing to a video on a ComfyUI server you already have.
    Render(render_cmd::Args),
    /// Pose preview of a dance video: skeleton and overlay videos, and the checks.
    Preview(preview_cmd::Args),
    /// Renders: list them, or settle unfinished ones.
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

/// Logs go to the data directory's log file only, so stdout stays clean for `--json`.
fn init_logging() -> Option<studio_core::logging::LogGuard> {
    let dir = studio_core::paths::data_dir().ok()?;
    studio_core::logging::init(&dir, false).ok()
}

//! `studio preview --video DANCE [--out DIR] [--json]`: the local pose preview written as a
//! skeleton video and an overlay video, with the per-frame checks summarised.

use crate::output::{self, EXIT_BAD_INPUT, EXIT_FAILED};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use studio_app::{ExportReport, PoseExport};

#[derive(clap::Args)]
pub struct Args {
    /// The dance video.
    #[arg(long)]
    video: PathBuf,
    /// Where skeleton.mp4 and overlay.mp4 go (default: the current folder).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Process every n-th frame only (faster, coarser).
    #[arg(long, default_value_t = 1)]
    every: u32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> ExitCode {
    let studio = match crate::studio() {
        Ok(s) => s,
        Err(e) => return output::fail(&e, args.json, EXIT_FAILED),
    };
    let quiet = args.json;
    let on_download = move |p: studio_app::DownloadProgress| {
        if !quiet {
            let pct = p
                .total
                .map_or(0.0, |t| p.done as f64 * 100.0 / t.max(1) as f64);
            eprint!("\rdownloading {}: {pct:5.1}%", p.file);
        }
    };
    let on_frame = move |f: &studio_app::PreviewFrame| {
        if !quiet {
            eprint!("\rframe {} ({:.1} s)   ", f.index, f.pts_secs);
            let _ = std::io::stderr().flush();
        }
    };
    // Ctrl-C stops at the next frame; the videos so far are kept.
    let cancel = Arc::new(AtomicBool::new(false));
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        studio_core::signals::termination_requested().await;
        on_signal.store(true, Ordering::Relaxed);
    });
    let export = PoseExport {
        video: args.video,
        out_dir: args.out,
        every_nth: args.every,
    };
    match studio
        .export_pose_preview(export, on_download, on_frame, cancel)
        .await
    {
        Ok((_, report)) if args.json => output::print_json(&report),
        Ok((engine, report)) => {
            eprintln!("\rpose engine: {engine}");
            output::write_out(format_args!("{}", describe(&report)));
            ExitCode::SUCCESS
        }
        Err(e) if e.code().starts_with("media.") => output::fail(&e, args.json, EXIT_BAD_INPUT),
        Err(e) => output::fail(&e, args.json, EXIT_FAILED),
    }
}

fn describe(r: &ExportReport) -> String {
    let s = &r.summary;
    let mut out = format!(
        "skeleton: {}\noverlay:  {}\nframes:   {} in {:.1} s\n",
        r.skeleton_mp4.display(),
        r.overlay_mp4.display(),
        s.frames,
        s.elapsed.as_secs_f64()
    );
    if s.checks.ok() {
        out.push_str("checks:   one whole dancer in every frame\n");
    }
    for w in &s.checks.warnings {
        out.push_str(&format!("warning [{}]: {}\n", w.code, w.message));
    }
    out
}

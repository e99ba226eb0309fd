//! `studio preview --video DANCE [--out DIR] [--json]`: the local pose preview written as a
//! skeleton video and an overlay video, with the per-frame checks summarised.

use crate::output::{self, EXIT_BAD_INPUT, EXIT_FAILED};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use studio_pose::{ExportReport, PoseModels, PreviewOptions, ensure_dwpose, write_preview_videos};

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
    studio_media::init();
    let dir = match studio_core::paths::data_dir() {
        Ok(d) => studio_pose::download::models_dir(&d),
        Err(e) => return output::fail(&e, args.json, EXIT_FAILED),
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("steadydancer-studio/", env!("CARGO_PKG_VERSION")))
        // A model server that stops sending mid-file must end the download (it resumes next
        // time), not hang it.
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap_or_default();
    let quiet = args.json;
    let mut on_download = |p: studio_pose::DownloadProgress| {
        if !quiet {
            let pct = p
                .total
                .map_or(0.0, |t| p.done as f64 * 100.0 / t.max(1) as f64);
            eprint!("\rdownloading {}: {pct:5.1}%", p.file);
        }
    };
    let (det, pose) = match ensure_dwpose(&client, &dir, &mut on_download).await {
        Ok(paths) => paths,
        Err(e) => return output::fail(&e, args.json, EXIT_FAILED),
    };
    let models = match PoseModels::load(&det, &pose) {
        Ok(m) => m,
        Err(e) => return output::fail(&e, args.json, EXIT_FAILED),
    };
    if !quiet {
        eprintln!("\rpose engine: {}", models.engine_name());
    }
    let opts = PreviewOptions {
        every_nth: args.every.max(1),
        ..PreviewOptions::default()
    };
    let mut on_frame = |f: &studio_pose::PreviewFrame| {
        if !quiet {
            eprint!("\rframe {} ({:.1} s)   ", f.index, f.pts_secs);
            let _ = std::io::stderr().flush();
        }
    };
    let cancel = AtomicBool::new(false);
    match write_preview_videos(
        &models,
        &args.video,
        &args.out,
        opts,
        &cancel,
        &mut on_frame,
    ) {
        Ok(report) if args.json => output::print_json(&report),
        Ok(report) => {
            eprintln!();
            output::write_out(format_args!("{}", describe(&report)));
            ExitCode::SUCCESS
        }
        Err(e) => output::fail(&e, args.json, EXIT_BAD_INPUT),
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

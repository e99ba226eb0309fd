//! `studio probe FILE [--json]`: what the Create screen shows of a photo or video.

use crate::output::{self, EXIT_BAD_INPUT};
use std::path::PathBuf;
use std::process::ExitCode;
use studio_app::{MediaFacts, MediaKind};

#[derive(clap::Args)]
pub struct Args {
    /// The photo or video to check.
    file: PathBuf,
    /// Print the facts as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    match studio_app::probe(&args.file) {
        Ok(facts) if args.json => output::print_json(&facts),
        Ok(facts) => {
            output::write_out(format_args!("{}", describe(&facts)));
            ExitCode::SUCCESS
        }
        Err(e) => output::fail(&e, args.json, EXIT_BAD_INPUT),
    }
}

fn describe(f: &MediaFacts) -> String {
    let mut out = String::new();
    let kind = match f.kind {
        MediaKind::Image => "photo",
        MediaKind::Video => "video",
    };
    out.push_str(&format!("{}: {kind}\n", f.file_name));
    out.push_str(&format!("  size:       {} x {}\n", f.width, f.height));
    if let Some(d) = f.duration_secs {
        out.push_str(&format!("  length:     {d:.2} s\n"));
    }
    if let Some(r) = f.frame_rate {
        out.push_str(&format!("  frame rate: {r:.2} fps\n"));
    }
    if let Some(n) = f.frame_count {
        out.push_str(&format!("  frames:     {n}\n"));
    }
    out.push_str(&format!("  format:     {}, {}\n", f.container, f.codec));
    out.push_str(&format!("  file size:  {} bytes\n", f.file_size));
    if f.rotation != 0 {
        out.push_str(&format!("  rotation:   {} degrees\n", f.rotation));
    }
    for c in &f.checks {
        let severity = format!("{:?}", c.severity).to_lowercase();
        out.push_str(&format!("  {severity}: {}\n", c.message));
    }
    out
}

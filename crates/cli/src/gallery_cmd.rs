//! `studio gallery list [--json]`: finished renders, newest first; moved files show as missing.

use crate::output::{EXIT_FAILED, fail, out, print_json};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: GalleryCommand,
}

#[derive(Subcommand, Debug)]
enum GalleryCommand {
    /// Every result with its video, GPU, cost and date.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: Args) -> ExitCode {
    let GalleryCommand::List { json } = args.command;
    let entries = match crate::studio() {
        Ok(s) => s.gallery().await,
        Err(e) => Err(e),
    };
    let entries = match entries {
        Ok(e) => e,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    if json {
        return print_json(&entries);
    }
    if entries.is_empty() {
        out!("The gallery is empty.");
    }
    for e in &entries {
        let when = studio_app::format_utc(e.created_ms);
        let missing = if e.missing {
            "  [missing: the file was moved or deleted]"
        } else {
            ""
        };
        crate::jobs_cmd::say(&format!(
            "{}  {when}  {}  {}  {}{missing}",
            &e.id[..8.min(e.id.len())],
            crate::jobs_cmd::dollars(e.cost_usd),
            e.gpu_id.as_deref().unwrap_or("own server"),
            e.video.display()
        ));
    }
    ExitCode::SUCCESS
}

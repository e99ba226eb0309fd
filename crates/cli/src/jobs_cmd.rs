//! `studio jobs list|recover|resume`: the render journal, the same settling of unfinished
//! renders the app does at start-up, and the rest of a batch after a restart.

use crate::batch_view::{BatchView, label, outcome_code, print_outcome};
use crate::output::{EXIT_FAILED, fail, out, print_json};
use clap::Subcommand;
use std::io::Write;
use std::process::ExitCode;
use studio_app::{JobRecord, Stage, no_events};
use studio_error::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: JobsCommand,
}

#[derive(Subcommand, Debug)]
enum JobsCommand {
    /// Every render, newest first, with its stage, cost and error.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Settle unfinished renders: resume those whose pod and prompt still run, terminate the
    /// pods of the others and mark them interrupted. Renders still queued stay in their batch.
    Recover {
        #[arg(long)]
        json: bool,
    },
    /// Run the renders of a batch that are still queued (after a restart or a crash).
    Resume {
        batch_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: Args) -> ExitCode {
    match args.command {
        JobsCommand::List { json } => list(json).await,
        JobsCommand::Recover { json } => recover(json).await,
        JobsCommand::Resume { batch_id, json } => match resume(&batch_id, json).await {
            Ok(code) => code,
            Err(e) => fail(&e, json, EXIT_FAILED),
        },
    }
}

async fn list(json: bool) -> ExitCode {
    let jobs = match crate::studio() {
        Ok(s) => s.jobs().await,
        Err(e) => Err(e),
    };
    let jobs = match jobs {
        Ok(j) => j,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    if json {
        return print_json(&jobs);
    }
    if jobs.is_empty() {
        out!("No renders yet.");
    }
    for j in &jobs {
        say(&line(j));
    }
    ExitCode::SUCCESS
}

/// A stdout line; a closed pipe (`studio jobs list | head`) ends the listing quietly.
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Cents, or tenths of a cent for the small sums a short render costs.
pub(crate) fn dollars(usd: f64) -> String {
    if usd > 0.0 && usd < 0.10 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

fn line(j: &JobRecord) -> String {
    let when = studio_app::format_utc(j.created_ms);
    let cost = j
        .cost_usd
        .unwrap_or_else(|| j.cost_usd_at(studio_app::now_ms()));
    let mut s = format!(
        "{}  {when}  {:<20}  {}",
        &j.id[..8.min(j.id.len())],
        j.stage.label(),
        dollars(cost)
    );
    if let Some(b) = &j.batch_id {
        s.push_str(&format!("  batch {}", &b[..8.min(b.len())]));
    }
    if let Some(p) = &j.pod {
        s.push_str(&format!("  {}", p.gpu_id));
    }
    if let Some(m) = &j.error_message {
        s.push_str(&format!("  {m}"));
    } else if let Some(out) = j.outputs.first() {
        s.push_str(&format!("  {}", out.display()));
    }
    s
}

async fn recover(json: bool) -> ExitCode {
    let _lock = match crate::data_lock::lock_data_folder("studio jobs recover") {
        Ok(l) => l,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let settled = match crate::studio() {
        Ok(s) => s.recover(no_events()).await,
        Err(e) => Err(e),
    };
    let settled = match settled {
        Ok(s) => s,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    if json {
        return print_json(&settled);
    }
    if settled.is_empty() {
        out!("Nothing to recover: every render is finished.");
    }
    let mut left = false;
    for r in &settled {
        let what = match (r.to, &r.error) {
            (Stage::Done, _) => "resumed and finished".to_string(),
            (to, Some(e)) if !to.is_terminal() => {
                left = true;
                format!("left {} ({}), will retry", to.label(), e.message)
            }
            (to, _) => to.label().to_string(),
        };
        say(&format!(
            "{}  {} -> {what}  {}",
            &r.job_id[..8.min(r.job_id.len())],
            r.from.label(),
            dollars(r.cost_usd)
        ));
    }
    if left {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn resume(batch_id: &str, json: bool) -> Result<ExitCode> {
    let _lock = crate::data_lock::lock_data_folder("studio jobs resume")?;
    let studio = crate::studio()?;
    let labels = studio
        .queue()
        .await?
        .into_iter()
        .filter(|q| q.batch_id.as_deref() == Some(batch_id))
        .map(|q| (q.job_id, label(&q.image, &q.video)))
        .collect();
    let view = BatchView::for_jobs(labels, json);
    crate::cancel_batches_on_termination(&studio);
    let outcome = studio.resume_batch(batch_id, view.sink()).await;
    view.finish();
    let outcome = outcome?;
    print_outcome(&outcome, json);
    Ok(outcome_code(&outcome))
}

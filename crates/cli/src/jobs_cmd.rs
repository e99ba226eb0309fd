//! `studio jobs list [--json]` and `studio jobs recover [--json]`: the render journal, and the
//! same settling of unfinished jobs the app does at start-up.

use crate::output::{EXIT_FAILED, fail, print_json};
use clap::Subcommand;
use std::process::ExitCode;
use studio_core::config::Endpoints;
use studio_error::Result;
use studio_jobs::{JobRecord, RunPodSetup, Stage, no_events};
use studio_pods::{LifecycleConfig, PodSpec};
use studio_runpod::RunPodClient;
use tokio_util::sync::CancellationToken;

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
    /// pods of the others and mark them interrupted.
    Recover {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: Args) -> ExitCode {
    match args.command {
        JobsCommand::List { json } => list(json),
        JobsCommand::Recover { json } => recover(json).await,
    }
}

/// RunPod access from the keychain (or `RUNPOD_API_KEY`), endpoints from the environment and
/// the pod spec from Settings; `None` without a key. `studio render` uses it for the pod path.
pub fn runpod_setup() -> Result<Option<RunPodSetup>> {
    let Some(key) = studio_core::secrets::load_api_key()? else {
        return Ok(None);
    };
    let endpoints = Endpoints::from_env()?;
    let mut spec = PodSpec::default();
    if let Ok(data) = studio_core::paths::data_dir()
        && let Ok(settings) = studio_core::settings::Settings::load(&data)
    {
        spec.image = settings.pod_image;
        if !settings.gpu_ids.is_empty() {
            spec.gpu_candidates = settings.gpu_ids;
        }
    }
    Ok(Some(RunPodSetup {
        client: RunPodClient::new(endpoints.runpod_api_url.clone(), key)?,
        lifecycle: LifecycleConfig::new(endpoints.pod_url_template.clone()),
        spec,
    }))
}

fn list(json: bool) -> ExitCode {
    let jobs =
        match studio_core::paths::data_dir().and_then(|d| studio_jobs::open_journal(&d)?.list()) {
            Ok(j) => j,
            Err(e) => return fail(&e, json, EXIT_FAILED),
        };
    if json {
        return print_json(&jobs);
    }
    if jobs.is_empty() {
        println!("No renders yet.");
    }
    for j in &jobs {
        println!("{}", line(j));
    }
    ExitCode::SUCCESS
}

fn line(j: &JobRecord) -> String {
    let when = studio_jobs::journal::format_utc(j.created_ms);
    let cost = j
        .cost_usd
        .unwrap_or_else(|| j.cost_usd_at(studio_jobs::journal::now_ms()));
    let mut s = format!(
        "{}  {when}  {:<20}  ${cost:.2}",
        &j.id[..8.min(j.id.len())],
        j.stage.label()
    );
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
    // Without RunPod access, jobs on the user's own ComfyUI still settle; pod jobs stay
    // unfinished with an error saying what is needed.
    let runpod = runpod_setup().unwrap_or_else(|e| {
        eprintln!("warning [{}]: {}", e.code(), e.message());
        None
    });
    let engine =
        match studio_core::paths::data_dir().and_then(|d| studio_jobs::open_engine(&d, runpod)) {
            Ok(e) => e,
            Err(e) => return fail(&e, json, EXIT_FAILED),
        };
    let cancel = CancellationToken::new();
    let ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let settled = match engine.recover(cancel, no_events()).await {
        Ok(s) => s,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    if json {
        return print_json(&settled);
    }
    if settled.is_empty() {
        println!("Nothing to recover: every render is finished.");
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
        println!(
            "{}  {} -> {what}  ${:.2}",
            &r.job_id[..8.min(r.job_id.len())],
            r.from.label(),
            r.cost_usd
        );
    }
    if left {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

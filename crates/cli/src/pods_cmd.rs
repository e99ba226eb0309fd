//! `studio gpus` and `studio pods list|start|terminate|sweep`: the pod lifecycle from the
//! command line, through the app's own code (studio-app), so every pod follows Settings.

use crate::output::{EXIT_FAILED, fail, out, print_json};
use clap::Subcommand;
use std::process::ExitCode;
use studio_app::Studio;
use studio_error::Result;

#[derive(clap::Args, Debug)]
pub struct GpusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PodsArgs {
    #[command(subcommand)]
    command: PodsCommand,
}

#[derive(Subcommand, Debug)]
enum PodsCommand {
    /// Every pod of ours with status, GPU, uptime and cost so far.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Start a pod as Settings describe it (GPUs, cloud, disk, volume, lifetime), wait until
    /// ComfyUI has the workflow's nodes and models, print its id and URL.
    Start {
        #[arg(long)]
        json: bool,
    },
    /// Terminate a pod and wait until RunPod confirms it.
    Terminate {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Terminate every pod of ours that no unfinished render owns and print what each cost.
    Sweep {
        #[arg(long)]
        json: bool,
    },
}

fn money(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |c| format!("${c:.2}"))
}

pub async fn run_gpus(args: GpusArgs) -> ExitCode {
    let gpus = match crate::studio() {
        Ok(s) => s.gpus().await,
        Err(e) => Err(e),
    };
    match gpus {
        Ok(list) if args.json => print_json(&list),
        Ok(list) => {
            out!(
                "{:<28} {:>6} {:>9} {:>9}  AVAILABILITY",
                "GPU",
                "VRAM",
                "SECURE",
                "COMMUNITY"
            );
            for g in list {
                let availability = g
                    .availability
                    .map_or("-".to_string(), |a| format!("{a:?}").to_uppercase());
                out!(
                    "{:<28} {:>4}GB {:>8.2}$ {:>8.2}$  {availability}",
                    g.id,
                    g.memory,
                    g.price.secure,
                    g.price.community
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, args.json, EXIT_FAILED),
    }
}

pub async fn run_pods(args: PodsArgs) -> ExitCode {
    let json = match &args.command {
        PodsCommand::List { json }
        | PodsCommand::Start { json }
        | PodsCommand::Terminate { json, .. }
        | PodsCommand::Sweep { json } => *json,
    };
    match pods(args.command).await {
        Ok(code) => code,
        Err(e) => fail(&e, json, EXIT_FAILED),
    }
}

async fn pods(command: PodsCommand) -> Result<ExitCode> {
    Ok(match command {
        PodsCommand::List { json } => {
            let list = crate::studio()?.pods().await?;
            if json {
                return Ok(print_json(&list));
            }
            for p in list {
                out!(
                    "{}  {}  {}  {}  up {}s  {}/h  {}{}",
                    p.pod_id,
                    p.name,
                    p.status,
                    p.gpu_id.unwrap_or_default(),
                    p.uptime_secs.unwrap_or(0.0) as u64,
                    money(Some(p.rate_usd_per_hour)),
                    money(p.cost_usd),
                    if p.other_install {
                        "  (another install's: only `pods terminate ID` touches it)"
                    } else {
                        ""
                    }
                );
            }
            ExitCode::SUCCESS
        }
        PodsCommand::Start { json } => {
            let _lock = crate::data_lock::lock_data_folder("studio pods start")?;
            start(crate::studio()?, json).await?
        }
        PodsCommand::Terminate { id, json } => {
            let _lock = crate::data_lock::lock_data_folder("studio pods terminate")?;
            let cost = crate::studio()?.terminate_pod(&id).await?;
            if json {
                return Ok(print_json(
                    &serde_json::json!({ "podId": id, "costUsd": cost }),
                ));
            }
            out!("terminated {id}  cost {}", money(cost));
            ExitCode::SUCCESS
        }
        PodsCommand::Sweep { json } => {
            // With the lock held no render of this data folder runs: only the unfinished
            // ones own pods, and the sweep leaves those to `studio jobs recover`.
            let _lock = crate::data_lock::lock_data_folder("studio pods sweep")?;
            let swept = crate::studio()?.sweep().await?;
            if json {
                return Ok(print_json(&swept));
            }
            for s in &swept {
                let state = s.error.as_deref().unwrap_or("terminated");
                out!(
                    "{}  {}  {}  {state}",
                    s.view.pod_id,
                    s.view.name,
                    money(s.view.cost_usd)
                );
            }
            out!("{} pod(s) swept", swept.len());
            ExitCode::SUCCESS
        }
    })
}

async fn start(studio: Studio, json: bool) -> Result<ExitCode> {
    let cancel = crate::cancel_on_termination(Some("cancelling: the pod will be terminated"));
    let last = std::sync::Mutex::new(String::new());
    let ready = studio
        .start_warm_pod(
            move |e| {
                let line = format!("{}: {}", e.label, e.message);
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                if *last != line {
                    eprintln!(
                        "[{:>5.0}s] {line}  ({})",
                        e.elapsed_secs,
                        money(Some(e.cost_usd))
                    );
                    *last = line;
                }
            },
            cancel,
        )
        .await?;
    if json {
        return Ok(print_json(&ready));
    }
    out!("{}", ready.pod_id);
    eprintln!(
        "Ready on {} at ${:.2}/h. Terminate with: studio pods terminate {}",
        ready.gpu_id.as_deref().unwrap_or("?"),
        ready.rate_usd_per_hour,
        ready.pod_id
    );
    Ok(ExitCode::SUCCESS)
}

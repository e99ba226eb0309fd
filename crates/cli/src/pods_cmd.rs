//! `studio gpus` and `studio pods list|start|terminate|sweep`: the pod lifecycle from the
//! command line, on the same engine (studio-pods) the app uses.

use crate::output::{EXIT_BAD_INPUT, EXIT_FAILED, fail, out, print_json};
use clap::Subcommand;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use studio_comfy::{ClientConfig, Manifest};
use studio_core::config::Endpoints;
use studio_error::{Error, Result};
use studio_jobs::ComfyProbe;
use studio_pods::{EnvLock, Journal, LifecycleConfig, PodEvent, PodManager, Reporter};
use studio_runpod::RunPodClient;

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
    /// Start a pod, wait until ComfyUI has the workflow's nodes and models, print its URL.
    Start {
        /// Workflow manifest whose requirements define "ready" (default: the SteadyDancer one).
        #[arg(long)]
        workflow: Option<PathBuf>,
        /// GPU types to try in order (default: from Settings).
        #[arg(long = "gpu")]
        gpus: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Terminate a pod and wait until RunPod confirms it.
    Terminate {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Terminate every pod of ours that no live job owns and print what each cost.
    Sweep {
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn default_manifest() -> PathBuf {
    std::env::var_os("STUDIO_WORKFLOWS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("workflows"))
        .join("steadydancer.toml")
}

fn client(endpoints: &Endpoints) -> Result<RunPodClient> {
    let key = studio_core::secrets::load_api_key()?.ok_or_else(|| {
        Error::new(
            "runpod.no_key",
            "No RunPod API key. Set RUNPOD_API_KEY or save a key in the app's Settings.",
        )
    })?;
    RunPodClient::new(endpoints.runpod_api_url.clone(), key)
}

/// Readiness as the app checks it: ComfyUI answering, the manifest's nodes and models, and the
/// pinned environment when the pod runs it.
fn manager(manifest: Option<Manifest>) -> Result<PodManager<ComfyProbe>> {
    let endpoints = Endpoints::from_env()?;
    let data = studio_core::paths::data_dir()?;
    studio_core::paths::ensure_dir(&data)?;
    let journal = Journal::open(&data.join("pods.sqlite"))?;
    Ok(PodManager::new(
        client(&endpoints)?,
        Arc::new(Mutex::new(journal)),
        ComfyProbe::new(manifest, ClientConfig::default()).with_environment(
            crate::jobs_cmd::cli_pod_spec()?
                .bootstrap
                .then(|| EnvLock::for_manifest(&default_manifest()))
                .transpose()?,
        ),
        LifecycleConfig {
            install_id: crate::data_lock::install_id(),
            ..LifecycleConfig::new(endpoints.pod_url_template.clone())
        },
    ))
}

/// Pods of renders the journal has not settled: `studio jobs recover` (or the app) resumes or
/// terminates them; the sweep leaves them alone.
fn owned_by_unfinished_renders() -> Result<HashSet<String>> {
    let journal = studio_jobs::open_journal(&studio_core::paths::data_dir()?)?;
    Ok(journal
        .unfinished()?
        .into_iter()
        .filter_map(|j| j.pod.map(|p| p.pod_id))
        .collect())
}

fn money(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |c| format!("${c:.2}"))
}

pub async fn run_gpus(args: GpusArgs) -> ExitCode {
    let gpus = match Endpoints::from_env().and_then(|e| client(&e)) {
        Ok(c) => c.list_gpus().await,
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
    match args.command {
        PodsCommand::List { json } => match manager(None) {
            Ok(m) => match m.list().await {
                Ok(list) if json => print_json(&list),
                Ok(list) => {
                    for p in list {
                        out!(
                            "{}  {}  {:?}  {}  up {}s  {}/h  {}{}",
                            p.pod_id,
                            p.name,
                            p.status,
                            p.gpu_id.unwrap_or_default(),
                            p.uptime_secs.unwrap_or(0.0) as u64,
                            money(Some(p.rate_per_hour)),
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
                Err(e) => fail(&e, json, EXIT_FAILED),
            },
            Err(e) => fail(&e, json, EXIT_FAILED),
        },
        PodsCommand::Start {
            workflow,
            gpus,
            json,
        } => start(workflow, gpus, json).await,
        PodsCommand::Terminate { id, json } => {
            match lock("studio pods terminate").and_then(|l| Ok((l, manager(None)?))) {
                Ok((_lock, m)) => match m.terminate(&id, &Reporter::silent()).await {
                    Ok(t) if json => print_json(&t),
                    Ok(t) => {
                        out!("terminated {}  cost {}", t.pod_id, money(t.cost_usd));
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(&e, json, EXIT_FAILED),
                },
                Err(e) => fail(&e, json, EXIT_FAILED),
            }
        }
        PodsCommand::Sweep { json } => match lock("studio pods sweep")
            .and_then(|l| Ok((l, manager(None)?, owned_by_unfinished_renders()?)))
        {
            // With the lock held no render runs: only the unfinished ones own pods.
            Ok((_lock, m, owned)) => match m.sweep(&owned, &Reporter::silent()).await {
                Ok(swept) if json => print_json(&swept),
                Ok(swept) => {
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
                Err(e) => fail(&e, json, EXIT_FAILED),
            },
            Err(e) => fail(&e, json, EXIT_FAILED),
        },
    }
}

fn lock(command: &str) -> Result<studio_core::instance::InstanceLock> {
    crate::data_lock::lock_data_folder(command)
}

async fn start(workflow: Option<PathBuf>, gpus: Vec<String>, json: bool) -> ExitCode {
    let _lock = match lock("studio pods start") {
        Ok(l) => l,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let path = workflow.clone().unwrap_or_else(default_manifest);
    let manifest = match Manifest::load(&path) {
        Ok(m) => Some(m),
        Err(e) if workflow.is_some() => return fail(&e, json, EXIT_BAD_INPUT),
        Err(e) => {
            eprintln!(
                "warning: {} Only ComfyUI answering is checked.",
                e.message()
            );
            None
        }
    };
    let m = match manager(manifest) {
        Ok(m) => m,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let spec = match crate::jobs_cmd::cli_pod_spec() {
        Ok(spec) => spec,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let mut spec = spec;
    if !gpus.is_empty() {
        spec.gpu_candidates = gpus;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PodEvent>();
    let printer = tokio::spawn(async move {
        let mut last = String::new();
        while let Some(e) = rx.recv().await {
            let line = format!("{:?}: {}", e.stage, e.message);
            if line != last {
                eprintln!(
                    "[{:>5.0}s] {line}  ({})",
                    e.elapsed_secs,
                    money(Some(e.cost_usd))
                );
                last = line;
            }
        }
    });
    let cancel = crate::cancel_on_termination(Some("cancelling: the pod will be terminated"));
    let result = m.start(&spec, &Reporter::new(tx), &cancel).await;
    let _ = printer.await;
    match result {
        Ok(ready) if json => print_json(&ready),
        Ok(ready) => {
            out!("{}", ready.pod_id);
            out!("{}", ready.comfy_url);
            eprintln!(
                "Ready on {} at ${:.2}/h. Terminate with: studio pods terminate {}",
                ready.gpu_id, ready.rate_per_hour, ready.pod_id
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, json, EXIT_FAILED),
    }
}

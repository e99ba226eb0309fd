//! `studio render`: every photo with every dance video as one batch on the app's render queue
//! (RunPod pods as Settings describe them, or the ComfyUI at `--comfy-url`): the estimate
//! first, a confirmation before anything is rented, one progress line per render, the results.

use crate::batch_view::{BatchView, outcome_code, print_outcome};
use crate::output::{self, EXIT_BAD_INPUT, EXIT_FAILED};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use studio_app::{BatchPlan, BatchRequest, Studio};
use studio_error::{Error, Result, codes};

#[derive(clap::Args)]
pub struct Args {
    /// A reference photo (the person who will dance); repeat for more.
    #[arg(long = "image", required = true)]
    images: Vec<PathBuf>,
    /// A dance video (one person, whole body); repeat for more. Every photo is rendered with
    /// every video.
    #[arg(long = "video", required = true)]
    videos: Vec<PathBuf>,
    /// Pods at once for the batch (default: Settings, 1).
    #[arg(long)]
    pods: Option<u32>,
    /// Render on this ComfyUI instead of RunPod, like http://127.0.0.1:8188.
    #[arg(long, env = "STUDIO_COMFY_URL")]
    comfy_url: Option<String>,
    /// GPU types to try in order for new pods (default: Settings).
    #[arg(long = "gpu", value_name = "ID")]
    gpus: Vec<String>,
    /// A workflow parameter as NAME=VALUE, repeatable (steadydancer: seed, steps, fps, width,
    /// height, max_frames, prompt).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Folder for the results (default: Settings' output folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop the whole batch once its pods have cost this much, in US dollars (default:
    /// Settings' budget per render x the renders).
    #[arg(long, value_name = "USD")]
    budget: Option<f64>,
    /// Rent the pods without asking (they cost money).
    #[arg(long)]
    yes: bool,
    /// JSON on stdout: the results, or the plan when pods would be rented without --yes.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> ExitCode {
    let json = args.json;
    match render(args).await {
        Ok(code) => code,
        Err((e, code)) => output::fail(&e, json, code),
    }
}

type Failed = (Error, u8);

fn failed(code: u8) -> impl Fn(Error) -> Failed {
    move |e| (e, code)
}

/// Bad input the user can fix: their files, values, key or folder; not the network or a pod.
fn input_or_failed(e: Error) -> Failed {
    let bad = [
        "media.",
        "manifest.",
        "template.",
        "jobs.bad_",
        "jobs.no_inputs",
        "secrets.",
    ]
    .iter()
    .any(|p| e.code().starts_with(p))
        || e.is(codes::INVALID_INPUT);
    let code = if bad { EXIT_BAD_INPUT } else { EXIT_FAILED };
    (e, code)
}

async fn render(args: Args) -> std::result::Result<ExitCode, Failed> {
    // Taken first when renting is already agreed: the app and another command never recover
    // or sweep a batch this command runs.
    let mut lock = if args.yes {
        Some(crate::data_lock::lock_data_folder("studio render").map_err(failed(EXIT_FAILED))?)
    } else {
        None
    };
    let studio = crate::studio().map_err(failed(EXIT_FAILED))?;
    let request = BatchRequest {
        images: args.images.iter().map(|p| absolute(p)).collect(),
        videos: args.videos.iter().map(|p| absolute(p)).collect(),
        params: studio
            .parse_params(&args.params)
            .map_err(failed(EXIT_BAD_INPUT))?,
        max_pods: args.pods,
        comfy_url: args.comfy_url.clone(),
        gpu_ids: args.gpus.clone(),
        out_dir: args.out.as_deref().map(absolute),
        budget_usd: args.budget,
        ..BatchRequest::default()
    };
    let plan = studio.plan_batch(request).await.map_err(input_or_failed)?;
    show_plan(&plan);
    let rents = plan.renders.iter().any(|r| r.spec.target.uses_pod()) && !plan.demo;
    if rents && !args.yes {
        if args.json {
            // Nothing is rented without --yes: the plan is the answer.
            return Ok(output::print_json(&plan));
        }
        confirm().map_err(failed(EXIT_BAD_INPUT))?;
    }
    if lock.is_none() {
        lock =
            Some(crate::data_lock::lock_data_folder("studio render").map_err(failed(EXIT_FAILED))?);
    }
    let outcome = run_shown(&studio, &plan, args.json).await;
    drop(lock);
    let outcome = outcome.map_err(failed(EXIT_FAILED))?;
    print_outcome(&outcome, args.json);
    Ok(outcome_code(&outcome))
}

async fn run_shown(
    studio: &Studio,
    plan: &BatchPlan,
    json: bool,
) -> Result<studio_app::BatchOutcome> {
    let labels = plan
        .renders
        .iter()
        .map(|r| crate::batch_view::label(&r.image, &r.video))
        .collect();
    let view = BatchView::new(labels, json);
    crate::cancel_batches_on_termination(studio);
    let result = studio
        .start_batch(&plan.plan_id, view.sink(), |id| {
            tracing::info!(batch = id, "batch started from the command line");
            if !json {
                eprintln!("Batch {id}: Ctrl-C cancels it and terminates its pods.");
            }
        })
        .await;
    view.finish();
    result
}

fn show_plan(plan: &BatchPlan) {
    let e = &plan.estimate;
    eprintln!("{} render(s) on {}:", plan.renders.len(), plan.target_label);
    for (r, one) in plan.renders.iter().zip(&e.renders) {
        eprintln!(
            "  {}  {} frames, about {:.0} min, about ${:.2}",
            crate::batch_view::label(&r.image, &r.video),
            r.frames,
            one.total_secs / 60.0,
            one.cost_usd
        );
    }
    let budget = plan
        .budget_usd
        .map(|b| format!("; stops at ${b:.2}"))
        .unwrap_or_default();
    eprintln!(
        "Estimate: about ${:.2} in all ({} pod(s), cold starts ${:.2}), last result in about {:.0} min{budget}.",
        e.total_usd,
        e.pods,
        e.cold_start_usd,
        e.wall_secs / 60.0
    );
    if let Some(start) = e.pod_start.as_ref().filter(|s| s.download_bytes > 0) {
        let once = match (start.volume, start.later_secs) {
            (true, Some(later)) => format!(
                " once: the model volume keeps them, later pods start in about {:.0} min",
                later / 60.0
            ),
            _ => String::new(),
        };
        eprintln!(
            "Each new pod first installs the software and downloads {:.1} GB of models (about {:.0} min, ${:.2}){once}.",
            start.download_bytes as f64 / 1e9,
            start.download_secs / 60.0,
            start.download_usd
        );
    }
}

fn confirm() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            codes::INVALID_INPUT,
            "Rendering on RunPod costs money; pass --yes to confirm without a prompt.",
        ));
    }
    eprint!("Start the render? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::new(
            codes::CANCELLED,
            "Not started; nothing was spent.",
        ))
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

//! `studio jobs list [--json]` and `studio jobs recover [--json]`: the render journal, and the
//! same settling of unfinished jobs the app does at start-up.

use crate::output::{EXIT_BAD_INPUT, EXIT_FAILED, fail, out, print_json};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use studio_core::config::Endpoints;
use studio_error::{Error, Result, codes};
use studio_jobs::{JobEvent, JobRecord, JobSpec, RunPodSetup, Stage, no_events};
use studio_pods::{EnvLock, LifecycleConfig, PodSpec};
use studio_runpod::RunPodClient;

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
    let spec = cli_pod_spec()?;
    Ok(Some(RunPodSetup {
        client: RunPodClient::new(endpoints.runpod_api_url.clone(), key)?,
        lifecycle: LifecycleConfig {
            install_id: crate::data_lock::install_id(),
            ..LifecycleConfig::new(endpoints.pod_url_template.clone())
        },
        spec,
    }))
}

/// The pod the app would ask for: Settings (defaults when unreadable) and the default
/// workflow's lock.
pub fn cli_pod_spec() -> Result<PodSpec> {
    let settings = studio_core::paths::data_dir()
        .and_then(|d| studio_core::settings::Settings::load(&d))
        .unwrap_or_default();
    let lock = EnvLock::for_manifest(&crate::pods_cmd::default_manifest())?;
    Ok(PodSpec::from_settings(&settings, &lock))
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
    let when = studio_jobs::journal::format_utc(j.created_ms);
    let cost = j
        .cost_usd
        .unwrap_or_else(|| j.cost_usd_at(studio_jobs::journal::now_ms()));
    let mut s = format!(
        "{}  {when}  {:<20}  {}",
        &j.id[..8.min(j.id.len())],
        j.stage.label(),
        dollars(cost)
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
    let _lock = match crate::data_lock::lock_data_folder("studio jobs recover") {
        Ok(l) => l,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
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
    let cancel = crate::cancel_on_termination(None);
    let settled = match engine.recover(cancel, no_events()).await {
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

/// `studio render` on a new pod (or a warm one): the estimate, a confirmation (skipped with
/// `--yes`), a progress bar per stage with the live cost, Ctrl-C to cancel (the pod is torn
/// down), and the result path with the cost line. `render_cmd` calls this for the pod path.
pub async fn render_on_pod(spec: JobSpec, yes: bool, json: bool) -> ExitCode {
    let _lock = match crate::data_lock::lock_data_folder("studio render") {
        Ok(l) => l,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let engine = match runpod_setup().and_then(|r| {
        let r = r.ok_or_else(|| {
            Error::new("runpod.no_key", "No RunPod API key. Set RUNPOD_API_KEY or save a key in the app's Settings, or pass --comfy-url.")
        })?;
        studio_jobs::open_engine(&studio_core::paths::data_dir()?, Some(r))
    }) {
        Ok(e) => e,
        Err(e) => return fail(&e, json, EXIT_FAILED),
    };
    let estimate = match engine.expected_frames(&spec).await {
        Ok(frames) => engine.estimate(&spec, frames).await,
        Err(e) => Err(e),
    };
    let estimate = match estimate {
        Ok(e) => e,
        Err(e) => return fail(&e, json, EXIT_BAD_INPUT),
    };
    eprintln!(
        "Estimate: {} frames, about {:.0} min, about ${:.2} at ${:.2}/h.",
        estimate.frames,
        estimate.total_secs / 60.0,
        estimate.cost_usd,
        estimate.rate_usd_per_hour
    );
    if !yes && let Err(e) = confirm() {
        return fail(&e, json, EXIT_BAD_INPUT);
    }
    let cancel = crate::cancel_on_termination(Some(
        "Cancelling: stopping the render and terminating the pod...",
    ));
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    let view = Arc::new(Mutex::new(View {
        bar: bar.clone(),
        stage: String::new(),
        cost: 0.0,
    }));
    let sink = Arc::new(move |e: JobEvent| view.lock().unwrap_or_else(|p| p.into_inner()).show(&e));
    let result = engine.render(&spec, Some(&estimate), cancel, sink).await;
    bar.finish_and_clear();
    match result {
        Ok(out) if json => print_json(&out.job),
        Ok(out) => {
            for f in &out.job.outputs {
                out!("{}", f.display());
            }
            let secs =
                (out.job.finished_ms.unwrap_or(out.job.created_ms) - out.job.created_ms) / 1000;
            eprintln!(
                "Done in {secs} s on {}; cost {}.",
                out.entry.gpu_id.as_deref().unwrap_or("the pod"),
                dollars(out.job.cost_usd.unwrap_or(0.0))
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, json, EXIT_FAILED),
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

/// One bar that follows the stage: steps while sampling, bytes while moving files.
struct View {
    bar: ProgressBar,
    stage: String,
    cost: f64,
}

impl View {
    fn show(&mut self, e: &JobEvent) {
        match e {
            JobEvent::Stage { stage, .. } => {
                self.stage = stage.label().to_string();
                self.bar.set_style(
                    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                self.bar
                    .enable_steady_tick(std::time::Duration::from_millis(200));
            }
            JobEvent::Sampling { value, max, .. } => {
                self.bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {msg} [{bar:30}] step {pos}/{len}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                self.bar.set_length(*max);
                self.bar.set_position(*value);
            }
            JobEvent::Transfer {
                done,
                total: Some(t),
                ..
            } => {
                self.bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {msg} [{bar:30}] {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                self.bar.set_length(*t);
                self.bar.set_position(*done);
            }
            JobEvent::PodSetup {
                message,
                done_bytes,
                total_bytes,
                ..
            } => {
                // The bootstrap's own words ("Downloading model 3 of 8 (12.1 of 32.7 GB)").
                self.stage = message.clone();
                if let (Some(done), Some(total)) = (done_bytes, total_bytes) {
                    self.bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {msg} [{bar:30}]",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    self.bar.set_length(*total);
                    self.bar.set_position(*done);
                }
            }
            JobEvent::Cost { usd, .. } => self.cost = *usd,
            _ => {}
        }
        self.bar
            .set_message(format!("{}  ${:.3}", self.stage, self.cost));
    }
}

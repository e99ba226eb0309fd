//! How a running batch shows on the terminal: one line per render (its stage, step or bytes,
//! and cost), as live bars on a terminal and as plain lines when stderr is a file or a pipe;
//! then the results.

use crate::output::{EXIT_FAILED, out, print_json};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use studio_app::{BatchOutcome, EventSink, JobEvent, Stage};

/// "photo.png x dance.mp4".
pub fn label(image: &Path, video: &Path) -> String {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    format!("{} x {}", name(image), name(video))
}

struct Line {
    label: String,
    stage: String,
    detail: String,
    cost: f64,
    bar: Option<ProgressBar>,
    /// The last plain line printed, so a line is only printed when the stage changes.
    printed: String,
}

struct State {
    lines: Vec<Line>,
    by_job: HashMap<String, usize>,
    multi: Option<MultiProgress>,
    quiet: bool,
}

#[derive(Clone)]
pub struct BatchView {
    state: Arc<Mutex<State>>,
}

impl BatchView {
    /// `labels` in queue order; `quiet` (JSON output) shows nothing while the batch runs.
    pub fn new(labels: Vec<String>, quiet: bool) -> Self {
        let live = !quiet && std::io::stderr().is_terminal();
        let multi = live.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let style = ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let lines = labels
            .into_iter()
            .map(|label| Line {
                bar: multi.as_ref().map(|m| {
                    let bar = m.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.enable_steady_tick(std::time::Duration::from_millis(200));
                    bar.set_message(format!("{label}  queued"));
                    bar
                }),
                label,
                stage: Stage::Queued.label().to_string(),
                detail: String::new(),
                cost: 0.0,
                printed: String::new(),
            })
            .collect();
        Self {
            state: Arc::new(Mutex::new(State {
                lines,
                by_job: HashMap::new(),
                multi,
                quiet,
            })),
        }
    }

    /// Lines for renders already journaled, by job id (a resumed batch).
    pub fn for_jobs(jobs: Vec<(String, String)>, quiet: bool) -> Self {
        let (ids, labels): (Vec<String>, Vec<String>) = jobs.into_iter().unzip();
        let view = Self::new(labels, quiet);
        view.state.lock().unwrap_or_else(|p| p.into_inner()).by_job =
            ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect();
        view
    }

    pub fn sink(&self) -> EventSink {
        let state = self.state.clone();
        Arc::new(move |e: JobEvent| state.lock().unwrap_or_else(|p| p.into_inner()).show(&e))
    }

    pub fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for line in &state.lines {
            if let Some(bar) = &line.bar {
                bar.finish();
            }
        }
    }
}

impl State {
    fn show(&mut self, e: &JobEvent) {
        let job = match e {
            // The plan's renders in its order; a resumed batch's lines were named by job id.
            JobEvent::BatchStarted { job_ids, .. } if self.by_job.is_empty() => {
                for (i, id) in job_ids.iter().enumerate() {
                    self.by_job.insert(id.clone(), i);
                }
                return;
            }
            JobEvent::BatchStarted { .. } => return,
            JobEvent::Lease {
                pod_id,
                gpu_id,
                rate_usd_per_hour,
                state,
                ..
            } => {
                let state = format!("{state:?}").to_lowercase();
                self.note(&format!(
                    "pod {pod_id} ({gpu_id}, ${rate_usd_per_hour:.2}/h): {state}"
                ));
                return;
            }
            JobEvent::BatchCost { .. } | JobEvent::BatchFinished { .. } => return,
            JobEvent::Stage { job_id, .. }
            | JobEvent::Progress { job_id, .. }
            | JobEvent::PodSetup { job_id, .. }
            | JobEvent::Sampling { job_id, .. }
            | JobEvent::Transfer { job_id, .. }
            | JobEvent::Cost { job_id, .. }
            | JobEvent::Finished { job_id, .. } => job_id,
        };
        let Some(&i) = self.by_job.get(job) else {
            return;
        };
        let n = self.lines.len();
        let line = &mut self.lines[i];
        match e {
            JobEvent::Stage { stage, .. } => {
                line.stage = stage.label().to_string();
                line.detail.clear();
            }
            JobEvent::Progress { fraction, .. } => {
                line.detail = format!("{:.0}%", fraction * 100.0)
            }
            JobEvent::PodSetup { message, .. } => line.detail = message.clone(),
            JobEvent::Sampling { value, max, .. } => line.detail = format!("step {value}/{max}"),
            JobEvent::Transfer {
                done,
                total: Some(t),
                ..
            } => line.detail = format!("{:.0}%", *done as f64 * 100.0 / (*t).max(1) as f64),
            JobEvent::Cost { usd, .. } => line.cost = *usd,
            JobEvent::Finished {
                stage,
                cost_usd,
                error,
                ..
            } => {
                line.stage = stage.label().to_string();
                line.cost = *cost_usd;
                line.detail = error
                    .as_ref()
                    .map(|e| format!("[{}] {}", e.code, e.message))
                    .unwrap_or_default();
            }
            _ => {}
        }
        let text = format!(
            "[{}/{n}] {}  {}{}  {}",
            i + 1,
            line.label,
            line.stage,
            if line.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", line.detail)
            },
            crate::jobs_cmd::dollars(line.cost)
        );
        if let Some(bar) = &line.bar {
            if matches!(e, JobEvent::Finished { .. }) {
                bar.finish_with_message(text);
            } else {
                bar.set_message(text);
            }
        } else if !self.quiet {
            // Plain lines: one per stage, not per sampler step or byte.
            let key = format!("{}{}", line.stage, matches!(e, JobEvent::Finished { .. }));
            if line.printed != key {
                line.printed = key;
                eprintln!("{text}");
            }
        }
    }

    fn note(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }
}

/// Each render's result (its file, or its error), then the batch's cost; JSON with `json`.
pub fn print_outcome(outcome: &BatchOutcome, json: bool) {
    if json {
        let _ = print_json(outcome);
        return;
    }
    let mut done = 0;
    for r in &outcome.renders {
        let what = label(&r.image, &r.video);
        match (&r.error, r.outputs.first()) {
            (None, Some(file)) if r.stage == Stage::Done => {
                done += 1;
                out!("{}", file.display());
                eprintln!("  {what}: done, {}", crate::jobs_cmd::dollars(r.cost_usd));
            }
            (Some(e), _) => eprintln!("  {what}: {} [{}] {}", r.stage.label(), e.code, e.message),
            _ => eprintln!("  {what}: {}", r.stage.label()),
        }
    }
    eprintln!(
        "Batch {}: {done} of {} done; cost {}.",
        outcome.batch.id,
        outcome.renders.len(),
        crate::jobs_cmd::dollars(
            outcome
                .batch
                .cost_usd
                .unwrap_or_else(|| { outcome.renders.iter().map(|r| r.cost_usd).sum() })
        )
    );
}

/// Success only when every render is done.
pub fn outcome_code(outcome: &BatchOutcome) -> ExitCode {
    if outcome.renders.iter().all(|r| r.stage == Stage::Done) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

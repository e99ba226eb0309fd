//! `studio render`: the whole render on a ComfyUI server the user already has (their own GPU or
//! a pod they started): check, upload, queue, progress bar, download, print the result path.

use crate::output::{self, EXIT_BAD_INPUT, EXIT_FAILED, out};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use studio_comfy::{ComfyClient, ComfyEvent, Manifest, RenderEvent, RenderRequest};
use studio_error::{Error, codes};

#[derive(clap::Args)]
pub struct Args {
    /// The reference photo (the person who will dance).
    #[arg(long)]
    image: PathBuf,
    /// The dance video (one person, whole body).
    #[arg(long)]
    video: PathBuf,
    /// ComfyUI's address, like http://127.0.0.1:8188 or https://POD-8188.proxy.runpod.net.
    /// Without it, the render runs on a new RunPod pod.
    #[arg(long, env = "STUDIO_COMFY_URL")]
    comfy_url: Option<String>,
    /// GPU types to try in order for a new pod (default: from Settings).
    #[arg(long = "gpu")]
    gpus: Vec<String>,
    /// Start the pod without asking (it costs money).
    #[arg(long)]
    yes: bool,
    /// Workflow manifest [default: workflows/steadydancer.toml].
    #[arg(long)]
    workflow: Option<PathBuf>,
    /// A workflow parameter as NAME=VALUE, repeatable (steadydancer: seed, steps, fps, width,
    /// height, max_frames, prompt).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Folder for the result.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Print the result as JSON (no progress bar).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> ExitCode {
    let json = args.json;
    if args.comfy_url.is_none() {
        return match pod_spec(&args) {
            Ok(spec) => crate::jobs_cmd::render_on_pod(spec, args.yes, json).await,
            Err(e) => output::fail(&e, json, EXIT_BAD_INPUT),
        };
    }
    let (client, manifest, request) = match prepare(&args) {
        Ok(p) => p,
        Err(e) => return output::fail(&e, json, EXIT_BAD_INPUT),
    };
    let cancel = crate::cancel_on_termination(None);
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    let mut view = BarView::new(bar.clone());
    let result = studio_comfy::render(
        &client,
        &manifest,
        &request,
        &args.out,
        move |e| view.show(&e),
        cancel,
    )
    .await;
    bar.finish_and_clear();
    match result {
        Ok(out) if json => output::print_json(&out),
        Ok(out) => {
            for f in &out.files {
                out!("{}", f.path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.code().starts_with("manifest.") || e.is(codes::INVALID_INPUT) {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            };
            output::fail(&e, json, code)
        }
    }
}

/// The job for a new pod: same inputs, params and manifest as the `--comfy-url` path, and the
/// spending cap from Settings.
fn pod_spec(args: &Args) -> Result<studio_jobs::JobSpec, Error> {
    let (_, manifest, request) = prepare(args)?;
    let manifest_path = match &args.workflow {
        Some(p) => p.clone(),
        None => studio_comfy::locate_workflow("steadydancer.toml").ok_or_else(|| {
            Error::new(
                "manifest.unreadable",
                format!("Could not find {}.", manifest.name),
            )
        })?,
    };
    let budget_usd = studio_core::paths::data_dir()
        .and_then(|d| studio_core::settings::Settings::load(&d))
        .map(|s| s.budget_usd)
        .unwrap_or(None);
    Ok(studio_jobs::JobSpec {
        image: std::path::absolute(&args.image).unwrap_or(args.image.clone()),
        video: std::path::absolute(&args.video).unwrap_or(args.video.clone()),
        manifest: manifest_path,
        params: request.params,
        target: studio_jobs::Target::NewPod {
            gpu_ids: args.gpus.clone(),
        },
        out_dir: std::path::absolute(&args.out).unwrap_or(args.out.clone()),
        budget_usd,
        normalise: Default::default(),
    })
}

fn prepare(args: &Args) -> Result<(ComfyClient, Manifest, RenderRequest), Error> {
    let path = match &args.workflow {
        Some(p) => p.clone(),
        None => studio_comfy::locate_workflow("steadydancer.toml").ok_or_else(|| {
            Error::new(
                "manifest.unreadable",
                "Could not find workflows/steadydancer.toml. Pass --workflow PATH or set \
                 STUDIO_WORKFLOWS_DIR to the folder that holds it.",
            )
        })?,
    };
    let manifest = Manifest::load(&path)?;
    let mut request = RenderRequest::default();
    request
        .inputs
        .insert("reference_image".into(), args.image.clone());
    request
        .inputs
        .insert("driving_video".into(), args.video.clone());
    let mut params = BTreeMap::new();
    for p in &args.params {
        let (name, value) = p.split_once('=').ok_or_else(|| {
            Error::new(
                codes::INVALID_INPUT,
                format!("--param {p:?} must look like NAME=VALUE, for example steps=8."),
            )
        })?;
        params.insert(
            name.to_string(),
            studio_comfy::parse_param(&manifest, name.trim(), value)?,
        );
    }
    request.params = params;
    // The pod path gets its address later; this client is only used with --comfy-url.
    let client = ComfyClient::new(args.comfy_url.as_deref().unwrap_or("http://127.0.0.1:8188"))?;
    Ok((client, manifest, request))
}

/// One bar whose meaning follows the stage: bytes while moving files, steps while sampling.
struct BarView {
    bar: ProgressBar,
    stage: &'static str,
}

impl BarView {
    fn new(bar: ProgressBar) -> Self {
        Self { bar, stage: "" }
    }

    fn set_stage(&mut self, stage: &'static str, template: &str, len: u64) {
        if self.stage != stage {
            self.stage = stage;
            if let Ok(style) = ProgressStyle::with_template(template) {
                self.bar.set_style(style);
            }
            self.bar.set_length(len);
            self.bar.set_position(0);
        }
    }

    fn show(&mut self, e: &RenderEvent) {
        const BYTES: &str = "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}";
        const SPIN: &str = "{spinner} {msg}";
        match e {
            RenderEvent::Checking => {
                self.set_stage("check", SPIN, 0);
                self.bar.set_message("checking the server");
            }
            RenderEvent::Uploading { input, sent, total } => {
                self.set_stage("upload", BYTES, *total);
                self.bar.set_length(*total);
                self.bar.set_message(format!("upload {}", short(input)));
                self.bar.set_position(*sent);
            }
            RenderEvent::Uploaded { .. } => self.stage = "",
            RenderEvent::Queued { .. } => {
                self.set_stage("queue", SPIN, 0);
                self.bar.set_message("queued");
            }
            RenderEvent::Run { event } => self.run_event(event),
            RenderEvent::Downloading {
                received, total, ..
            } => {
                self.set_stage("download", BYTES, total.unwrap_or(0));
                self.bar.set_message("download");
                self.bar.set_position(*received);
            }
            RenderEvent::Done { .. } => self.bar.finish_and_clear(),
        }
    }

    fn run_event(&mut self, e: &ComfyEvent) {
        match e {
            ComfyEvent::Progress { value, max, .. } => {
                self.set_stage("sample", STEPS_TEMPLATE, *max);
                self.bar.set_length(*max);
                self.bar.set_message("sampling");
                self.bar.set_position(*value);
            }
            ComfyEvent::Executing { node } if self.stage != "sample" => {
                self.set_stage("run", "{spinner} {msg} {elapsed}", 0);
                self.bar.set_message(format!("running node {node}"));
            }
            ComfyEvent::Reconnecting { attempt } if *attempt == 1 => {
                self.bar.println(
                    "connection to ComfyUI dropped; following the run through its history",
                );
            }
            _ => self.bar.tick(),
        }
    }
}

const STEPS_TEMPLATE: &str = "{msg:>12} [{bar:30}] step {pos}/{len} {elapsed}";

fn short(input: &str) -> &str {
    match input {
        "reference_image" => "photo",
        "driving_video" => "video",
        other => other,
    }
}

//! Turning "this photo, this dance, these choices" into a job spec and a price, before anything
//! is rented.

use crate::Studio;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use studio_error::{Error, Result};
use studio_jobs::{Estimate, JobSpec, NormaliseOptions, Target};

/// What the user chose on the Create screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RenderOptions {
    pub trim_start: Option<f64>,
    pub trim_end: Option<f64>,
    pub orientation: Option<String>,
    pub fit: Option<String>,
}

/// A job ready to confirm: its spec, what it should cost, and where it runs in words. The spec
/// is for showing: the render starts from `plan_id` (see [`Studio::start_planned`]), so what runs
/// is what was planned here, not a spec the window sends back.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderPlan {
    pub plan_id: String,
    pub spec: JobSpec,
    pub estimate: Estimate,
    pub target_label: String,
    pub demo: bool,
}

impl Studio {
    /// Plans a render of two files the user chose (see [`Studio::chosen_input`]) and keeps the
    /// plan until it is started by its id.
    #[tracing::instrument(skip(self, params))]
    pub async fn plan(
        &self,
        image: PathBuf,
        video: PathBuf,
        options: RenderOptions,
        params: BTreeMap<String, serde_json::Value>,
    ) -> Result<RenderPlan> {
        let image = self.chosen_input(&image)?;
        let video = self.chosen_input(&video)?;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let (target, target_label) = if mode.demo {
            (
                Target::NewPod {
                    gpu_ids: settings.gpu_ids.clone(),
                },
                "a demo GPU (built-in stand-in, free)".to_string(),
            )
        } else if let Some(url) = &settings.comfy_url {
            (
                Target::ComfyUrl { url: url.clone() },
                format!("your ComfyUI at {url}"),
            )
        } else {
            if mode.key.is_none() {
                return Err(Error::new(
                    "secrets.no_key",
                    "Rendering on RunPod needs your RunPod API key. Add it in Settings (or choose your own ComfyUI server or the demo there).",
                ));
            }
            let first = settings.gpu_ids.first().cloned().unwrap_or_default();
            (
                Target::NewPod {
                    gpu_ids: settings.gpu_ids.clone(),
                },
                format!("a new RunPod GPU ({first} first)"),
            )
        };
        if let (Some(s), Some(e)) = (options.trim_start, options.trim_end)
            && e <= s
        {
            return Err(Error::new(
                "jobs.bad_range",
                "The end of the chosen range must come after its start.",
            ));
        }
        let out_dir = if mode.demo {
            self.data_dir().join("demo").join("renders")
        } else {
            settings.output_dir_or_default(self.data_dir())
        };
        let spec = JobSpec {
            image,
            video,
            manifest: crate::default_manifest(self.data_dir())?,
            params,
            budget_usd: if target.uses_pod() {
                settings.budget_usd
            } else {
                None
            },
            target,
            out_dir,
            normalise: NormaliseOptions {
                trim_start: options.trim_start,
                trim_end: options.trim_end,
                orientation: options.orientation.clone(),
                fit: options.fit.clone(),
            },
        };
        // The same count the CLI shows: the engine's, from the manifest's rate and cap.
        let engine = mode.engine(&settings)?;
        let frames = engine.expected_frames(&spec).await?;
        let estimate = engine.estimate(&spec, frames).await?;
        Ok(RenderPlan {
            plan_id: self.keep_plan(spec.clone(), estimate.clone()),
            spec,
            estimate,
            target_label,
            demo: mode.demo,
        })
    }
}

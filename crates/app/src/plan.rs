//! Where a render runs and with which choices, decided before anything is rented: the rules
//! behind every plan (see `batch`; a single render is a batch of one).

use crate::batch::BatchRequest;
use crate::modes::Mode;
use serde::{Deserialize, Serialize};
use studio_core::settings::Settings;
use studio_error::{Error, Result};
use studio_jobs::{NormaliseOptions, Target};

/// What the user chose on the Create screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RenderOptions {
    pub trim_start: Option<f64>,
    pub trim_end: Option<f64>,
    pub orientation: Option<String>,
    pub fit: Option<String>,
}

impl RenderOptions {
    /// The engine's form, once the range is known to make sense.
    pub(crate) fn normalise(&self) -> Result<NormaliseOptions> {
        if let (Some(s), Some(e)) = (self.trim_start, self.trim_end)
            && e <= s
        {
            return Err(Error::new(
                "jobs.bad_range",
                "The end of the chosen range must come after its start.",
            ));
        }
        Ok(NormaliseOptions {
            trim_start: self.trim_start,
            trim_end: self.trim_end,
            orientation: self.orientation.clone(),
            fit: self.fit.clone(),
        })
    }
}

/// The target and its words: the request's own ComfyUI first, then Settings (demo, the user's
/// ComfyUI, new RunPod pods from the request's GPUs or Settings'). A RunPod target needs the key.
pub(crate) fn target(
    req: &BatchRequest,
    settings: &Settings,
    mode: &Mode,
    pods: u32,
) -> Result<(Target, String)> {
    if let Some(url) = req.comfy_url.as_ref().or(settings.comfy_url.as_ref())
        && (req.comfy_url.is_some() || !mode.demo)
    {
        return Ok((
            Target::ComfyUrl { url: url.clone() },
            format!("your ComfyUI at {url}"),
        ));
    }
    let gpu_ids = if req.gpu_ids.is_empty() {
        settings.gpu_ids.clone()
    } else {
        req.gpu_ids.clone()
    };
    let gpus = if pods > 1 {
        format!("up to {pods} GPUs at once")
    } else {
        "a GPU".to_string()
    };
    let label = if mode.demo {
        format!("{gpus} of the demo (built-in stand-in, free)")
    } else {
        if mode.key.is_none() {
            return Err(crate::no_key());
        }
        let first = gpu_ids.first().cloned().unwrap_or_default();
        format!(
            "{} on RunPod ({first} first)",
            gpus.replacen("GPU", "new GPU", 1)
        )
    };
    Ok((Target::NewPod { gpu_ids }, label))
}

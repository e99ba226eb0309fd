//! The user's parameters are checked against the manifest (types, ranges and rules such as
//! "a multiple of 16") before anything is rented: a wrong value found at queue time would be
//! found after the pod had billed its whole cold start.

use crate::spec::JobSpec;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use studio_comfy::Manifest;
use studio_error::Result;

/// Fills the workflow as the render will, with placeholder upload names, and keeps only the
/// verdict: the same checks, in the same code, as at queue time.
pub fn check_params(spec: &JobSpec) -> Result<()> {
    let manifest = Manifest::load(&spec.manifest)?;
    let uploads: BTreeMap<String, String> = manifest
        .inputs
        .keys()
        .map(|name| (name.clone(), format!("{name}.check")))
        .collect();
    studio_comfy::fill(&manifest, &uploads, &spec.params).map(|_| ())
}

/// What the workflow receives: the normalised video's size, rate and frame count for the
/// parameters the manifest has of those names (a frame count kept to the rule at or below what
/// the video holds), then the user's own values on top.
pub fn workflow_params(
    spec: &JobSpec,
    prepared: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>> {
    let manifest = Manifest::load(&spec.manifest)?;
    let cap = frame_cap(&manifest, spec);
    let mut out = BTreeMap::new();
    for (name, value) in prepared {
        let Some(rule) = manifest.params.get(name) else {
            continue;
        };
        let value = match value.as_i64() {
            // The video's frame count, but never past the render's cap: the estimate priced that.
            Some(n) if name == FRAMES => json!(kept_frames(&manifest, n.min(cap.unwrap_or(n)))),
            Some(n) => {
                let (below, above) = rule.valid_neighbours(n);
                json!(below.or(above).unwrap_or(n))
            }
            None => value.clone(),
        };
        out.insert(name.clone(), value);
    }
    out.extend(spec.params.clone());
    Ok(out)
}

/// The parameter that carries the number of frames the workflow reads.
const FRAMES: &str = "max_frames";

/// The most frames this render may have: the user's `max_frames`, else the manifest's default.
fn frame_cap(manifest: &Manifest, spec: &JobSpec) -> Option<i64> {
    spec.params
        .get(FRAMES)
        .and_then(Value::as_i64)
        .or_else(|| manifest.params.get(FRAMES)?.default.as_i64())
}

/// `n` frames kept to the manifest's rule, at or below `n` (the graph cannot read frames the
/// video does not have).
fn kept_frames(manifest: &Manifest, n: i64) -> i64 {
    match manifest.params.get(FRAMES) {
        Some(rule) => {
            let (below, above) = rule.valid_neighbours(n);
            below.or(above).unwrap_or(n)
        }
        None => n,
    }
}

/// The frames a render of `video_frames` frames will have: capped and kept to the rule as the
/// workflow will receive them. The one count behind every estimate (GUI and CLI alike).
pub fn expected_frames(spec: &JobSpec, video_frames: u32) -> Result<u32> {
    let manifest = Manifest::load(&spec.manifest)?;
    let n = i64::from(video_frames);
    let capped = n.min(frame_cap(&manifest, spec).unwrap_or(n)).max(1);
    Ok(u32::try_from(kept_frames(&manifest, capped).max(1)).unwrap_or(u32::MAX))
}

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
    let mut out = BTreeMap::new();
    for (name, value) in prepared {
        let Some(rule) = manifest.params.get(name) else {
            continue;
        };
        let value = match value.as_i64() {
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

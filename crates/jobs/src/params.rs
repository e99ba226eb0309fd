//! The user's parameters are checked against the manifest (types, ranges and rules such as
//! "a multiple of 16") before anything is rented: a wrong value found at queue time would be
//! found after the pod had billed its whole cold start.

use crate::spec::JobSpec;
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

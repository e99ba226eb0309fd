//! A manifest against `/object_info`: the workflow as it will be queued (every default written
//! in), and every parameter's range inside what its nodes accept, so no value the app offers is
//! one the server refuses.

use super::decl::{self, Kind};
use super::{Problem, check_workflow, problem, problems_to_result};
use crate::manifest::{Manifest, ParamSpec, Target};
use serde_json::Value;
use std::collections::BTreeMap;
use studio_error::Result;

impl Manifest {
    /// Every mismatch between this manifest (workflow with defaults, parameter ranges) and the
    /// node definitions in `object_info` (`GET /object_info`).
    pub fn problems_against(&self, object_info: &Value) -> Result<Vec<Problem>> {
        // The uploads keep the workflow's own names: their values are only checked as text.
        let uploads: BTreeMap<String, String> = self
            .inputs
            .iter()
            .map(|(name, t)| {
                let file = self.value_at(t).and_then(Value::as_str).unwrap_or("input");
                (name.clone(), file.to_string())
            })
            .collect();
        let prompt = crate::template::fill(self, &uploads, &BTreeMap::new())?;
        let targets: Vec<Target> = self.inputs.values().cloned().collect();
        let mut problems = check_workflow(&prompt, object_info, &targets);
        for (name, p) in &self.params {
            for t in p.targets() {
                if let Some(why) = self.param_misfit(p, &t, object_info) {
                    let class = self.class_of(&t.node).unwrap_or("?");
                    let message = format!("parameter {name} {why}");
                    problems.push(problem(&t.node, class, Some(&t.field), &message));
                }
            }
        }
        Ok(problems)
    }

    /// `Ok` when the manifest fits the server's nodes, else one `comfy.workflow_mismatch`.
    pub fn check_against(&self, object_info: &Value) -> Result<()> {
        problems_to_result(&self.name, &self.problems_against(object_info)?)
    }

    fn param_misfit(&self, p: &ParamSpec, t: &Target, object_info: &Value) -> Option<String> {
        let class = self.class_of(&t.node)?;
        let inputs = object_info.get(class)?.get("input")?;
        let raw = ["required", "optional"]
            .iter()
            .find_map(|s| inputs.get(s)?.get(&t.field))?
            .as_array()?;
        let d = decl::parse(raw)?;
        let whole = p.default.is_i64() || p.default.is_u64();
        match d.kind {
            Kind::Int if !whole => {
                return Some(
                    "is a number with decimals, but the node takes whole numbers: make \
                             its default a whole number"
                        .into(),
                );
            }
            Kind::Int | Kind::Float => {}
            _ => return None,
        }
        let too_low = match (p.min, d.min()) {
            (_, None) => None,
            (Some(ours), Some(theirs)) if ours >= theirs => None,
            (ours, Some(theirs)) => Some((ours, theirs)),
        };
        if let Some((ours, theirs)) = too_low {
            return Some(match ours {
                Some(o) => {
                    format!("allows {o}, below the node's minimum {theirs}: set min = {theirs}")
                }
                None => {
                    format!("has no min, but the node's minimum is {theirs}: set min = {theirs}")
                }
            });
        }
        match (p.max, d.max()) {
            (Some(ours), Some(theirs)) if ours > theirs => Some(format!(
                "allows {ours}, above the node's maximum {theirs}: set max = {theirs}"
            )),
            (None, Some(theirs)) => Some(format!(
                "has no max, but the node's maximum is {theirs}: set max = {theirs}"
            )),
            _ => None,
        }
    }
}

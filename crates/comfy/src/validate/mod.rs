//! Static check of an API-format workflow against a server's node definitions (`GET
//! /object_info`): the mistakes ComfyUI would only report after upload, or a node would only hit
//! at execution, found before anything is rented. Pure functions over JSON, so the same check
//! runs in tests against the pinned reference and in the app against a live server.

mod decl;
mod manifest_check;

use crate::errors::{WORKFLOW_MISMATCH, node_pack};
use crate::manifest::{Target, link_source};
use decl::Decl;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use studio_error::Error;

/// One mismatch between the workflow and the node definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub node: String,
    pub class_type: String,
    /// The input concerned, when it is about one input.
    pub input: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} ({})", self.node, self.class_type)?;
        if let Some(input) = &self.input {
            write!(f, " input {input}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every mismatch of `workflow` (API format) against `object_info`. `uploads` are the places
/// that receive uploaded file names: the server lists such a file only once it is uploaded, so
/// their values are checked as text, not against the choices.
pub fn check_workflow(workflow: &Value, object_info: &Value, uploads: &[Target]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(nodes) = workflow.as_object() else {
        problems.push(problem(
            "?",
            "?",
            None,
            "the workflow is not a JSON object of nodes",
        ));
        return problems;
    };
    for (id, node) in nodes {
        check_node(id, node, nodes, object_info, uploads, &mut problems);
    }
    problems
}

fn check_node(
    id: &str,
    node: &Value,
    nodes: &Map<String, Value>,
    object_info: &Value,
    uploads: &[Target],
    out: &mut Vec<Problem>,
) {
    let Some(class) = node.get("class_type").and_then(Value::as_str) else {
        out.push(problem(id, "?", None, "has no class_type"));
        return;
    };
    let Some(info) = object_info.get(class) else {
        let from = node_pack(class)
            .map(|p| format!(" (from {p})"))
            .unwrap_or_default();
        out.push(problem(
            id,
            class,
            None,
            &format!("the server has no such node{from}"),
        ));
        return;
    };
    let empty = Map::new();
    let inputs = node
        .get("inputs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let section = |name: &str| {
        info.get("input")
            .and_then(|i| i.get(name))
            .and_then(Value::as_object)
    };
    let required = section("required").unwrap_or(&empty);
    let optional = section("optional").unwrap_or(&empty);
    let hidden = section("hidden").unwrap_or(&empty);

    for name in required.keys() {
        if !inputs.contains_key(name) {
            out.push(problem(
                id,
                class,
                Some(name),
                "is required but not set: give it a value or wire it to a node",
            ));
        }
    }
    let widgets = format_widgets(required.iter().chain(optional), inputs);
    for (name, value) in inputs {
        let raw = required
            .get(name)
            .or_else(|| optional.get(name))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .or_else(|| widgets.iter().find(|(n, _)| n == name).map(|(_, d)| *d));
        let Some(raw) = raw else {
            let why = if hidden.contains_key(name) {
                "is supplied by the server (a hidden input): remove it from the workflow"
                    .to_string()
            } else {
                let known: Vec<&str> = required
                    .keys()
                    .chain(optional.keys())
                    .map(String::as_str)
                    .collect();
                format!("is not an input of this node; it has: {}", known.join(", "))
            };
            out.push(problem(id, class, Some(name), &why));
            continue;
        };
        let Some(decl) = decl::parse(raw) else {
            continue; // A declaration shape we do not know: leave it to the server.
        };
        let upload = uploads.iter().any(|t| t.node == id && &t.field == name);
        if let Some(why) = check_input(&decl, value, nodes, object_info, upload) {
            out.push(problem(id, class, Some(name), &why));
        }
    }
}

fn check_input(
    decl: &Decl<'_>,
    value: &Value,
    nodes: &Map<String, Value>,
    object_info: &Value,
    upload: bool,
) -> Option<String> {
    let Some(from) = link_source(value) else {
        if value.is_array() {
            return Some(format!(
                "{value} is neither a value nor a link [node id, output]"
            ));
        }
        if upload {
            return (!value.is_string()).then(|| format!("{value} is not a file name"));
        }
        return decl.refuse_literal(value);
    };
    let index = value.get(1).and_then(Value::as_u64).unwrap_or(0);
    let Some(source) = nodes.get(from) else {
        return Some(format!(
            "is wired to node {from}, which is not in the workflow"
        ));
    };
    let source_class = source
        .get("class_type")
        .and_then(Value::as_str)
        .unwrap_or("?");
    // An unknown source class is already reported on its own node.
    let outputs = object_info.get(source_class)?.get("output")?.as_array()?;
    let Some(out_type) = usize::try_from(index).ok().and_then(|i| outputs.get(i)) else {
        return Some(format!(
            "is wired to output {index} of node {from} ({source_class}), which has only {} \
             outputs",
            outputs.len()
        ));
    };
    decl.refuse_link(out_type)
        .map(|why| format!("{why} (output {index} of node {from}, {source_class})"))
}

/// Inputs that exist only for the value chosen in another combo (VideoHelperSuite's `format`
/// lists per-format widgets like `crf` under `formats`), as `(name, [type, opts?])`.
fn format_widgets<'a>(
    declared: impl Iterator<Item = (&'a String, &'a Value)>,
    inputs: &Map<String, Value>,
) -> Vec<(String, &'a [Value])> {
    let mut out = Vec::new();
    for (name, raw) in declared {
        let Some(chosen) = inputs.get(name).and_then(Value::as_str) else {
            continue;
        };
        let extra = raw
            .get(1)
            .and_then(|o| o.get("formats"))
            .and_then(|f| f.get(chosen))
            .and_then(Value::as_array);
        for widget in extra.into_iter().flatten().filter_map(Value::as_array) {
            if let [Value::String(w), rest @ ..] = widget.as_slice() {
                out.push((w.clone(), rest));
            }
        }
    }
    out
}

fn problem(node: &str, class: &str, input: Option<&String>, message: &str) -> Problem {
    Problem {
        node: node.to_string(),
        class_type: class.to_string(),
        input: input.cloned(),
        message: message.to_string(),
    }
}

/// All problems as one `comfy.workflow_mismatch` error (the first few spelled out), or `Ok`.
pub fn problems_to_result(workflow_name: &str, problems: &[Problem]) -> studio_error::Result<()> {
    const SHOWN: usize = 6;
    if problems.is_empty() {
        return Ok(());
    }
    let mut listed: Vec<String> = problems
        .iter()
        .take(SHOWN)
        .map(Problem::to_string)
        .collect();
    if problems.len() > SHOWN {
        listed.push(format!("and {} more", problems.len() - SHOWN));
    }
    Err(Error::new(
        WORKFLOW_MISMATCH,
        format!(
            "The workflow {workflow_name} does not fit the server's nodes ({} problem{}): {}. Fix \
             the workflow, or install the node pack versions it was made for \
             (workflows/steadydancer.lock.toml pins them).",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            listed.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests;

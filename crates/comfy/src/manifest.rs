//! The workflow manifest: which workflow file to run, where uploaded inputs and user parameters
//! go in it, which outputs to fetch and what the server must have. Loading validates all of it
//! against the workflow so mistakes surface before anything is uploaded.

use crate::errors::{
    MANIFEST_INVALID, MANIFEST_UNKNOWN_FIELD, MANIFEST_UNKNOWN_NODE, MANIFEST_UNREADABLE,
    MANIFEST_WORKFLOW,
};
use crate::output_kind::{self, OutputKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

/// A place in the workflow: `node` id and the `field` in its `inputs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub node: String,
    pub field: String,
}

/// A value the user may set; `default` is used when absent. Its type (integer, number, text,
/// true/false) is the type of `default`; `min`/`max` apply to numbers, `multiple_of`/`remainder`
/// to whole numbers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub node: String,
    pub field: String,
    pub default: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Whole numbers only: the valid values are `multiple_of * n + remainder` (width 16n, frames
    /// 4n+1), because the graph crashes or silently trims on others. See `param_rule.rs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_of: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remainder: Option<i64>,
    /// Further places that receive the same value (a step count used by two nodes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ParamSpec {
    pub fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        std::iter::once(Target {
            node: self.node.clone(),
            field: self.field.clone(),
        })
        .chain(self.also.iter().cloned())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub node: String,
    /// The node's input that names its files (`filename_prefix`): the app writes a prefix
    /// unique to the render there, so a server's output folder never mixes runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_field: Option<String>,
    /// What the node's files must decode as. Optional for the known save nodes (their class
    /// says it); after loading it is always set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OutputKind>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// Node classes the server must offer, beyond those the workflow names (always checked).
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Loader inputs whose value (a model file) must be among the server's choices.
    #[serde(default)]
    pub models: Vec<Target>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    #[serde(default)]
    description: Option<String>,
    workflow: String,
    #[serde(default)]
    inputs: BTreeMap<String, Target>,
    #[serde(default)]
    params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    outputs: Vec<OutputSpec>,
    #[serde(default)]
    requires: Requires,
}

/// A loaded, validated manifest with its workflow (ComfyUI API format) in memory.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub name: String,
    pub description: Option<String>,
    pub workflow_path: PathBuf,
    #[serde(skip)]
    pub workflow: Map<String, Value>,
    pub inputs: BTreeMap<String, Target>,
    pub params: BTreeMap<String, ParamSpec>,
    pub outputs: Vec<OutputSpec>,
    pub requires: Requires,
}

/// A model file the server must have: the loader at `node`, input `field`, must offer `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRequirement {
    pub node: String,
    pub class_type: String,
    pub field: String,
    pub file: String,
}

impl Manifest {
    /// Reads the manifest at `path` and the workflow it names (relative to the manifest).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                MANIFEST_UNREADABLE,
                format!(
                    "Could not read the workflow manifest {}: {e}. Check the folder \
                     STUDIO_WORKFLOWS_DIR points to.",
                    path.display()
                ),
            )
            .with_source(e)
        })?;
        let raw: RawManifest =
            toml::from_str(&text).map_err(|e| toml_error(&path.display().to_string(), &text, e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let workflow_path = dir.join(&raw.workflow);
        let json = std::fs::read_to_string(&workflow_path).map_err(|e| {
            Error::new(
                MANIFEST_UNREADABLE,
                format!(
                    "Could not read the workflow {} named by the manifest: {e}.",
                    workflow_path.display()
                ),
            )
            .with_source(e)
        })?;
        Self::from_parts(raw, &json, workflow_path)
    }

    /// Builds a manifest from TOML and workflow JSON held in memory (`workflow_path` is only
    /// reported).
    pub fn from_strs(manifest_toml: &str, workflow_json: &str) -> Result<Self> {
        let raw: RawManifest = toml::from_str(manifest_toml)
            .map_err(|e| toml_error("(in memory)", manifest_toml, e))?;
        let path = PathBuf::from(&raw.workflow);
        Self::from_parts(raw, workflow_json, path)
    }

    fn from_parts(raw: RawManifest, json: &str, workflow_path: PathBuf) -> Result<Self> {
        let workflow = parse_workflow(json, &workflow_path)?;
        let mut manifest = Manifest {
            name: raw.name,
            description: raw.description,
            workflow_path,
            workflow,
            inputs: raw.inputs,
            params: raw.params,
            outputs: raw.outputs,
            requires: raw.requires,
        };
        manifest.validate()?;
        manifest.resolve_output_kinds()?;
        Ok(manifest)
    }

    /// Settles what each output must be, so a result the app could not verify is refused
    /// here, before anything is rented.
    fn resolve_output_kinds(&mut self) -> Result<()> {
        for i in 0..self.outputs.len() {
            let o = &self.outputs[i];
            let class = self.class_of(&o.node).unwrap_or("?");
            let kind = output_kind::resolve(&o.node, class, o.kind)?;
            self.outputs[i].kind = Some(kind);
        }
        Ok(())
    }

    /// The kind every output of this workflow has, or `None` when they differ.
    pub fn result_kind(&self) -> Option<OutputKind> {
        output_kind::common_kind(
            self.outputs
                .iter()
                .map(|o| o.kind.unwrap_or(OutputKind::Video)),
        )
    }

    fn validate(&self) -> Result<()> {
        for (name, t) in &self.inputs {
            self.check_literal(&format!("input {name}"), t)?;
        }
        for (name, p) in &self.params {
            for t in p.targets() {
                self.check_literal(&format!("parameter {name}"), &t)?;
            }
            crate::template::check_default(name, p)?;
        }
        for t in &self.requires.models {
            self.check_literal("required model", t)?;
            if !self.value_at(t).is_some_and(Value::is_string) {
                return Err(Error::new(
                    MANIFEST_INVALID,
                    format!(
                        "The required model at node {} field {} is not a file name in the \
                         workflow.",
                        t.node, t.field
                    ),
                ));
            }
        }
        if self.outputs.is_empty() {
            return Err(Error::new(
                MANIFEST_INVALID,
                "The manifest names no [[outputs]]: add the node id of the node that saves the \
                 video.",
            ));
        }
        for o in &self.outputs {
            self.node(&o.node, "output")?;
            if let Some(field) = &o.prefix_field {
                self.check_prefix_field(&o.node, field)?;
            }
        }
        Ok(())
    }

    fn node(&self, id: &str, what: &str) -> Result<&Map<String, Value>> {
        self.workflow
            .get(id)
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Error::new(
                    MANIFEST_UNKNOWN_NODE,
                    format!(
                        "The manifest's {what} points at node {id}, which is not in the workflow \
                         {}. Use a node id from the API-format file.",
                        self.workflow_path.display()
                    ),
                )
            })
    }

    fn check_prefix_field(&self, node: &str, field: &str) -> Result<()> {
        let t = Target {
            node: node.to_string(),
            field: field.to_string(),
        };
        self.check_literal("output prefix_field", &t)?;
        if !self.value_at(&t).is_some_and(Value::is_string) {
            return Err(Error::new(
                MANIFEST_INVALID,
                format!(
                    "The output prefix_field {field} of node {node} does not hold text in the \
                     workflow; name the node's file name prefix input (filename_prefix)."
                ),
            ));
        }
        Ok(())
    }

    /// The target must exist and hold a plain value: replacing a link would cut the graph.
    fn check_literal(&self, what: &str, t: &Target) -> Result<()> {
        let node = self.node(&t.node, what)?;
        let class = node
            .get("class_type")
            .and_then(Value::as_str)
            .unwrap_or("?");
        match node.get("inputs").and_then(|i| i.get(&t.field)) {
            None => Err(Error::new(
                MANIFEST_UNKNOWN_FIELD,
                format!(
                    "The manifest's {what} points at field {} of node {} ({class}), which has no \
                     such input.",
                    t.field, t.node
                ),
            )),
            Some(Value::Array(_)) => Err(Error::new(
                MANIFEST_UNKNOWN_FIELD,
                format!(
                    "The manifest's {what} points at field {} of node {} ({class}), which is \
                     wired to another node, not a value that can be set.",
                    t.field, t.node
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    pub fn value_at(&self, t: &Target) -> Option<&Value> {
        self.workflow.get(&t.node)?.get("inputs")?.get(&t.field)
    }

    pub fn class_of(&self, node: &str) -> Option<&str> {
        self.workflow.get(node)?.get("class_type")?.as_str()
    }

    /// Every node class the server must offer: the workflow's own plus `requires.nodes`.
    pub fn required_classes(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self
            .workflow
            .values()
            .filter_map(|n| n.get("class_type").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        out.extend(self.requires.nodes.iter().cloned());
        out
    }

    pub fn required_models(&self) -> Vec<ModelRequirement> {
        self.requires
            .models
            .iter()
            .map(|t| ModelRequirement {
                node: t.node.clone(),
                class_type: self.class_of(&t.node).unwrap_or("?").to_string(),
                field: t.field.clone(),
                file: self
                    .value_at(t)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect()
    }
}

fn toml_error(path: &str, text: &str, e: toml::de::Error) -> Error {
    let line = e
        .span()
        .map(|s| {
            format!(
                " (line {})",
                text[..s.start.min(text.len())].matches('\n').count() + 1
            )
        })
        .unwrap_or_default();
    Error::new(
        MANIFEST_INVALID,
        format!(
            "The workflow manifest {path} is not valid{line}: {}. See workflows/README.md for \
             the format.",
            e.message().trim_end_matches('.')
        ),
    )
    .with_source(e)
}

fn parse_workflow(json: &str, path: &Path) -> Result<Map<String, Value>> {
    let bad = |why: String| {
        Error::new(
            MANIFEST_WORKFLOW,
            format!("The workflow {} {why}", path.display()),
        )
    };
    let value: Value = serde_json::from_str(json)
        .map_err(|e| bad(format!("is not valid JSON ({e}).")).with_source(e))?;
    let Value::Object(map) = value else {
        return Err(bad("is not a JSON object of nodes.".into()));
    };
    if map.contains_key("nodes") && map.contains_key("links") {
        return Err(bad(
            "is in ComfyUI's editor format. Export it with \"Export (API)\" and point the \
             manifest at that file."
                .into(),
        ));
    }
    for (id, node) in &map {
        let class = node.get("class_type").and_then(Value::as_str);
        let inputs = node.get("inputs").and_then(Value::as_object);
        let (Some(_), Some(inputs)) = (class, inputs) else {
            return Err(bad(format!(
                "has node {id} without a class_type and inputs: is it in API format?"
            )));
        };
        for (field, v) in inputs {
            if let Some(from) = link_source(v)
                && !map.contains_key(from)
            {
                return Err(bad(format!(
                    "wires node {id} input {field} to node {from}, which does not exist."
                )));
            }
        }
    }
    Ok(map)
}

/// `["12", 0]` is a link to output 0 of node 12.
pub(crate) fn link_source(v: &Value) -> Option<&str> {
    match v.as_array()?.as_slice() {
        [Value::String(id), Value::Number(_)] => Some(id),
        _ => None,
    }
}

/// Where a bundled workflow manifest (`steadydancer.toml`) lives: `$STUDIO_WORKFLOWS_DIR`, then a
/// `workflows/` folder beside the executable or above it (an install, or `target/*/` in the
/// repository), then `share/steadydancer-studio/workflows` of an install prefix, then the
/// current folder's `workflows/`.
pub fn locate_workflow(file: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("STUDIO_WORKFLOWS_DIR") {
        candidates.push(PathBuf::from(dir).join(file));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for dir in exe_dir.ancestors().take(5) {
            candidates.push(dir.join("workflows").join(file));
            candidates.push(dir.join("share/steadydancer-studio/workflows").join(file));
        }
    }
    candidates.push(PathBuf::from("workflows").join(file));
    candidates.into_iter().find(|p| p.is_file())
}

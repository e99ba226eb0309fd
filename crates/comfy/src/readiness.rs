//! Readiness checks the pod lifecycle calls before queueing: ComfyUI answers, every node class
//! the workflow uses exists, every model file it loads is among the loaders' choices.

use crate::client::ComfyClient;
use crate::errors;
use crate::manifest::{Manifest, ModelRequirement};
use serde::Serialize;
use serde_json::Value;
use studio_error::Result;

/// What the server lacks for a manifest; empty lists mean ready.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Readiness {
    pub missing_nodes: Vec<String>,
    pub missing_models: Vec<ModelRequirement>,
}

impl Readiness {
    /// What `object_info` lacks for `manifest`.
    pub fn of(object_info: &Value, manifest: &Manifest) -> Self {
        let missing_nodes = missing_nodes(object_info, &manifest.required_classes());
        // A model check against a missing loader would only repeat the node error.
        let missing_models = missing_models(object_info, manifest)
            .into_iter()
            .filter(|m| !missing_nodes.contains(&m.class_type))
            .collect();
        Self {
            missing_nodes,
            missing_models,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.missing_nodes.is_empty() && self.missing_models.is_empty()
    }

    /// The first thing missing as an error a user can act on.
    pub fn into_result(self, manifest: &Manifest) -> Result<()> {
        if let Some(class) = self.missing_nodes.first() {
            let node = manifest
                .workflow
                .iter()
                .find(|(_, n)| n.get("class_type").and_then(Value::as_str) == Some(class))
                .map(|(id, _)| id.as_str())
                .unwrap_or("-");
            return Err(errors::node_missing(node, class));
        }
        if let Some(m) = self.missing_models.first() {
            return Err(errors::model_missing(
                &m.node,
                &m.class_type,
                &m.field,
                &m.file,
            ));
        }
        Ok(())
    }
}

/// Node classes in `required` that `object_info` does not list.
pub fn missing_nodes<'a>(
    object_info: &Value,
    required: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    required
        .into_iter()
        .filter(|class| object_info.get(class.as_str()).is_none())
        .cloned()
        .collect()
}

/// The choices a node class offers for `field` (a loader's file list), in either the classic
/// `[[choices], {..}]` shape or the newer `["COMBO", {"options": [..]}]`.
pub fn choices<'a>(object_info: &'a Value, class: &str, field: &str) -> Option<Vec<&'a str>> {
    let input = object_info.get(class)?.get("input")?;
    let spec = ["required", "optional"]
        .iter()
        .find_map(|k| input.get(*k)?.get(field))?;
    let list = match spec.get(0)? {
        Value::Array(list) => list,
        Value::String(s) if s == "COMBO" => spec.get(1)?.get("options")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().filter_map(Value::as_str).collect())
}

/// Required model files the server's loaders do not offer. Paths are compared with `/` and `\`
/// treated alike, since a Windows server lists `WanVideo\\x.safetensors`.
pub fn missing_models(object_info: &Value, manifest: &Manifest) -> Vec<ModelRequirement> {
    let norm = |s: &str| s.replace('\\', "/");
    manifest
        .required_models()
        .into_iter()
        .filter(|m| {
            let offered = choices(object_info, &m.class_type, &m.field).unwrap_or_default();
            !offered.iter().any(|c| norm(c) == norm(&m.file))
        })
        .collect()
}

impl ComfyClient {
    /// Reads `/object_info` once and reports what is missing for `manifest`.
    #[tracing::instrument(skip(self, manifest), fields(url = %self.base_url(), workflow = %manifest.name))]
    pub async fn readiness(&self, manifest: &Manifest) -> Result<Readiness> {
        Ok(Readiness::of(&self.object_info().await?, manifest))
    }

    /// `system_stats` answers and nothing is missing; otherwise the first problem as an error.
    pub async fn ensure_ready(&self, manifest: &Manifest) -> Result<()> {
        self.system_stats().await?;
        self.readiness(manifest).await?.into_result(manifest)
    }
}

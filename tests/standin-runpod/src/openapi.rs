//! RunPod's OpenAPI document as the contract: request bodies the stand-in receives and documents
//! it sends are checked against the named component schemas.
//!
//! The document is read at run time (never copied into the repository) from
//! `STUDIO_RUNPOD_OPENAPI`, or from `../shared/reference/` beside the workspace root. When it is
//! missing validation is skipped with a warning, except under `CI`, where that is a failure.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub const OPENAPI_ENV: &str = "STUDIO_RUNPOD_OPENAPI";

#[derive(Debug)]
pub struct OpenApi {
    schemas: Value,
    /// `components/parameters`: query and header parameters are checked against their schemas.
    parameters: Value,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

const RELATIVE: &str = "../../../shared/reference/runpod-openapi-v2.json";

/// Where the document is expected when no environment variable names it: beside the workspace
/// of the crate being tested (every crate sits two levels below the root), else beside this one.
pub fn default_path() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(|dir| PathBuf::from(dir).join(RELATIVE))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(RELATIVE))
}

impl OpenApi {
    /// Loads the document; `None` (with a warning) when absent outside CI.
    ///
    /// # Panics
    /// When `CI` is set and the document cannot be read: CI must check the contract.
    pub fn load() -> Option<Arc<Self>> {
        let path = std::env::var_os(OPENAPI_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(default_path);
        let loaded = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        match loaded {
            Ok(doc) => Some(Arc::new(Self::from_document(&doc))),
            Err(e) if std::env::var_os("CI").is_some() => panic!(
                "CI is set but RunPod's OpenAPI document could not be read from {} ({e}); \
                 set {OPENAPI_ENV} to its path",
                path.display()
            ),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "OpenAPI document missing; contract checks skipped");
                eprintln!(
                    "standin-runpod: OpenAPI document not found at {} ({e}); contract checks skipped",
                    path.display()
                );
                None
            }
        }
    }

    pub fn from_document(doc: &Value) -> Self {
        Self {
            schemas: doc
                .pointer("/components/schemas")
                .cloned()
                .unwrap_or_else(|| json!({})),
            parameters: doc
                .pointer("/components/parameters")
                .cloned()
                .unwrap_or_else(|| json!({})),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    fn validator(&self, name: &str) -> Result<Arc<jsonschema::Validator>, String> {
        if self.schemas.get(name).is_none() {
            return Err(format!("no schema named {name} in the OpenAPI document"));
        }
        self.compile(
            name,
            json!({"$ref": format!("#/components/schemas/{name}")}),
        )
    }

    /// Compiles `schema` once under `key`, inside a root that carries the document's
    /// `components`, so every `$ref` in the document resolves.
    fn compile(&self, key: &str, schema: Value) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(key) {
            return Ok(v.clone());
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": {"schemas": self.schemas},
        });
        let compiled = Arc::new(
            jsonschema::draft202012::new(&root)
                .map_err(|e| format!("schema {key} does not compile: {e}"))?,
        );
        cache.insert(key.to_string(), compiled.clone());
        Ok(compiled)
    }

    /// Every way `value` breaks the schema of parameter `name` (`components/parameters`),
    /// prefixed with the parameter's own name as a request would carry it.
    pub fn check_parameter(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        let Some(param) = self.parameters.get(name) else {
            return Err(vec![format!(
                "no parameter named {name} in the OpenAPI document"
            )]);
        };
        let wire = param.get("name").and_then(Value::as_str).unwrap_or(name);
        let schema = param.get("schema").cloned().unwrap_or_else(|| json!({}));
        let validator = self
            .compile(&format!("parameter:{name}"), schema)
            .map_err(|e| vec![e])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{wire}: {e}"))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Every way `value` breaks schema `name`, as JSON-pointer-prefixed messages.
    pub fn check(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        let validator = self.validator(name).map_err(|e| vec![e])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("${}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

//! Filling the workflow template: uploaded file names and user parameters go into the places the
//! manifest names, each value checked against its parameter's type and range.

use crate::errors::{
    MANIFEST_BAD_PARAM, MANIFEST_INVALID, MANIFEST_MISSING_INPUT, MANIFEST_UNKNOWN_PARAM,
};
use crate::manifest::{Manifest, ParamSpec};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use studio_error::{Error, Result};

pub(crate) fn check_default(name: &str, p: &ParamSpec) -> Result<()> {
    if p.default.is_null() || p.default.is_array() || p.default.is_object() {
        return Err(Error::new(
            MANIFEST_INVALID,
            format!("Parameter {name} needs a default that is a number, text or true/false."),
        ));
    }
    if (p.min.is_some() || p.max.is_some()) && !p.default.is_number() {
        return Err(Error::new(
            MANIFEST_INVALID,
            format!("Parameter {name} has min/max but its default is not a number."),
        ));
    }
    crate::param_rule::check_spec(name, p)?;
    check_value(name, p, p.default.clone())
        .map(|_| ())
        .map_err(|e| {
            Error::new(
                MANIFEST_INVALID,
                format!(
                    "The default of parameter {name} is refused by its own rules: {} Fix the \
                     default in the manifest.",
                    e.message()
                ),
            )
        })
}

/// Parses a value typed on a command line (`steps=8`) into the parameter's type.
pub fn parse_param(manifest: &Manifest, name: &str, text: &str) -> Result<Value> {
    let spec = spec(manifest, name)?;
    let value = match &spec.default {
        Value::Bool(_) => match text {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => return Err(bad(name, text, "true or false")),
        },
        Value::Number(n) if n.is_f64() => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad(name, text, "a number"))?,
        Value::Number(_) => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad(name, text, "a whole number"))?,
        _ => Value::String(text.to_string()),
    };
    check_value(name, spec, value)
}

fn spec<'a>(manifest: &'a Manifest, name: &str) -> Result<&'a ParamSpec> {
    manifest.params.get(name).ok_or_else(|| {
        let known: Vec<&str> = manifest.params.keys().map(String::as_str).collect();
        Error::new(
            MANIFEST_UNKNOWN_PARAM,
            format!(
                "The workflow {} has no parameter {name}. Known parameters: {}.",
                manifest.name,
                known.join(", ")
            ),
        )
    })
}

fn bad(name: &str, got: &str, want: &str) -> Error {
    Error::new(
        MANIFEST_BAD_PARAM,
        format!("Parameter {name} must be {want}, not {got:?}."),
    )
}

/// Checks a value (from the GUI as JSON, or parsed) against the parameter's type, range and rule
/// (`multiple_of`/`remainder`).
pub fn check_value(name: &str, p: &ParamSpec, value: Value) -> Result<Value> {
    let ok_type = match (&p.default, &value) {
        (Value::Bool(_), Value::Bool(_)) | (Value::String(_), Value::String(_)) => true,
        (Value::Number(d), Value::Number(v)) => d.is_f64() || v.is_i64() || v.is_u64(),
        _ => false,
    };
    if !ok_type {
        let want = match &p.default {
            Value::Bool(_) => "true or false",
            Value::Number(n) if n.is_f64() => "a number",
            Value::Number(_) => "a whole number",
            _ => "text",
        };
        return Err(bad(name, &value.to_string(), want));
    }
    if let Some(v) = value.as_f64() {
        let below = p.min.is_some_and(|m| v < m);
        let above = p.max.is_some_and(|m| v > m);
        if below || above {
            let range = match (p.min, p.max) {
                (Some(a), Some(b)) => format!("between {a} and {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => String::new(),
            };
            return Err(Error::new(
                MANIFEST_BAD_PARAM,
                format!("Parameter {name} must be {range}, not {v}."),
            ));
        }
    }
    crate::param_rule::check(name, p, &value)?;
    Ok(value)
}

/// The prompt to queue: the workflow with every input's uploaded name and every parameter
/// (given or default) written in. `uploaded` maps manifest input names to server file names.
pub fn fill(
    manifest: &Manifest,
    uploaded: &BTreeMap<String, String>,
    params: &BTreeMap<String, Value>,
) -> Result<Value> {
    let mut prompt = manifest.workflow.clone();
    for (name, target) in &manifest.inputs {
        let file = uploaded.get(name).ok_or_else(|| {
            Error::new(
                MANIFEST_MISSING_INPUT,
                format!(
                    "The workflow {} needs the input {name}, which was not given.",
                    manifest.name
                ),
            )
        })?;
        set(
            &mut prompt,
            &target.node,
            &target.field,
            Value::String(file.clone()),
        );
    }
    for name in params.keys() {
        spec(manifest, name)?;
    }
    for (name, p) in &manifest.params {
        let value = match params.get(name) {
            Some(v) => check_value(name, p, v.clone())?,
            None => p.default.clone(),
        };
        for t in p.targets() {
            set(&mut prompt, &t.node, &t.field, value.clone());
        }
    }
    Ok(Value::Object(prompt))
}

fn set(prompt: &mut Map<String, Value>, node: &str, field: &str, value: Value) {
    // Validation at load time guarantees the node and field exist.
    if let Some(inputs) = prompt
        .get_mut(node)
        .and_then(|n| n.get_mut("inputs"))
        .and_then(Value::as_object_mut)
    {
        inputs.insert(field.to_string(), value);
    }
}

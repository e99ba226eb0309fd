//! One input's declaration in `/object_info` (`["INT", {min, max}]`, `[[choices], {...}]`,
//! `["COMBO", {"options": [...]}]`, `["IMAGE"]`, `["A,B"]`, `["*"]`) and what it accepts: a
//! literal of the right type and range, or a link from an output of a matching type.

use serde_json::{Map, Value};

/// What an input takes, read from its declaration.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    Int,
    Float,
    Text,
    Boolean,
    /// `None`: the server fills the list at run time (remote combos); any text passes.
    Combo(Option<&'a [Value]>),
    /// A link-only type (`IMAGE`), a comma list of types, or `*`.
    Typed(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Decl<'a> {
    pub kind: Kind<'a>,
    pub opts: Option<&'a Map<String, Value>>,
}

/// Reads `[type, opts?]`; `None` for a shape ComfyUI does not produce.
pub(crate) fn parse(decl: &[Value]) -> Option<Decl<'_>> {
    let opts = decl.get(1).and_then(Value::as_object);
    let kind = match decl.first()? {
        Value::Array(choices) => Kind::Combo(Some(choices)),
        Value::String(t) => match t.as_str() {
            "INT" => Kind::Int,
            "FLOAT" => Kind::Float,
            "STRING" => Kind::Text,
            "BOOLEAN" => Kind::Boolean,
            "COMBO" => Kind::Combo(
                opts.and_then(|o| o.get("options"))
                    .and_then(Value::as_array)
                    .map(Vec::as_slice),
            ),
            _ => Kind::Typed(t),
        },
        _ => return None,
    };
    Some(Decl { kind, opts })
}

impl Decl<'_> {
    fn bound(&self, key: &str) -> Option<f64> {
        self.opts?.get(key)?.as_f64()
    }

    pub(crate) fn min(&self) -> Option<f64> {
        self.bound("min")
    }

    pub(crate) fn max(&self) -> Option<f64> {
        self.bound("max")
    }

    /// Why `value` (a literal, not a link) is refused, in words; `None` when it is accepted.
    pub(crate) fn refuse_literal(&self, value: &Value) -> Option<String> {
        match self.kind {
            Kind::Int => match value.as_f64() {
                Some(v) if value.is_i64() || value.is_u64() || v.fract() == 0.0 => {
                    self.refuse_range(v)
                }
                _ => Some(format!("{value} is not a whole number (INT)")),
            },
            Kind::Float => match value.as_f64() {
                Some(v) => self.refuse_range(v),
                None => Some(format!("{value} is not a number (FLOAT)")),
            },
            Kind::Text if !value.is_string() => Some(format!("{value} is not text (STRING)")),
            Kind::Boolean if !value.is_boolean() => {
                Some(format!("{value} is not true or false (BOOLEAN)"))
            }
            Kind::Text | Kind::Boolean | Kind::Combo(None) => None,
            Kind::Combo(Some(choices)) if choices.contains(value) => None,
            Kind::Combo(Some(choices)) => Some(format!(
                "{value} is not one of the choices: {}",
                list(choices)
            )),
            Kind::Typed(t) => refuse_typed_literal(t, value),
        }
    }

    fn refuse_range(&self, v: f64) -> Option<String> {
        match (self.min(), self.max()) {
            (Some(min), _) if v < min => Some(format!("{v} is below the minimum {min}")),
            (_, Some(max)) if v > max => Some(format!("{v} is above the maximum {max}")),
            _ => None,
        }
    }

    /// Why an output of type `out` cannot feed this input; `None` when it can. Follows ComfyUI:
    /// `*` matches anything, comma lists match when they share a type, a combo takes another
    /// combo's output when every choice it can carry is one of ours.
    pub(crate) fn refuse_link(&self, out: &Value) -> Option<String> {
        let accepted = match (self.kind, out) {
            (_, Value::String(o)) if o == "*" => true,
            (Kind::Combo(_), Value::String(o)) => o == "COMBO",
            (Kind::Combo(Some(ours)), Value::Array(theirs)) => {
                theirs.iter().all(|c| ours.contains(c))
            }
            (Kind::Combo(None), Value::Array(_)) => true,
            (_, Value::String(o)) => overlap(self.type_name(), o),
            _ => false,
        };
        (!accepted).then(|| {
            format!(
                "is wired to an output of type {}, but takes {}",
                type_words(out),
                self.type_name()
            )
        })
    }

    fn type_name(&self) -> &str {
        match self.kind {
            Kind::Int => "INT",
            Kind::Float => "FLOAT",
            Kind::Text => "STRING",
            Kind::Boolean => "BOOLEAN",
            Kind::Combo(_) => "COMBO",
            Kind::Typed(t) => t,
        }
    }
}

fn overlap(a: &str, b: &str) -> bool {
    let set = |s: &str| -> Vec<String> { s.split(',').map(|t| t.trim().to_string()).collect() };
    let (a, b) = (set(a), set(b));
    a.iter().any(|t| t == "*" || b.contains(t)) || b.iter().any(|t| t == "*")
}

/// A literal for a non-primitive type only makes sense for `*` or a list naming a primitive.
fn refuse_typed_literal(t: &str, value: &Value) -> Option<String> {
    let fits = t.split(',').map(str::trim).any(|t| match t {
        "*" => true,
        "INT" => value.is_i64() || value.is_u64(),
        "FLOAT" => value.is_number(),
        "STRING" => value.is_string(),
        "BOOLEAN" => value.is_boolean(),
        _ => false,
    });
    (!fits).then(|| format!("takes a link from a node giving {t}, not the value {value}"))
}

fn type_words(out: &Value) -> String {
    match out {
        Value::String(s) => s.clone(),
        Value::Array(choices) => format!("COMBO ({})", list(choices)),
        other => other.to_string(),
    }
}

/// The first few choices, enough to see the mistake without flooding the message.
fn list(choices: &[Value]) -> String {
    const SHOWN: usize = 8;
    let words: Vec<String> = choices
        .iter()
        .take(SHOWN)
        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
        .collect();
    match choices.len() {
        0 => "none (the server offers no file or value here)".to_string(),
        n if n > SHOWN => format!("{}, … ({n} in all)", words.join(", ")),
        _ => words.join(", "),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn decl(v: &Value) -> Decl<'_> {
        parse(v.as_array().unwrap()).unwrap()
    }

    #[test]
    fn numbers_are_typed_and_ranged() {
        let int = json!(["INT", {"min": 0, "max": 10}]);
        assert!(decl(&int).refuse_literal(&json!(3)).is_none());
        assert!(decl(&int).refuse_literal(&json!(3.0)).is_none());
        assert!(
            decl(&int)
                .refuse_literal(&json!(3.5))
                .unwrap()
                .contains("whole")
        );
        assert!(
            decl(&int)
                .refuse_literal(&json!(11))
                .unwrap()
                .contains("maximum 10")
        );
        assert!(
            decl(&int)
                .refuse_literal(&json!(-1))
                .unwrap()
                .contains("minimum 0")
        );
        assert!(decl(&int).refuse_literal(&json!("3")).is_some());
        let float = json!(["FLOAT", {"min": 0.0, "max": 1.0}]);
        assert!(decl(&float).refuse_literal(&json!(1)).is_none());
        assert!(decl(&float).refuse_literal(&json!(1.5)).is_some());
        let seed = json!(["INT", {"min": 0, "max": 18446744073709551615u64}]);
        assert!(decl(&seed).refuse_literal(&json!(4294967295u64)).is_none());
        assert!(
            decl(&json!(["BOOLEAN"]))
                .refuse_literal(&json!(1))
                .is_some()
        );
        assert!(decl(&json!(["STRING"])).refuse_literal(&json!(1)).is_some());
    }

    #[test]
    fn both_combo_shapes_check_the_choice() {
        for c in [
            json!([["sdpa", "sageattn"], {"default": "sdpa"}]),
            json!(["COMBO", {"options": ["sdpa", "sageattn"]}]),
        ] {
            assert!(decl(&c).refuse_literal(&json!("sdpa")).is_none());
            let why = decl(&c).refuse_literal(&json!("flash")).unwrap();
            assert!(why.contains("sdpa, sageattn"), "{why}");
        }
        // A remote combo has no list here: any text.
        let remote = json!(["COMBO", {"remote": {"route": "/x"}}]);
        assert!(decl(&remote).refuse_literal(&json!("a.png")).is_none());
        let long: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        let why = decl(&json!([long])).refuse_literal(&json!("x")).unwrap();
        assert!(why.contains("m7, … (20 in all)"), "{why}");
    }

    #[test]
    fn links_match_like_comfyui() {
        let image = json!(["IMAGE"]);
        assert!(decl(&image).refuse_link(&json!("IMAGE")).is_none());
        assert!(decl(&image).refuse_link(&json!("*")).is_none());
        let why = decl(&image).refuse_link(&json!("FLOAT")).unwrap();
        assert!(why.contains("type FLOAT, but takes IMAGE"), "{why}");
        let any = json!(["*"]);
        assert!(decl(&any).refuse_link(&json!("LATENT")).is_none());
        let several = json!(["BOUNDING_BOX,STRING"]);
        assert!(decl(&several).refuse_link(&json!("STRING")).is_none());
        assert!(decl(&several).refuse_link(&json!("INT, STRING")).is_none());
        assert!(decl(&several).refuse_link(&json!("INT")).is_some());
        assert!(decl(&json!(["INT"])).refuse_link(&json!("FLOAT")).is_some());
        let combo = json!([["a", "b", "c"]]);
        assert!(decl(&combo).refuse_link(&json!(["a", "b"])).is_none());
        assert!(decl(&combo).refuse_link(&json!("COMBO")).is_none());
        assert!(decl(&combo).refuse_link(&json!(["a", "z"])).is_some());
        assert!(decl(&combo).refuse_link(&json!("STRING")).is_some());
    }

    #[test]
    fn literals_for_link_types_are_refused_unless_a_primitive_is_listed() {
        assert!(decl(&json!(["IMAGE"])).refuse_literal(&json!(1)).is_some());
        assert!(decl(&json!(["*"])).refuse_literal(&json!(1)).is_none());
        assert!(
            decl(&json!(["BOUNDING_BOX,STRING"]))
                .refuse_literal(&json!("[]"))
                .is_none()
        );
        assert!(parse(&[json!(3)]).is_none());
    }
}

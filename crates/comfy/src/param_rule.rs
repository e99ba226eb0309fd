//! A whole-number parameter's rule (`multiple_of`, `remainder`): the values the graph accepts
//! are `multiple_of * n + remainder` within `min..=max`. Width and height must be multiples of 16
//! (the sampler crashes on others) and frame counts 4n+1 (the graph silently drops the rest), so
//! a value off the rule is refused before anything is rented, with the nearest values to use.

use crate::errors::{MANIFEST_BAD_PARAM, MANIFEST_INVALID};
use crate::manifest::ParamSpec;
use serde_json::Value;
use studio_error::{Error, Result};

impl ParamSpec {
    /// `(multiple_of, remainder)` when the parameter has a rule.
    fn rule(&self) -> Option<(i64, i64)> {
        match (self.multiple_of, self.remainder) {
            (None, None) => None,
            (m, r) => Some((m.unwrap_or(1).max(1), r.unwrap_or(0))),
        }
    }

    /// The rule in words ("a multiple of 16", "4n+1"), or `None` without one.
    pub fn rule_text(&self) -> Option<String> {
        let (m, r) = self.rule()?;
        Some(match r {
            0 => format!("a multiple of {m}"),
            _ => format!("{m}n+{r}"),
        })
    }

    /// Whether `v` keeps the rule (range aside); true without a rule.
    pub fn follows_rule(&self, v: i64) -> bool {
        self.rule()
            .is_none_or(|(m, r)| v.rem_euclid(m) == r.rem_euclid(m))
    }

    /// The valid values next to `v` within `min..=max`: the largest at or below it and the
    /// smallest at or above it (both `v` itself when it is valid).
    pub fn valid_neighbours(&self, v: i64) -> (Option<i64>, Option<i64>) {
        let (m, r) = self.rule().unwrap_or((1, 0));
        let lo = self.min.map_or(i64::MIN, |x| x.ceil() as i64);
        let hi = self.max.map_or(i64::MAX, |x| x.floor() as i64);
        if lo > hi {
            return (None, None);
        }
        let floor = |x: i64| x.checked_sub((x - r).rem_euclid(m));
        let ceil = |x: i64| x.checked_add((r - x).rem_euclid(m));
        let below = floor(v.min(hi)).filter(|b| *b >= lo);
        let above = ceil(v.max(lo)).filter(|a| *a <= hi);
        (below, above)
    }

    /// The valid value closest to `v` (rule and range), the lower one on a tie: fewer frames than
    /// the video has, never an upscale. `None` only when no value in the range keeps the rule.
    pub fn nearest_valid(&self, v: i64) -> Option<i64> {
        match self.valid_neighbours(v) {
            (Some(b), Some(a)) => Some(if v.abs_diff(b) <= a.abs_diff(v) { b } else { a }),
            (b, a) => b.or(a),
        }
    }

    /// "use 496 or 512" for an off-rule `v`.
    fn suggestion(&self, v: i64) -> String {
        match self.valid_neighbours(v) {
            (Some(b), Some(a)) if b != a => format!("use {b} or {a}"),
            (Some(x), _) | (_, Some(x)) => format!("use {x}"),
            (None, None) => "no value in the range keeps the rule".to_string(),
        }
    }
}

/// A user's value breaking the rule: `manifest.bad_param` naming the nearest valid values.
pub(crate) fn check(name: &str, p: &ParamSpec, value: &Value) -> Result<()> {
    let Some(rule) = p.rule_text() else {
        return Ok(());
    };
    match value.as_i64() {
        Some(v) if p.follows_rule(v) => Ok(()),
        Some(v) => Err(Error::new(
            MANIFEST_BAD_PARAM,
            format!("Parameter {name} {v} is not {rule}: {}.", p.suggestion(v)),
        )),
        None => Err(Error::new(
            MANIFEST_BAD_PARAM,
            format!("Parameter {name} must be a whole number that is {rule}, not {value}."),
        )),
    }
}

/// The rule itself must make sense when the manifest loads: whole-number parameter, a positive
/// `multiple_of`, a `remainder` below it, and `min`/`max` that keep it (so a slider stepping by
/// `multiple_of` from `min` lands only on valid values).
pub(crate) fn check_spec(name: &str, p: &ParamSpec) -> Result<()> {
    let invalid = |why: String| {
        Err(Error::new(
            MANIFEST_INVALID,
            format!("Parameter {name} {why}"),
        ))
    };
    if p.multiple_of.is_none() && p.remainder.is_none() {
        return Ok(());
    }
    let Some(m) = p.multiple_of else {
        return invalid("has a remainder but no multiple_of: add multiple_of.".into());
    };
    if m < 1 {
        return invalid(format!("has multiple_of = {m}: it must be 1 or more."));
    }
    let r = p.remainder.unwrap_or(0);
    if !(0..m).contains(&r) {
        return invalid(format!(
            "has remainder = {r}: it must be from 0 to {} (below multiple_of).",
            m - 1
        ));
    }
    if !(p.default.is_i64() || p.default.is_u64()) {
        return invalid(
            "has multiple_of/remainder, which apply to whole numbers only: make its default a \
             whole number or drop the rule."
                .into(),
        );
    }
    let rule = p.rule_text().unwrap_or_default();
    for (which, bound) in [("min", p.min), ("max", p.max)] {
        let Some(b) = bound else { continue };
        if b.fract() != 0.0 || !p.follows_rule(b as i64) {
            return invalid(format!(
                "has {which} = {b}, which is not {rule}: set it to {}.",
                bound_suggestion(m, r, b)
            ));
        }
    }
    if p.nearest_valid(0).is_none() {
        return invalid(format!(
            "allows no value: nothing between its min and max is {rule}."
        ));
    }
    Ok(())
}

fn bound_suggestion(m: i64, r: i64, b: f64) -> String {
    let v = b.floor() as i64;
    let below = v - (v - r).rem_euclid(m);
    let above = below + m;
    format!("{below} or {above}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn spec(extra: &str) -> ParamSpec {
        toml::from_str(&format!("node = \"1\"\nfield = \"f\"\n{extra}")).unwrap()
    }

    #[test]
    fn multiple_of_names_the_values_either_side() {
        let w = spec("default = 480\nmin = 256\nmax = 1280\nmultiple_of = 16");
        assert_eq!(w.rule_text().unwrap(), "a multiple of 16");
        let e = check("width", &w, &json!(500)).unwrap_err();
        assert_eq!(e.code(), MANIFEST_BAD_PARAM);
        assert_eq!(
            e.message(),
            "Parameter width 500 is not a multiple of 16: use 496 or 512."
        );
        assert!(check("width", &w, &json!(512)).is_ok());
        assert_eq!(w.nearest_valid(500), Some(496));
        assert_eq!(w.nearest_valid(505), Some(512));
        assert_eq!(w.nearest_valid(504), Some(496), "a tie goes down");
        assert_eq!(w.nearest_valid(1279), Some(1280));
        assert_eq!(w.nearest_valid(5000), Some(1280), "clamped to max");
        assert_eq!(w.nearest_valid(3), Some(256), "clamped to min");
        // Near the top only the value below is in range.
        let e = check(
            "width",
            &spec("default = 480\nmax = 1280\nmultiple_of = 16"),
            &json!(1290),
        );
        assert!(e.unwrap_err().message().ends_with("use 1280."));
    }

    #[test]
    fn remainder_gives_4n_plus_1_frames() {
        let f = spec("default = 173\nmin = 5\nmax = 997\nmultiple_of = 4\nremainder = 1");
        assert_eq!(f.rule_text().unwrap(), "4n+1");
        let e = check("max_frames", &f, &json!(176)).unwrap_err();
        assert_eq!(
            e.message(),
            "Parameter max_frames 176 is not 4n+1: use 173 or 177."
        );
        assert!(f.follows_rule(173) && f.follows_rule(5) && !f.follows_rule(4));
        assert_eq!(f.nearest_valid(176), Some(177));
        assert_eq!(f.nearest_valid(175), Some(173));
        assert_eq!(f.nearest_valid(1), Some(5));
        assert_eq!(f.valid_neighbours(173), (Some(173), Some(173)));
        assert_eq!(f.valid_neighbours(-7), (None, Some(5)));
    }

    #[test]
    fn no_rule_means_only_the_range() {
        let s = spec("default = 4\nmin = 1\nmax = 50");
        assert!(s.rule_text().is_none() && s.follows_rule(7));
        assert!(check("steps", &s, &json!(7)).is_ok());
        assert_eq!(s.nearest_valid(99), Some(50));
        assert_eq!(spec("default = 4").nearest_valid(-3), Some(-3));
        // A negative rule value works from the euclidean remainder.
        let n = spec("default = -3\nmultiple_of = 4\nremainder = 1");
        assert!(n.follows_rule(-3));
        assert_eq!(n.valid_neighbours(-4), (Some(-7), Some(-3)));
    }

    #[test]
    fn a_rule_that_makes_no_sense_is_refused_at_load() {
        for (toml, words) in [
            ("default = 4\nremainder = 1", "no multiple_of"),
            ("default = 4\nmultiple_of = 0", "1 or more"),
            ("default = 5\nmultiple_of = 4\nremainder = 4", "from 0 to 3"),
            ("default = 4.0\nmultiple_of = 4", "whole numbers only"),
            ("default = \"x\"\nmultiple_of = 4", "whole numbers only"),
            (
                "default = 5\nmultiple_of = 4\nremainder = 1\nmax = 1000",
                "997 or 1001",
            ),
            ("default = 16\nmultiple_of = 16\nmin = 250", "240 or 256"),
            ("default = 16\nmultiple_of = 16\nmin = 256.5", "256 or 272"),
        ] {
            let e = check_spec("p", &spec(toml)).unwrap_err();
            assert_eq!(e.code(), MANIFEST_INVALID, "{toml}");
            assert!(e.message().contains(words), "{toml}: {}", e.message());
        }
        let ok = spec("default = 173\nmin = 5\nmax = 997\nmultiple_of = 4\nremainder = 1");
        assert!(check_spec("p", &ok).is_ok());
    }
}

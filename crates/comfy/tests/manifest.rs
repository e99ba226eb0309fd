//! Manifest loading and validation, and filling the workflow template.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;
use std::collections::BTreeMap;
use studio_comfy::{Manifest, fill, parse_param};

const WORKFLOW: &str = r#"{
  "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
  "2": {"class_type": "Sampler", "inputs": {"steps": 4, "cfg": 1.5, "image": ["1", 0]}},
  "3": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["2", 0], "frame_rate": 16}}
}"#;

const GOOD: &str = r#"
name = "Test"
workflow = "w.json"
[inputs]
reference_image = { node = "1", field = "image" }
[params]
steps = { node = "2", field = "steps", default = 4, min = 1, max = 50 }
cfg = { node = "2", field = "cfg", default = 1.5 }
[[outputs]]
node = "3"
"#;

fn err(toml: &str, workflow: &str) -> (String, String) {
    let e = Manifest::from_strs(toml, workflow).unwrap_err();
    (e.code().to_string(), e.message().to_string())
}

#[test]
fn the_shipped_steadydancer_manifest_is_valid_and_fixes_the_example() {
    let m = common::manifest();
    assert_eq!(m.name, "SteadyDancer");
    assert_eq!(m.required_models().len(), 7);
    let classes = m.required_classes();
    assert!(classes.contains("WanVideoAddSteadyDancerEmbeds"));
    // No side-by-side comparison, no torch.compile or block swap; saved at the load rate.
    for gone in [
        "ImageConcatMulti",
        "WanVideoTorchCompileSettings",
        "WanVideoBlockSwap",
        "WanVideoSetBlockSwap",
    ] {
        assert!(!classes.contains(gone), "{gone} still in the workflow");
    }
    assert_eq!(m.workflow["83"]["inputs"]["images"], json!(["28", 0]));
    assert_eq!(m.workflow["83"]["inputs"]["frame_rate"], json!(["132", 0]));
    assert_eq!(m.workflow["132"]["inputs"]["video_info"], json!(["75", 3]));
}

#[test]
fn fill_writes_uploads_params_and_defaults() {
    let m = Manifest::from_strs(GOOD, WORKFLOW).unwrap();
    let uploads = BTreeMap::from([("reference_image".to_string(), "photo (1).png".to_string())]);
    let steps = parse_param(&m, "steps", "8").unwrap();
    let prompt = fill(
        &m,
        &uploads,
        &BTreeMap::from([("steps".to_string(), steps)]),
    )
    .unwrap();
    assert_eq!(prompt["1"]["inputs"]["image"], "photo (1).png");
    assert_eq!(prompt["2"]["inputs"]["steps"], 8);
    assert_eq!(prompt["2"]["inputs"]["cfg"], 1.5);
    assert_eq!(prompt["2"]["inputs"]["image"], json!(["1", 0]));
}

#[test]
fn bad_parameter_values_are_refused_with_the_range() {
    let m = Manifest::from_strs(GOOD, WORKFLOW).unwrap();
    let e = parse_param(&m, "steps", "99").unwrap_err();
    assert_eq!(e.code(), "manifest.bad_param");
    assert!(e.message().contains("between 1 and 50"), "{}", e.message());
    assert_eq!(
        parse_param(&m, "steps", "four").unwrap_err().code(),
        "manifest.bad_param"
    );
    assert_eq!(parse_param(&m, "cfg", "2.5").unwrap(), json!(2.5));
    let e = parse_param(&m, "seeds", "1").unwrap_err();
    assert_eq!(e.code(), "manifest.unknown_param");
    assert!(e.message().contains("cfg, steps"));
    let e = fill(&m, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
    assert_eq!(e.code(), "manifest.missing_input");
}

#[test]
fn loading_reports_each_mistake_clearly() {
    let (code, msg) = err(&format!("colour = 1\n{GOOD}"), WORKFLOW);
    assert_eq!(code, "manifest.invalid");
    assert!(msg.contains("colour") && msg.contains("line 1"), "{msg}");

    let (code, msg) = err(
        &GOOD.replace(
            "node = \"1\", field = \"image\"",
            "node = \"9\", field = \"image\"",
        ),
        WORKFLOW,
    );
    assert_eq!(code, "manifest.unknown_node");
    assert!(msg.contains("node 9"));

    let (code, msg) = err(
        &GOOD.replace("field = \"steps\"", "field = \"stepz\""),
        WORKFLOW,
    );
    assert_eq!(code, "manifest.unknown_field");
    assert!(msg.contains("stepz") && msg.contains("Sampler"));

    // A field wired to another node cannot take a value.
    let (code, _) = err(
        &GOOD.replace("field = \"cfg\"", "field = \"image\""),
        WORKFLOW,
    );
    assert_eq!(code, "manifest.unknown_field");

    let (code, _) = err(
        &GOOD.replace("default = 4, min = 1", "default = 0, min = 1"),
        WORKFLOW,
    );
    assert_eq!(code, "manifest.invalid");

    let (code, msg) = err(GOOD, r#"{"nodes": [], "links": []}"#);
    assert_eq!(code, "manifest.workflow_invalid");
    assert!(msg.contains("API"));

    let (code, _) = err(GOOD, &WORKFLOW.replace("[\"1\", 0]", "[\"7\", 0]"));
    assert_eq!(code, "manifest.workflow_invalid");

    let (code, _) = err(&GOOD.replace("[[outputs]]\nnode = \"3\"", ""), WORKFLOW);
    assert_eq!(code, "manifest.invalid");
}

#[test]
fn a_missing_manifest_file_says_where_it_looked() {
    let e = Manifest::load(std::path::Path::new("/nonexistent/steadydancer.toml")).unwrap_err();
    assert_eq!(e.code(), "manifest.unreadable");
    assert!(e.message().contains("/nonexistent/steadydancer.toml"));
}

#[test]
fn sizes_and_frame_counts_off_their_rule_are_refused_with_the_nearest_values() {
    let m = common::manifest();
    let e = parse_param(&m, "width", "500").unwrap_err();
    assert_eq!(e.code(), "manifest.bad_param");
    assert!(e.message().contains("use 496 or 512"), "{}", e.message());
    let e = parse_param(&m, "max_frames", "176").unwrap_err();
    assert!(
        e.message().contains("4n+1: use 173 or 177"),
        "{}",
        e.message()
    );
    assert_eq!(parse_param(&m, "height", "1280").unwrap(), json!(1280));
    // The GUI's values go through fill, which refuses the same way.
    let uploads = BTreeMap::from([
        ("reference_image".to_string(), "a.png".to_string()),
        ("driving_video".to_string(), "b.mp4".to_string()),
    ]);
    let e = fill(
        &m,
        &uploads,
        &BTreeMap::from([("height".to_string(), json!(830))]),
    )
    .unwrap_err();
    assert_eq!(e.code(), "manifest.bad_param");
    let frames = &m.params["max_frames"];
    assert_eq!(frames.nearest_valid(176), Some(177));
    assert_eq!(frames.nearest_valid(5000), Some(997));
    assert_eq!(m.params["width"].nearest_valid(500), Some(496));
    // Every shipped default keeps its rule, and the workflow file holds the same values.
    for (name, p) in &m.params {
        if let Some(v) = p.default.as_i64() {
            assert!(p.follows_rule(v), "{name}");
        }
        assert_eq!(
            m.value_at(&p.targets().next().unwrap()),
            Some(&p.default),
            "{name}"
        );
    }
}

#[test]
fn a_default_off_its_own_rule_is_refused_at_load() {
    let toml = GOOD.replace(
        "min = 1, max = 50",
        "min = 1, max = 49, multiple_of = 4, remainder = 1",
    );
    let (code, msg) = err(&toml, WORKFLOW);
    assert_eq!(code, "manifest.invalid");
    assert!(msg.contains("steps") && msg.contains("use 1 or 5"), "{msg}");
    let ok = GOOD.replace(
        "default = 4, min = 1, max = 50",
        "default = 5, min = 1, max = 49, multiple_of = 4, remainder = 1",
    );
    assert!(Manifest::from_strs(&ok, WORKFLOW).is_ok());
}

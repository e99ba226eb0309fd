//! `[[outputs]] kind`: settled when the manifest loads, so a result the app could not verify is
//! refused before anything is rented.
#![allow(clippy::unwrap_used)]

mod common;

use studio_comfy::{MANIFEST_OUTPUT_KIND, Manifest, OutputKind};

fn load(class: &str, extra: &str) -> studio_error::Result<Manifest> {
    let workflow = format!(
        r#"{{"1": {{"class_type": "LoadImage", "inputs": {{"image": "x.png"}}}},
            "2": {{"class_type": "{class}", "inputs": {{"images": ["1", 0]}}}}}}"#
    );
    let toml = format!("name = \"T\"\nworkflow = \"w.json\"\n[[outputs]]\nnode = \"2\"\n{extra}");
    Manifest::from_strs(&toml, &workflow)
}

#[test]
fn known_save_nodes_need_no_kind() {
    for (class, kind) in [
        ("VHS_VideoCombine", OutputKind::Video),
        ("SaveVideo", OutputKind::Video),
        ("SaveAnimatedWEBP", OutputKind::Video),
        ("SaveAnimatedPNG", OutputKind::Video),
        ("SaveImage", OutputKind::Image),
    ] {
        let m = load(class, "").unwrap();
        assert_eq!(m.outputs[0].kind, Some(kind), "{class}");
        assert_eq!(m.result_kind(), Some(kind), "{class}");
    }
}

#[test]
fn an_unknown_node_needs_a_kind_and_a_known_one_must_agree() {
    let e = load("MyOwnSaver", "").unwrap_err();
    assert_eq!(e.code(), MANIFEST_OUTPUT_KIND);
    assert!(e.message().contains("MyOwnSaver"), "{}", e.message());
    assert!(e.message().contains("Add kind"), "{}", e.message());

    let m = load("MyOwnSaver", "kind = \"image\"\n").unwrap();
    assert_eq!(m.result_kind(), Some(OutputKind::Image));

    let e = load("SaveImage", "kind = \"video\"\n").unwrap_err();
    assert_eq!(e.code(), MANIFEST_OUTPUT_KIND);
    assert!(e.message().contains("kind = \"image\""), "{}", e.message());

    let e = load("SaveImage", "kind = \"audio\"\n").unwrap_err();
    assert_eq!(e.code(), "manifest.invalid", "{}", e.message());
}

#[test]
fn the_bundled_workflow_saves_a_video() {
    let m = common::manifest();
    assert_eq!(m.result_kind(), Some(OutputKind::Video));
}

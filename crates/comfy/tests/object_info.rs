//! The shipped workflow against the real node definitions: `GET /object_info` of ComfyUI v0.33.0
//! with the node packs pinned in workflows/steadydancer.lock.toml. The file lives outside the
//! repository (`../shared/reference/comfy-object-info.json` from the workspace root, or
//! `STUDIO_COMFY_OBJECT_INFO`); without it the tests are skipped, except under `CI`.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;
use studio_comfy::{Target, check_workflow, problems_to_result};

fn object_info() -> Option<&'static Value> {
    static INFO: OnceLock<Option<Value>> = OnceLock::new();
    INFO.get_or_init(|| {
        let path = std::env::var_os("STUDIO_COMFY_OBJECT_INFO")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/reference/comfy-object-info.json")
            });
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).expect("object_info is JSON")),
            Err(e) if std::env::var_os("CI").is_some() => panic!(
                "CI is set but {} is unreadable ({e}): put the reference there or point \
                 STUDIO_COMFY_OBJECT_INFO at it",
                path.display()
            ),
            Err(e) => {
                eprintln!(
                    "SKIPPED: {} is unreadable ({e}); set STUDIO_COMFY_OBJECT_INFO to check the \
                     workflow against the real node definitions",
                    path.display()
                );
                None
            }
        }
    })
    .as_ref()
}

fn shipped() -> (Value, Vec<Target>) {
    let m = common::manifest();
    let raw = std::fs::read_to_string(&m.workflow_path).unwrap();
    (
        serde_json::from_str(&raw).unwrap(),
        m.inputs.values().cloned().collect(),
    )
}

#[test]
fn the_shipped_workflow_fits_the_pinned_nodes() {
    let Some(info) = object_info() else { return };
    let (workflow, uploads) = shipped();
    let problems = check_workflow(&workflow, info, &uploads);
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", listed.join("\n"));
}

#[test]
fn the_manifest_with_its_defaults_and_ranges_fits_the_pinned_nodes() {
    let Some(info) = object_info() else { return };
    let m = common::manifest();
    if let Err(e) = m.check_against(info) {
        panic!("{}", e.message());
    }
}

#[test]
fn attention_and_precision_need_nothing_beyond_torch() {
    let Some(info) = object_info() else { return };
    let m = common::manifest();
    let loader = &m.workflow["22"]["inputs"];
    // sageattn needs the sageattention package, which the pinned image lacks (workflows/README.md).
    assert_eq!(loader["attention_mode"], "sdpa");
    assert_eq!(loader["base_precision"], "bf16");
    let choices = &info["WanVideoModelLoader"]["input"]["optional"]["attention_mode"][0];
    assert!(choices.as_array().unwrap().contains(&json!("sdpa")));
}

#[test]
fn a_broken_copy_is_caught_with_useful_messages() {
    let Some(info) = object_info() else { return };
    let (mut w, uploads) = shipped();
    w["22"]["inputs"]["attention_mode"] = json!("sageattention");
    w["83"]["inputs"]["images"] = json!(["132", 0]);
    w["119"]["inputs"].as_object_mut().unwrap().remove("cfg");
    let problems = check_workflow(&w, info, &uploads);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{text:#?}");
    let find = |node: &str| {
        text.iter()
            .find(|t| t.starts_with(&format!("node {node} ")))
            .unwrap()
    };
    assert!(
        find("22").contains(
            "node 22 (WanVideoModelLoader) input attention_mode: \"sageattention\" is not one of \
             the choices: sdpa, flash_attn_2"
        ),
        "{}",
        find("22")
    );
    assert!(
        find("83").contains(
            "input images: is wired to an output of type FLOAT, but takes IMAGE (output 0 of \
             node 132, VHS_VideoInfoLoaded)"
        ),
        "{}",
        find("83")
    );
    assert!(
        find("119").contains("(WanVideoSamplerSettings) input cfg: is required but not set"),
        "{}",
        find("119")
    );
    let e = problems_to_result("SteadyDancer", &problems).unwrap_err();
    assert_eq!(e.code(), "comfy.workflow_mismatch");
    assert!(e.message().contains("(3 problems)"), "{}", e.message());
}

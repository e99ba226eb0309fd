//! What a workflow's outputs produce is settled before anything is rented: a still picture is
//! a valid result of a workflow that says so, and an output the app cannot verify is refused
//! before a pod bills for a render whose result would be thrown away.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, manifest, rig};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use studio_jobs::Stage;
use tokio_util::sync::CancellationToken;

/// The bundled workflow with its video writer (node 83) replaced by `node`, and a manifest for
/// it whose `[[outputs]]` entry gets `extra` lines.
fn workflow_with_output(dir: &Path, node: Value, extra: &str) -> PathBuf {
    let bundled = manifest();
    let folder = bundled.parent().unwrap();
    let mut workflow: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("steadydancer.json")).unwrap())
            .unwrap();
    workflow["83"] = node;
    std::fs::write(dir.join("still.json"), workflow.to_string()).unwrap();
    let toml = std::fs::read_to_string(&bundled)
        .unwrap()
        .replace(
            "workflow = \"steadydancer.json\"",
            "workflow = \"still.json\"",
        )
        .replace(
            "prefix_field = \"filename_prefix\"",
            &format!("prefix_field = \"filename_prefix\"\n{extra}"),
        );
    let path = dir.join("still.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_image_workflow_renders_on_a_pod_to_a_verified_picture() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let node = json!({"class_type": "SaveImage",
        "inputs": {"images": ["28", 0], "filename_prefix": "Still"}});
    let mut spec = rig.new_pod();
    spec.manifest = workflow_with_output(rig.dir.path(), node, "");
    let engine = rig.engine();
    let job = engine.submit(&spec, None).unwrap();
    let outcome = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{}: {}", e.code(), e.message()));
    assert_eq!(outcome.job.stage, Stage::Done);
    let still = &outcome.job.outputs[0];
    assert_eq!(still.extension().unwrap(), "png");
    let facts = studio_media::probe(still).unwrap();
    assert_eq!(facts.kind, studio_media::MediaKind::Image);
    assert_eq!(rig.runpod.pods_billing(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_node_of_unknown_kind_is_refused_before_any_pod() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let node = json!({"class_type": "MyOwnSaver", "inputs": {"images": ["28", 0],
        "filename_prefix": "Mine"}});
    let mut spec = rig.new_pod();
    spec.manifest = workflow_with_output(rig.dir.path(), node, "");
    let engine = rig.engine();
    let err = engine.estimate(&spec, 25).await.unwrap_err();
    assert_eq!(err.code(), "manifest.output_kind", "{}", err.message());
    assert!(
        err.message().contains("kind = \"video\""),
        "{}",
        err.message()
    );

    let job = engine.submit(&spec, None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "manifest.output_kind", "{}", err.message());
    assert!(rig.runpod.billing().is_empty(), "no pod was rented");
    assert_eq!(rig.comfy.uploads_received(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_kind_that_contradicts_the_node_is_refused_at_planning() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let node = json!({"class_type": "SaveImage",
        "inputs": {"images": ["28", 0], "filename_prefix": "Still"}});
    let mut spec = rig.spec(studio_jobs::Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    spec.manifest = workflow_with_output(rig.dir.path(), node, "kind = \"video\"");
    let engine = rig.engine();
    let err = engine.estimate(&spec, 25).await.unwrap_err();
    assert_eq!(err.code(), "manifest.output_kind", "{}", err.message());
}

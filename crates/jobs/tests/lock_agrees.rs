//! The manifest's `[requires]` and the lock agree: every model the workflow loads is a file the
//! lock downloads, into the folder its loader reads, and the lock downloads nothing unused.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use studio_comfy::Manifest;
use studio_pods::EnvLock;

/// The models folder each loader class reads (from the node packs' sources at the pinned
/// commits; `/object_info`'s tooltips say the same for the detection loader).
fn folder_of(class: &str) -> &'static str {
    match class {
        "WanVideoModelLoader" => "diffusion_models",
        "WanVideoVAELoader" => "vae",
        "CLIPVisionLoader" => "clip_vision",
        "WanVideoLoraSelect" => "loras",
        "WanVideoTextEncodeCached" => "text_encoders",
        "OnnxDetectionModelLoader" => "detection",
        other => panic!("no folder known for loader {other}: add it here"),
    }
}

#[test]
fn every_required_model_is_in_the_lock_and_every_locked_file_is_used() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let manifest = Manifest::load(&dir.join("steadydancer.toml")).unwrap();
    let lock = EnvLock::for_manifest(&dir.join("steadydancer.toml")).unwrap();
    assert_eq!(
        lock,
        EnvLock::bundled(),
        "the app ships the lock beside the workflow"
    );
    assert_eq!(lock.workflow, "steadydancer.toml");

    let required = manifest.required_models();
    assert!(!required.is_empty());
    for m in &required {
        let dest = format!("{}/{}", folder_of(&m.class_type), m.file);
        assert!(
            lock.models.iter().any(|l| l.dest == dest),
            "node {} ({}) loads {} but the lock does not download {dest}",
            m.node,
            m.class_type,
            m.file
        );
    }
    for l in &lock.models {
        let used = required
            .iter()
            .any(|m| format!("{}/{}", folder_of(&m.class_type), m.file) == l.dest);
        // ONNX keeps large weights in a data file beside the model, loaded with it.
        let sidecar = l.dest.ends_with("_data.bin")
            && lock
                .models
                .iter()
                .any(|o| o.dest == l.dest.replace("_data.bin", "_model.onnx"));
        assert!(
            used || sidecar,
            "the lock downloads {} which nothing loads",
            l.dest
        );
    }
}

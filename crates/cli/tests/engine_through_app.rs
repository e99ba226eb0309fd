//! The CLI reaches the engine only through studio-app, so every pod it rents follows Settings
//! (volume, cloud, disk, environment, lifetime, dead-man timer) by the app's own code path.
#![allow(clippy::unwrap_used)]

const ENGINE_CRATES: [&str; 6] = [
    "studio-jobs",
    "studio-pods",
    "studio-runpod",
    "studio-comfy",
    "studio-media",
    "studio-pose",
];

#[test]
fn the_cli_depends_on_no_engine_crate_but_the_app() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    assert!(deps.contains_key("studio-app"), "{deps:?}");
    let lower: Vec<&str> = ENGINE_CRATES
        .into_iter()
        .filter(|c| deps.contains_key(*c))
        .collect();
    assert!(
        lower.is_empty(),
        "the CLI depends on {lower:?} directly; reach them through studio-app"
    );
    for table in ["target", "build-dependencies"] {
        assert!(
            !manifest.contains_key(table),
            "no {table} section may bring an engine crate in by another door"
        );
    }
}

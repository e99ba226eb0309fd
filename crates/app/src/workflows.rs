//! The SteadyDancer workflow ships inside the binary, so an installed app never depends on
//! where its files landed; a `workflows/` folder found on disk (development, or
//! `STUDIO_WORKFLOWS_DIR`) wins so people can bring their own.

use std::path::{Path, PathBuf};
use studio_error::Result;

const MANIFEST: &str = include_str!("../../../workflows/steadydancer.toml");
const WORKFLOW: &str = include_str!("../../../workflows/steadydancer.json");
const LOCK: &str = studio_pods::lock::BUNDLED;

pub fn default_manifest(data_dir: &Path) -> Result<PathBuf> {
    if let Some(found) = studio_comfy::locate_workflow("steadydancer.toml") {
        return Ok(found);
    }
    let dir = data_dir.join("workflows");
    studio_core::paths::ensure_dir(&dir)?;
    for (name, text) in [
        ("steadydancer.toml", MANIFEST),
        ("steadydancer.json", WORKFLOW),
        ("steadydancer.lock.toml", LOCK),
    ] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            // Atomic: a torn manifest or lock would fail every later render and clean-up.
            studio_core::atomic_file::write_atomic(&path, text.as_bytes())?;
        }
    }
    Ok(dir.join("steadydancer.toml"))
}

/// The pod's software for the default workflow: the lock beside its manifest.
pub fn default_lock(data_dir: &Path) -> Result<studio_pods::EnvLock> {
    studio_pods::EnvLock::for_manifest(&default_manifest(data_dir)?)
}

//! The install id: a random id made once per data folder and kept in it. Every pod this data
//! folder starts carries it in its name, so sweeps and "Terminate all" can tell this install's
//! pods from another computer's (or another data folder's) on the same RunPod account.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use studio_error::Result;

pub const INSTALL_ID_FILE: &str = "install-id";
/// Hex digits in an install id.
pub const INSTALL_ID_LEN: usize = 8;

/// This data folder's install id, made on first use.
pub fn install_id(data_dir: &Path) -> Result<String> {
    let path = data_dir.join(INSTALL_ID_FILE);
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(id) = parse(&text)
    {
        return Ok(id);
    }
    crate::paths::ensure_dir(data_dir)?;
    let fresh = random_id();
    let kept = crate::atomic_file::create_once(&path, fresh.as_bytes())?;
    if let Some(id) = parse(&String::from_utf8_lossy(&kept)) {
        return Ok(id);
    }
    // A damaged file (hand-edited): replace it. Pods named with the old id stay this
    // install's as long as the pods journal knows them.
    tracing::warn!(path = %path.display(), "the install id was unreadable; making a new one");
    crate::atomic_file::write_atomic(&path, fresh.as_bytes())?;
    Ok(fresh)
}

/// True when `text` is an install id (as found inside a pod name).
pub fn is_install_id(text: &str) -> bool {
    text.len() == INSTALL_ID_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse(text: &str) -> Option<String> {
    let id = text.trim();
    is_install_id(id).then(|| id.to_string())
}

/// Random enough to tell installs apart: the standard library's per-process random hash keys
/// (seeded by the operating system) over the time and process id.
fn random_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_per_folder_and_kept() {
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let first = install_id(a.path()).expect("id");
        assert!(is_install_id(&first), "{first}");
        assert_eq!(install_id(a.path()).expect("again"), first);
        assert_ne!(install_id(b.path()).expect("other"), first);
        std::fs::write(a.path().join(INSTALL_ID_FILE), "garbage").expect("damage");
        let replaced = install_id(a.path()).expect("replaced");
        assert!(is_install_id(&replaced));
    }
}

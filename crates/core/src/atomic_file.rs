//! Small files the app keeps (Settings, the install id, the crash guard's report) are replaced
//! in one step: a crash, a full disk or a power cut mid-write leaves the old file or the new
//! one, never a torn mix that the next start cannot read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use studio_error::{Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder (same file system, so
/// the rename is atomic), flushed to disk before the rename and the folder flushed after it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path)?;
    let result = write_synced(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(&format!("write {}", path.display()), e));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(path);
    Ok(())
}

/// Creates `path` with `bytes` unless it exists, whole or not at all, and returns what the
/// file holds afterwards: when two processes race, both get the winner's content.
pub fn create_once(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let io = |e| Error::io(&format!("create {}", path.display()), e);
    if let Ok(existing) = std::fs::read(path) {
        return Ok(existing);
    }
    let tmp = temp_beside(path)?;
    write_synced(&tmp, bytes).map_err(io)?;
    // A hard link never replaces an existing file, unlike a rename.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path);
            Ok(bytes.to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path).map_err(io),
        // File systems without hard links: an atomic replace is the next best thing.
        Err(_) => {
            write_atomic(path, bytes)?;
            std::fs::read(path).map_err(io)
        }
    }
}

fn temp_beside(path: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::internal(format!("{} names no file to write", path.display())))?;
    let unique = format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(unique))
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The rename itself is durable only once the folder is flushed (POSIX); elsewhere a no-op.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").expect("first");
        write_atomic(&path, b"two, longer").expect("second");
        assert_eq!(std::fs::read(&path).expect("read"), b"two, longer");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn create_once_keeps_the_first_content() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("id");
        assert_eq!(create_once(&path, b"a").expect("first"), b"a");
        assert_eq!(create_once(&path, b"b").expect("second"), b"a");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}

//! How VideoHelperSuite's video node names its files, so the client meets the real names: the
//! `filename_prefix` may hold folders below `output/` (never above it), and the counter is one
//! more than the highest one already in that folder for that prefix. A fresh server (an empty
//! folder) starts again at `00001` for every prefix.

use std::path::{Component, Path, PathBuf};

/// Where a new file goes: its folder below `output/` (`""` for none), its name and full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavePath {
    pub subfolder: String,
    pub filename: String,
    pub full: PathBuf,
}

/// The path for the next `<prefix>_<counter>.<ext>` under `output_dir`.
pub(crate) fn next_save_path(
    output_dir: &Path,
    prefix: &str,
    ext: &str,
) -> Result<SavePath, String> {
    let (subfolder, base) = match prefix.rsplit_once('/') {
        Some((dir, base)) => (dir, base),
        None => ("", prefix),
    };
    let escapes = Path::new(subfolder)
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes || prefix.contains('\\') || base.is_empty() {
        return Err(format!(
            "Saving image outside the output folder is not allowed. filename_prefix: {prefix}"
        ));
    }
    let folder = output_dir.join(subfolder);
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let highest = std::fs::read_dir(&folder)
        .map_err(|e| format!("cannot list {}: {e}", folder.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| counter_of(&name, base))
        .max()
        .unwrap_or(0);
    let filename = format!("{base}_{:05}.{ext}", highest + 1);
    Ok(SavePath {
        subfolder: subfolder.to_string(),
        full: folder.join(&filename),
        filename,
    })
}

/// `prefix_00012.mp4` and `prefix_00012-audio.mp4` -> 12 (the prefix compared without case, as
/// VideoHelperSuite does); other names -> None.
fn counter_of(name: &str, prefix: &str) -> Option<u64> {
    let head = name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = name[prefix.len()..].strip_prefix('_')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // After the counter: letters or marks up to the first dot, then an extension.
    let suffix_ok = rest[digits.len()..]
        .split_once('.')
        .is_some_and(|(mark, ext)| !mark.contains(|c: char| c.is_ascii_digit()) && !ext.is_empty());
    if digits.is_empty() || !suffix_ok {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_is_per_prefix_and_starts_at_one_in_an_empty_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let next = |prefix: &str| {
            let p = next_save_path(dir.path(), prefix, "mp4").expect("path");
            std::fs::write(&p.full, b"x").expect("write");
            p.filename
        };
        assert_eq!(next("SteadyDancer"), "SteadyDancer_00001.mp4");
        assert_eq!(next("SteadyDancer"), "SteadyDancer_00002.mp4");
        assert_eq!(next("SteadyDancer_job7"), "SteadyDancer_job7_00001.mp4");
        assert_eq!(next("steadydancer"), "steadydancer_00003.mp4");
        let sub = next_save_path(dir.path(), "renders/job7", "mp4").expect("sub");
        assert_eq!(sub.subfolder, "renders");
        assert_eq!(sub.filename, "job7_00001.mp4");
    }

    #[test]
    fn a_prefix_outside_the_output_folder_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for prefix in ["../x", "/etc/x", "a/../../x", "a\\x", "a/"] {
            assert!(
                next_save_path(dir.path(), prefix, "mp4").is_err(),
                "{prefix}"
            );
        }
    }

    #[test]
    fn only_this_prefixs_numbered_files_count() {
        assert_eq!(
            counter_of("SteadyDancer_00004.mp4", "SteadyDancer"),
            Some(4)
        );
        assert_eq!(
            counter_of("SteadyDancer_00004-audio.mp4", "SteadyDancer"),
            Some(4)
        );
        assert_eq!(
            counter_of("SteadyDancer_job_00009.mp4", "SteadyDancer"),
            None
        );
        assert_eq!(
            counter_of("SteadyDancer_3f2a-1b_00001.mp4", "SteadyDancer"),
            None
        );
        assert_eq!(counter_of("SteadyDancer_00004", "SteadyDancer"), None);
        assert_eq!(counter_of("Other_00004.mp4", "SteadyDancer"), None);
    }
}

//! Where the app keeps its data: `STUDIO_DATA_DIR`, or the platform's data directory.

use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

pub const DATA_DIR_ENV: &str = "STUDIO_DATA_DIR";
pub const SETTINGS_FILE: &str = "settings.json";

/// The data directory, created if missing.
pub fn data_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => platform_data_dir().ok_or_else(|| {
            Error::new(
                "config.no_data_dir",
                format!("No home folder was found for app data. Set {DATA_DIR_ENV} to a folder the app may use."),
            )
        })?,
    };
    ensure_dir(&dir)?;
    Ok(dir)
}

/// The platform's data folder for the app, whatever `STUDIO_DATA_DIR` says; not created.
/// On Linux the `directories` crate lower-cases the name and drops its spaces, so the README
/// names it from here (see the `readme_names_the_data_folder` test).
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("io", "SteadyDancer", "SteadyDancer Studio")
        .map(|p| p.data_dir().to_path_buf())
}

pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(&format!("create the folder {}", dir.display()), e))
}

pub fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

pub fn settings_file(data_dir: &Path) -> PathBuf {
    data_dir.join(SETTINGS_FILE)
}

/// Where finished videos go unless the user picked another folder.
/// With `STUDIO_DATA_DIR` set (tests, portable installs) everything stays inside it.
pub fn default_output_dir(data_dir: &Path) -> PathBuf {
    if std::env::var_os(DATA_DIR_ENV).is_some_and(|v| !v.is_empty()) {
        return data_dir.join("renders");
    }
    directories::UserDirs::new()
        .and_then(|u| u.video_dir().map(|v| v.join("SteadyDancer Studio")))
        .unwrap_or_else(|| data_dir.join("renders"))
}

//! Logs go to stderr and to a daily-rotated file in the data directory (the last 7 days kept).

use std::path::Path;
use studio_error::{Error, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

pub const LOG_FILE_PREFIX: &str = "studio";

/// Keep the returned guard alive for as long as the program runs: dropping it flushes the file.
#[derive(Debug)]
pub struct LogGuard {
    _file: WorkerGuard,
}

/// `RUST_LOG` refines the level; the default keeps our crates at info and others at warn.
pub fn init(data_dir: &Path, stderr: bool) -> Result<LogGuard> {
    let dir = super::paths::logs_dir(data_dir);
    super::paths::ensure_dir(&dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir)
        .map_err(|e| {
            Error::new(
                "config.log_file",
                format!("Could not open the log file in {}.", dir.display()),
            )
            .with_source(e)
        })?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,studio=info,studio_core=info,studio_pods=info,studio_runpod=info,studio_comfy=info,studio_media=info,steadydancer_studio=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(true);
    let result = if stderr {
        builder.with_writer(file.and(std::io::stderr)).try_init()
    } else {
        builder.with_writer(file).try_init()
    };
    // A second init (tests, the GUI reusing the CLI's set-up) keeps the first subscriber.
    if let Err(e) = result {
        tracing::debug!("logging already initialised: {e}");
    }
    Ok(LogGuard { _file: guard })
}

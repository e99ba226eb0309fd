use std::path::PathBuf;
use studio_app::Studio;
use studio_app::guard::Lifeline;
use studio_core::logging::LogGuard;

/// What every command may need; kept small so commands stay one-liners into the engine.
pub struct AppState {
    pub data_dir: PathBuf,
    pub studio: Studio,
    _log: Option<LogGuard>,
    /// Open until the process ends, however it ends; see `studio_app::guard`.
    _crash_guard: Option<Lifeline>,
}

impl AppState {
    pub fn new(
        data_dir: PathBuf,
        studio: Studio,
        log: Option<LogGuard>,
        crash_guard: Option<Lifeline>,
    ) -> Self {
        Self {
            data_dir,
            studio,
            _log: log,
            _crash_guard: crash_guard,
        }
    }
}

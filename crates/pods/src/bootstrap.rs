//! The pod's start command for the pinned environment: our own bootstrap script (see
//! `bootstrap/README.md` for what it does and the variables it reads), run by `sh` after the
//! dead-man timer is armed.

/// The script, compiled in so the pod never runs anything the app did not ship.
pub const SCRIPT: &str = include_str!("../bootstrap/bootstrap.sh");

/// What the bootstrap prints before each structured progress line.
pub const PROGRESS_PREFIX: &str = "##sds ";

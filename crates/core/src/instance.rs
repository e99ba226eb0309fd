//! One process that changes renders or pods per data folder: the app, or a mutating `studio`
//! command (`render`, `jobs recover`, `pods start|sweep|terminate`). A second one would run
//! recovery over renders the first is running, or sweep the pods the first just started: two
//! processes driving one render, or one terminating the other's GPU. The lock is an OS file
//! lock, released however the holder ends (crash and SIGKILL included).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use studio_error::{Error, Result};

pub const ALREADY_RUNNING: &str = "app.already_running";
pub const LOCK_FILE: &str = "app.lock";
/// How the app names itself in the lock file.
pub const APP_HOLDER: &str = "the app";

/// Held for the life of the process (or the command).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the data folder's lock for the app, waiting up to `wait` for a copy that is ending.
pub fn acquire(data_dir: &Path, wait: Duration) -> Result<InstanceLock> {
    acquire_as(data_dir, wait, APP_HOLDER)
}

/// Takes the lock for `holder` (written into the lock file so a refused process can say who
/// has it), waiting up to `wait`.
pub fn acquire_as(data_dir: &Path, wait: Duration, holder: &str) -> Result<InstanceLock> {
    crate::paths::ensure_dir(data_dir)?;
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&format!("open {}", path.display()), e))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => {
                // Only a hint for the refusal message: a failed write changes nothing else.
                let _ = file
                    .set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| write!(file, "{holder} (pid {})", std::process::id()));
                return Ok(InstanceLock { _file: file });
            }
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => return Err(refusal(&mut file, holder)),
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(&format!("lock {}", path.display()), e));
            }
        }
    }
}

fn refusal(file: &mut File, me: &str) -> Error {
    let mut held_by = String::new();
    let _ = file
        .rewind()
        .and_then(|_| file.read_to_string(&mut held_by));
    let held_by = held_by.trim();
    let app_holds = held_by.is_empty() || held_by.starts_with(APP_HOLDER);
    let message = match (me == APP_HOLDER, app_holds) {
        (true, true) => "SteadyDancer Studio is already open. Switch to its window: a second copy \
                         would get in the way of the renders the first one runs."
            .to_string(),
        (true, false) => format!(
            "A studio command ({held_by}) is working in this data folder. Open the app once it \
             has finished, or stop it with Ctrl-C (its pod is terminated)."
        ),
        (false, true) => format!(
            "SteadyDancer Studio is open on this data folder, so `{me}` would get in the way of \
             its renders and pods. Do it in the app (Pods screen), or quit the app first."
        ),
        (false, false) => format!(
            "Another studio command ({held_by}) is working in this data folder. Wait for it to \
             finish, then run `{me}` again."
        ),
    };
    Error::new(ALREADY_RUNNING, message)
}

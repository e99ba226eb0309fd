//! One app per data folder. A second copy would run start-up recovery over renders the first
//! is running, and its crash guard would count the first one's pods as its own: two processes
//! driving one render, or one terminating the other's GPU.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};
use studio_error::{Error, Result};

pub const ALREADY_RUNNING: &str = "app.already_running";

/// Held for the life of the process; the OS releases it however the process ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the data folder's instance lock, waiting up to `wait` for a copy that is just ending.
pub fn acquire(data_dir: &Path, wait: Duration) -> Result<InstanceLock> {
    let path = data_dir.join("app.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&format!("open {}", path.display()), e))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(InstanceLock { _file: file }),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ALREADY_RUNNING,
                    "SteadyDancer Studio is already open. Switch to its window: a second copy \
                     would get in the way of the renders the first one runs.",
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(&format!("lock {}", path.display()), e));
            }
        }
    }
}

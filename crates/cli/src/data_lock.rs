//! Commands that start, settle or terminate pods take the data folder's lock, the same one the
//! app holds for its whole life (`studio_core::instance`): the app and the CLI never recover
//! each other's running renders or sweep each other's fresh pods. Listing needs no lock.

use std::time::Duration;
use studio_core::instance::{InstanceLock, acquire_as};
use studio_error::Result;

/// A copy that is just ending (the app closing its window) is waited for this long.
const WAIT: Duration = Duration::from_secs(1);

/// Takes the lock for `command` (as the user typed it, for the other side's message), or says
/// who holds it and what to do.
pub(crate) fn lock_data_folder(command: &str) -> Result<InstanceLock> {
    let dir = studio_core::paths::data_dir()?;
    acquire_as(&dir, WAIT, command)
}

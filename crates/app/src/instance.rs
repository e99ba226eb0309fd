//! One app per data folder (the lock lives in studio-core, which the `studio` command shares:
//! its mutating commands take the same lock, so the app and the CLI never tear down each
//! other's work).

pub use studio_core::instance::{ALREADY_RUNNING, InstanceLock, acquire, acquire_as};

//! The studio core: what the GUI and the CLI share beyond the network clients.
//!
//! Settings, the API key in the OS keychain, where data lives, logging, and (as they land) the
//! pod lifecycle, the render job and the gallery. Nothing here knows about Tauri.

pub mod atomic_file;
pub mod config;
pub mod install;
pub mod instance;
pub mod logging;
pub mod paths;
pub mod secrets;
pub mod settings;
pub mod signals;

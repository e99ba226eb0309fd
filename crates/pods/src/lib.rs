//! Pod lifecycle on RunPod: spec with defaults, journal in SQLite, start with a candidate walk
//! and lookup-by-name after any create error, readiness stages with deadlines, terminate and
//! confirm, cost meter, budget cap, orphan sweep, and the in-pod dead-man timer.

pub mod bootstrap;
mod create;
pub mod deadman;
mod dropguard;
pub mod events;
pub mod journal;
pub mod lock;
mod manager;
pub mod probe;
mod progress;
mod readiness;
pub mod spec;
mod sweep;
mod teardown;

pub use deadman::DeadMan;
pub use events::{CostMeter, DownloadProgress, PodEvent, Reporter, Stage};
pub use journal::{Journal, JournalPod};
pub use lock::EnvLock;
pub use manager::{Deadlines, LifecycleConfig, PodManager, ReadyPod, codes};
pub use probe::ReadinessProbe;
pub use spec::{COMFY_PORT, NAME_PREFIX, PodSpec, name_install, new_pod_name, new_pod_name_for};
pub use sweep::{PodView, SweptPod};
pub use teardown::Terminated;

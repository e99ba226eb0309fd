//! The render job: one state machine per render, persisted in a SQLite journal before each side
//! effect, with recovery at start-up, cost estimates and the gallery of results.

pub mod estimate;
pub mod gallery;
pub mod journal;
pub mod record;
pub mod spec;
pub mod stage;

pub use estimate::{Estimate, SpeedModel, estimate};
pub use gallery::GalleryEntry;
pub use journal::Journal;
pub use record::{JobRecord, PodInfo, StageTime};
pub use spec::{JobSpec, NormaliseOptions, Target};
pub use stage::Stage;

//! The render job: one state machine per render, persisted in a SQLite journal before each side
//! effect, with recovery at start-up, cost estimates and the gallery of results.

pub mod estimate;
pub mod gallery;
pub mod journal;
pub mod record;
pub mod spec;
pub mod stage;

pub use estimate::{ColdStart, Estimate, SpeedModel, estimate};
pub use gallery::GalleryEntry;
pub use journal::Journal;
pub use record::{JobRecord, PodInfo, StageTime};
pub use spec::{JobSpec, NormaliseOptions, Target};
pub use stage::Stage;
pub mod backend;
pub mod batch;
pub use batch::{
    BatchControl, BatchEstimate, BatchOutcome, BatchRecord, BatchSpec, PodStart, RenderResult,
};
mod ctx;
mod deadline;
pub mod engine;
pub mod events;
mod meter;
pub mod params;
mod steps;

pub use backend::{
    CreatedPod, FileProgressFn, MediaPrep, PodProgress, PodProvider, PodSetup, PodState,
    PreparedInputs, ProgressFn, PromptStatus, Quote, RenderServer, RunEvent, ServerConnector,
    StartedPod,
};
pub use ctx::{BUDGET_REACHED, POD_VANISHED};
pub use deadline::STAGE_DEADLINE;
pub use engine::{Engine, EngineConfig, JobOutcome};
pub use events::{Direction, ErrorInfo, EventSink, JobEvent, LeaseState, no_events};
mod recover;
mod unwind;
pub use recover::{INTERRUPTED, Recovered};
pub use unwind::PANICKED;
mod comfy_backend;
pub use comfy_backend::ComfyConnector;
mod media_backend;
mod result_check;
pub use media_backend::{IMAGE_INPUT, StudioMedia, VIDEO_INPUT};
pub use result_check::verify_result;
pub mod environment;
mod runpod_backend;
pub use runpod_backend::{ComfyProbe, RunPodPods};
mod setup;
pub use setup::{JOBS_DB, RunPodSetup, open_engine, open_engine_with, open_journal};

//! RunPod REST v2 client. Knows RunPod's shapes, status codes, retries and Retry-After;
//! knows nothing of jobs, ComfyUI or the desktop shell.

mod client;
pub mod error;
mod logs;
mod retry;
mod sse;
pub mod types;
mod volumes;

pub use client::{DEFAULT_API_URL, RunPodClient, USER_AGENT};
pub use error::codes;
pub use logs::{LogConnection, LogLine, LogOptions, LogSource, PodLogs};
pub use retry::RetryPolicy;
pub use types::{
    Availability, Cloud, CreateGpu, CreatePodRequest, GpuConfig, GpuPrice, GpuType, Mounts,
    NetworkMount, PersistentMount, Pod, PodRuntime, PodStatus,
};
pub use volumes::{
    CreateNetworkVolumeRequest, DataCenter, NetworkVolume, ResourceAvailability, VolumeType,
};

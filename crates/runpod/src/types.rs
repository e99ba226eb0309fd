//! The REST v2 shapes the app uses. Reading is lenient (unknown fields ignored, most fields
//! defaulted) so a RunPod addition never breaks a running app; writing sends only fields the
//! create contract knows, since unknown ones are rejected.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PodStatus {
    Provisioning,
    Starting,
    Running,
    Exited,
    Error,
    Terminated,
    /// A status this version does not know yet.
    #[serde(other)]
    Unknown,
}

impl PodStatus {
    /// A pod in this status no longer bills compute.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Terminated)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Cloud {
    #[default]
    Secure,
    Community,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuConfig {
    pub id: String,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRuntime {
    /// Seconds since the container started.
    #[serde(default)]
    pub uptime: Option<u64>,
}

/// A pod as `GET /v2/pods/{id}` describes it. `env` is left out on purpose: it can hold
/// secrets and nothing in the app needs to read it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub status: PodStatus,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub gpu: Option<GpuConfig>,
    #[serde(default)]
    pub cloud: Option<Cloud>,
    /// USD per hour as RunPod reports it; it has been seen reading 0, so the app's meter uses
    /// the rate captured at create instead.
    #[serde(default)]
    pub cost: f64,
    /// Null until the container runs, and for a while after RUNNING on v2.
    #[serde(default)]
    pub runtime: Option<PodRuntime>,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub data_center_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGpu {
    pub id: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cuda_versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cuda_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkMount {
    pub volume_id: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentMount {
    /// GB; RunPod's floor is 10.
    pub size: u32,
    pub path: String,
}

/// At most one of the two may be set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<PersistentMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkMount>,
}

/// `POST /v2/pods`. One GPU type per create: v2 never falls back on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePodRequest {
    pub name: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    pub disk: u32,
    pub ports: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cloud: Cloud,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_center_ids: Vec<String>,
    pub gpu: CreateGpu,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Mounts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    None,
    Low,
    Medium,
    High,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuPrice {
    pub secure: f64,
    pub community: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<f64>,
}

/// One entry of `GET /v2/catalog/gpus?include=AVAILABILITY&product=POD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub memory: u32,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub community: bool,
    pub price: GpuPrice,
    #[serde(default)]
    pub availability: Option<Availability>,
}

impl GpuType {
    /// USD per hour for `count` GPUs on `cloud`.
    pub fn rate(&self, cloud: Cloud, count: u32) -> f64 {
        let unit = match cloud {
            Cloud::Secure => self.price.secure,
            Cloud::Community => self.price.community,
        };
        unit * f64::from(count)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListPods {
    pub pods: Vec<Pod>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListGpus {
    pub gpus: Vec<GpuType>,
}

//! The GPU catalog the stand-in serves: the ids FACTS.md lists, with plausible list prices.

use serde_json::{Value, json};

/// One GPU type: id, display name, VRAM in GB, secure and community price per GPU-hour.
#[derive(Debug, Clone, Copy)]
pub struct GpuEntry {
    pub id: &'static str,
    pub name: &'static str,
    pub memory_gb: u32,
    pub secure_price: f64,
    pub community_price: f64,
}

pub const GPUS: &[GpuEntry] = &[
    GpuEntry {
        id: "NVIDIA A100 80GB PCIe",
        name: "A100 PCIe",
        memory_gb: 80,
        secure_price: 1.64,
        community_price: 1.19,
    },
    GpuEntry {
        id: "NVIDIA A100-SXM4-80GB",
        name: "A100 SXM",
        memory_gb: 80,
        secure_price: 1.74,
        community_price: 1.39,
    },
    GpuEntry {
        id: "NVIDIA H100 80GB HBM3",
        name: "H100 SXM",
        memory_gb: 80,
        secure_price: 2.99,
        community_price: 2.69,
    },
    GpuEntry {
        id: "NVIDIA H100 PCIe",
        name: "H100 PCIe",
        memory_gb: 80,
        secure_price: 2.39,
        community_price: 1.99,
    },
    GpuEntry {
        id: "NVIDIA H100 NVL",
        name: "H100 NVL",
        memory_gb: 94,
        secure_price: 2.79,
        community_price: 2.59,
    },
    GpuEntry {
        id: "NVIDIA GeForce RTX 4090",
        name: "RTX 4090",
        memory_gb: 24,
        secure_price: 0.69,
        community_price: 0.34,
    },
];

pub fn find(id: &str) -> Option<&'static GpuEntry> {
    GPUS.iter().find(|g| g.id == id)
}

/// A `GpuType` document; `availability` only when the caller asked for it, as RunPod does.
pub fn gpu_json(gpu: &GpuEntry, availability: Option<&str>) -> Value {
    let mut v = json!({
        "id": gpu.id,
        "name": gpu.name,
        "pool": null,
        "manufacturer": "NVIDIA",
        "memory": gpu.memory_gb,
        "secure": true,
        "community": true,
        "price": {"secure": gpu.secure_price, "community": gpu.community_price},
        "maxCount": {"secure": 8, "community": 4},
    });
    if let Some(level) = availability {
        v["availability"] = json!(level);
    }
    v
}

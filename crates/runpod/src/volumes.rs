//! Network volumes (where the app keeps the pod's environment and models between pods) and the
//! data-centre catalog that says where a volume may live and which GPUs are there.

use crate::client::{Replay, RunPodClient};
use crate::error::codes;
use crate::types::Availability;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use studio_error::{Error, Result};

/// A volume's storage tier; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VolumeType {
    Standard,
    HighPerformance,
    /// A tier this version does not know yet.
    #[serde(other)]
    Unknown,
}

/// `GET /v2/network-volumes/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkVolume {
    pub id: String,
    pub name: String,
    /// GB.
    pub size: u32,
    pub data_center: String,
    #[serde(rename = "type", default)]
    pub volume_type: Option<VolumeType>,
}

/// `POST /v2/network-volumes`. Unknown fields are rejected there, so only these are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNetworkVolumeRequest {
    pub name: String,
    /// GB, 10 to 4096.
    pub size: u32,
    pub data_center: String,
    /// `None` takes the data centre's default tier.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
}

/// How much of one GPU type (or CPU flavour) a data centre has right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAvailability {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub availability: Availability,
}

/// One entry of `GET /v2/catalog/datacenters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataCenter {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    /// Empty: no network volumes here.
    #[serde(default)]
    pub network_volume_types: Vec<VolumeType>,
    /// Only with `include=GPU_AVAILABILITY`; absent when the data centre has no GPUs.
    #[serde(default)]
    pub gpu_availability: Vec<ResourceAvailability>,
}

impl DataCenter {
    /// The availability of `gpu_id` here, `None` when the data centre does not have it.
    pub fn gpu(&self, gpu_id: &str) -> Option<Availability> {
        self.gpu_availability
            .iter()
            .find(|g| g.id == gpu_id)
            .map(|g| g.availability)
    }

    pub fn takes_volumes(&self, tier: VolumeType) -> bool {
        self.network_volume_types.contains(&tier)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListNetworkVolumes {
    network_volumes: Vec<NetworkVolume>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListDataCenters {
    data_centers: Vec<DataCenter>,
}

impl RunPodClient {
    #[tracing::instrument(skip(self))]
    pub async fn list_network_volumes(&self) -> Result<Vec<NetworkVolume>> {
        let url = self.url(&["network-volumes"])?;
        let list: ListNetworkVolumes = self
            .json(Method::GET, url, None, Replay::Safe, "list network volumes")
            .await?;
        Ok(list.network_volumes)
    }

    /// `None` when RunPod no longer knows the volume.
    #[tracing::instrument(skip(self))]
    pub async fn get_network_volume(&self, id: &str) -> Result<Option<NetworkVolume>> {
        let url = self.url(&["network-volumes", id])?;
        match self
            .json::<NetworkVolume>(
                Method::GET,
                url,
                None,
                Replay::Safe,
                "read the network volume",
            )
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(codes::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A volume bills until deleted, and a 5xx may have created it anyway: after an error the
    /// caller looks it up by name rather than creating again.
    #[tracing::instrument(skip(self, request), fields(name = %request.name, dc = %request.data_center, size = request.size))]
    pub async fn create_network_volume(
        &self,
        request: &CreateNetworkVolumeRequest,
    ) -> Result<NetworkVolume> {
        let url = self.url(&["network-volumes"])?;
        let body = serde_json::to_value(request)
            .map_err(|e| Error::internal("Could not encode the volume request.").with_source(e))?;
        self.json(
            Method::POST,
            url,
            Some(&body),
            Replay::OnlyIfUnprocessed,
            "create the network volume",
        )
        .await
    }

    /// `Ok(false)` when the volume was already gone (404).
    #[tracing::instrument(skip(self))]
    pub async fn delete_network_volume(&self, id: &str) -> Result<bool> {
        let url = self.url(&["network-volumes", id])?;
        self.expect_no_content(Method::DELETE, url, None, "delete the network volume")
            .await
    }

    /// Every data centre; with `gpus`, which GPU types each has and how many are free.
    #[tracing::instrument(skip(self))]
    pub async fn list_data_centers(&self, gpus: bool) -> Result<Vec<DataCenter>> {
        let mut url = self.url(&["catalog", "datacenters"])?;
        if gpus {
            url.query_pairs_mut()
                .append_pair("include", "GPU_AVAILABILITY");
        }
        let list: ListDataCenters = self
            .json(Method::GET, url, None, Replay::Safe, "list data centres")
            .await?;
        Ok(list.data_centers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn volumes_parse_and_unknown_tiers_do_not_break() {
        let list: ListNetworkVolumes = serde_json::from_value(json!({"networkVolumes": [
            {"id": "2q9m7x4c", "name": "sds-models-1", "size": 60, "dataCenter": "US-KS-2", "type": "STANDARD"},
            {"id": "b", "name": "x", "size": 10, "dataCenter": "EU-RO-1", "type": "COLD_STORAGE", "extra": 1}
        ]}))
        .expect("parses");
        assert_eq!(list.network_volumes[0].size, 60);
        assert_eq!(list.network_volumes[0].data_center, "US-KS-2");
        assert_eq!(
            list.network_volumes[0].volume_type,
            Some(VolumeType::Standard)
        );
        assert_eq!(
            list.network_volumes[1].volume_type,
            Some(VolumeType::Unknown)
        );
    }

    #[test]
    fn create_body_uses_the_contracts_names_only() {
        let body = CreateNetworkVolumeRequest {
            name: "sds-models-ab".into(),
            size: 60,
            data_center: "US-TX-3".into(),
            volume_type: Some(VolumeType::Standard),
        };
        assert_eq!(
            serde_json::to_value(&body).expect("encodes"),
            json!({"name": "sds-models-ab", "size": 60, "dataCenter": "US-TX-3", "type": "STANDARD"})
        );
        let default_tier = CreateNetworkVolumeRequest {
            volume_type: None,
            ..body
        };
        let v = serde_json::to_value(&default_tier).expect("encodes");
        assert!(v.get("type").is_none());
    }

    #[test]
    fn data_centres_parse_with_and_without_gpus() {
        let list: ListDataCenters = serde_json::from_value(json!({"dataCenters": [
            {"id": "US-KS-2", "name": "US Kansas 2", "region": "NORTH_AMERICA", "globalNetwork": true,
             "networkVolumeTypes": ["STANDARD", "HIGH_PERFORMANCE"], "compliance": ["SOC_2_TYPE_2"],
             "gpuAvailability": [{"id": "NVIDIA GeForce RTX 4090", "name": "RTX 4090", "availability": "HIGH"}]},
            {"id": "CA-MTL-1", "name": "Canada Montreal 1", "region": "NORTH_AMERICA", "globalNetwork": false,
             "networkVolumeTypes": [], "compliance": []}
        ]}))
        .expect("parses");
        let ks = &list.data_centers[0];
        assert!(ks.takes_volumes(VolumeType::Standard));
        assert_eq!(ks.gpu("NVIDIA GeForce RTX 4090"), Some(Availability::High));
        assert_eq!(ks.gpu("NVIDIA H100 NVL"), None);
        let mtl = &list.data_centers[1];
        assert!(!mtl.takes_volumes(VolumeType::Standard));
        assert!(mtl.gpu_availability.is_empty());
    }
}

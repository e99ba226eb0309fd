//! Network volumes and the data-centre catalog through the client, against the stand-in.
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use studio_error::Sensitive;
use studio_runpod::{
    Availability, CreateNetworkVolumeRequest, RetryPolicy, RunPodClient, VolumeType, codes,
};

async fn setup() -> (StandIn, RunPodClient) {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let c = RunPodClient::with_policy(
        s.api_url(),
        Sensitive::new(s.api_key().to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    (s, c)
}

#[tokio::test]
async fn create_read_list_delete_a_volume() {
    let (s, c) = setup().await;
    let v = c
        .create_network_volume(&CreateNetworkVolumeRequest {
            name: "sds-models-test".into(),
            size: 60,
            data_center: "EU-RO-1".into(),
            volume_type: Some(VolumeType::Standard),
        })
        .await
        .unwrap();
    assert_eq!((v.size, v.data_center.as_str()), (60, "EU-RO-1"));
    assert_eq!(v.volume_type, Some(VolumeType::Standard));
    assert_eq!(c.get_network_volume(&v.id).await.unwrap(), Some(v.clone()));
    assert_eq!(c.list_network_volumes().await.unwrap(), vec![v.clone()]);
    assert!(c.delete_network_volume(&v.id).await.unwrap());
    assert!(!c.delete_network_volume(&v.id).await.unwrap(), "404 = gone");
    assert_eq!(c.get_network_volume(&v.id).await.unwrap(), None);
    assert!(s.volumes().is_empty());
}

#[tokio::test]
async fn refusals_carry_codes_and_5xx_is_retried_on_reads() {
    let (s, c) = setup().await;
    let err = c
        .create_network_volume(&CreateNetworkVolumeRequest {
            name: "x".into(),
            size: 5,
            data_center: "EU-RO-1".into(),
            volume_type: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::INVALID_REQUEST, "{}", err.message());
    let err = c
        .create_network_volume(&CreateNetworkVolumeRequest {
            name: "x".into(),
            size: 10,
            data_center: "US-KS-2".into(),
            volume_type: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REJECTED);
    s.set_faults(|f| f.server_error_burst = 2);
    assert!(c.list_network_volumes().await.unwrap().is_empty());
}

#[tokio::test]
async fn data_centres_say_where_volumes_and_gpus_are() {
    let (s, c) = setup().await;
    s.set_faults(|f| {
        f.no_capacity.insert("NVIDIA H100 NVL".into());
    });
    let dcs = c.list_data_centers(true).await.unwrap();
    let ro = dcs.iter().find(|d| d.id == "EU-RO-1").unwrap();
    assert!(ro.takes_volumes(VolumeType::Standard));
    assert_eq!(ro.gpu("NVIDIA H100 PCIe"), Some(Availability::High));
    assert_eq!(ro.gpu("NVIDIA H100 NVL"), Some(Availability::None));
    assert_eq!(ro.gpu("NVIDIA A100 80GB PCIe"), None);
    let bare = c.list_data_centers(false).await.unwrap();
    assert!(bare.iter().all(|d| d.gpu_availability.is_empty()));
}

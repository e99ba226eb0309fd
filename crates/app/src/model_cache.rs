//! "Keep models between renders": one RunPod network volume holds the pinned environment and
//! its models, so only the first render pays for the downloads. Settings record the volume and
//! its data centre; `PodSpec::from_settings` then mounts it at /workspace and starts pods there.

use crate::Studio;
use serde::Serialize;
use studio_core::settings::Settings;
use studio_error::{Error, Result};
use studio_pods::EnvLock;
use studio_runpod::{
    Availability, CreateNetworkVolumeRequest, DataCenter, NetworkVolume, RunPodClient, VolumeType,
};

/// Our volumes carry this prefix, so one left unrecorded (settings lost, a create answered 500)
/// is found again instead of a second one being made.
pub const VOLUME_PREFIX: &str = "sds-models-";
/// RunPod's list price for standard network volumes; the API reports none.
pub const USD_PER_GB_MONTH: f64 = 0.07;

pub const DEMO: &str = "model_cache.demo";
pub const NO_DATA_CENTER: &str = "model_cache.no_data_center";
pub const BUSY: &str = "model_cache.busy";

/// Two clicks must not make two volumes: every change runs alone.
static CHANGING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What Settings show about the model cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCacheStatus {
    /// Settings record a volume (pods mount it and start in its data centre).
    pub enabled: bool,
    pub volume_id: Option<String>,
    pub volume_name: Option<String>,
    pub data_center: Option<String>,
    /// The volume's size when RunPod told us, else what a new one would be.
    pub size_gb: u32,
    pub monthly_cost_usd: f64,
    /// `Some(false)`: RunPod no longer knows the recorded volume. `None`: not asked (see `note`).
    pub exists: Option<bool>,
    /// Why RunPod was not asked, in words for the user.
    pub note: Option<String>,
    /// A new volume: its size (models plus headroom, rounded up) and monthly cost.
    pub new_size_gb: u32,
    pub new_monthly_cost_usd: f64,
    pub usd_per_gb_month: f64,
    /// What every pod without the volume downloads, from the lock.
    pub model_bytes: u64,
}

/// GB for a volume holding `lock`'s environment, in steps of 10: a volume can grow later but
/// never shrink, and a little slack spares a resize when a model is replaced.
pub fn volume_size_gb(lock: &EnvLock) -> u32 {
    lock.environment_gb()
        .div_ceil(10)
        .saturating_mul(10)
        .max(10)
}

pub fn monthly_cost_usd(size_gb: u32) -> f64 {
    (f64::from(size_gb) * USD_PER_GB_MONTH * 100.0).round() / 100.0
}

fn rank(a: Availability) -> u32 {
    match a {
        Availability::High => 3,
        Availability::Medium => 2,
        Availability::Low => 1,
        Availability::None | Availability::Unknown => 0,
    }
}

/// The data centre to keep the volume in: one with standard volumes (the tier whose price is
/// known) that has the most of the user's GPU types, earlier choices weighing more; today's
/// availability only breaks ties, since the volume stays for months.
pub fn choose_data_center<'a>(dcs: &'a [DataCenter], gpus: &[String]) -> Option<&'a DataCenter> {
    let n = gpus.len() as u32;
    let score = |dc: &DataCenter| -> (u32, u32) {
        let mut weight = 0;
        let mut stock = 0;
        for (i, g) in gpus.iter().enumerate() {
            if let Some(a) = dc.gpu(g) {
                weight += n - i as u32;
                stock += rank(a);
            }
        }
        (weight, stock)
    };
    dcs.iter()
        .filter(|dc| dc.takes_volumes(VolumeType::Standard))
        .map(|dc| (score(dc), dc))
        .filter(|((weight, _), _)| *weight > 0)
        // max_by_key keeps the last of equals; reversing keeps RunPod's order on ties.
        .rev()
        .max_by_key(|(s, _)| *s)
        .map(|(_, dc)| dc)
}

fn new_volume_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{VOLUME_PREFIX}{}", &id[..8])
}

impl Studio {
    /// The recorded volume and whether it still exists, and what a new one would cost.
    #[tracing::instrument(skip(self))]
    pub async fn model_cache_status(&self) -> Result<ModelCacheStatus> {
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        let new_size = volume_size_gb(&mode.lock);
        let mut status = ModelCacheStatus {
            enabled: settings.network_volume_id.is_some(),
            volume_id: settings.network_volume_id.clone(),
            volume_name: None,
            data_center: settings.network_volume_data_center.clone(),
            size_gb: new_size,
            monthly_cost_usd: monthly_cost_usd(new_size),
            exists: None,
            note: None,
            new_size_gb: new_size,
            new_monthly_cost_usd: monthly_cost_usd(new_size),
            usd_per_gb_month: USD_PER_GB_MONTH,
            model_bytes: mode.lock.model_bytes(),
        };
        if mode.demo {
            status.note = Some(
                "The demo has nothing to keep: models are kept on RunPod only. Switch to RunPod in Preferences to use it.".into(),
            );
            return Ok(status);
        }
        let Some(client) = mode.runpod()? else {
            status.note = Some("Add your RunPod API key above to keep models on RunPod.".into());
            return Ok(status);
        };
        if let Some(id) = &settings.network_volume_id {
            let found = client.get_network_volume(id).await?;
            status.exists = Some(found.is_some());
            if let Some(v) = found {
                status.size_gb = v.size;
                status.monthly_cost_usd = monthly_cost_usd(v.size);
                status.volume_name = Some(v.name);
                status.data_center = Some(v.data_center);
            }
        }
        Ok(status)
    }

    /// `true`: makes sure a volume exists and Settings record it (creating one in a data centre
    /// with the chosen GPUs, or taking back one of ours that Settings lost). `false`: deletes
    /// the recorded volume and its cached models and clears Settings. `save` stores Settings
    /// the way the caller's app does (the desktop's store, a file for the CLI and tests).
    #[tracing::instrument(skip(self, save))]
    pub async fn keep_models(
        &self,
        enable: bool,
        save: impl FnOnce(&Settings) -> Result<()>,
    ) -> Result<ModelCacheStatus> {
        let _alone = CHANGING.lock().await;
        let settings = self.settings()?;
        let mode = self.mode(&settings).await?;
        if mode.demo {
            return Err(Error::new(
                DEMO,
                "Models are kept on RunPod only, and the demo does not use RunPod. Switch to RunPod in Preferences first.",
            ));
        }
        let client = mode.runpod()?.ok_or_else(|| {
            Error::new(
                "secrets.no_key",
                "Add your RunPod API key in Settings before keeping models on RunPod.",
            )
        })?;
        if enable {
            self.enable_cache(&client, settings, &mode.lock, save)
                .await?;
        } else {
            self.disable_cache(&client, settings, save).await?;
        }
        self.model_cache_status().await
    }

    async fn enable_cache(
        &self,
        client: &RunPodClient,
        settings: Settings,
        lock: &EnvLock,
        save: impl FnOnce(&Settings) -> Result<()>,
    ) -> Result<()> {
        if let Some(id) = &settings.network_volume_id
            && client.get_network_volume(id).await?.is_some()
        {
            return Ok(());
        }
        let (volume, created) = match self.find_ours(client).await? {
            Some(v) => {
                tracing::info!(id = %v.id, dc = %v.data_center, "taking back a model volume of ours");
                (v, false)
            }
            None => (self.create_volume(client, &settings, lock).await?, true),
        };
        let mut updated = settings;
        updated.network_volume_id = Some(volume.id.clone());
        updated.network_volume_data_center = Some(volume.data_center.clone());
        if let Err(e) = save(&updated) {
            // Unrecorded, it would bill unseen; a volume we had found stays for the next try.
            if created && let Err(d) = client.delete_network_volume(&volume.id).await {
                tracing::error!(id = %volume.id, "deleting the unrecorded volume: {}", d.chain());
            }
            return Err(e);
        }
        tracing::info!(id = %volume.id, dc = %volume.data_center, size = volume.size, "models are kept on a network volume");
        Ok(())
    }

    /// The largest volume of ours on the account, if any.
    async fn find_ours(&self, client: &RunPodClient) -> Result<Option<NetworkVolume>> {
        Ok(client
            .list_network_volumes()
            .await?
            .into_iter()
            .filter(|v| v.name.starts_with(VOLUME_PREFIX))
            .max_by_key(|v| v.size))
    }

    async fn create_volume(
        &self,
        client: &RunPodClient,
        settings: &Settings,
        lock: &EnvLock,
    ) -> Result<NetworkVolume> {
        let dcs = client.list_data_centers(true).await?;
        let dc = choose_data_center(&dcs, &settings.gpu_ids).ok_or_else(|| {
            Error::new(
                NO_DATA_CENTER,
                format!(
                    "No RunPod data centre with network volumes has any of your GPU types ({}). Add another GPU type in Preferences, then try again.",
                    settings.gpu_ids.join(", ")
                ),
            )
        })?;
        let request = CreateNetworkVolumeRequest {
            name: new_volume_name(),
            size: volume_size_gb(lock),
            data_center: dc.id.clone(),
            volume_type: Some(VolumeType::Standard),
        };
        match client.create_network_volume(&request).await {
            Ok(v) => Ok(v),
            Err(e) => {
                // A 5xx may have created it anyway; its unique name finds it.
                let made = client
                    .list_network_volumes()
                    .await
                    .ok()
                    .and_then(|vs| vs.into_iter().find(|v| v.name == request.name));
                made.ok_or(e)
            }
        }
    }

    async fn disable_cache(
        &self,
        client: &RunPodClient,
        settings: Settings,
        save: impl FnOnce(&Settings) -> Result<()>,
    ) -> Result<()> {
        let Some(id) = settings.network_volume_id.clone() else {
            return Ok(());
        };
        if self.running_jobs() > 0 {
            return Err(Error::new(
                BUSY,
                "A render is using the model volume. Delete it once the render has ended.",
            ));
        }
        let existed = client.delete_network_volume(&id).await?;
        tracing::info!(%id, existed, "model volume deleted");
        let mut updated = settings;
        updated.network_volume_id = None;
        updated.network_volume_data_center = None;
        save(&updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use studio_runpod::ResourceAvailability;

    fn dc(id: &str, volumes: bool, gpus: &[(&str, Availability)]) -> DataCenter {
        DataCenter {
            id: id.into(),
            name: id.into(),
            region: None,
            network_volume_types: if volumes {
                vec![VolumeType::Standard]
            } else {
                vec![]
            },
            gpu_availability: gpus
                .iter()
                .map(|(g, a)| ResourceAvailability {
                    id: (*g).into(),
                    name: String::new(),
                    availability: *a,
                })
                .collect(),
        }
    }

    #[test]
    fn the_data_centre_with_the_preferred_gpus_and_volumes_wins() {
        use Availability::{High, Low};
        let dcs = vec![
            dc("NOVOL", false, &[("a", High), ("b", High)]),
            dc("ONLY-B", true, &[("b", High)]),
            dc("A-LOW", true, &[("a", Low)]),
            dc("A-HIGH", true, &[("a", High)]),
        ];
        let gpus = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pick = |l: &[&str]| choose_data_center(&dcs, &gpus(l)).map(|d| d.id.clone());
        assert_eq!(pick(&["a", "b"]).as_deref(), Some("A-HIGH"));
        assert_eq!(pick(&["b", "a"]).as_deref(), Some("ONLY-B"));
        assert_eq!(pick(&["c"]), None);
        let tie = vec![
            dc("FIRST", true, &[("a", High)]),
            dc("SECOND", true, &[("a", High)]),
        ];
        assert_eq!(
            choose_data_center(&tie, &gpus(&["a"])).map(|d| d.id.as_str()),
            Some("FIRST")
        );
    }

    #[test]
    fn the_volume_holds_the_environment_rounded_up() {
        let lock = EnvLock::bundled();
        let gb = volume_size_gb(&lock);
        assert!(
            gb >= lock.environment_gb() && gb.is_multiple_of(10) && gb - lock.environment_gb() < 10
        );
        assert_eq!(monthly_cost_usd(60), 4.2);
    }
}

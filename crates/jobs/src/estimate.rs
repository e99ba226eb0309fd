//! Cost and time estimate shown before the user confirms a render.

use serde::{Deserialize, Serialize};

/// How long renders take; defaults come from the SteadyDancer author's figure (171 frames in about
/// a minute at 4 steps on an RTX 4090) plus generous start-up margins. All editable, since a
/// different GPU or workflow changes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SpeedModel {
    /// Sampling seconds per output frame at `reference_steps`.
    pub secs_per_frame: f64,
    pub reference_steps: u32,
    /// Model loading, pose extraction, encoding: paid once per render.
    pub fixed_secs: f64,
    /// A new pod of an image of the user's own, create to ComfyUI-with-models: unknown, so a
    /// generous guess.
    pub cold_start_secs: f64,
    /// Pinned environment: create to container running (RunPod's PyTorch images are cached on
    /// its hosts, so the pull is short).
    pub boot_secs: f64,
    /// Pinned environment, nothing cached: cloning ComfyUI and the node packs, the virtualenv
    /// and their Python packages.
    pub install_secs: f64,
    /// ComfyUI's own start with the node packs loaded (21-29 s measured on a real pod).
    pub comfy_start_secs: f64,
    /// Model download speed on the pod, MB/s.
    pub download_mb_per_sec: f64,
    /// Uploading and downloading, in seconds (small: inputs are normalised first).
    pub transfer_secs: f64,
}

impl Default for SpeedModel {
    fn default() -> Self {
        Self {
            secs_per_frame: 60.0 / 171.0,
            reference_steps: 4,
            fixed_secs: 90.0,
            cold_start_secs: 600.0,
            boot_secs: 90.0,
            install_secs: 240.0,
            comfy_start_secs: 30.0,
            download_mb_per_sec: 100.0,
            transfer_secs: 20.0,
        }
    }
}

/// What a new pod does before it can render.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ColdStart {
    /// A warm pod or the user's own server: nothing.
    None,
    /// An image of the user's own: unknown, [`SpeedModel::cold_start_secs`].
    OwnImage,
    /// The pinned environment: boot, install, download `model_bytes`, start ComfyUI. With a
    /// network volume only the first render on it installs and downloads.
    Pinned { model_bytes: u64, volume: bool },
}

impl SpeedModel {
    fn download_secs(&self, bytes: u64) -> f64 {
        bytes as f64 / (self.download_mb_per_sec.max(0.1) * 1e6)
    }

    /// Seconds from create to ready, and of those the model download's.
    fn start_secs(&self, cold: ColdStart) -> (f64, f64) {
        match cold {
            ColdStart::None => (0.0, 0.0),
            ColdStart::OwnImage => (self.cold_start_secs, 0.0),
            ColdStart::Pinned { model_bytes, .. } => {
                let download = self.download_secs(model_bytes);
                (
                    self.boot_secs + self.install_secs + download + self.comfy_start_secs,
                    download,
                )
            }
        }
    }
}

/// What the Render button shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub frames: u32,
    pub steps: u32,
    pub rate_usd_per_hour: f64,
    pub startup_secs: f64,
    pub generation_secs: f64,
    pub total_secs: f64,
    pub cost_usd: f64,
    /// Model bytes this render's pod downloads, and the time and money that takes (inside
    /// `startup_secs` and `cost_usd`).
    #[serde(default)]
    pub download_bytes: u64,
    #[serde(default)]
    pub download_secs: f64,
    #[serde(default)]
    pub download_usd: f64,
    /// With a network volume: what each later render costs once the volume holds the
    /// environment and the models.
    #[serde(default)]
    pub later_cost_usd: Option<f64>,
    /// With a network volume: a later pod's start (boot and ComfyUI; nothing to install or
    /// download).
    #[serde(default)]
    pub later_startup_secs: Option<f64>,
}

/// Estimate for `frames` output frames at `steps` sampling steps on a GPU billed at
/// `rate_usd_per_hour`, after the pod's `cold` start.
pub fn estimate(
    model: &SpeedModel,
    rate_usd_per_hour: f64,
    frames: u32,
    steps: u32,
    cold: ColdStart,
) -> Estimate {
    let steps = steps.max(1);
    let step_factor = f64::from(steps) / f64::from(model.reference_steps.max(1));
    let generation_secs = model.fixed_secs + f64::from(frames) * model.secs_per_frame * step_factor;
    let (startup_secs, download_secs) = model.start_secs(cold);
    let total_secs = startup_secs + generation_secs + model.transfer_secs;
    let later_startup_secs = match cold {
        ColdStart::Pinned { volume: true, .. } => Some(model.boot_secs + model.comfy_start_secs),
        _ => None,
    };
    let later_cost_usd = later_startup_secs
        .map(|s| cost_for(rate_usd_per_hour, s + generation_secs + model.transfer_secs));
    Estimate {
        frames,
        steps,
        rate_usd_per_hour,
        startup_secs,
        generation_secs,
        total_secs,
        cost_usd: cost_for(rate_usd_per_hour, total_secs),
        download_bytes: match cold {
            ColdStart::Pinned { model_bytes, .. } => model_bytes,
            _ => 0,
        },
        download_secs,
        download_usd: cost_for(rate_usd_per_hour, download_secs),
        later_cost_usd,
        later_startup_secs,
    }
}

/// Dollars for `secs` seconds at an hourly rate (RunPod bills per second).
pub fn cost_for(rate_usd_per_hour: f64, secs: f64) -> f64 {
    rate_usd_per_hour * secs.max(0.0) / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_pod_costs_more_than_warm_and_scales_with_frames_and_steps() {
        let m = SpeedModel::default();
        let cold = estimate(&m, 1.64, 171, 4, ColdStart::OwnImage);
        let warm = estimate(&m, 1.64, 171, 4, ColdStart::None);
        assert!((cold.total_secs - warm.total_secs - m.cold_start_secs).abs() < 1e-9);
        assert!(cold.cost_usd > warm.cost_usd);
        // 171 frames at the reference steps: the author's one minute plus fixed work.
        assert!((warm.generation_secs - (60.0 + m.fixed_secs)).abs() < 1e-6);
        let more_steps = estimate(&m, 1.64, 171, 8, ColdStart::None);
        assert!((more_steps.generation_secs - (120.0 + m.fixed_secs)).abs() < 1e-6);
        let expected = 1.64 * warm.total_secs / 3600.0;
        assert!((warm.cost_usd - expected).abs() < 1e-12);
    }

    #[test]
    fn the_model_download_is_shown_apart_and_a_volume_pays_it_once() {
        let m = SpeedModel::default();
        let bytes = 33_000_000_000;
        let plain = estimate(
            &m,
            1.8,
            173,
            4,
            ColdStart::Pinned {
                model_bytes: bytes,
                volume: false,
            },
        );
        // 33 GB at 100 MB/s.
        assert!((plain.download_secs - 330.0).abs() < 1e-9);
        assert!((plain.download_usd - 1.8 * 330.0 / 3600.0).abs() < 1e-12);
        assert!(plain.startup_secs > plain.download_secs + m.install_secs);
        assert_eq!(
            plain.later_cost_usd, None,
            "without a volume every render downloads"
        );
        let volume = estimate(
            &m,
            1.8,
            173,
            4,
            ColdStart::Pinned {
                model_bytes: bytes,
                volume: true,
            },
        );
        let later = volume.later_cost_usd.expect("later renders");
        assert_eq!(
            volume.later_startup_secs,
            Some(m.boot_secs + m.comfy_start_secs)
        );
        assert_eq!(plain.later_startup_secs, None);
        assert!(
            (volume.cost_usd - plain.cost_usd).abs() < 1e-12,
            "the first render pays the same"
        );
        let saved = volume.cost_usd - later;
        let expected = cost_for(1.8, m.install_secs + plain.download_secs);
        assert!(
            (saved - expected).abs() < 1e-9,
            "later renders skip install and download"
        );
    }

    #[test]
    fn own_server_is_free() {
        let e = estimate(&SpeedModel::default(), 0.0, 81, 4, ColdStart::None);
        assert_eq!(e.cost_usd, 0.0);
        assert_eq!(cost_for(3.6, -5.0), 0.0);
        assert!((cost_for(3.6, 10.0) - 0.01).abs() < 1e-12);
    }
}

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
    /// Pod create to ComfyUI-with-models (image pull, model download) for a new pod.
    pub cold_start_secs: f64,
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
            transfer_secs: 20.0,
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
}

/// Estimate for `frames` output frames at `steps` sampling steps on a GPU billed at
/// `rate_usd_per_hour`. `new_pod` adds the cold start; a warm pod or own server adds none.
pub fn estimate(
    model: &SpeedModel,
    rate_usd_per_hour: f64,
    frames: u32,
    steps: u32,
    new_pod: bool,
) -> Estimate {
    let steps = steps.max(1);
    let step_factor = f64::from(steps) / f64::from(model.reference_steps.max(1));
    let generation_secs = model.fixed_secs + f64::from(frames) * model.secs_per_frame * step_factor;
    let startup_secs = if new_pod { model.cold_start_secs } else { 0.0 };
    let total_secs = startup_secs + generation_secs + model.transfer_secs;
    Estimate {
        frames,
        steps,
        rate_usd_per_hour,
        startup_secs,
        generation_secs,
        total_secs,
        cost_usd: cost_for(rate_usd_per_hour, total_secs),
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
        let cold = estimate(&m, 1.64, 171, 4, true);
        let warm = estimate(&m, 1.64, 171, 4, false);
        assert!((cold.total_secs - warm.total_secs - m.cold_start_secs).abs() < 1e-9);
        assert!(cold.cost_usd > warm.cost_usd);
        // 171 frames at the reference steps: the author's one minute plus fixed work.
        assert!((warm.generation_secs - (60.0 + m.fixed_secs)).abs() < 1e-6);
        let more_steps = estimate(&m, 1.64, 171, 8, false);
        assert!((more_steps.generation_secs - (120.0 + m.fixed_secs)).abs() < 1e-6);
        let expected = 1.64 * warm.total_secs / 3600.0;
        assert!((warm.cost_usd - expected).abs() < 1e-12);
    }

    #[test]
    fn own_server_is_free() {
        let e = estimate(&SpeedModel::default(), 0.0, 81, 4, false);
        assert_eq!(e.cost_usd, 0.0);
        assert_eq!(cost_for(3.6, -5.0), 0.0);
        assert!((cost_for(3.6, 10.0) - 0.01).abs() < 1e-12);
    }
}

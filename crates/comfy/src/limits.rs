//! What a server may send for one render: how many files and how many bytes each. A hostile
//! or broken server must not fill the user's disk, so a download stops at a size the render
//! cannot have produced: every frame uncompressed, plus an allowance for the container.

use crate::config::ClientConfig;
use crate::errors::TOO_MANY_OUTPUTS;
use crate::manifest::{Manifest, ParamSpec};
use serde_json::Value;
use std::collections::BTreeMap;
use studio_error::{Error, Result};

/// Parameter names that give an output's frame count, width and height.
const FRAMES: [&str; 5] = [
    "max_frames",
    "frames",
    "num_frames",
    "frame_count",
    "length",
];
const WIDTH: [&str; 1] = ["width"];
const HEIGHT: [&str; 1] = ["height"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub max_file_bytes: u64,
    pub max_files: usize,
}

impl OutputLimits {
    /// The config's ceilings alone (a workflow without frame and size parameters).
    pub fn ceiling(config: &ClientConfig) -> Self {
        Self {
            max_file_bytes: config.max_output_bytes,
            max_files: config.max_output_files,
        }
    }

    /// Limits for a render of `manifest` with the user's `params`; with `None` (a render
    /// resumed without them) each parameter's largest allowed value.
    pub fn for_render(
        manifest: &Manifest,
        params: Option<&BTreeMap<String, Value>>,
        config: &ClientConfig,
    ) -> Self {
        let value = |names: &[&str]| {
            names.iter().find_map(|name| {
                let spec = manifest.params.get(*name)?;
                let v = match params {
                    Some(p) => p.get(*name).unwrap_or(&spec.default).as_f64(),
                    None => largest(spec),
                }?;
                (v.is_finite() && v > 0.0).then_some(v.ceil() as u64)
            })
        };
        let mut limits = Self::ceiling(config);
        if let (Some(frames), Some(w), Some(h)) = (value(&FRAMES), value(&WIDTH), value(&HEIGHT)) {
            let pixels = frames.saturating_mul(w).saturating_mul(h);
            let bytes = pixels
                .saturating_mul(config.output_bits_per_pixel)
                .div_ceil(8)
                .saturating_add(config.output_overhead_bytes);
            limits.max_file_bytes = limits.max_file_bytes.min(bytes);
        }
        limits
    }

    /// Refuses a history that lists more files than a render makes.
    pub fn check_count(&self, listed: usize) -> Result<()> {
        if listed > self.max_files {
            return Err(Error::new(
                TOO_MANY_OUTPUTS,
                format!(
                    "The pod's server lists {listed} output files for this render, more than the \
                     {} a render may have; nothing was downloaded. Check the workflow's output \
                     nodes, or render again on a new pod.",
                    self.max_files
                ),
            ));
        }
        Ok(())
    }
}

fn largest(spec: &ParamSpec) -> Option<f64> {
    spec.max.or_else(|| spec.default.as_f64())
}

/// "12.1 MB", for messages.
pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let toml = r#"
            name = "x"
            workflow = "w.json"
            [params]
            width = { node = "1", field = "w", default = 480, min = 256, max = 1280 }
            height = { node = "1", field = "h", default = 832, min = 256, max = 1280 }
            max_frames = { node = "1", field = "f", default = 173, min = 5, max = 997 }
            [[outputs]]
            node = "2"
        "#;
        let workflow = r#"{"1": {"class_type": "VHS_LoadVideo", "inputs": {"w": 480, "h": 832, "f": 173}},
            "2": {"class_type": "VHS_VideoCombine", "inputs": {"filename_prefix": "a"}}}"#;
        Manifest::from_strs(toml, workflow).expect("manifest")
    }

    #[test]
    fn the_cap_follows_frames_and_size_and_never_passes_the_ceiling() {
        let config = ClientConfig::default();
        let m = manifest();
        let params = BTreeMap::from([("max_frames".to_string(), serde_json::json!(5))]);
        let small = OutputLimits::for_render(&m, Some(&params), &config);
        assert_eq!(
            small.max_file_bytes,
            5 * 480 * 832 * 3 + config.output_overhead_bytes
        );
        // Without the user's values: the largest the manifest allows.
        let unknown = OutputLimits::for_render(&m, None, &config);
        assert_eq!(
            unknown.max_file_bytes,
            997 * 1280 * 1280 * 3 + config.output_overhead_bytes
        );
        let tight = ClientConfig {
            max_output_bytes: 1000,
            ..ClientConfig::default()
        };
        assert_eq!(
            OutputLimits::for_render(&m, Some(&params), &tight).max_file_bytes,
            1000
        );
    }

    #[test]
    fn too_many_files_are_refused() {
        let limits = OutputLimits::ceiling(&ClientConfig::default());
        assert!(limits.check_count(limits.max_files).is_ok());
        let err = limits
            .check_count(limits.max_files + 1)
            .expect_err("too many");
        assert_eq!(err.code(), TOO_MANY_OUTPUTS);
    }
}

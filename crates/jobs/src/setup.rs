//! Building an engine the way the app and the CLI do: files in the data folder, RunPod when a
//! key is there, ComfyUI and media backends over the real crates.

use crate::engine::{Engine, EngineConfig, JobOutcome};
use crate::estimate::Estimate;
use crate::events::EventSink;
use crate::journal::Journal;
use crate::runpod_backend::RunPodPods;
use crate::spec::JobSpec;
use crate::{ComfyConnector, StudioMedia};
use std::path::Path;
use std::sync::{Arc, Mutex};
use studio_comfy::ClientConfig;
use studio_error::{Error, Result};
use studio_pods::{LifecycleConfig, PodSpec};
use studio_runpod::RunPodClient;
use tokio_util::sync::CancellationToken;

/// The journal of the data folder: renders, batches, the gallery, and the pods (studio-pods
/// keeps its tables in the same file; `studio pods` and the Pods screen read them there).
pub const JOBS_DB: &str = studio_pods::journal::JOURNAL_FILE;

/// What rendering on RunPod needs; absent when no key is saved.
#[derive(Debug, Clone)]
pub struct RunPodSetup {
    pub client: RunPodClient,
    pub lifecycle: LifecycleConfig,
    pub spec: PodSpec,
}

/// Opens the journal at `data_dir/jobs.sqlite` and builds an engine over the real backends.
/// Without `runpod`, only jobs on the user's own ComfyUI run (and recovery leaves pod jobs
/// for later, with an error saying a key is needed).
pub fn open_engine(data_dir: &Path, runpod: Option<RunPodSetup>) -> Result<Engine> {
    let config = EngineConfig::new(data_dir.join("work"));
    open_engine_with(data_dir, runpod, config, ClientConfig::default())
}

/// As [`open_engine`] with explicit timings (tests, demo mode with the stand-ins).
pub fn open_engine_with(
    data_dir: &Path,
    runpod: Option<RunPodSetup>,
    config: EngineConfig,
    comfy: ClientConfig,
) -> Result<Engine> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::io(&format!("create {}", data_dir.display()), e))?;
    let journal = Arc::new(Journal::open(&data_dir.join(JOBS_DB))?);
    let engine = Engine::new(
        journal,
        Arc::new(ComfyConnector::new(comfy.clone())),
        Arc::new(StudioMedia::default()),
        config,
    );
    Ok(match runpod {
        None => engine,
        Some(r) => {
            let pods_journal = studio_pods::Journal::open(&data_dir.join(JOBS_DB))?;
            engine.with_pods(Arc::new(RunPodPods::new(
                r.client,
                Arc::new(Mutex::new(pods_journal)),
                r.lifecycle,
                r.spec,
                comfy,
            )))
        }
    })
}

/// Only the journal and gallery, for listing (no network, no key).
pub fn open_journal(data_dir: &Path) -> Result<Journal> {
    Journal::open(&data_dir.join(JOBS_DB))
}

impl Engine {
    /// Submits and runs one render: what `studio render` and the Render button call once the
    /// user confirmed the estimate. Ctrl-C / Cancel: cancel `cancel`; the pod is torn down.
    pub async fn render(
        &self,
        spec: &JobSpec,
        estimate: Option<&Estimate>,
        cancel: CancellationToken,
        events: EventSink,
    ) -> Result<JobOutcome> {
        let job = self.submit(spec, estimate)?;
        tracing::info!(job = %job.id, "render submitted");
        self.run(&job.id, cancel, events).await
    }

    /// Frames the render will have, from the dance video as it is now (before normalising),
    /// for the estimate shown before the user confirms.
    pub async fn expected_frames(&self, spec: &JobSpec) -> Result<u32> {
        self.media.expected_frames(spec).await
    }
}

/// Output frames for `spec` at `fps`: the chosen range of the video, capped like the workflow.
pub(crate) fn frames_in(duration_secs: f64, spec: &JobSpec, fps: f64) -> u32 {
    let start = spec.normalise.trim_start.unwrap_or(0.0).max(0.0);
    let end = spec
        .normalise
        .trim_end
        .unwrap_or(duration_secs)
        .min(duration_secs);
    ((end - start).max(0.0) * fps).round().clamp(0.0, 1000.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{NormaliseOptions, Target};

    #[test]
    fn frames_follow_the_trim_range_and_the_cap() {
        let mut spec = JobSpec {
            image: "a".into(),
            video: "b".into(),
            manifest: "m".into(),
            params: Default::default(),
            target: Target::ComfyUrl {
                url: "http://x".into(),
            },
            out_dir: "o".into(),
            budget_usd: None,
            normalise: NormaliseOptions::default(),
        };
        assert_eq!(frames_in(10.0, &spec, 16.0), 160);
        spec.normalise.trim_start = Some(2.0);
        spec.normalise.trim_end = Some(4.5);
        assert_eq!(frames_in(10.0, &spec, 16.0), 40);
        spec.normalise.trim_end = Some(99.0);
        assert_eq!(frames_in(10.0, &spec, 16.0), 128);
        assert_eq!(
            frames_in(
                500.0,
                &JobSpec {
                    normalise: NormaliseOptions::default(),
                    ..spec
                },
                16.0
            ),
            1000
        );
    }
}

//! A rig for job tests: the real stand-in RunPod (billing clock, pod proxy) in front of the real
//! stand-in ComfyUI, real media files made by `ffmpeg`, and engines over the real backends.
#![allow(dead_code, clippy::unwrap_used)]

use standin_comfy::{StandinComfy, StandinConfig};
use standin_runpod::{StandIn, StandInConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use studio_comfy::ClientConfig;
use studio_error::Sensitive;
use studio_jobs::{
    ComfyConnector, Engine, EngineConfig, EventSink, JobEvent, JobSpec, Journal, NormaliseOptions,
    RunPodPods, Stage, StudioMedia, Target,
};
use studio_pods::{Deadlines, LifecycleConfig, PodSpec};
use studio_runpod::{RetryPolicy, RunPodClient};
use url::Url;

pub struct Rig {
    pub runpod: StandIn,
    pub comfy: StandinComfy,
    pub dir: tempfile::TempDir,
    pub image: PathBuf,
    pub video: PathBuf,
}

/// Sampling steps and the delay per step on the stand-in ComfyUI.
pub async fn rig(steps: u32, step_delay: Duration) -> Rig {
    rig_with(steps, step_delay, standin_runpod::Timings::fast()).await
}

/// As [`rig`], with the stand-in RunPod's boot timings (zero for the overhead bench).
pub async fn rig_with(steps: u32, step_delay: Duration, timings: standin_runpod::Timings) -> Rig {
    let comfy = StandinConfig {
        steps: Some(steps),
        step_delay,
        ..StandinConfig::default()
    };
    rig_on(comfy, timings).await
}

/// As [`rig`], on a stand-in ComfyUI configured by the test.
pub async fn rig_on(comfy: StandinConfig, timings: standin_runpod::Timings) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let comfy = StandinComfy::start(comfy).await.unwrap();
    let upstream = Url::parse(comfy.url()).unwrap();
    let runpod = StandIn::start(StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(upstream.clone()))),
        timings,
        ..StandInConfig::default()
    })
    .await
    .unwrap();
    // Every pod the engine asks for must be what the lock says.
    let lock = studio_pods::EnvLock::bundled();
    runpod.set_pod_contract(Some(standin_runpod::PodContract::new(
        lock.image.name.clone(),
        lock.bootstrap_env(),
        lock.environment_gb().into(),
    )));
    let image = ffmpeg(
        dir.path(),
        "me.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=navy:s=480x832",
            "-frames:v",
            "1",
        ],
    );
    let video = ffmpeg(
        dir.path(),
        "dance.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=480x832:rate=16:duration=1.5",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    Rig {
        runpod,
        comfy,
        dir,
        image,
        video,
    }
}

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("the ffmpeg command is installed")
        .success();
    assert!(ok, "ffmpeg failed making {name}");
    out
}

pub fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/steadydancer.toml")
}

impl Rig {
    pub fn journal_path(&self) -> PathBuf {
        self.dir.path().join("jobs.sqlite")
    }

    pub fn spec(&self, target: Target) -> JobSpec {
        JobSpec {
            image: self.image.clone(),
            video: self.video.clone(),
            manifest: manifest(),
            params: [("seed".to_string(), serde_json::json!(7))].into(),
            target,
            out_dir: self.dir.path().join("renders"),
            budget_usd: None,
            normalise: NormaliseOptions::default(),
        }
    }

    pub fn new_pod(&self) -> JobSpec {
        self.spec(Target::NewPod { gpu_ids: vec![] })
    }

    /// A fresh engine over the same files, as a restarted app would build it.
    pub fn engine(&self) -> Engine {
        self.engine_with_media(Arc::new(StudioMedia::default()))
    }

    /// As [`Rig::engine`], with the test's own media backend (to inject faults).
    pub fn engine_with_media(&self, media: Arc<dyn studio_jobs::MediaPrep>) -> Engine {
        self.engine_tuned(media, ClientConfig::fast(), |_| {})
    }

    /// The RunPod client the engines use, for tests that act on pods behind their back.
    pub fn client(&self) -> RunPodClient {
        RunPodClient::with_policy(
            self.runpod.api_url(),
            Sensitive::new(self.runpod.api_key().to_string()),
            RetryPolicy::fast(),
        )
        .unwrap()
    }

    /// The pod provider the engines use (same stand-in, same pods journal).
    pub fn pods(&self) -> RunPodPods {
        let pods_journal = studio_pods::Journal::open(&self.journal_path()).unwrap();
        let lifecycle = LifecycleConfig {
            poll_interval: Duration::from_millis(25),
            deadlines: Deadlines {
                provisioning: Duration::from_secs(5),
                container: Duration::from_secs(5),
                comfy: Duration::from_secs(5),
                models: Duration::from_secs(5),
            },
            create_retry_delay: Duration::from_millis(20),
            terminate_timeout: Duration::from_secs(5),
            ..LifecycleConfig::new(self.runpod.pod_url_template())
        };
        RunPodPods::new(
            self.client(),
            Arc::new(Mutex::new(pods_journal)),
            lifecycle,
            PodSpec::default(),
            ClientConfig::fast(),
        )
    }

    /// `n` renders of the rig's photo and dance on new pods.
    pub fn batch(&self, n: usize, max_pods: u32) -> studio_jobs::BatchSpec {
        studio_jobs::BatchSpec {
            renders: (0..n).map(|_| self.new_pod()).collect(),
            max_pods,
            budget_usd: None,
        }
    }

    /// A "video" that is not one: its render fails its checks.
    pub fn corrupt_video(&self) -> PathBuf {
        let path = self.dir.path().join("corrupt.mp4");
        std::fs::write(&path, b"this is not a video, only its name says so").unwrap();
        path
    }

    /// As [`Rig::engine`], with the test's ComfyUI client settings and engine timings.
    pub fn engine_tuned(
        &self,
        media: Arc<dyn studio_jobs::MediaPrep>,
        comfy: ClientConfig,
        tune: impl FnOnce(&mut EngineConfig),
    ) -> Engine {
        let pods = self.pods();
        let journal = Arc::new(Journal::open(&self.journal_path()).unwrap());
        let mut config = EngineConfig::new(self.dir.path().join("work"));
        config.poll = Duration::from_millis(25);
        config.own_server_deadline = Duration::from_secs(2);
        config.cost_tick = Duration::from_millis(50);
        config.pod_check = Duration::from_millis(200);
        tune(&mut config);
        Engine::new(journal, Arc::new(ComfyConnector::new(comfy)), media, config)
            .with_pods(Arc::new(pods))
    }
}

/// Collects every event with the instant it arrived.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<(Instant, JobEvent)>>>);

impl Recorder {
    pub fn sink(&self) -> EventSink {
        let me = self.clone();
        Arc::new(move |e| me.0.lock().unwrap().push((Instant::now(), e)))
    }

    /// A sink that records and then calls `on` with each event (to cancel or "crash").
    pub fn sink_with(&self, on: impl Fn(&JobEvent) + Send + Sync + 'static) -> EventSink {
        let me = self.clone();
        Arc::new(move |e| {
            me.0.lock().unwrap().push((Instant::now(), e.clone()));
            on(&e);
        })
    }

    pub fn stages(&self) -> Vec<Stage> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, e)| match e {
                JobEvent::Stage { stage, .. } => Some(*stage),
                _ => None,
            })
            .collect()
    }

    pub fn when(&self, stage: Stage) -> Option<Instant> {
        self.0.lock().unwrap().iter().find_map(|(t, e)| match e {
            JobEvent::Stage { stage: s, .. } if *s == stage => Some(*t),
            _ => None,
        })
    }

    pub fn count(&self, pred: impl Fn(&JobEvent) -> bool) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| pred(e))
            .count()
    }
}

pub fn is_stage(e: &JobEvent, stage: Stage) -> bool {
    matches!(e, JobEvent::Stage { stage: s, .. } if *s == stage)
}

/// The real media backend, except that checking a downloaded result panics: the first
/// `panics` times (`u32::MAX`: always).
pub struct PanicsOnVerify {
    media: StudioMedia,
    panics: std::sync::atomic::AtomicU32,
}

impl PanicsOnVerify {
    pub fn new(panics: u32) -> Self {
        Self {
            media: StudioMedia::default(),
            panics: std::sync::atomic::AtomicU32::new(panics),
        }
    }
}

#[async_trait::async_trait]
impl studio_jobs::MediaPrep for PanicsOnVerify {
    async fn check(&self, spec: &JobSpec) -> studio_error::Result<()> {
        self.media.check(spec).await
    }
    async fn expected_frames(&self, spec: &JobSpec) -> studio_error::Result<u32> {
        self.media.expected_frames(spec).await
    }
    async fn normalise(
        &self,
        spec: &JobSpec,
        work_dir: &Path,
        progress: &(dyn Fn(f32) + Send + Sync),
        cancel: &tokio_util::sync::CancellationToken,
    ) -> studio_error::Result<studio_jobs::PreparedInputs> {
        self.media.normalise(spec, work_dir, progress, cancel).await
    }
    async fn verify(
        &self,
        file: &Path,
        kind: Option<studio_comfy::OutputKind>,
    ) -> studio_error::Result<()> {
        use std::sync::atomic::Ordering;
        let left = self.panics.load(Ordering::SeqCst);
        if left > 0 {
            if left != u32::MAX {
                self.panics.store(left - 1, Ordering::SeqCst);
            }
            panic!("injected: the decoder blew up");
        }
        self.media.verify(file, kind).await
    }
    async fn thumbnail(&self, video: &Path, out: &Path) -> studio_error::Result<Option<PathBuf>> {
        self.media.thumbnail(video, out).await
    }
}

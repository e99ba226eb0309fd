//! The two worlds the app can act in, each with its own journal file so they never mix: the real
//! one (RunPod at the configured address, the user's key) and the demo (the built-in stand-ins).

use crate::Studio;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_comfy::ClientConfig;
use studio_core::config::Endpoints;
use studio_core::settings::Settings;
use studio_error::{Result, Sensitive};
use studio_jobs::RunPodPods;
use studio_jobs::{ComfyConnector, Engine, EngineConfig, Journal};
use studio_pods::{EnvLock, LifecycleConfig, PodSpec};
use studio_runpod::RunPodClient;

/// Journals and folders of one world, opened once.
#[derive(Debug)]
pub(crate) struct ModeCtx {
    pub jobs: Arc<Journal>,
    pub pods: Arc<Mutex<studio_pods::Journal>>,
    pub work_dir: PathBuf,
    /// Warm pods this process is starting (known to RunPod, not ready yet): never orphans.
    pub warm_starting: Mutex<HashSet<String>>,
}

impl ModeCtx {
    pub(crate) fn warm_starting(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.warm_starting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What an operation needs right now: the world, its addresses and (when set) the key.
#[derive(Debug, Clone)]
pub(crate) struct Mode {
    pub demo: bool,
    pub(crate) ctx: Arc<ModeCtx>,
    pub endpoints: Endpoints,
    pub(crate) key: Option<Sensitive<String>>,
    /// The pod's software for the default workflow.
    pub lock: EnvLock,
    /// Put in the names of the pods this data folder starts (see `studio_core::install`).
    pub install_id: Option<String>,
}

impl std::ops::Deref for Mode {
    type Target = ModeCtx;
    fn deref(&self) -> &ModeCtx {
        &self.ctx
    }
}

pub(crate) async fn resolve(studio: &Studio, settings: &Settings) -> Result<Mode> {
    let demo = studio.is_demo(settings);
    let ctx = context(studio, demo)?;
    let lock = crate::workflows::default_lock(&studio.inner.data_dir)?;
    if demo {
        let d = studio
            .inner
            .demo
            .get_or_try_init(crate::demo::Demo::start)
            .await?;
        return Ok(Mode {
            demo,
            ctx,
            endpoints: d.endpoints()?,
            key: Some(d.key()),
            lock,
            install_id: install_id(studio),
        });
    }
    Ok(Mode {
        demo,
        ctx,
        endpoints: studio.inner.endpoints.clone(),
        // A keychain that cannot be read (a headless machine) means no key: renders on the
        // user's own ComfyUI need none, and RunPod's say "no key" (RUNPOD_API_KEY works).
        key: studio_core::secrets::load_api_key()
            .inspect_err(|e| tracing::warn!("no RunPod key: {}", e.chain()))
            .ok()
            .flatten(),
        lock,
        install_id: install_id(studio),
    })
}

/// Without an install id (an unwritable data folder) pods get old-format names, which stay
/// ours through the journal; nothing else depends on it.
pub(crate) fn install_id(studio: &Studio) -> Option<String> {
    studio_core::install::install_id(&studio.inner.data_dir)
        .inspect_err(|e| tracing::warn!("no install id: {}", e.chain()))
        .ok()
}

pub(crate) fn context(studio: &Studio, demo: bool) -> Result<Arc<ModeCtx>> {
    let mut modes = studio.inner.modes.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = modes.get(&demo) {
        return Ok(ctx.clone());
    }
    let dir = if demo {
        studio.inner.data_dir.join("demo")
    } else {
        studio.inner.data_dir.clone()
    };
    studio_core::paths::ensure_dir(&dir)?;
    let ctx = Arc::new(ModeCtx {
        // One file, two connections: the render journal's and the pods journal's.
        jobs: Arc::new(Journal::open(&studio_pods::Journal::path_in(&dir))?),
        pods: Arc::new(Mutex::new(studio_pods::Journal::open_in(&dir)?)),
        work_dir: dir.join("work"),
        warm_starting: Mutex::new(HashSet::new()),
    });
    modes.insert(demo, ctx.clone());
    Ok(ctx)
}

impl Mode {
    pub(crate) fn runpod(&self) -> Result<Option<RunPodClient>> {
        self.key
            .clone()
            .map(|key| RunPodClient::new(self.endpoints.runpod_api_url.clone(), key))
            .transpose()
    }

    /// The environment pods must run, checked before upload: none for the user's own image.
    pub(crate) fn pinned(&self, settings: &Settings) -> Option<EnvLock> {
        (!settings.own_image).then(|| self.lock.clone())
    }

    pub(crate) fn lifecycle(&self) -> LifecycleConfig {
        let mut config = LifecycleConfig::new(self.endpoints.pod_url_template.clone());
        config.install_id = self.install_id.clone();
        if self.demo {
            config.poll_interval = Duration::from_millis(500);
        }
        config
    }

    pub(crate) fn pods_backend(&self, settings: &Settings) -> Result<Option<RunPodPods>> {
        Ok(self.runpod()?.map(|client| {
            RunPodPods::new(
                client,
                self.pods.clone(),
                self.lifecycle(),
                PodSpec::from_settings(settings, &self.lock),
                ClientConfig::default(),
            )
        }))
    }

    pub(crate) fn engine(&self, settings: &Settings) -> Result<Engine> {
        let mut config = EngineConfig::new(self.work_dir.clone());
        if self.demo {
            config.poll = Duration::from_millis(500);
        }
        let mut engine = Engine::new(
            self.jobs.clone(),
            Arc::new(ComfyConnector::new(ClientConfig::default())),
            Arc::new(studio_jobs::StudioMedia::default()),
            config,
        );
        if let Some(pods) = self.pods_backend(settings)? {
            engine = engine.with_pods(Arc::new(pods));
        }
        Ok(engine)
    }
}

//! What the window may ask of the studio. The webview is not trusted with paths: a script that
//! got into it (a crafted file name shown in the page, a compromised dependency) must not read,
//! upload, play or reveal files the user never chose, nor start a render of its own making.
//!
//! - Input files: only those the shell saw come from the file dialog or a drop on the window,
//!   and a gallery entry's inputs (chosen that way before, for "render again").
//! - Renders: the plan stays here; the window starts one by its id, once the user confirmed;
//!   the server and the output folder come from Settings.
//! - Results: each output file is granted on its own (player, asset protocol, reveal), never the
//!   folder it lies in.

use crate::Studio;
use crate::batch::{BatchPlan, BatchRequest};
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use studio_error::{Error, Result};
use studio_jobs::{BatchOutcome, EventSink, GalleryEntry};

/// A path the window sent that the user did not pick or drop.
pub const NOT_CHOSEN: &str = "app.path_not_chosen";
/// A path the window sent that is no output of the app's.
pub const NOT_AN_OUTPUT: &str = "app.path_not_an_output";
pub const NOT_CONFIRMED: &str = "jobs.not_confirmed";
pub const PLAN_UNKNOWN: &str = "jobs.plan_unknown";
/// A request field only Settings or the command line may set.
pub const NOT_FROM_WINDOW: &str = "app.not_from_window";

/// The settings panel plans again on every change; only recent plans can still be confirmed.
const PLANS_KEPT: usize = 32;

/// Told about every output file the window may now open (the shell opens Tauri's asset
/// protocol to exactly that file).
pub type GrantHook = Arc<dyn Fn(&Path) + Send + Sync>;

#[derive(Default)]
pub(crate) struct WindowState {
    chosen: Mutex<HashSet<PathBuf>>,
    outputs: Mutex<HashSet<PathBuf>>,
    plans: Mutex<VecDeque<BatchPlan>>,
    grant: OnceLock<GrantHook>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The path as given and, when it exists, as the file system resolves it: a chosen file named
/// another way (`..`, a symlink) is the same file.
fn both_forms(path: &Path) -> impl Iterator<Item = PathBuf> {
    std::iter::once(path.to_path_buf()).chain(path.canonicalize().ok())
}

fn known(set: &HashSet<PathBuf>, path: &Path) -> bool {
    both_forms(path).any(|p| set.contains(&p))
}

impl Studio {
    /// The shell saw the user pick these in the file dialog or drop them on the window.
    pub fn user_chose<P: AsRef<Path>>(&self, paths: impl IntoIterator<Item = P>) {
        let mut chosen = lock(&self.inner.window.chosen);
        for path in paths {
            chosen.extend(both_forms(path.as_ref()));
        }
    }

    /// `path` if the user chose it; the window's paths go through here before any file is read.
    pub fn chosen_input(&self, path: &Path) -> Result<PathBuf> {
        if known(&lock(&self.inner.window.chosen), path) {
            return Ok(path.to_path_buf());
        }
        tracing::warn!(path = %path.display(), "the window asked for a file nobody chose");
        Err(Error::new(
            NOT_CHOSEN,
            format!(
                "The app only opens files you choose. Drop {} on the window or pick it with \"Choose files…\".",
                display_name(path)
            ),
        ))
    }

    /// `path` if it is an output the window was shown (a finished render, a gallery entry).
    pub fn granted_output(&self, path: &Path) -> Result<PathBuf> {
        if known(&lock(&self.inner.window.outputs), path) {
            return Ok(path.to_path_buf());
        }
        tracing::warn!(path = %path.display(), "the window asked for a file that is no output");
        Err(Error::new(
            NOT_AN_OUTPUT,
            format!(
                "{} is not a video the app made, so the app does not open it. Find it in your files instead.",
                display_name(path)
            ),
        ))
    }

    /// Set once by the shell; later calls are ignored.
    pub fn on_output_granted(&self, hook: GrantHook) {
        let _ = self.inner.window.grant.set(hook);
    }

    pub(crate) fn grant_output(&self, file: &Path) {
        lock(&self.inner.window.outputs).extend(both_forms(file));
        self.inner.videos.allow_file(file);
        if let Some(hook) = self.inner.window.grant.get() {
            hook(file);
        }
    }

    /// Keeps a plan for [`Studio::start_batch`] and [`Studio::start_planned_batch`].
    pub(crate) fn keep_plan(&self, plan: BatchPlan) {
        let mut plans = lock(&self.inner.window.plans);
        while plans.len() >= PLANS_KEPT {
            plans.pop_front();
        }
        plans.push_back(plan);
    }

    /// The plan of that id, once: a second start of the same plan is refused.
    pub(crate) fn take_plan(&self, plan_id: &str) -> Result<BatchPlan> {
        let mut plans = lock(&self.inner.window.plans);
        let at = plans.iter().position(|p| p.plan_id == plan_id);
        at.and_then(|i| plans.remove(i)).ok_or_else(|| {
            Error::new(
                PLAN_UNKNOWN,
                "These render settings are no longer current (or this render already started). Check the settings and click Render again.",
            )
        })
    }

    /// [`Studio::plan_batch`] of files the user chose (see [`Studio::chosen_input`]). Where
    /// results go and which server sees the photos come from Settings, never from the page.
    pub async fn plan_batch_for_window(&self, req: BatchRequest) -> Result<BatchPlan> {
        for path in req.images.iter().chain(&req.videos) {
            self.chosen_input(path)?;
        }
        if req.comfy_url.is_some() || req.out_dir.is_some() {
            tracing::warn!("the window asked for its own server or output folder");
            return Err(Error::new(
                NOT_FROM_WINDOW,
                "The ComfyUI server and the output folder are chosen in Settings.",
            ));
        }
        self.plan_batch(req).await
    }

    /// Starts the batch [`Studio::plan_batch_for_window`] prepared, once the user confirmed its
    /// price; each result is granted to the window as it arrives (see `batch`).
    pub async fn start_planned_batch(
        &self,
        plan_id: &str,
        confirmed: bool,
        sink: EventSink,
    ) -> Result<BatchOutcome> {
        if !confirmed {
            return Err(Error::new(
                NOT_CONFIRMED,
                "A render starts only after you confirm its price: click Render, then Start render.",
            ));
        }
        let outcome = self.start_batch(plan_id, sink, |_| {}).await?;
        for file in outcome.renders.iter().flat_map(|r| &r.outputs) {
            self.grant_output(file);
        }
        Ok(outcome)
    }

    /// The gallery as the window shows it: each video granted, each entry's inputs usable again.
    pub async fn gallery_for_window(&self) -> Result<Vec<GalleryEntry>> {
        let entries = self.gallery().await?;
        for entry in &entries {
            if !entry.missing {
                self.grant_output(&entry.video);
            }
            self.user_chose([&entry.spec.image, &entry.spec.video]);
        }
        Ok(entries)
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// What the file dialog offers (FFmpeg decides what each file really is).
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "bmp", "mp4", "mov", "webm", "mkv", "avi", "m4v",
];

/// Set by the end-to-end suite only: WebDriver cannot drag files from the desktop, so the suite
/// sends the window's drop events from the page, and the shell then counts them as drops. Never
/// set it for real use: any script in the page could then name any file.
pub const PAGE_DROPS_ENV: &str = "STUDIO_TEST_PAGE_DROPS";

pub fn page_drops_trusted() -> bool {
    std::env::var(PAGE_DROPS_ENV).is_ok_and(|v| v == "1")
}

impl Studio {
    /// A drop event's JSON payload (`{"paths": [...], ...}`) sent from the page; see
    /// [`PAGE_DROPS_ENV`]. Anything else is ignored.
    pub fn page_dropped(&self, payload: &str) {
        #[derive(serde::Deserialize)]
        struct Drop {
            #[serde(default)]
            paths: Vec<PathBuf>,
        }
        if let Ok(drop) = serde_json::from_str::<Drop>(payload) {
            self.user_chose(drop.paths);
        }
    }
}

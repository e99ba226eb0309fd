//! A stand-in ComfyUI server speaking ComfyUI's protocol, for tests and demo mode. It executes
//! prompts for real (an H.264 video made with the `ffmpeg` CLI from the uploaded reference image,
//! as long as the dance video), sends websocket events in ComfyUI's shapes, and can be told to
//! misbehave the ways a real server behind the RunPod proxy does.

mod catalog;
mod exec;
mod naming;
mod routes;
mod still;
mod ws;

pub use catalog::{OUTPUT_CLASSES, steadydancer_classes, steadydancer_models};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

#[derive(Debug, Clone)]
pub struct StandinConfig {
    /// Time per sampling step.
    pub step_delay: Duration,
    /// Sampling steps to emulate; `None` uses the workflow's own step count.
    pub steps: Option<u32>,
    pub max_upload_bytes: u64,
    pub node_classes: BTreeSet<String>,
    pub models: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Where `input/` and `output/` live; a temporary folder when `None`.
    pub data_dir: Option<PathBuf>,
}

impl Default for StandinConfig {
    fn default() -> Self {
        Self {
            step_delay: Duration::from_millis(10),
            steps: None,
            max_upload_bytes: 100 * 1024 * 1024,
            node_classes: steadydancer_classes(),
            models: steadydancer_models(),
            data_dir: None,
        }
    }
}

impl StandinConfig {
    pub fn without_node(mut self, class: &str) -> Self {
        self.node_classes.remove(class);
        self
    }

    pub fn without_model(mut self, file: &str) -> Self {
        for fields in self.models.values_mut() {
            for list in fields.values_mut() {
                list.retain(|f| f != file);
            }
        }
        self
    }
}

/// Requests the stand-in can answer with HTTP 524 (the proxy's 100 s limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Upload,
    Prompt,
    History,
    View,
}

/// Misbehaviour, set per test. Each fault fires as described, then clears itself where noted.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Cut every websocket (no close frame) right after sending this sampling step.
    pub ws_cut_at_step: Option<u64>,
    /// After a cut, answer `/ws` with 502 until the running prompt ends.
    pub ws_down_until_done: bool,
    /// Answer the next `count` requests to a route with 524 after `delay`.
    pub answer_524: Option<(Route, u32)>,
    pub delay_524: Duration,
    /// Fail execution at this node id with this message.
    pub fail_at_node: Option<(String, String)>,
    /// List outputs in the history under this name instead of the real one.
    pub hostile_output_name: Option<String>,
    /// Close the next `/view` connection after this many body bytes (fires once).
    pub cut_download_after: Option<u64>,
    /// `(bytes, requests)`: the next `requests` answers to `/view` send this many body bytes
    /// and then nothing more, keeping the connection open, as a proxy that stops sending does.
    pub stall_download: Option<(u64, u32)>,
    /// `/view` answers a range request with 200 and the whole file, as servers without range
    /// support do.
    pub ignore_range: bool,
    /// `/view` sends this many bytes more than the file, without a Content-Length.
    pub view_padding: u64,
    /// `/view` answers 307 with this `Location` instead of the file.
    pub redirect_view_to: Option<String>,
    /// With `answer_524` on `/prompt`: the prompt is queued first and only the answer is lost,
    /// as when the proxy gives up on a request the server then finishes.
    pub answer_524_after_queueing: bool,
    /// The next this many uploads are never read, with the connection left open.
    pub stall_uploads: u32,
    /// Accept prompts but forget them at once, as a server that restarted would.
    pub forget_prompts: bool,
    /// Behave like older ComfyUI builds: no `execution_success` event.
    pub legacy_events: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub number: u64,
    pub id: String,
    pub client_id: String,
    pub prompt: Value,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum WsOut {
    Text { to: Option<String>, text: String },
    Cut,
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    pub running: Option<Job>,
    pub pending: VecDeque<Job>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StandinConfig,
    pub faults: Mutex<Faults>,
    pub input_dir: PathBuf,
    pub output_dir: PathBuf,
    pub queue: Mutex<Queue>,
    pub wake: Notify,
    pub history: Mutex<BTreeMap<String, Value>>,
    pub interrupt: AtomicBool,
    pub hub: broadcast::Sender<WsOut>,
    pub ws_refused: AtomicBool,
    /// Prompt numbers; file names count per prefix in the output folder (`naming`).
    pub counter: AtomicU64,
    pub uploads: AtomicUsize,
    pub prompts: AtomicUsize,
    pub ranged_views: AtomicUsize,
    pub executed: AtomicUsize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another handler must not take the whole stand-in down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn send(&self, to: Option<&str>, kind: &str, data: Value) {
        let text = serde_json::json!({"type": kind, "data": data}).to_string();
        let _ = self.hub.send(WsOut::Text {
            to: to.map(str::to_string),
            text,
        });
    }

    pub fn queue_remaining(&self) -> usize {
        let q = lock(&self.queue);
        q.pending.len() + usize::from(q.running.is_some())
    }
}

/// A running stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct StandinComfy {
    url: String,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl StandinComfy {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub async fn start(config: StandinConfig) -> std::io::Result<Self> {
        Self::start_on(config, "127.0.0.1:0").await
    }

    pub async fn start_on(config: StandinConfig, addr: &str) -> std::io::Result<Self> {
        let (root, dir) = match &config.data_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let input_dir = root.join("input");
        let output_dir = root.join("output");
        std::fs::create_dir_all(&input_dir)?;
        std::fs::create_dir_all(&output_dir)?;
        let shared = Arc::new(Shared {
            config,
            faults: Mutex::new(Faults::default()),
            input_dir,
            output_dir,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            history: Mutex::new(BTreeMap::new()),
            interrupt: AtomicBool::new(false),
            hub: broadcast::channel(1024).0,
            ws_refused: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            uploads: AtomicUsize::new(0),
            prompts: AtomicUsize::new(0),
            ranged_views: AtomicUsize::new(0),
            executed: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = routes::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("stand-in ComfyUI stopped: {e}");
            }
        });
        let worker = tokio::spawn(exec::worker(shared.clone()));
        Ok(Self {
            url,
            shared,
            tasks: vec![server, worker],
            _dir: dir,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    pub fn input_dir(&self) -> &Path {
        &self.shared.input_dir
    }

    pub fn output_dir(&self) -> &Path {
        &self.shared.output_dir
    }

    /// Uploads that reached the server (refused ones included).
    pub fn uploads_received(&self) -> usize {
        self.shared.uploads.load(Ordering::SeqCst)
    }

    /// `POST /prompt` requests answered 200.
    pub fn prompts_accepted(&self) -> usize {
        self.shared.prompts.load(Ordering::SeqCst)
    }

    /// Prompts the worker began executing.
    pub fn prompts_executed(&self) -> usize {
        self.shared.executed.load(Ordering::SeqCst)
    }

    /// `/view` requests that asked for a byte range (resumed downloads).
    pub fn ranged_downloads(&self) -> usize {
        self.shared.ranged_views.load(Ordering::SeqCst)
    }

    pub fn history(&self, prompt_id: &str) -> Option<Value> {
        lock(&self.shared.history).get(prompt_id).cloned()
    }
}

impl Drop for StandinComfy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

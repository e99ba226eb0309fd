//! [`RenderServer`] over studio-comfy: any ComfyUI server (a pod's proxy URL or the user's own).

use crate::backend::{
    FileProgressFn, ProgressFn, PromptStatus, RenderServer, RunEvent, ServerConnector,
};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use studio_comfy::{
    ClientConfig, ComfyClient, ComfyEvent, Follower, Manifest, OutputLimits, SaveAs,
};
use studio_error::{Error, Result};
use tokio_util::sync::CancellationToken;

/// Connects to ComfyUI servers with one client configuration.
#[derive(Debug, Clone, Default)]
pub struct ComfyConnector {
    pub config: ClientConfig,
}

impl ComfyConnector {
    pub fn new(config: ClientConfig) -> Self {
        Self { config }
    }
}

impl ServerConnector for ComfyConnector {
    fn connect(&self, url: &str, manifest: &Path) -> Result<Arc<dyn RenderServer>> {
        let manifest = Manifest::load(manifest)?;
        let client = ComfyClient::with_config(url, self.config.clone())?;
        Ok(Arc::new(ComfyServer {
            client,
            manifest,
            followers: Mutex::new(HashMap::new()),
            entries: Mutex::new(HashMap::new()),
            params: Mutex::new(HashMap::new()),
        }))
    }
}

struct ComfyServer {
    client: ComfyClient,
    manifest: Manifest,
    /// Sockets opened before queueing (so no early event is missed), by prompt id.
    followers: Mutex<HashMap<String, Follower>>,
    /// History entries of finished prompts, for the download.
    entries: Mutex<HashMap<String, Value>>,
    /// The user's parameters by prompt id: they size the cap on each output file.
    params: Mutex<HashMap<String, BTreeMap<String, Value>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl RenderServer for ComfyServer {
    async fn is_up(&self) -> Result<bool> {
        Ok(self.client.system_stats().await.is_ok())
    }

    async fn missing_requirements(&self) -> Result<Vec<String>> {
        let r = self.client.readiness(&self.manifest).await?;
        let mut out: Vec<String> = r
            .missing_nodes
            .iter()
            .map(|n| format!("node {n}"))
            .collect();
        out.extend(
            r.missing_models
                .iter()
                .map(|m| format!("model {} ({})", m.file, m.class_type)),
        );
        Ok(out)
    }

    async fn upload(&self, _input: &str, path: &Path, progress: ProgressFn<'_>) -> Result<String> {
        let f = self
            .client
            .upload(path, |sent, total| progress(sent, Some(total)))
            .await?;
        Ok(f.reference())
    }

    async fn queue(
        &self,
        prompt_id: &str,
        save: &SaveAs,
        uploads: &BTreeMap<String, String>,
        params: &BTreeMap<String, Value>,
    ) -> Result<String> {
        let mut prompt = studio_comfy::fill(&self.manifest, uploads, params)?;
        let prefix = save.server_prefix(&self.manifest);
        studio_comfy::set_output_prefix(&self.manifest, &mut prompt, &prefix);
        let follower = self.client.events().await;
        // Our id, journaled before this POST: after a lost answer the client asks the server
        // whether it took this very prompt instead of sending it twice.
        let queued = self.client.queue_prompt_with_id(&prompt, prompt_id).await?;
        lock(&self.followers).insert(queued.prompt_id.clone(), follower);
        Ok(queued.prompt_id)
    }

    async fn status(&self, prompt_id: &str) -> Result<PromptStatus> {
        if let Some(entry) = self.client.history(prompt_id).await? {
            return Ok(match studio_comfy::history_outcome(&entry) {
                Some(Ok(())) => {
                    lock(&self.entries).insert(prompt_id.to_string(), entry);
                    PromptStatus::Done
                }
                Some(Err(ev)) => {
                    PromptStatus::Failed(studio_comfy::run_error(&ev).message().to_string())
                }
                None => PromptStatus::Running,
            });
        }
        Ok(if self.client.in_queue(prompt_id).await? {
            PromptStatus::Running
        } else {
            PromptStatus::Unknown
        })
    }

    async fn follow(
        &self,
        prompt_id: &str,
        on_event: &(dyn Fn(RunEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<()> {
        let opened = lock(&self.followers).remove(prompt_id);
        let mut follower = match opened {
            Some(f) => f,
            None => self.client.events().await,
        };
        let entry = follower
            .follow(prompt_id, cancel, |ev| match ev {
                ComfyEvent::Started => on_event(RunEvent::Started),
                ComfyEvent::Progress { value, max, .. } => {
                    on_event(RunEvent::Progress { value, max })
                }
                _ => {}
            })
            .await?;
        lock(&self.entries).insert(prompt_id.to_string(), entry);
        Ok(())
    }

    async fn download(
        &self,
        prompt_id: &str,
        save: &SaveAs,
        progress: FileProgressFn<'_>,
    ) -> Result<Vec<PathBuf>> {
        let known = lock(&self.entries).get(prompt_id).cloned();
        let entry = match known {
            Some(e) => e,
            None => self.client.history(prompt_id).await?.ok_or_else(|| {
                Error::new(
                    crate::steps::NO_OUTPUT,
                    "The server no longer lists this render's result. Render again.",
                )
            })?,
        };
        // A resumed render has no parameters here: the cap then assumes the largest allowed.
        let params = lock(&self.params).get(prompt_id).cloned();
        let limits =
            OutputLimits::for_render(&self.manifest, params.as_ref(), self.client.config());
        let listed: Vec<_> = self
            .manifest
            .outputs
            .iter()
            .flat_map(|spec| studio_comfy::outputs_of(&entry, &spec.node))
            .collect();
        limits.check_count(listed.len())?;
        let mut files = Vec::new();
        for out in listed {
            let to = save.local_file(&self.manifest, &out, files.len());
            let name = format!("{}.{}", to.stem, to.ext);
            let each = |r: u64, t: Option<u64>| progress(name.as_str(), r, t);
            let max = limits.max_file_bytes;
            files.push(self.client.download_limited(&out, &to, max, each).await?);
        }
        Ok(files)
    }

    async fn interrupt(&self, prompt_id: &str) -> Result<()> {
        self.client.interrupt(prompt_id).await
    }
}

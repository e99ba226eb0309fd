//! The HTTP side of a ComfyUI server: requests with retries for the answers a proxy gives while
//! ComfyUI starts or a request runs long, plus the small JSON routes.

use crate::config::ClientConfig;
use crate::errors::{self, BAD_RESPONSE, HTTP, TIMEOUT, UNREACHABLE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;
use studio_error::{Error, Result};
use url::Url;

/// A client for one ComfyUI server. Cheap to clone; `client_id` ties websocket events to us.
#[derive(Debug, Clone)]
pub struct ComfyClient {
    pub(crate) http: reqwest::Client,
    /// For uploads: reqwest's read timeout also bounds the wait for the answer's headers,
    /// which for an upload includes sending the whole file; this one allows that time and
    /// the upload's own stall detector and deadline bound the rest.
    pub(crate) upload_http: reqwest::Client,
    base: Url,
    client_id: String,
    pub(crate) config: ClientConfig,
}

/// What `POST /prompt` answered.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedPrompt {
    pub prompt_id: String,
    pub number: Option<i64>,
}

impl ComfyClient {
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_config(base_url, ClientConfig::default())
    }

    pub fn with_config(base_url: &str, config: ClientConfig) -> Result<Self> {
        let mut base = Url::parse(base_url.trim()).map_err(|e| {
            Error::new(
                studio_error::codes::INVALID_INPUT,
                format!("{base_url:?} is not a URL. Give the ComfyUI address, like http://127.0.0.1:8188."),
            )
            .with_source(e)
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::new(
                studio_error::codes::INVALID_INPUT,
                format!("{base_url} must start with http:// or https://."),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = http_client(&config, config.read_timeout)?;
        let upload_http = http_client(&config, config.upload_read_timeout())?;
        Ok(Self {
            http,
            upload_http,
            base,
            client_id: uuid::Uuid::new_v4().to_string(),
            config,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `path` is relative ("prompt", "history/ID"), so a base URL ending in `/api/` works too.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::internal(format!("bad ComfyUI path {path}")).with_source(e))
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        Ok(self.http.request(method, self.url(path)?))
    }

    /// Sends an idempotent request, retrying while the server or its proxy is not answering.
    pub(crate) async fn send_retrying(
        &self,
        what: &str,
        make: impl Fn() -> Result<RequestBuilder>,
    ) -> Result<Response> {
        let mut attempt = 0;
        loop {
            let outcome = make()?.send().await;
            let retryable = match &outcome {
                Ok(r) => matches!(r.status().as_u16(), 502..=504 | 524),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if !retryable || attempt >= self.config.retries {
                return match outcome {
                    Ok(r) => check_status(what, r).await,
                    Err(e) => Err(transport_error(what, &self.base, e)),
                };
            }
            attempt += 1;
            tracing::debug!(what, attempt, "retrying ComfyUI request");
            tokio::time::sleep(self.config.retry_delay * attempt).await;
        }
    }

    pub(crate) async fn get_json(&self, what: &str, path: &str) -> Result<Value> {
        let timeout = self.config.request_timeout;
        let resp = self
            .send_retrying(what, || {
                Ok(self.request(Method::GET, path)?.timeout(timeout))
            })
            .await?;
        read_json(what, resp).await
    }

    /// `GET /system_stats`: answers once ComfyUI itself (not just the proxy) is up.
    #[tracing::instrument(skip(self), fields(url = %self.base))]
    pub async fn system_stats(&self) -> Result<Value> {
        let v = self
            .get_json("read the server's status", "system_stats")
            .await?;
        if v.get("system").is_none() {
            return Err(Error::new(
                BAD_RESPONSE,
                format!(
                    "{} answered, but not like ComfyUI does. Check the URL and port.",
                    self.base
                ),
            ));
        }
        Ok(v)
    }

    /// `GET /object_info`: every node class the server offers with its inputs and choices.
    #[tracing::instrument(skip(self), fields(url = %self.base))]
    pub async fn object_info(&self) -> Result<Value> {
        self.get_json("list the server's nodes", "object_info")
            .await
    }

    /// `GET /history/{id}`: `None` until the prompt has finished (or failed).
    #[tracing::instrument(level = "debug", skip(self), fields(url = %self.base))]
    pub async fn history(&self, prompt_id: &str) -> Result<Option<Value>> {
        let v = self
            .get_json("read the run's history", &format!("history/{prompt_id}"))
            .await?;
        Ok(v.get(prompt_id).cloned())
    }

    /// Whether the prompt is still running or waiting in `GET /queue`.
    #[tracing::instrument(level = "debug", skip(self), fields(url = %self.base))]
    pub async fn in_queue(&self, prompt_id: &str) -> Result<bool> {
        let v = self.get_json("read the queue", "queue").await?;
        let listed = |key: &str| {
            v.get(key).and_then(Value::as_array).is_some_and(|items| {
                items
                    .iter()
                    .any(|item| item.get(1).and_then(Value::as_str) == Some(prompt_id))
            })
        };
        Ok(listed("queue_running") || listed("queue_pending"))
    }

    /// `POST /prompt` with our `client_id` and our own prompt id, so that after a 524 or a cut
    /// connection we can ask the server whether it took the prompt before sending it again.
    #[tracing::instrument(skip(self, prompt), fields(url = %self.base))]
    pub async fn queue_prompt(&self, prompt: &Value) -> Result<QueuedPrompt> {
        self.queue_prompt_with_id(prompt, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// As [`Self::queue_prompt`] with the caller's prompt id (a UUID), so a journal can record
    /// the id before the request goes out.
    #[tracing::instrument(skip(self, prompt), fields(url = %self.base))]
    pub async fn queue_prompt_with_id(
        &self,
        prompt: &Value,
        prompt_id: &str,
    ) -> Result<QueuedPrompt> {
        let prompt_id = prompt_id.to_string();
        let body = json!({"prompt": prompt, "client_id": self.client_id, "prompt_id": prompt_id});
        let mut attempt = 0;
        loop {
            let sent = self
                .request(Method::POST, "prompt")?
                .timeout(self.config.request_timeout)
                .json(&body)
                .send()
                .await;
            let unsure = match &sent {
                Ok(r) => matches!(r.status().as_u16(), 502..=504 | 524),
                Err(_) => true,
            };
            if !unsure {
                break self.queue_answer(sent, prompt, prompt_id).await;
            }
            if self.prompt_known(&prompt_id).await {
                tracing::info!(%prompt_id, "prompt was taken despite a failed answer");
                break Ok(QueuedPrompt {
                    prompt_id,
                    number: None,
                });
            }
            if attempt >= self.config.retries {
                return Err(match sent {
                    Ok(r) => match check_status("queue the render", r).await {
                        Err(e) => e,
                        Ok(_) => Error::internal("a retryable answer counted as success"),
                    },
                    Err(e) => transport_error("queue the render", &self.base, e),
                });
            }
            attempt += 1;
            tokio::time::sleep(self.config.retry_delay * attempt).await;
        }
    }

    async fn queue_answer(
        &self,
        sent: reqwest::Result<Response>,
        prompt: &Value,
        prompt_id: String,
    ) -> Result<QueuedPrompt> {
        let resp = sent.map_err(|e| transport_error("queue the render", &self.base, e))?;
        if resp.status() == StatusCode::BAD_REQUEST {
            let body = read_json("queue the render", resp)
                .await
                .unwrap_or(Value::Null);
            return Err(errors::from_prompt_rejection(&body, prompt));
        }
        let v = read_json(
            "queue the render",
            check_status("queue the render", resp).await?,
        )
        .await?;
        let id = v
            .get("prompt_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(prompt_id);
        Ok(QueuedPrompt {
            prompt_id: id,
            number: v.get("number").and_then(Value::as_i64),
        })
    }

    async fn prompt_known(&self, prompt_id: &str) -> bool {
        matches!(self.in_queue(prompt_id).await, Ok(true))
            || matches!(self.history(prompt_id).await, Ok(Some(_)))
    }

    /// Stops our prompt: interrupts it if running and removes it from the queue if waiting.
    #[tracing::instrument(skip(self), fields(url = %self.base))]
    pub async fn interrupt(&self, prompt_id: &str) -> Result<()> {
        let timeout = self.config.request_timeout;
        let body = json!({"prompt_id": prompt_id});
        self.send_retrying("stop the render", || {
            Ok(self
                .request(Method::POST, "interrupt")?
                .timeout(timeout)
                .json(&body))
        })
        .await?;
        let delete = json!({"delete": [prompt_id]});
        self.send_retrying("remove the render from the queue", || {
            Ok(self
                .request(Method::POST, "queue")?
                .timeout(timeout)
                .json(&delete))
        })
        .await?;
        Ok(())
    }
}

fn http_client(config: &ClientConfig, read_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        // Cloudflare in front of RunPod refuses requests without a User-Agent.
        .user_agent(concat!("SteadyDancer-Studio/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(config.connect_timeout)
        .read_timeout(read_timeout)
        .redirect(crate::redirect::same_origin())
        .build()
        .map_err(|e| Error::internal("could not build the HTTP client").with_source(e))
}

pub(crate) async fn check_status(what: &str, resp: Response) -> Result<Response> {
    let status = resp.status();
    if status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        return Ok(resp);
    }
    let url = resp.url().clone();
    // Only the start of an error page is shown, so only the start is read: a server that
    // sends an endless error body must not hold the job.
    let (body, _) = read_capped(resp, ERROR_BODY_BYTES)
        .await
        .unwrap_or_default();
    let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
    Err(match status.as_u16() {
        524 => Error::new(
            TIMEOUT,
            format!(
                "Could not {what}: the request took longer than the proxy allows (HTTP 524, \
                 about 100 s). Use shorter or smaller inputs, or a server without that proxy."
            ),
        ),
        502..=504 => Error::new(
            UNREACHABLE,
            format!(
                "Could not {what}: ComfyUI at {} is not answering yet (HTTP {status}). Wait \
                 for it to finish starting, then try again.",
                origin(&url)
            ),
        ),
        413 => Error::new(
            errors::UPLOAD_TOO_LARGE,
            format!(
                "Could not {what}: the server refused the file as too large (HTTP 413). Shorten \
                 or shrink the file, or raise ComfyUI's --max-upload-size."
            ),
        ),
        _ => Error::new(
            HTTP,
            format!("Could not {what}: ComfyUI answered HTTP {status}: {snippet}"),
        ),
    })
}

pub(crate) async fn read_json(what: &str, resp: Response) -> Result<Value> {
    let base = resp.url().clone();
    let not_json = || {
        Error::new(
            BAD_RESPONSE,
            format!("Could not {what}: the server's answer was not ComfyUI's JSON. Check the URL."),
        )
    };
    let body = match read_capped(resp, JSON_BYTES).await {
        Ok((b, false)) => b,
        Ok((_, true)) => {
            return Err(Error::new(
                BAD_RESPONSE,
                format!(
                    "Could not {what}: the server's answer went on past {} MB, far more than \
                     ComfyUI sends; it was not read further. Check the URL.",
                    JSON_BYTES >> 20
                ),
            ));
        }
        Err(e) => return Err(transport_error(what, &base, e)),
    };
    serde_json::from_slice(&body).map_err(|e| not_json().with_source(e))
}

/// The start of an error page worth reading.
const ERROR_BODY_BYTES: usize = 16 * 1024;
/// Larger than any JSON ComfyUI sends (`/object_info` with many model lists is a few MB).
const JSON_BYTES: usize = 64 << 20;

/// Reads a body up to `limit` bytes; `true` when the server had more to send.
async fn read_capped(mut resp: Response, limit: usize) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

pub(crate) fn transport_error(what: &str, base: &Url, e: reqwest::Error) -> Error {
    if e.is_redirect() {
        return crate::redirect::refused(what, base, e);
    }
    let code = if e.is_timeout() { TIMEOUT } else { UNREACHABLE };
    let why = if e.is_timeout() {
        "did not answer in time"
    } else {
        "could not be reached"
    };
    Error::new(
        code,
        format!(
            "Could not {what}: ComfyUI at {} {why}. Check the URL and that the server is running.",
            origin(base)
        ),
    )
    .with_source(e)
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

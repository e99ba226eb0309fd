//! The RunPod REST v2 client: bearer auth, a User-Agent (Cloudflare answers 403 without one),
//! timeouts, and retries for 429 (honouring `Retry-After`) and for 5xx and network failures.

use crate::error::{self, codes};
use crate::retry::RetryPolicy;
use crate::types::{CreatePodRequest, GpuType, ListGpus, ListPods, Pod};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use studio_error::{Error, Result, Sensitive};
use url::Url;

pub const DEFAULT_API_URL: &str = "https://api.runpod.io/v2";
pub const USER_AGENT: &str = concat!("SteadyDancerStudio/", env!("CARGO_PKG_VERSION"));

/// See `stream_http`.
const STREAM_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// RunPod's API has no reason to send the key's bearer elsewhere (reqwest drops the header on
/// a cross-host hop, but the request itself should not go either).
fn same_origin() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if first.as_ref() != Some(&attempt.url().origin()) || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

#[derive(Debug, Clone)]
pub struct RunPodClient {
    http: reqwest::Client,
    /// For log streams: the per-request timeout of `http` would cut a stream that is meant to
    /// stay open, so this one only bounds connecting; idleness is bounded by the reader.
    pub(crate) stream_http: reqwest::Client,
    /// Always ends in `/` so relative joins keep the `/v2` prefix.
    base: Url,
    pub(crate) key: Sensitive<String>,
    pub(crate) retry: RetryPolicy,
}

/// Whether a request may be sent again after a failure that may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    Safe,
    /// A create: resending after a 5xx could make a second pod. The caller looks the pod up by
    /// name instead; only 429 (never processed) and connect failures are retried here.
    OnlyIfUnprocessed,
}

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl RunPodClient {
    pub fn new(base_url: Url, key: Sensitive<String>) -> Result<Self> {
        Self::with_policy(base_url, key, RetryPolicy::default())
    }

    pub fn with_policy(base_url: Url, key: Sensitive<String>, retry: RetryPolicy) -> Result<Self> {
        let mut base = base_url;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let connect = retry
            .request_timeout
            .min(std::time::Duration::from_secs(10));
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(retry.request_timeout)
            .read_timeout(retry.request_timeout)
            .connect_timeout(connect)
            .redirect(same_origin())
            .build()
            .map_err(|e| Error::internal("Could not set up the HTTP client.").with_source(e))?;
        // The log reader bounds a stream's idleness itself and reopens it; this read timeout is
        // only the backstop, well past any idle period a reader waits out.
        let stream_http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(connect)
            .read_timeout(STREAM_READ_TIMEOUT)
            .redirect(same_origin())
            .build()
            .map_err(|e| Error::internal("Could not set up the HTTP client.").with_source(e))?;
        Ok(Self {
            http,
            stream_http,
            base,
            key,
            retry,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::new("config.bad_url", "The RunPod address cannot take a path."))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        replay: Replay,
        what: &str,
    ) -> Result<Answer> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.key.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            let last = attempt >= self.retry.max_attempts;
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp
                        .bytes()
                        .await
                        .map_err(|e| error::network(what, e))?
                        .to_vec();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error() && replay == Replay::Safe);
                    if !retryable || last {
                        return Ok(Answer { status, body });
                    }
                    let wait = if status == StatusCode::TOO_MANY_REQUESTS {
                        self.retry.retry_after(&headers, attempt)
                    } else {
                        self.retry.backoff(attempt)
                    };
                    tracing::info!(%status, attempt, wait_ms = wait.as_millis() as u64, "RunPod asked to retry");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    let retryable = replay == Replay::Safe || e.is_connect();
                    if !retryable || last {
                        return Err(error::network(what, e));
                    }
                    let wait = self.retry.backoff(attempt);
                    tracing::info!(error = %e, attempt, "RunPod unreachable; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        replay: Replay,
        what: &str,
    ) -> Result<T> {
        let answer = self.send(method, url, body, replay, what).await?;
        if !answer.status.is_success() {
            return Err(error::from_status(answer.status, &answer.body, what));
        }
        serde_json::from_slice(&answer.body).map_err(|e| error::bad_body(what, e))
    }

    #[tracing::instrument(skip(self))]
    pub async fn list_pods(&self) -> Result<Vec<Pod>> {
        let url = self.url(&["pods"])?;
        let list: ListPods = self
            .json(Method::GET, url, None, Replay::Safe, "list pods")
            .await?;
        Ok(list.pods)
    }

    /// `None` when RunPod no longer knows the pod.
    #[tracing::instrument(skip(self))]
    pub async fn get_pod(&self, id: &str) -> Result<Option<Pod>> {
        let url = self.url(&["pods", id])?;
        match self
            .json::<Pod>(Method::GET, url, None, Replay::Safe, "read the pod")
            .await
        {
            Ok(pod) => Ok(Some(pod)),
            Err(e) if e.is(codes::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One create for one GPU type. After an error the pod may exist anyway (a 500 that
    /// created it): the caller looks it up by name before trying anything else.
    #[tracing::instrument(skip(self, request), fields(name = %request.name, gpu = %request.gpu.id))]
    pub async fn create_pod(&self, request: &CreatePodRequest) -> Result<Pod> {
        let url = self.url(&["pods"])?;
        let body = serde_json::to_value(request)
            .map_err(|e| Error::internal("Could not encode the pod request.").with_source(e))?;
        self.json(
            Method::POST,
            url,
            Some(&body),
            Replay::OnlyIfUnprocessed,
            "create the pod",
        )
        .await
    }

    /// Terminates through `DELETE`. `Ok(false)` when the pod was already gone (404).
    #[tracing::instrument(skip(self))]
    pub async fn delete_pod(&self, id: &str) -> Result<bool> {
        let url = self.url(&["pods", id])?;
        self.expect_no_content(Method::DELETE, url, None, "terminate the pod")
            .await
    }

    /// Terminates through `POST /action {"action":"terminate"}`. `Ok(false)` when already gone.
    #[tracing::instrument(skip(self))]
    pub async fn terminate_pod(&self, id: &str) -> Result<bool> {
        let url = self.url(&["pods", id, "action"])?;
        let body = serde_json::json!({"action": "terminate"});
        self.expect_no_content(Method::POST, url, Some(&body), "terminate the pod")
            .await
    }

    pub(crate) async fn expect_no_content(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<bool> {
        let answer = self.send(method, url, body, Replay::Safe, what).await?;
        match answer.status {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(error::from_status(s, &answer.body, what)),
        }
    }

    /// Prices and availability for pods, read at run time.
    #[tracing::instrument(skip(self))]
    pub async fn list_gpus(&self) -> Result<Vec<GpuType>> {
        let mut url = self.url(&["catalog", "gpus"])?;
        url.query_pairs_mut()
            .append_pair("include", "AVAILABILITY")
            .append_pair("product", "POD");
        let list: ListGpus = self
            .json(Method::GET, url, None, Replay::Safe, "list GPU types")
            .await?;
        Ok(list.gpus)
    }

    /// For Settings: a wrong key is reported at once as `runpod.unauthorized`; a key without
    /// pod access as `runpod.forbidden`.
    #[tracing::instrument(skip(self))]
    pub async fn validate_key(&self) -> Result<()> {
        self.list_pods().await.map(|_| ())
    }
}

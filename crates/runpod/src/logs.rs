//! `GET /v2/pods/{id}/logs`: a pod's log as Server-Sent Events, one JSON line per event
//! (`{source, line, ts}`, the event id a resume cursor). [`PodLogs`] follows it across dropped
//! or stalled connections with `Last-Event-ID`, so every line arrives once.

use crate::client::RunPodClient;
use crate::error::{self, codes};
use crate::sse::{SseEvent, SseParser};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde::Deserialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use studio_error::{Error, Result};

/// Which of the pod's logs to stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// The container's stdout and stderr.
    Container,
    /// The host's lifecycle lines (image pull, start).
    System,
}

impl LogSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::System => "system",
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogLine {
    /// The SSE event id: what `Last-Event-ID` resumes after.
    #[serde(skip)]
    pub id: Option<String>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub line: String,
    #[serde(default)]
    pub ts: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogOptions {
    /// `None` streams both sources.
    pub source: Option<LogSource>,
    /// Lines of history on a first connection (RunPod sends 100 when unset; at most 5000).
    /// Ignored on a resume, where the cursor decides.
    pub tail: Option<u32>,
    /// No byte at all for this long counts as a dropped connection: a stalled stream is
    /// reopened instead of hanging.
    pub idle_timeout: Duration,
    /// Resume after this event id (for instance one kept by an earlier reader).
    pub last_event_id: Option<String>,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            source: Some(LogSource::Container),
            tail: None,
            idle_timeout: Duration::from_secs(60),
            last_event_id: None,
        }
    }
}

const WHAT: &str = "read the pod's log";

/// One open connection to the log stream.
#[derive(Debug)]
pub struct LogConnection {
    resp: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<LogLine>,
    idle_timeout: Duration,
}

impl LogConnection {
    /// The next line; `Ok(None)` when the server ended the stream. A network failure or
    /// `idle_timeout` without a byte is `runpod.unavailable`.
    pub async fn next_line(&mut self) -> Result<Option<LogLine>> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                return Ok(Some(line));
            }
            let chunk = tokio::time::timeout(self.idle_timeout, self.resp.chunk())
                .await
                .map_err(|_| {
                    Error::new(
                        codes::UNAVAILABLE,
                        format!(
                            "RunPod's log stream sent nothing for {} s; it will be reopened.",
                            self.idle_timeout.as_secs()
                        ),
                    )
                })?
                .map_err(|e| error::network(WHAT, e))?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            let mut events = Vec::new();
            self.parser.push(&chunk, &mut events);
            self.ready.extend(events.into_iter().filter_map(to_line));
        }
    }

    /// The reconnection delay the server asked for with `retry:`.
    pub fn retry_hint(&self) -> Option<Duration> {
        self.parser.retry()
    }
}

fn to_line(ev: SseEvent) -> Option<LogLine> {
    match serde_json::from_str::<LogLine>(&ev.data) {
        Ok(mut line) => {
            line.id = ev.id;
            Some(line)
        }
        Err(e) => {
            tracing::debug!(event = %ev.event, error = %e, "log event without a log line; skipped");
            None
        }
    }
}

/// A failed open: the error, and how long the server asked us to wait (429 `Retry-After`).
struct OpenFailure {
    error: Error,
    wait: Option<Duration>,
}

impl RunPodClient {
    /// Opens the pod's log stream once; see [`RunPodClient::follow_pod_logs`] for a reader
    /// that reopens it.
    #[tracing::instrument(skip(self, options), fields(last_event_id = ?options.last_event_id))]
    pub async fn open_pod_logs(&self, pod_id: &str, options: &LogOptions) -> Result<LogConnection> {
        self.connect_logs(pod_id, options)
            .await
            .map_err(|f| f.error)
    }

    /// Follows the pod's log from `options.last_event_id` (or the last `tail` lines).
    pub fn follow_pod_logs(&self, pod_id: &str, options: LogOptions) -> PodLogs {
        PodLogs {
            client: self.clone(),
            pod_id: pod_id.to_string(),
            last_event_id: options.last_event_id.clone(),
            options,
            conn: None,
            failures: 0,
            reconnects: 0,
            opened: Instant::now(),
            lines_on_conn: 0,
            last_error: None,
        }
    }

    async fn connect_logs(
        &self,
        pod_id: &str,
        options: &LogOptions,
    ) -> std::result::Result<LogConnection, OpenFailure> {
        let fail = |error| OpenFailure { error, wait: None };
        let mut url = self.url(&["pods", pod_id, "logs"]).map_err(fail)?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(source) = options.source {
                q.append_pair("source", source.as_str());
            }
            if let (Some(tail), None) = (options.tail, &options.last_event_id) {
                q.append_pair("tail", &tail.min(5000).to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut req = self
            .stream_http
            .get(url)
            .bearer_auth(self.key.expose())
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if let Some(id) = &options.last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = tokio::time::timeout(self.retry.request_timeout, req.send())
            .await
            .map_err(|_| {
                fail(Error::new(
                    codes::UNAVAILABLE,
                    format!(
                        "RunPod did not answer within {} s when asked to {WHAT}.",
                        self.retry.request_timeout.as_secs()
                    ),
                ))
            })?
            .map_err(|e| fail(error::network(WHAT, e)))?;
        let status = resp.status();
        if !status.is_success() {
            let wait = (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| self.retry.retry_after(resp.headers(), 1));
            let body = tokio::time::timeout(self.retry.request_timeout, resp.bytes())
                .await
                .ok()
                .and_then(|b| b.ok())
                .unwrap_or_default();
            return Err(OpenFailure {
                error: error::from_status(status, &body, WHAT),
                wait,
            });
        }
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Err(fail(Error::new(
                codes::BAD_RESPONSE,
                format!(
                    "RunPod's answer to {WHAT} was not an event stream. The app may need an update."
                ),
            )));
        }
        Ok(LogConnection {
            resp,
            parser: SseParser::new(),
            ready: VecDeque::new(),
            idle_timeout: options.idle_timeout,
        })
    }
}

/// Reads a pod's log line by line, reopening the stream after a drop, a stall or a 5xx/429
/// with `Last-Event-ID` so that no line is lost or repeated. Gives up with an error after
/// `RetryPolicy::max_attempts` failures in a row, or at once on 401/403/404.
#[derive(Debug)]
pub struct PodLogs {
    client: RunPodClient,
    pod_id: String,
    options: LogOptions,
    last_event_id: Option<String>,
    conn: Option<LogConnection>,
    failures: u32,
    reconnects: u32,
    opened: Instant,
    lines_on_conn: u64,
    last_error: Option<Error>,
}

impl PodLogs {
    /// The next line, waiting for it as long as the stream stays healthy.
    pub async fn next(&mut self) -> Result<LogLine> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                self.open().await?;
                continue;
            };
            match conn.next_line().await {
                Ok(Some(line)) => {
                    // A server that replays the event it resumes from must not repeat it.
                    if self.lines_on_conn == 0
                        && line.id.is_some()
                        && line.id == self.last_event_id
                        && self.reconnects > 0
                    {
                        continue;
                    }
                    self.lines_on_conn += 1;
                    self.failures = 0;
                    if line.id.is_some() {
                        self.last_event_id = line.id.clone();
                    }
                    return Ok(line);
                }
                Ok(None) => self.dropped(None).await?,
                Err(e) => self.dropped(Some(e)).await?,
            }
        }
    }

    /// The id of the last line handed out.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// How many times the stream was reopened after a drop.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    async fn open(&mut self) -> Result<()> {
        let options = LogOptions {
            last_event_id: self.last_event_id.clone(),
            ..self.options.clone()
        };
        match self.client.connect_logs(&self.pod_id, &options).await {
            Ok(conn) => {
                self.conn = Some(conn);
                self.opened = Instant::now();
                self.lines_on_conn = 0;
                Ok(())
            }
            Err(f) => {
                let retryable = f.error.is(codes::UNAVAILABLE) || f.error.is(codes::RATE_LIMITED);
                self.failures += 1;
                if !retryable || self.failures >= self.client.retry.max_attempts {
                    return Err(f.error);
                }
                let wait = f
                    .wait
                    .unwrap_or_else(|| self.client.retry.backoff(self.failures));
                tracing::info!(error = %f.error.chain(), wait_ms = wait.as_millis() as u64, "opening the log stream failed; retrying");
                self.last_error = Some(f.error);
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }

    /// The connection ended: reopen after a pause. A connection that delivered lines or
    /// stayed open a full idle period was healthy, so only quick empty ones count as failures.
    async fn dropped(&mut self, err: Option<Error>) -> Result<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        self.reconnects += 1;
        let healthy = self.lines_on_conn > 0 || self.opened.elapsed() >= self.options.idle_timeout;
        if !healthy {
            self.failures += 1;
        }
        if let Some(e) = err {
            tracing::info!(error = %e.chain(), last_event_id = ?self.last_event_id, "log stream dropped; resuming");
            self.last_error = Some(e);
        } else {
            tracing::debug!(last_event_id = ?self.last_event_id, "log stream ended; resuming");
        }
        if self.failures >= self.client.retry.max_attempts {
            return Err(self.last_error.take().unwrap_or_else(|| {
                Error::new(
                    codes::UNAVAILABLE,
                    "RunPod's log stream keeps closing. The pod is followed by its status instead.",
                )
            }));
        }
        let wait = conn
            .retry_hint()
            .unwrap_or_else(|| self.client.retry.backoff(self.failures.max(1)))
            .min(self.client.retry.max_delay);
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

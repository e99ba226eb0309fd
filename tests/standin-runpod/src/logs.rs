//! `GET /v2/pods/{id}/logs` as RunPod serves it: Server-Sent Events, one `{ts, source, line}`
//! JSON payload per event, ids `<ts>/<sequence>` that `Last-Event-ID` resumes after, `tail`
//! lines of history on a fresh connection, and query parameters checked against the contract.

use crate::api::problem;
use crate::shared::Shared;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RunPod's default backfill when `tail` is not given.
const DEFAULT_TAIL: usize = 100;
/// A comment this often keeps idle connections (and readers' idle timers) alive.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How often a waiting stream looks at the pod again (terminated pods end their stream).
const LOOK_AGAIN: Duration = Duration::from_millis(100);

fn invalid(errors: Vec<String>) -> Response {
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Request validation failed.",
        Some(errors),
    )
}

/// The query as the contract describes it; 422 with every broken rule otherwise.
fn check_query(shared: &Shared, q: &HashMap<String, String>) -> Result<(), Vec<String>> {
    let mut checks: Vec<(&str, Value)> = Vec::new();
    let mut errors = Vec::new();
    if let Some(s) = q.get("source") {
        checks.push(("LogSourceParam", json!(s)));
    }
    if let Some(t) = q.get("tail") {
        match t.parse::<i64>() {
            Ok(n) => checks.push(("LogTail", json!(n))),
            Err(_) => errors.push(format!("tail: {t:?} is not an integer")),
        }
    }
    if let Some(s) = q.get("since") {
        if OffsetDateTime::parse(s, &Rfc3339).is_err() {
            errors.push(format!("since: {s:?} is not an RFC 3339 date-time"));
        }
        checks.push(("LogSince", json!(s)));
    }
    if let Some(api) = shared.openapi() {
        for (param, value) in checks {
            if let Err(e) = api.check_parameter(param, &value) {
                errors.extend(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// What a connection starts from.
enum Cursor {
    /// After the event with this sequence number.
    After(u64),
    /// After lines stamped at or before this time.
    Since(OffsetDateTime),
    /// The last N lines printed so far.
    Tail(usize),
}

fn cursor(q: &HashMap<String, String>, headers: &HeaderMap) -> Cursor {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(id) = last {
        // Ids are `<ts>/<seq>`; a bare timestamp (as the contract also allows) works too.
        if let Some(seq) = id.rsplit_once('/').and_then(|(_, s)| s.parse::<u64>().ok()) {
            return Cursor::After(seq);
        }
        if let Ok(t) = OffsetDateTime::parse(id, &Rfc3339) {
            return Cursor::Since(t);
        }
    }
    if let Some(t) = q
        .get("since")
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    {
        return Cursor::Since(t);
    }
    Cursor::Tail(
        q.get("tail")
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(DEFAULT_TAIL),
    )
}

/// When a line is stamped: milliseconds, so that ids and `since` agree on equal times.
fn stamp_time(created_at: OffsetDateTime, at: Duration) -> OffsetDateTime {
    let t = created_at + at;
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// RFC 3339 with exactly three decimals in UTC, so stamps also sort as text.
fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

struct Stream {
    shared: Shared,
    pod_id: String,
    source: Option<String>,
    /// Index into the pod's lines of the next one to consider.
    next: usize,
    sent: u32,
    drop_after: Option<u32>,
    last_byte: Instant,
    /// The cut fault sent its half event: the connection dies next.
    cut: bool,
    done: bool,
}

/// What the stream does next.
enum Step {
    Send(Bytes),
    /// Cut the connection after these bytes (the drop fault).
    Cut(Bytes),
    Wait(Duration),
    End,
}

impl Stream {
    fn step(&mut self) -> Step {
        let now = Instant::now();
        let mut st = self.shared.lock();
        st.settle(now);
        let st = &mut *st;
        let Some(pod) = st.pods.iter().find(|p| p.id == self.pod_id) else {
            return Step::End;
        };
        if pod.is_gone() {
            return Step::End;
        }
        let printed = pod.log_printed(now);
        while self.next < printed {
            let i = self.next;
            self.next += 1;
            let entry = &pod.boot.lines[i];
            if self.source.as_deref().is_some_and(|s| s != entry.source) {
                continue;
            }
            let ts = stamp(stamp_time(pod.created_at, entry.at));
            let id = format!("{ts}/{:012}", i + 1);
            let data = json!({"ts": ts, "source": entry.source, "line": entry.line});
            let event = format!("id: {id}\ndata: {data}\n\n");
            if self.drop_after.is_some_and(|n| self.sent >= n) {
                // Half an event, then the connection dies: that event must be sent again.
                let half = event.len() / 2;
                return Step::Cut(Bytes::from(event[..half].to_string()));
            }
            self.sent += 1;
            self.last_byte = now;
            st.log_served.push((self.pod_id.clone(), i as u64 + 1));
            return Step::Send(Bytes::from(event));
        }
        if self.last_byte.elapsed() >= KEEP_ALIVE {
            self.last_byte = now;
            return Step::Send(Bytes::from_static(b": keep-alive\n\n"));
        }
        let age = now.saturating_duration_since(pod.created);
        let until_next = pod
            .boot
            .lines
            .get(self.next)
            .map_or(LOOK_AGAIN, |l| l.at.saturating_sub(age));
        Step::Wait(until_next.min(LOOK_AGAIN))
    }
}

pub async fn stream(
    AxState(shared): AxState<Shared>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(errors) = check_query(&shared, &q) {
        return invalid(errors);
    }
    let now = Instant::now();
    let (start, drop_after) = {
        let mut st = shared.lock();
        st.settle(now);
        let unavailable = st.faults.logs_unavailable;
        let drop_after = st.faults.drop_log_stream_after;
        let Some(pod) = st.live_pod_mut(&id) else {
            return problem(StatusCode::NOT_FOUND, &format!("pod {id} not found"), None);
        };
        if unavailable {
            return problem(
                StatusCode::NOT_FOUND,
                &format!("logs for pod {id} not found"),
                None,
            );
        }
        let source = q.get("source").map(String::as_str);
        let printed = pod.log_printed(now);
        let start = match cursor(&q, &headers) {
            Cursor::After(seq) => (seq as usize).min(printed),
            Cursor::Since(t) => pod
                .boot
                .lines
                .iter()
                .position(|l| stamp_time(pod.created_at, l.at) > t)
                .unwrap_or(pod.boot.lines.len()),
            Cursor::Tail(n) => {
                let mine: Vec<usize> = (0..printed)
                    .filter(|&i| source.is_none_or(|s| s == pod.boot.lines[i].source))
                    .collect();
                match mine.len().checked_sub(n) {
                    None => 0,
                    Some(k) => mine.get(k).copied().unwrap_or(printed),
                }
            }
        };
        (start, drop_after)
    };
    let state = Stream {
        shared,
        pod_id: id,
        source: q.get("source").cloned(),
        next: start,
        sent: 0,
        drop_after,
        last_byte: Instant::now(),
        cut: false,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        if s.cut {
            // A pause lets the half event reach the socket; the error then kills the
            // connection without the end of the chunked body, as a dropped connection looks.
            tokio::time::sleep(Duration::from_millis(30)).await;
            s.done = true;
            let cut = std::io::Error::other("log stream cut by a fault");
            return Some((vec![Err(cut)], s));
        }
        loop {
            match s.step() {
                Step::Send(b) => return Some((vec![Ok(b)], s)),
                Step::Cut(b) => {
                    s.cut = true;
                    return Some((vec![Ok(b)], s));
                }
                Step::Wait(d) => tokio::time::sleep(d).await,
                Step::End => return None,
            }
        }
    });
    let body = futures_util::StreamExt::flat_map(body, futures_util::stream::iter);
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

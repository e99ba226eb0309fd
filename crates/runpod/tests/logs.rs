//! Following a pod's log stream over real sockets: against the stand-in (bootstrap progress,
//! cut connections resumed with `Last-Event-ID`, 404) and against a raw server that stalls.
#![allow(clippy::unwrap_used)]

use standin_runpod::{StandIn, StandInConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use studio_error::Sensitive;
use studio_runpod::{
    Cloud, CreateGpu, CreatePodRequest, LogLine, LogOptions, LogSource, PodLogs, RetryPolicy,
    RunPodClient, codes,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODELS: &str = "diffusion_models/a.safetensors 1000 aa r1 repo a\nvae/b.safetensors 500 bb r2 repo b\nclip_vision/c.safetensors 200 cc r3 repo c";

async fn setup() -> (StandIn, RunPodClient) {
    let s = StandIn::start(StandInConfig::default()).await.unwrap();
    let c = RunPodClient::with_policy(
        s.api_url(),
        Sensitive::new(s.api_key().to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    (s, c)
}

async fn bootstrap_pod(c: &RunPodClient) -> String {
    let req = CreatePodRequest {
        name: "sds-logs".to_string(),
        image: "runpod/pytorch:2.8.0".to_string(),
        args: None,
        disk: 20,
        ports: vec!["8188/http".to_string()],
        env: BTreeMap::from([("SDS_MODELS".to_string(), MODELS.to_string())]),
        cloud: Cloud::Secure,
        data_center_ids: vec![],
        gpu: CreateGpu {
            id: "NVIDIA A100 80GB PCIe".to_string(),
            count: 1,
            allowed_cuda_versions: vec![],
            min_cuda_version: None,
        },
        mounts: None,
    };
    c.create_pod(&req).await.unwrap().id
}

/// Lines until ComfyUI's "To see the GUI" line (the stand-in's last for a started pod).
async fn until_gui(logs: &mut PodLogs) -> Vec<LogLine> {
    let mut out = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(10), logs.next())
            .await
            .expect("the log keeps coming")
            .unwrap();
        let last = line.line.contains("To see the GUI");
        out.push(line);
        if last {
            return out;
        }
    }
}

fn seq(l: &LogLine) -> u64 {
    l.id.as_deref()
        .and_then(|id| id.rsplit_once('/'))
        .and_then(|(_, s)| s.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn follows_a_bootstrap_pod_line_by_line() {
    let (_s, c) = setup().await;
    let pod = bootstrap_pod(&c).await;
    let mut logs = c.follow_pod_logs(
        &pod,
        LogOptions {
            source: None,
            tail: Some(5000),
            ..LogOptions::default()
        },
    );
    let lines = until_gui(&mut logs).await;
    assert!(lines.iter().any(|l| l.source == "system"));
    assert!(lines.iter().any(|l| l.line.starts_with("##sds ")));
    assert!(lines.windows(2).all(|w| seq(&w[0]) + 1 == seq(&w[1])));
    assert_eq!(logs.last_event_id(), lines.last().unwrap().id.as_deref());
    assert_eq!(logs.reconnects(), 0);
}

#[tokio::test]
async fn cut_connections_resume_with_last_event_id_and_lose_or_repeat_nothing() {
    let (s, c) = setup().await;
    let pod = bootstrap_pod(&c).await;
    s.set_faults(|f| f.drop_log_stream_after = Some(4));
    let mut logs = c.follow_pod_logs(
        &pod,
        LogOptions {
            source: Some(LogSource::Container),
            tail: Some(5000),
            ..LogOptions::default()
        },
    );
    let cut = until_gui(&mut logs).await;
    assert!(logs.reconnects() >= 3, "{}", logs.reconnects());
    s.set_faults(|f| f.drop_log_stream_after = None);
    let mut whole = c.follow_pod_logs(
        &pod,
        LogOptions {
            tail: Some(5000),
            ..LogOptions::default()
        },
    );
    let reference = until_gui(&mut whole).await;
    assert_eq!(cut, reference);
    assert!(cut.iter().all(|l| l.source == "container"));
}

#[tokio::test]
async fn an_unknown_pod_is_not_found_at_once() {
    let (_s, c) = setup().await;
    let began = Instant::now();
    let err = c
        .follow_pod_logs("nopod", LogOptions::default())
        .next()
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::NOT_FOUND);
    assert!(began.elapsed() < Duration::from_secs(2));
}

/// A raw HTTP server: the first connection sends one event and then nothing at all; later
/// ones send the event after the one named by `Last-Event-ID`. Returns the headers it saw.
async fn stalling_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut byte = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut byte).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&byte[..n]);
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let last = head
                    .lines()
                    .find_map(|l| l.strip_prefix("last-event-id: "))
                    .map(|v| v.trim().to_string());
                seen.lock().unwrap().push(head.clone());
                let next = last.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0) + 1;
                let event = format!(
                    "id: {next}\ndata: {{\"ts\":\"2026-01-01T00:00:0{next}Z\",\"source\":\"container\",\"line\":\"line {next}\"}}\n\n"
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n{event}"
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                // Then silence, connection open: a stalled stream.
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    (format!("http://{addr}/v2"), seen)
}

#[tokio::test]
async fn a_stalled_stream_is_reopened_after_the_idle_timeout() {
    let (url, seen) = stalling_server().await;
    let c = RunPodClient::with_policy(
        url::Url::parse(&url).unwrap(),
        Sensitive::new("rpa_SECRET_KEY_1234".to_string()),
        RetryPolicy::fast(),
    )
    .unwrap();
    let mut logs = c.follow_pod_logs(
        "pod1",
        LogOptions {
            idle_timeout: Duration::from_millis(200),
            ..LogOptions::default()
        },
    );
    let began = Instant::now();
    let first = logs.next().await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), logs.next())
        .await
        .expect("the stall does not hang the reader")
        .unwrap();
    assert_eq!(first.line, "line 1");
    assert_eq!(second.line, "line 2");
    assert_eq!(second.id.as_deref(), Some("2"));
    assert!(began.elapsed() >= Duration::from_millis(200));
    assert_eq!(logs.reconnects(), 1);
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[0].starts_with("GET /v2/pods/pod1/logs?source=container "),
        "{}",
        heads[0]
    );
    assert!(heads[0].contains("accept: text/event-stream"));
    assert!(!heads[0].to_ascii_lowercase().contains("last-event-id"));
    assert!(heads[1].contains("last-event-id: 1\r\n"), "{}", heads[1]);
    assert!(heads[1].contains("authorization: Bearer rpa_SECRET_KEY_1234"));
}

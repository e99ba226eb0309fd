//! The pod log stream: SSE as the contract describes it, the bootstrap's progress for pods that
//! carry it, `Last-Event-ID` resumption, and the faults.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use standin_runpod::{OpenApi, StandIn, StandInConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MODELS: &str = "diffusion_models/WanVideo/SteadyDancer/sd.safetensors 16400000000 aa11 r1 Kijai/x sd.safetensors\n\
text_encoders/umt5.safetensors 11400000000 bb22 r2 Kijai/x umt5.safetensors\n\
vae/wanvideo/vae.safetensors 254000000 cc33 r3 Kijai/x vae.safetensors";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("logs-test/1")
        .build()
        .unwrap()
}

async fn upstream() -> url::Url {
    let app = Router::new().route(
        "/system_stats",
        get(|| async { axum::Json(json!({"system": {}})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}

async fn standin() -> StandIn {
    let up = upstream().await;
    StandIn::start(StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(up.clone()))),
        ..StandInConfig::default()
    })
    .await
    .unwrap()
}

async fn create(s: &StandIn, env: Value) -> String {
    let body = json!({
        "name": "sds-logs",
        "image": "runpod/pytorch:2.8.0",
        "ports": ["8188/http"],
        "env": env,
        "gpu": {"id": "NVIDIA A100 80GB PCIe", "count": 1}
    });
    let resp = client()
        .post(format!("{}/pods", s.api_url()))
        .bearer_auth(s.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let pod: Value = resp.json().await.unwrap();
    pod["id"].as_str().unwrap().to_string()
}

#[derive(Debug, Clone)]
struct Ev {
    id: String,
    data: Value,
}

/// Reads events from one connection until `stop` says so, the stream ends or `limit` passes.
/// Also returns whether the connection ended in an error (a cut).
async fn read(
    resp: reqwest::Response,
    limit: Duration,
    mut stop: impl FnMut(&Ev) -> bool,
) -> (Vec<Ev>, bool) {
    let mut resp = resp;
    let mut buf = String::new();
    let mut out = Vec::new();
    let end = Instant::now() + limit;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let chunk = match tokio::time::timeout(left, resp.chunk()).await {
            Err(_) => return (out, false),
            Ok(Err(_)) => return (out, true),
            Ok(Ok(None)) => return (out, false),
            Ok(Ok(Some(c))) => c,
        };
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(pos) = buf.find("\n\n") {
            let block: String = buf.drain(..pos + 2).collect();
            let mut id = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = v.to_string();
                }
            }
            if data.is_empty() {
                continue;
            }
            let ev = Ev {
                id,
                data: serde_json::from_str(&data).unwrap(),
            };
            let done = stop(&ev);
            out.push(ev);
            if done {
                return (out, false);
            }
        }
    }
}

async fn open(s: &StandIn, pod: &str, query: &str, last: Option<&str>) -> reqwest::Response {
    let mut req = client()
        .get(format!("{}/pods/{pod}/logs{query}", s.api_url()))
        .bearer_auth(s.api_key());
    if let Some(id) = last {
        req = req.header("Last-Event-ID", id);
    }
    req.send().await.unwrap()
}

fn sds(ev: &Ev) -> Option<Value> {
    let line = ev.data["line"].as_str()?;
    serde_json::from_str(line.strip_prefix("##sds ")?).ok()
}

#[tokio::test]
async fn a_bootstrap_pod_reports_every_stage_and_answers_only_after_start() {
    let s = standin().await;
    let pod = create(&s, json!({"SDS_MODELS": MODELS})).await;
    let resp = open(&s, &pod, "?source=container", None).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-accel-buffering"], "no");
    let proxy = s
        .pod_url_template()
        .replace("{pod_id}", &pod)
        .replace("{port}", "8188");
    let http = client();
    let mut stages = Vec::new();
    let (events, cut) = read(resp, Duration::from_secs(10), |ev| {
        if let Some(v) = sds(ev)
            && v["event"] == "stage"
        {
            stages.push(v["stage"].as_str().unwrap().to_string());
        }
        ev.data["line"].as_str().unwrap().contains("To see the GUI")
    })
    .await;
    assert!(!cut);
    assert_eq!(stages, ["prepare", "install", "python", "models", "start"]);
    let api = OpenApi::load();
    for ev in &events {
        assert_eq!(ev.data.as_object().unwrap().len(), 3, "{:?}", ev.data);
        assert_eq!(ev.data["source"], "container");
        let ts = ev.data["ts"].as_str().unwrap();
        assert!(ev.id.starts_with(&format!("{ts}/")), "{} vs {ts}", ev.id);
        if let Some(api) = &api {
            api.check_parameter("LogSince", &json!(ts)).unwrap();
        }
    }
    let models: Vec<Value> = events
        .iter()
        .filter_map(sds)
        .filter(|v| v["event"] == "models")
        .collect();
    let total = 16_400_000_000u64 + 11_400_000_000 + 254_000_000;
    assert!(
        models
            .iter()
            .all(|m| m["total_bytes"] == total && m["files"] == 3)
    );
    let done: Vec<u64> = models
        .iter()
        .map(|m| m["done_bytes"].as_u64().unwrap())
        .collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert_eq!(*done.last().unwrap(), total);
    let pinned = events
        .iter()
        .filter_map(sds)
        .filter(|v| v["event"] == "pinned")
        .count();
    assert_eq!(pinned, 3);
    let mut up = false;
    for _ in 0..100 {
        let r = http
            .get(format!("{proxy}/system_stats"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up, "ComfyUI answers once the bootstrap started it");
}

#[tokio::test]
async fn comfy_waits_for_the_bootstrap() {
    let s = standin().await;
    let pod = create(&s, json!({"SDS_MODELS": MODELS})).await;
    let proxy = s
        .pod_url_template()
        .replace("{pod_id}", &pod)
        .replace("{port}", "8188");
    let resp = open(&s, &pod, "?source=container", None).await;
    let (_, _) = read(resp, Duration::from_secs(10), |ev| {
        sds(ev).is_some_and(|v| v["event"] == "stage" && v["stage"] == "models")
    })
    .await;
    let during_download = client()
        .get(format!("{proxy}/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(during_download.status(), 502);
}

#[tokio::test]
async fn last_event_id_resumes_after_the_event_and_tail_and_source_select() {
    let s = standin().await;
    let pod = create(&s, json!({"SDS_MODELS": MODELS})).await;
    // Everything, both sources, until the GUI line.
    let (all, _) = read(
        open(&s, &pod, "", None).await,
        Duration::from_secs(10),
        |ev| ev.data["line"].as_str().unwrap().contains("To see the GUI"),
    )
    .await;
    assert!(all.iter().any(|e| e.data["source"] == "system"));
    // Resuming after the fifth event gives the sixth on.
    let (rest, _) = read(
        open(&s, &pod, "", Some(&all[4].id)).await,
        Duration::from_millis(500),
        |_| false,
    )
    .await;
    let ids: Vec<&str> = rest.iter().map(|e| e.id.as_str()).collect();
    let want: Vec<&str> = all[5..].iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, want);
    // A bare timestamp works as a cursor too.
    let ts = all[4].data["ts"].as_str().unwrap();
    let (by_time, _) = read(
        open(&s, &pod, "", Some(ts)).await,
        Duration::from_millis(300),
        |_| false,
    )
    .await;
    assert!(!by_time.is_empty());
    assert!(by_time.iter().all(|e| e.data["ts"].as_str().unwrap() > ts));
    assert_eq!(
        by_time.len(),
        all.iter()
            .filter(|e| e.data["ts"].as_str().unwrap() > ts)
            .count()
    );
    // tail counts history lines; source filters.
    let (tail2, _) = read(
        open(&s, &pod, "?tail=2&source=system", None).await,
        Duration::from_millis(300),
        |_| false,
    )
    .await;
    assert_eq!(tail2.len(), 2);
    assert!(tail2.iter().all(|e| e.data["source"] == "system"));
    let (none, _) = read(
        open(&s, &pod, "?tail=0", None).await,
        Duration::from_millis(300),
        |_| false,
    )
    .await;
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn the_drop_fault_cuts_each_connection_mid_event() {
    let s = standin().await;
    s.set_faults(|f| f.drop_log_stream_after = Some(3));
    let pod = create(&s, json!({"SDS_MODELS": MODELS})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (first, cut) = read(
        open(&s, &pod, "?tail=5000", None).await,
        Duration::from_secs(5),
        |_| false,
    )
    .await;
    assert!(cut, "the connection ends in an error");
    assert_eq!(first.len(), 3);
    let (second, cut) = read(
        open(&s, &pod, "", Some(&first[2].id)).await,
        Duration::from_secs(5),
        |_| false,
    )
    .await;
    assert!(cut);
    assert_eq!(second.len(), 3);
    let seq = |e: &Ev| e.id.rsplit_once('/').unwrap().1.parse::<u64>().unwrap();
    assert_eq!(seq(&second[0]), seq(&first[2]) + 1);
}

#[tokio::test]
async fn the_hash_mismatch_fault_ends_in_an_error_line_and_comfy_never_answers() {
    let s = standin().await;
    s.set_faults(|f| f.bootstrap_hash_mismatch = true);
    let pod = create(&s, json!({"SDS_MODELS": MODELS})).await;
    let (events, _) = read(
        open(&s, &pod, "?source=container", None).await,
        Duration::from_secs(5),
        |ev| sds(ev).is_some_and(|v| v["event"] == "error"),
    )
    .await;
    let err = sds(events.last().unwrap()).unwrap();
    assert_eq!(err["code"], "bootstrap.hash_mismatch");
    assert!(err["message"].as_str().unwrap().contains("SHA-256"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let proxy = s
        .pod_url_template()
        .replace("{pod_id}", &pod)
        .replace("{port}", "8188");
    let r = client()
        .get(format!("{proxy}/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn plain_pods_log_without_progress_lines_and_answer_as_before() {
    let s = standin().await;
    let pod = create(&s, json!({"A": "1"})).await;
    let (events, _) = read(
        open(&s, &pod, "", None).await,
        Duration::from_secs(5),
        |ev| ev.data["line"].as_str().unwrap().contains("To see the GUI"),
    )
    .await;
    assert!(events.len() >= 4);
    assert!(events.iter().all(|e| sds(e).is_none()));
}

#[tokio::test]
async fn bad_parameters_are_422_and_unknown_pods_or_the_fault_are_404() {
    let s = standin().await;
    let pod = create(&s, json!({"A": "1"})).await;
    if s.openapi().is_none() {
        studio_error::cannot_run_here(
            "bad_parameters_are_422_and_unknown_pods_or_the_fault_are_404 (its 422 part)",
            "RunPod's OpenAPI document is not present",
        );
    } else {
        for q in ["?source=bogus", "?tail=9999", "?tail=x"] {
            let r = open(&s, &pod, q, None).await;
            assert_eq!(r.status(), 422, "{q}");
            let problem: Value = r.json().await.unwrap();
            s.openapi()
                .unwrap()
                .check("ErrorResponse", &problem)
                .unwrap();
        }
    }
    assert_eq!(open(&s, "nopod", "", None).await.status(), 404);
    s.set_faults(|f| f.logs_unavailable = true);
    assert_eq!(open(&s, &pod, "", None).await.status(), 404);
    let r = client()
        .get(format!("{}/pods/{pod}/logs", s.api_url()))
        .bearer_auth("rpa_WRONG")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

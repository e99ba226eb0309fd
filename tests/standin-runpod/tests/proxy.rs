//! The pod proxy: 502 until ComfyUI is up, then HTTP and websockets reach the upstream.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing::{any, get};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use standin_runpod::{StandIn, StandInConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as TMsg;
use url::Url;

async fn upstream() -> Url {
    let app = Router::new()
        .route(
            "/system_stats",
            get(|| async { axum::Json(json!({"system": {"os": "test"}})) }),
        )
        .route(
            "/echo",
            any(|body: String| async move { format!("echo:{body}") }),
        )
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    while let Some(Ok(Message::Text(t))) = socket.next().await {
                        let reply = format!("pong:{}", t.as_str());
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

#[tokio::test]
async fn proxy_is_502_until_ready_then_forwards_http_and_websockets() {
    let up = upstream().await;
    let config = StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(up.clone()))),
        ..StandInConfig::default()
    };
    let s = StandIn::start(config).await.unwrap();
    let id = s.inject_pod("sds-proxy", "NVIDIA H100 PCIe");
    let base = s
        .pod_url_template()
        .replace("{pod_id}", &id)
        .replace("{port}", "8188");
    let http = reqwest::Client::new();
    let first = http
        .get(format!("{base}/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 502);

    let mut ok = false;
    for _ in 0..100 {
        let r = http
            .get(format!("{base}/system_stats"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["system"]["os"], "test");
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "ComfyUI never came up through the proxy");

    let echoed = http
        .post(format!("{base}/echo?x=1"))
        .body("hello")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(echoed, "echo:hello");

    let ws_url = base.replace("http://", "ws://") + "/ws?clientId=abc";
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    ws.send(TMsg::Text("ping".into())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply.to_text().unwrap(), "pong:ping");

    // A terminated pod's proxy goes back to 502.
    let del = http
        .delete(format!("{}/pods/{id}", s.api_url()))
        .header("user-agent", "t")
        .bearer_auth(s.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let after = http
        .get(format!("{base}/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 502);
    assert_eq!(s.pods_billing(), 0);
}

#[tokio::test]
async fn never_ready_pods_stay_502() {
    let up = upstream().await;
    let config = StandInConfig {
        upstream: Some(Arc::new(move |_pod: &str| Some(up.clone()))),
        ..StandInConfig::default()
    };
    let s = StandIn::start(config).await.unwrap();
    s.set_faults(|f| f.never_ready = true);
    let resp = reqwest::Client::new()
        .post(format!("{}/pods", s.api_url()))
        .header("user-agent", "t")
        .bearer_auth(s.api_key())
        .json(&json!({"name": "sds-x", "image": "i", "gpu": {"id": "NVIDIA H100 NVL"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let base = s
        .pod_url_template()
        .replace("{pod_id}", &id)
        .replace("{port}", "8188");
    let r = reqwest::get(format!("{base}/system_stats")).await.unwrap();
    assert_eq!(r.status(), 502);
}

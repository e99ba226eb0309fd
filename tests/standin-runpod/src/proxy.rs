//! The pod's HTTP proxy: `/proxy/{pod_id}-{port}/...` answers 502 until the pod's ComfyUI is
//! up, then forwards HTTP and websockets to the pod's upstream.

use crate::shared::Shared;
use axum::body::Body;
use axum::extract::ws::{Message as AxMsg, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message as TMsg;
use url::Url;

fn bad_gateway() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        "502 Bad Gateway: the pod is not answering on this port",
    )
        .into_response()
}

/// The upstream base for a `{pod_id}-{port}` target, if the pod exists and ComfyUI is up.
fn upstream(shared: &Shared, target: &str) -> Option<Url> {
    let (pod_id, _port) = target.rsplit_once('-')?;
    let now = Instant::now();
    {
        let mut st = shared.lock();
        st.settle(now);
        let pod = st.live_pod_mut(pod_id)?;
        if !pod.comfy_up(shared.timings(), now) {
            return None;
        }
    }
    shared.upstream_for(pod_id)
}

pub async fn root(state: AxState<Shared>, Path(target): Path<String>, req: Request) -> Response {
    forward(state, target, String::new(), req).await
}

pub async fn with_path(
    state: AxState<Shared>,
    Path((target, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    forward(state, target, rest, req).await
}

async fn forward(
    AxState(shared): AxState<Shared>,
    target: String,
    rest: String,
    req: Request,
) -> Response {
    let Some(base) = upstream(&shared, &target) else {
        return bad_gateway();
    };
    let mut url = base.clone();
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), rest);
    url.set_path(&joined);
    url.set_query(req.uri().query());

    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_ws {
        let (mut parts, _body) = req.into_parts();
        let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => ws,
            Err(e) => return e.into_response(),
        };
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        let _ = url.set_scheme(scheme);
        return ws.on_upgrade(move |socket| pump(socket, url));
    }

    let (parts, body) = req.into_parts();
    // A GET carries no body; streaming an empty one would turn it into a chunked request.
    let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut out = shared.http().request(parts.method, url);
    if has_body {
        out = out.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    for (name, value) in &parts.headers {
        let keep_length = name == header::CONTENT_LENGTH && has_body;
        if (keep_length || !is_hop_by_hop(name.as_str())) && name != header::HOST {
            out = out.header(name, value);
        }
    }
    match out.send().await {
        Ok(resp) => {
            let mut builder = Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                if !is_hop_by_hop(name.as_str()) {
                    builder = builder.header(name, value);
                }
            }
            builder
                .body(Body::from_stream(resp.bytes_stream()))
                .unwrap_or_else(|_| bad_gateway())
        }
        Err(e) => {
            tracing::debug!(error = %e, "proxy upstream failed");
            bad_gateway()
        }
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
    )
}

/// Copies frames both ways until either side closes.
async fn pump(client: WebSocket, url: Url) {
    let Ok((upstream, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
        return;
    };
    let (mut up_tx, mut up_rx) = upstream.split();
    let (mut cl_tx, mut cl_rx) = client.split();
    let to_upstream = async {
        while let Some(Ok(msg)) = cl_rx.next().await {
            let out = match msg {
                AxMsg::Text(t) => TMsg::Text(t.as_str().into()),
                AxMsg::Binary(b) => TMsg::Binary(b),
                AxMsg::Ping(b) => TMsg::Ping(b),
                AxMsg::Pong(b) => TMsg::Pong(b),
                AxMsg::Close(_) => break,
            };
            if up_tx.send(out).await.is_err() {
                break;
            }
        }
        let _ = up_tx.close().await;
    };
    let to_client = async {
        while let Some(Ok(msg)) = up_rx.next().await {
            let out = match msg {
                TMsg::Text(t) => AxMsg::Text(t.as_str().into()),
                TMsg::Binary(b) => AxMsg::Binary(b),
                TMsg::Ping(b) => AxMsg::Ping(b),
                TMsg::Pong(b) => AxMsg::Pong(b),
                TMsg::Close(_) => break,
                TMsg::Frame(_) => continue,
            };
            if cl_tx.send(out).await.is_err() {
                break;
            }
        }
        let _ = cl_tx.close().await;
    };
    tokio::select! {
        () = to_upstream => {}
        () = to_client => {}
    }
}

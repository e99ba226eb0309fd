//! `/ws?clientId=`: ComfyUI's event socket. A cut closes the TCP connection without a close
//! frame, as a proxy does; while refused, upgrades get 502 like a proxy with no upstream.

use crate::{Shared, WsOut};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Deserialize)]
pub(crate) struct WsQuery {
    #[serde(rename = "clientId")]
    client_id: Option<String>,
}

pub(crate) async fn handler(
    State(s): State<Arc<Shared>>,
    Query(q): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if s.ws_refused.load(Ordering::SeqCst) {
        return (StatusCode::BAD_GATEWAY, "502 Bad Gateway").into_response();
    }
    let client_id = q
        .client_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    upgrade.on_upgrade(move |socket| serve(s, socket, client_id))
}

async fn serve(s: Arc<Shared>, mut socket: WebSocket, client_id: String) {
    let mut rx = s.hub.subscribe();
    let hello = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": s.queue_remaining()}}, "sid": client_id}});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Ok(WsOut::Text { to, text }) => {
                    if to.as_ref().is_none_or(|t| *t == client_id)
                        && socket.send(Message::Text(text.into())).await.is_err()
                    {
                        return;
                    }
                }
                // Dropping the socket closes the connection without a close frame.
                Ok(WsOut::Cut) => return,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

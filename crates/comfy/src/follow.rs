//! Following a run: websocket events as they come, with reconnects when the socket drops (the
//! RunPod proxy cuts long connections) and `/history/{id}` as the source of truth, read right
//! after every reconnect, polled while the socket is down, and checked now and then while up.

use crate::client::ComfyClient;
use crate::errors::{PROMPT_LOST, UNREACHABLE};
use crate::events::{ComfyEvent, history_outcome, parse_message, run_error};
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use studio_error::{Error, Result, codes};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a run may go without any answer from the server before we give up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);
/// Polls that found the prompt neither in the history nor in the queue before calling it lost.
const LOST_STRIKES: u32 = 3;

/// The event side of a client. Open it before queueing so no early event is missed.
#[derive(Debug)]
pub struct Follower {
    client: ComfyClient,
    socket: Option<Socket>,
    give_up_after: Duration,
}

impl ComfyClient {
    /// Connects the websocket; a failure is not fatal (the follower polls and retries).
    #[tracing::instrument(skip(self), fields(url = %self.base_url()))]
    pub async fn events(&self) -> Follower {
        let socket = connect(self)
            .await
            .map_err(|e| tracing::warn!("{}", e.chain()))
            .ok();
        Follower {
            client: self.clone(),
            socket,
            give_up_after: GIVE_UP_AFTER,
        }
    }
}

async fn connect(client: &ComfyClient) -> Result<Socket> {
    let mut url = client.url("ws")?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|()| Error::internal("could not form the websocket URL"))?;
    url.query_pairs_mut()
        .append_pair("clientId", client.client_id());
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::internal("bad websocket URL").with_source(e))?;
    request.headers_mut().insert(
        "user-agent",
        concat!("SteadyDancer-Studio/", env!("CARGO_PKG_VERSION"))
            .parse()
            .map_err(|_| Error::internal("bad user agent"))?,
    );
    let unreachable = |why: String| {
        Error::new(
            UNREACHABLE,
            format!("The ComfyUI event stream could not be opened: {why}."),
        )
    };
    match tokio::time::timeout(
        client.config.connect_timeout,
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(unreachable(e.to_string()).with_source(e)),
        Err(_) => Err(unreachable("it timed out".into())),
    }
}

impl Follower {
    /// Shortens the "server silent for too long" limit (tests).
    pub fn give_up_after(mut self, limit: Duration) -> Self {
        self.give_up_after = limit;
        self
    }

    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Follows `prompt_id` to its end and returns its history entry (with `outputs`). A failed
    /// or interrupted run is an error; `cancel` interrupts the prompt on the server.
    #[tracing::instrument(skip(self, cancel, on_event), fields(url = %self.client.base_url()))]
    pub async fn follow(
        &mut self,
        prompt_id: &str,
        cancel: &CancellationToken,
        mut on_event: impl FnMut(ComfyEvent),
    ) -> Result<Value> {
        let cfg = self.client.config.clone();
        let mut last_contact = Instant::now();
        let mut next_check = Instant::now();
        let mut attempt = 0u32;
        let mut ended_on_socket = false;
        let mut strikes = 0u32;
        loop {
            if cancel.is_cancelled() {
                if let Err(e) = self.client.interrupt(prompt_id).await {
                    tracing::warn!("interrupt after cancel failed: {}", e.chain());
                }
                return Err(Error::new(codes::CANCELLED, "The render was cancelled."));
            }
            if Instant::now() >= next_check {
                match self.client.history(prompt_id).await {
                    Ok(Some(entry)) => {
                        if let Some(outcome) = history_outcome(&entry) {
                            return match outcome {
                                Ok(()) => {
                                    on_event(ComfyEvent::Finished);
                                    Ok(entry)
                                }
                                Err(ev) => {
                                    on_event(ev.clone());
                                    Err(run_error(&ev))
                                }
                            };
                        }
                        last_contact = Instant::now();
                    }
                    Ok(None) => {
                        last_contact = Instant::now();
                        // A restarted server forgets its queue; a socket that reconnects
                        // at once would never tell us, so the queue is asked as well.
                        if !ended_on_socket {
                            strikes = match self.client.in_queue(prompt_id).await {
                                Ok(true) => 0,
                                Ok(false) => strikes + 1,
                                // Not knowing is not evidence of loss.
                                Err(_) => strikes,
                            };
                            if strikes >= LOST_STRIKES {
                                return Err(lost(prompt_id));
                            }
                        }
                    }
                    Err(e) if last_contact.elapsed() > self.give_up_after => return Err(e),
                    Err(e) => tracing::warn!("history check failed: {}", e.chain()),
                }
                let fast = self.socket.is_none() || ended_on_socket;
                next_check = Instant::now()
                    + if fast {
                        cfg.history_poll
                    } else {
                        cfg.history_check
                    };
            }
            if last_contact.elapsed() > self.give_up_after {
                return Err(Error::new(
                    UNREACHABLE,
                    "The ComfyUI server stopped answering during the render. Check the server \
                     (or the pod) and render again.",
                ));
            }

            let Some(socket) = self.socket.as_mut() else {
                attempt += 1;
                on_event(ComfyEvent::Reconnecting { attempt });
                match connect(&self.client).await {
                    Ok(s) => {
                        self.socket = Some(s);
                        on_event(ComfyEvent::Reconnected);
                        // Whatever happened while we were away is in the history.
                        next_check = Instant::now();
                    }
                    Err(e) => {
                        tracing::debug!("reconnect failed: {}", e.chain());
                        let wake = next_check.min(Instant::now() + cfg.reconnect_delay);
                        tokio::select! {
                            () = cancel.cancelled() => {}
                            () = tokio::time::sleep_until(wake) => {}
                        }
                    }
                }
                continue;
            };
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep_until(next_check) => {}
                msg = socket.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        last_contact = Instant::now();
                        if let Some(ev) = parse_message(&text, prompt_id) {
                            if ev.is_terminal() {
                                // The history holds the outputs and the final word.
                                ended_on_socket = true;
                                next_check = Instant::now();
                            } else {
                                on_event(ev);
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        tracing::warn!(%prompt_id, "event stream dropped; reconnecting");
                        self.socket = None;
                        attempt = 0;
                        next_check = Instant::now();
                    }
                    Some(Ok(_)) => last_contact = Instant::now(),
                },
            }
        }
    }
}

fn lost(prompt_id: &str) -> Error {
    Error::new(
        PROMPT_LOST,
        format!(
            "The ComfyUI server no longer knows the render {prompt_id} (not queued, no history): \
             it was probably restarted. Render again."
        ),
    )
}

//! Finished videos served to the window over loopback HTTP. WebKitGTK (the Linux webview) hands a
//! `<video>` URL straight to GStreamer, which has no source for custom schemes such as Tauri's
//! `asset:`: the load fails with MEDIA_ERR_SRC_NOT_SUPPORTED before a byte is read. An `http:`
//! URL with byte ranges plays, and lets the player seek without reading the whole file.
//!
//! Only output files granted one by one (a finished render's result, a gallery entry's video) are
//! served, under a random token compared in constant time, on 127.0.0.1 only, and only to
//! requests addressed to 127.0.0.1 or localhost at its own port: a web page the user opens
//! elsewhere can point a host name of its own at 127.0.0.1 (DNS rebinding), and its requests then
//! carry that name.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashSet;
use std::io::SeekFrom;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use studio_error::{Error, Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Video containers the app writes or the user may keep next to them.
const VIDEO_TYPES: &[(&str, &str)] = &[
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("mkv", "video/x-matroska"),
];

#[derive(Default)]
struct Allowed {
    /// Canonical paths of the files that may be served.
    granted: HashSet<PathBuf>,
    /// Files a URL was handed out for; the URL carries the index.
    served: Vec<PathBuf>,
}

#[derive(Clone)]
pub struct MediaServer {
    token: Arc<str>,
    allowed: Arc<Mutex<Allowed>>,
    addr: Arc<tokio::sync::OnceCell<SocketAddr>>,
}

impl Default for MediaServer {
    fn default() -> Self {
        Self {
            token: uuid::Uuid::new_v4().simple().to_string().into(),
            allowed: Arc::default(),
            addr: Arc::default(),
        }
    }
}

impl std::fmt::Debug for MediaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaServer")
            .field("addr", &self.addr.get())
            .finish_non_exhaustive()
    }
}

impl MediaServer {
    /// The video `file` (and no other file beside it) may be served from now on.
    pub fn allow_file(&self, file: &Path) {
        let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        self.lock().granted.insert(file);
    }

    /// The loopback URL that plays `file`; the server starts on the first call.
    pub async fn url_for(&self, file: &Path) -> Result<String> {
        let real = file.canonicalize().map_err(|e| {
            Error::new(
                "media.video_missing",
                format!(
                    "The video {} cannot be opened: it was moved or deleted. Open its folder to check.",
                    file.display()
                ),
            )
            .with_source(e)
        })?;
        if video_type(&real).is_none() || !real.is_file() {
            return Err(not_served(file));
        }
        let index = {
            let mut allowed = self.lock();
            if !allowed.granted.contains(&real) {
                return Err(not_served(file));
            }
            match allowed.served.iter().position(|f| *f == real) {
                Some(i) => i,
                None => {
                    allowed.served.push(real.clone());
                    allowed.served.len() - 1
                }
            }
        };
        let addr = self.addr.get_or_try_init(|| self.listen()).await?;
        let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("video");
        let mut url = url::Url::parse(&format!("http://{addr}/")).expect("loopback URL");
        url.path_segments_mut()
            .expect("http URL has a path")
            .extend([&*self.token, &index.to_string(), name]);
        Ok(url.into())
    }

    async fn listen(&self) -> Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                Error::new(
                    "media.player_unavailable",
                    "The video player could not start: no local port was free. The video is saved; open its folder to play it.",
                )
                .with_source(e)
            })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(
                "media.player_unavailable",
                "The video player could not start.",
            )
            .with_source(e)
        })?;
        let app = Router::new()
            .route("/{token}/{index}/{name}", get(serve))
            .with_state(self.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("video server stopped: {e}");
            }
        });
        tracing::info!(%addr, "video server listening");
        Ok(addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Allowed> {
        self.allowed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn file(&self, token: &str, index: &str) -> Option<PathBuf> {
        if !same_secret(token.as_bytes(), self.token.as_bytes()) {
            return None;
        }
        let index: usize = index.parse().ok()?;
        self.lock().served.get(index).cloned()
    }

    /// The request names this server (127.0.0.1 or localhost at its port), not another host
    /// that resolves to it.
    fn addressed_to_us(&self, headers: &HeaderMap) -> bool {
        let (Some(addr), Some(host)) = (
            self.addr.get(),
            headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        ) else {
            return false;
        };
        let port = addr.port();
        host.eq_ignore_ascii_case(&format!("127.0.0.1:{port}"))
            || host.eq_ignore_ascii_case(&format!("localhost:{port}"))
    }
}

/// Equal secrets, in a time that does not depend on where they differ (the token's length is
/// public: it is always 32 hex digits).
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | std::hint::black_box(a ^ b));
    diff == 0
}

fn not_served(file: &Path) -> Error {
    Error::new(
        "media.not_playable_here",
        format!(
            "{} is not a video the app made, so the app does not play it. Open it from its folder instead.",
            file.display()
        ),
    )
}

fn video_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    VIDEO_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, mime)| *mime)
}

async fn serve(
    State(server): State<MediaServer>,
    UrlPath((token, index, _name)): UrlPath<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if !server.addressed_to_us(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(path) = server.file(&token, &index) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(size) = file.metadata().await.map(|m| m.len()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = video_type(&path).unwrap_or("application/octet-stream");
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (status, start, len) = match range {
        None | Some(Range::Ignored) => (StatusCode::OK, 0, size),
        Some(Range::Bytes(start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Some(Range::Unsatisfiable) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, mime)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, len)
        .header(header::CACHE_CONTROL, "no-store");
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    if method == Method::HEAD {
        return response.body(Body::empty()).unwrap_or_default();
    }
    if file.seek(SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(len), 256 * 1024));
    response.body(body).unwrap_or_default()
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// Inclusive byte positions.
    Bytes(u64, u64),
    Unsatisfiable,
    /// Not a single byte range we understand: the whole file is sent, as RFC 9110 allows.
    Ignored,
}

fn parse_range(value: &str, size: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Ignored;
    };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return match last.parse::<u64>() {
            Ok(0) => Range::Unsatisfiable,
            Ok(n) if size > 0 => Range::Bytes(size.saturating_sub(n), size - 1),
            Ok(_) => Range::Unsatisfiable,
            Err(_) => Range::Ignored,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return Range::Ignored;
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    let end = if last.is_empty() {
        size - 1
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end.min(size - 1),
            _ => return Range::Ignored,
        }
    };
    Range::Bytes(start, end)
}

#[cfg(test)]
mod tests {
    use super::{Range, parse_range, same_secret};

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(same_secret(b"0123abcd", b"0123abcd"));
        assert!(!same_secret(b"0123abce", b"0123abcd"));
        assert!(!same_secret(b"1123abcd", b"0123abcd"));
        assert!(!same_secret(b"0123abc", b"0123abcd"));
        assert!(!same_secret(b"", b"0123abcd"));
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-", 100), Range::Bytes(0, 99));
        assert_eq!(parse_range("bytes=10-19", 100), Range::Bytes(10, 19));
        assert_eq!(parse_range("bytes=90-500", 100), Range::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-30", 100), Range::Bytes(70, 99));
        assert_eq!(parse_range("bytes=-300", 100), Range::Bytes(0, 99));
        assert_eq!(parse_range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 100), Range::Ignored);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Range::Ignored);
        assert_eq!(parse_range("items=0-1", 100), Range::Ignored);
    }
}

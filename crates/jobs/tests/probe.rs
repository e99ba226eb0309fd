//! Readiness asks ComfyUI once per poll: while the pod's proxy answers 502 the probe says "not
//! yet" at once, so the readiness loop keeps reading the bootstrap's progress.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use studio_comfy::ClientConfig;
use studio_jobs::ComfyProbe;
use studio_pods::ReadinessProbe;

/// A proxy whose ComfyUI is not listening yet: every request gets 502. Counts requests.
fn proxy_502() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            count.fetch_add(1, Ordering::SeqCst);
            let _ = s.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_proxy_502_is_one_not_yet_not_a_round_of_retries() {
    let (url, seen) = proxy_502();
    let probe = ComfyProbe::new(None, ClientConfig::default());
    let up = probe
        .comfy_answering(&url::Url::parse(&url).unwrap())
        .await
        .unwrap();
    assert!(!up);
    assert_eq!(seen.load(Ordering::SeqCst), 1, "one request per poll");
}

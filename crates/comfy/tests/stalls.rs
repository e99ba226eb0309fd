//! Transfers that stall with the connection open, servers that send too much or send the client
//! elsewhere, a full disk, and a prompt queued whose answer the proxy lost: none may hang a
//! render while a pod bills, and none may run a render twice.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use standin_comfy::{Faults, Route, StandinComfy};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use studio_comfy::{CancellationToken, ClientConfig, ComfyClient, RenderOutput, render};
use studio_error::Result;
use tokio::io::AsyncWriteExt;

/// Before these fixes a stalled transfer never ended: fail instead of hanging the suite.
async fn bounded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .expect("the render hung on a stalled transfer")
}

async fn render_with(
    server: &StandinComfy,
    config: ClientConfig,
    out: &Path,
) -> Result<RenderOutput> {
    let dir = out.parent().unwrap();
    let (photo, video) = media(dir);
    let client = ComfyClient::with_config(server.url(), config).unwrap();
    bounded(Box::pin(render(
        &client,
        &manifest(),
        &request(&photo, &video),
        out,
        |_| {},
        CancellationToken::new(),
    )))
    .await
}

fn parts_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "part")
        })
        .count()
    })
}

#[tokio::test]
async fn a_download_that_stalls_with_the_socket_open_resumes_to_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    server.set_faults(Faults {
        stall_download: Some((700, 1)),
        ..Default::default()
    });
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let done = render_with(&server, ClientConfig::fast(), &out)
        .await
        .unwrap();
    let original = only_video(server.output_dir());
    assert!(
        std::fs::metadata(&original).unwrap().len() > 1400,
        "700 bytes is at most half"
    );
    assert_eq!(
        std::fs::read(&done.files[0].path).unwrap(),
        std::fs::read(&original).unwrap()
    );
    assert_eq!(server.ranged_downloads(), 1, "resumed with a range request");
    assert_eq!(parts_in(&out), 0);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn a_server_that_ignores_the_range_after_a_stall_gives_the_whole_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    server.set_faults(Faults {
        stall_download: Some((700, 1)),
        ignore_range: true,
        ..Default::default()
    });
    let out = dir.path().join("out");
    let done = render_with(&server, ClientConfig::fast(), &out)
        .await
        .unwrap();
    let original = only_video(server.output_dir());
    // Appending the whole file to the 700 bytes kept would make a longer, broken video.
    assert_eq!(
        std::fs::read(&done.files[0].path).unwrap(),
        std::fs::read(&original).unwrap()
    );
    assert_eq!(server.ranged_downloads(), 1);
}

#[tokio::test]
async fn a_server_sending_more_than_the_cap_for_one_file_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    server.set_faults(Faults {
        view_padding: 8 << 20,
        ..Default::default()
    });
    let config = ClientConfig {
        max_output_bytes: 2 << 20,
        ..ClientConfig::fast()
    };
    let out = dir.path().join("out");
    let err = render_with(&server, config, &out).await.unwrap_err();
    assert_eq!(err.code(), "comfy.output_too_large", "{}", err.message());
    assert!(err.message().contains("2.1 MB"), "{}", err.message());
    assert_eq!(parts_in(&out), 0, "the oversized part is removed");
    let kept = std::fs::read_dir(&out).map_or(0, |d| d.count());
    assert_eq!(kept, 0);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    // Another host: `localhost` is not the origin `127.0.0.1` the client was given.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let visits = Arc::new(AtomicUsize::new(0));
    let seen = visits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = elsewhere.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = sock
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
                )
                .await;
        }
    });
    server.set_faults(Faults {
        redirect_view_to: Some(format!("http://localhost:{port}/evil.mp4")),
        ..Default::default()
    });
    let err = render_with(&server, ClientConfig::fast(), &dir.path().join("out"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "comfy.redirect_refused", "{}", err.message());
    assert!(
        err.message().contains(&format!("localhost:{port}")),
        "{}",
        err.message()
    );
    assert_eq!(
        visits.load(Ordering::SeqCst),
        0,
        "the other host was never contacted"
    );
}

#[tokio::test]
async fn a_download_the_disk_has_no_room_for_is_refused_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    // Free space cannot be faked; a reserve no disk has can.
    let config = ClientConfig {
        min_free_disk_bytes: 1 << 60,
        ..ClientConfig::fast()
    };
    let out = dir.path().join("out");
    let err = render_with(&server, config, &out).await.unwrap_err();
    assert_eq!(err.code(), "comfy.disk_full", "{}", err.message());
    assert!(
        err.message().contains(&out.display().to_string()),
        "{}",
        err.message()
    );
    assert!(err.message().contains("MB free"), "{}", err.message());
    let written: u64 = std::fs::read_dir(&out)
        .map(|d| d.map(|e| e.unwrap().metadata().unwrap().len()).sum())
        .unwrap_or(0);
    assert_eq!(written, 0, "nothing was written");
}

#[tokio::test]
async fn a_stalled_upload_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    server.set_faults(Faults {
        stall_uploads: 1,
        ..Default::default()
    });
    let done = render_with(&server, ClientConfig::fast(), &dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!(done.files.len(), 1);
    // The photo twice (stalled, then again), the video once.
    assert_eq!(server.uploads_received(), 3);
    assert_eq!(server.prompts_executed(), 1);
}

#[tokio::test]
async fn a_prompt_queued_before_the_proxy_answered_524_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = standin().await;
    server.set_faults(Faults {
        answer_524: Some((Route::Prompt, 1)),
        answer_524_after_queueing: true,
        delay_524: Duration::from_millis(20),
        ..Default::default()
    });
    let done = render_with(&server, ClientConfig::fast(), &dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!(done.files.len(), 1);
    assert_eq!(server.prompts_accepted(), 1, "queued once");
    // Wait out anything a second copy would still be doing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.prompts_executed(), 1, "rendered once");
}

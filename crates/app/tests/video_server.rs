//! The loopback server that lets Linux's webview play finished videos: byte ranges as a player
//! asks for them, and nothing but the files granted one by one, without the run's token, or to a
//! request addressed to another host.
#![allow(clippy::unwrap_used)]

use studio_app::MediaServer;

fn video_bytes() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

async fn ranged(http: &reqwest::Client, url: &str, range: &str) -> reqwest::Response {
    http.get(url).header("Range", range).send().await.unwrap()
}

#[tokio::test]
async fn serves_whole_files_and_byte_ranges_of_granted_files_only() {
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let bytes = video_bytes();
    let video = out.path().join("renders").join("SteadyDancer_00001.mp4");
    std::fs::create_dir_all(video.parent().unwrap()).unwrap();
    std::fs::write(&video, &bytes).unwrap();
    std::fs::write(elsewhere.path().join("secret.mp4"), b"not yours").unwrap();
    std::fs::write(out.path().join("notes.txt"), b"text").unwrap();
    let neighbour = video.with_file_name("SteadyDancer_00002.mp4");
    std::fs::write(&neighbour, b"another render").unwrap();

    let server = MediaServer::default();
    let refused = server.url_for(&video).await.unwrap_err();
    assert_eq!(
        refused.code(),
        "media.not_playable_here",
        "nothing is allowed yet"
    );

    server.allow_file(&video);
    let url = server.url_for(&video).await.unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.ends_with("/SteadyDancer_00001.mp4"), "{url}");
    assert_eq!(
        server.url_for(&video).await.unwrap(),
        url,
        "one URL per file"
    );

    let http = reqwest::Client::new();
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap(), bytes);

    let part = ranged(&http, &url, "bytes=1000-1999").await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/200000");
    assert_eq!(part.bytes().await.unwrap(), bytes[1000..2000]);

    let tail = ranged(&http, &url, "bytes=-10").await;
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), bytes[bytes.len() - 10..]);

    let open_ended = ranged(&http, &url, "bytes=199990-").await;
    assert_eq!(open_ended.bytes().await.unwrap(), bytes[199_990..]);

    let beyond = ranged(&http, &url, "bytes=200000-").await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()["content-range"], "bytes */200000");

    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "200000");

    // Guessing: another token, another index.
    let (base, rest) = url.split_at("http://127.0.0.1:".len());
    let port_end = rest.find('/').unwrap();
    let wrong_token = format!("{base}{}/{}/0/x.mp4", &rest[..port_end], "0".repeat(32));
    assert_eq!(http.get(&wrong_token).send().await.unwrap().status(), 404);
    let wrong_index = url.replace("/0/SteadyDancer", "/7/SteadyDancer");
    assert_eq!(http.get(&wrong_index).send().await.unwrap().status(), 404);

    let beside = server.url_for(&neighbour).await.unwrap_err();
    assert_eq!(
        beside.code(),
        "media.not_playable_here",
        "a file beside a granted one is not granted"
    );

    let outside = server
        .url_for(&elsewhere.path().join("secret.mp4"))
        .await
        .unwrap_err();
    assert_eq!(outside.code(), "media.not_playable_here");
    let escape = out.path().join("..").join(
        elsewhere
            .path()
            .strip_prefix(out.path().parent().unwrap())
            .unwrap_or(elsewhere.path()),
    );
    let escape = server
        .url_for(&escape.join("secret.mp4"))
        .await
        .unwrap_err();
    assert_eq!(
        escape.code(),
        "media.not_playable_here",
        "`..` does not leave the folder"
    );
    let text = server
        .url_for(&out.path().join("notes.txt"))
        .await
        .unwrap_err();
    assert_eq!(text.code(), "media.not_playable_here", "only videos");
    let gone = server
        .url_for(&out.path().join("gone.mp4"))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), "media.video_missing");
    assert!(
        gone.message().contains("moved or deleted"),
        "{}",
        gone.message()
    );

    // A file deleted after its URL was handed out is a 404, not a crash.
    std::fs::remove_file(&video).unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 404);
}

/// A page elsewhere can give its own host name the address 127.0.0.1 (DNS rebinding) and so
/// reach the server; its requests carry that name, and are refused.
#[tokio::test]
async fn answers_only_requests_addressed_to_loopback_at_its_port() {
    let out = tempfile::tempdir().unwrap();
    let video = out.path().join("result.mp4");
    std::fs::write(&video, video_bytes()).unwrap();
    let server = MediaServer::default();
    server.allow_file(&video);
    let url = server.url_for(&video).await.unwrap();
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    let http = reqwest::Client::new();
    let with_host = |host: String| http.get(&url).header("Host", host).send();

    assert_eq!(
        with_host(format!("127.0.0.1:{port}"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        with_host(format!("localhost:{port}"))
            .await
            .unwrap()
            .status(),
        200
    );
    for host in [
        format!("rebind.example:{port}"),
        "127.0.0.1".to_string(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("localhost.evil.example:{port}"),
    ] {
        let status = with_host(host.clone()).await.unwrap().status();
        assert_eq!(status, 403, "Host: {host}");
    }
}

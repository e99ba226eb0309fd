//! A full render against the stand-in ComfyUI over real sockets.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use studio_comfy::{CancellationToken, ComfyEvent, RenderEvent, render};

#[tokio::test]
async fn full_render_produces_an_h264_video_at_the_load_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    let client = client(server.url());
    let manifest = manifest();
    let rec = Recorder::default();
    let out_dir = dir.path().join("out");
    let out = render(
        &client,
        &manifest,
        &request(&photo, &video),
        &out_dir,
        rec.sink(),
        CancellationToken::new(),
    )
    .await
    .unwrap();

    assert_eq!(out.files.len(), 1);
    let file = &out.files[0];
    assert!(file.path.starts_with(&out_dir));
    assert_eq!(file.format.as_deref(), Some("video/h264-mp4"));
    let (frames, rate, codec) = probe(&file.path);
    assert_eq!(codec, "h264");
    // 1 s loaded at 8 fps = 8 frames, rounded down to 4n+1; saved at the load rate, not 24.
    assert_eq!(frames, 5);
    assert!((rate - 8.0).abs() < 0.01, "rate {rate}");
    let server_copy = only_video(server.output_dir());
    assert_ne!(
        server_copy.file_name(),
        file.path.file_name(),
        "saved under a name of its own"
    );
    assert_eq!(
        std::fs::read(&file.path).unwrap(),
        std::fs::read(server_copy).unwrap()
    );
    assert!(
        !out_dir.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part"))
    );

    let events = rec.events();
    let progress: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            RenderEvent::Run {
                event: ComfyEvent::Progress { value, max, .. },
            } => Some((*value, *max)),
            _ => None,
        })
        .collect();
    assert_eq!(progress, vec![(1, 3), (2, 3), (3, 3)]);
    assert!(
        events.iter().any(
            |e| matches!(e, RenderEvent::Uploaded { input, .. } if input == "reference_image")
        )
    );
    assert!(events.contains(&RenderEvent::Run {
        event: ComfyEvent::Finished
    }));
    assert!(matches!(events.last(), Some(RenderEvent::Done { files }) if files.len() == 1));

    // The prompt the server ran carries the user's parameters and the uploaded names.
    let history = server.history(&out.prompt_id).unwrap();
    let prompt = &history["prompt"][2];
    assert_eq!(prompt["119"]["inputs"]["steps"], 3);
    assert_eq!(prompt["122"]["inputs"]["steps"], 3);
    assert_eq!(prompt["76"]["inputs"]["image"], "photo.png");
    assert_eq!(
        prompt["83"]["inputs"]["frame_rate"],
        serde_json::json!(["132", 0])
    );
}

#[tokio::test]
async fn every_route_works_under_api_and_duplicate_uploads_get_the_servers_name() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, _) = media(dir.path());
    let server = standin().await;
    let client = client(&format!("{}/api", server.url()));
    client.system_stats().await.unwrap();
    let first = client.upload(&photo, |_, _| {}).await.unwrap();
    let mut seen = Vec::new();
    let second = client
        .upload(&photo, |sent, total| seen.push((sent, total)))
        .await
        .unwrap();
    assert_eq!(first.name, "photo.png");
    assert_eq!(second.name, "photo (1).png");
    let size = std::fs::metadata(&photo).unwrap().len();
    assert_eq!(seen.last(), Some(&(size, size)));
    assert!(client.readiness(&manifest()).await.unwrap().is_ready());
}

#[tokio::test]
async fn cancel_interrupts_the_prompt_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin_with(standin_comfy::StandinConfig {
        step_delay: std::time::Duration::from_millis(200),
        steps: Some(50),
        ..Default::default()
    })
    .await;
    let client = client(server.url());
    let manifest = manifest();
    let cancel = CancellationToken::new();
    let rec = Recorder::default();
    let task = {
        let (cancel, rec) = (cancel.clone(), rec.clone());
        let out = dir.path().join("out");
        let req = request(&photo, &video);
        tokio::spawn(
            async move { render(&client, &manifest, &req, &out, rec.sink(), cancel).await },
        )
    };
    // Wait until sampling is under way, then cancel.
    for _ in 0..200 {
        if rec.events().iter().any(|e| {
            matches!(
                e,
                RenderEvent::Run {
                    event: ComfyEvent::Progress { .. }
                }
            )
        }) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code(), "cancelled");
    let id = rec
        .events()
        .iter()
        .find_map(|e| match e {
            RenderEvent::Queued { prompt_id } => Some(prompt_id.clone()),
            _ => None,
        })
        .unwrap();
    // The server stops the run well before its 50 steps of 200 ms.
    let mut status = None;
    for _ in 0..100 {
        if let Some(h) = server.history(&id) {
            status = Some(h["status"]["messages"].to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(status.unwrap().contains("execution_interrupted"));
}

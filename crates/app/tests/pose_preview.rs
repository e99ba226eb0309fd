//! The GUI's pose preview path through `Studio`: no models gives a clear error, the download
//! fetches them from a real local server (the mirror address the environment names), then a
//! preview streams pictures and checks, and a newer preview or a cancel stops the old one.
//! The mirror address is process-wide, so the test re-runs itself in a child process that has it
//! in its environment (the server stays in the parent).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use image::RgbImage;
use studio_app::{PreviewEvent, Studio};
use studio_media::RgbVideoWriter;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../pose/testdata")
        .join(name)
}

async fn model_server() -> String {
    let det = std::fs::read(testdata("det_test.onnx")).unwrap();
    let pose = std::fs::read(testdata("pose_test.onnx")).unwrap();
    let app = Router::new()
        .route("/m/yolox_l.onnx", get(move || async move { det }))
        .route("/m/dw-ll_ucoco_384.onnx", get(move || async move { pose }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/m")
}

fn clip(path: &Path, frames: u32) {
    let mut out = RgbVideoWriter::create(path, 320, 240, 25.0).unwrap();
    for i in 0..frames {
        out.push(&RgbImage::from_pixel(
            320,
            240,
            image::Rgb([(i * 5) as u8, 60, 90]),
        ))
        .unwrap();
    }
    out.finish().unwrap();
}

type Events = Arc<Mutex<Vec<PreviewEvent>>>;

fn recorder() -> (Events, studio_app::PreviewSink) {
    let events: Events = Arc::default();
    let sink_events = events.clone();
    let sink = Arc::new(move |e: PreviewEvent| sink_events.lock().unwrap().push(e));
    (events, sink)
}

fn frames(events: &Events) -> usize {
    let events = events.lock().unwrap();
    events
        .iter()
        .filter(|e| matches!(e, PreviewEvent::Frame { .. }))
        .count()
}

const URL_ENV: &str = studio_pose::download::POSE_MODELS_URL_ENV;

#[tokio::test]
async fn download_then_preview_then_cancel() {
    if std::env::var(URL_ENV).is_err() {
        let url = model_server().await;
        let status = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "download_then_preview_then_cancel",
                "--exact",
                "--nocapture",
            ])
            .env(URL_ENV, url)
            // The engine library then comes from the mirror too, which has none.
            .env_remove(studio_pose::runtime::ONNXRUNTIME_LIB_ENV)
            .env_remove(studio_pose::runtime::ONNXRUNTIME_URL_ENV)
            .status()
            .await
            .unwrap();
        assert!(status.success(), "the test in the child process failed");
        return;
    }
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let studio = Studio::new(data.path().to_path_buf(), false).unwrap();
    let video = data.path().join("dance.mp4");
    clip(&video, 50);
    // The window hands over only files the user dropped or picked (see `studio_app::window`).
    studio.user_chose([&video]);

    let status = studio.pose_models_status();
    assert!(!status.ready);
    assert!(status.files.iter().all(|f| !f.ready && f.have == 0));
    let (_, sink) = recorder();
    let err = studio.pose_preview(video.clone(), sink).await.unwrap_err();
    assert_eq!(err.code(), studio_app::pose_preview::MODELS_MISSING);

    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    // The models arrive; the optional engine library does not, and the user is told so.
    let err = studio
        .download_pose_models(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pose.download_failed");
    assert!(
        err.message().contains("built-in engine"),
        "{}",
        err.message()
    );
    let status = studio.pose_models_status();
    assert!(status.ready, "{status:?}");
    assert!(status.engine_upgrade, "{status:?}");
    assert!(!status.downloading);
    let progress = progress.lock().unwrap().clone();
    for name in ["yolox_l.onnx", "dw-ll_ucoco_384.onnx"] {
        let last = progress.iter().rfind(|p| p.file == name).unwrap();
        assert_eq!(Some(last.done), last.total, "{name} complete");
        assert!(status.dir.join(format!("{name}.pin.json")).exists());
    }

    // 2 s at 25 fps, sampled 4 per second: every 6th frame, 9 frames.
    let (events, sink) = recorder();
    let summary = studio.pose_preview(video.clone(), sink).await.unwrap();
    assert!(!summary.cancelled);
    assert_eq!(summary.frames, 9);
    assert_eq!(frames(&events), 9);
    {
        let events = events.lock().unwrap();
        assert!(matches!(events[0], PreviewEvent::Loading));
        assert!(matches!(
            events[1],
            PreviewEvent::Started {
                total_frames: Some(9),
                every_nth: 6,
                ..
            }
        ));
        let PreviewEvent::Started { engine, .. } = &events[1] else {
            unreachable!()
        };
        // The mirror holds no engine library: the built-in engine.
        assert_eq!(engine, "rten");
        let PreviewEvent::Frame {
            info,
            picture,
            skeleton,
        } = &events[2]
        else {
            panic!("a frame follows the start: {:?}", events[2]);
        };
        assert_eq!((info.index, info.width, info.height), (0, 320, 240));
        // The test detector always finds one person whose box leaves a 320x240 frame.
        assert_eq!(info.check.people, 1);
        assert!(info.check.cut_off);
        assert!(picture.starts_with("data:image/jpeg;base64,/9j/"));
        assert!(skeleton.starts_with("data:image/jpeg;base64,/9j/"));
        assert!(matches!(events.last(), Some(PreviewEvent::Finished { .. })));
    }
    assert_eq!(summary.checks.cut_off.len(), 9);
    assert!(
        summary
            .checks
            .warnings
            .iter()
            .any(|w| w.code == "pose.cut_off")
    );

    // A newer preview stops the running one; the models stay loaded (no second Loading).
    let long = data.path().join("long.mp4");
    clip(&long, 400);
    studio.user_chose([&long]);
    let (first_events, sink) = recorder();
    let first = {
        let studio = studio.clone();
        let long = long.clone();
        tokio::spawn(async move { studio.pose_preview(long, sink).await })
    };
    while frames(&first_events) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (second_events, sink) = recorder();
    let second = {
        let studio = studio.clone();
        tokio::spawn(async move { studio.pose_preview(long, sink).await })
    };
    let first = first.await.unwrap().unwrap();
    assert!(first.cancelled, "replaced by the newer preview");
    assert!(first.frames < 67, "{} frames", first.frames);
    while frames(&second_events) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(studio.cancel_pose_preview());
    let second = second.await.unwrap().unwrap();
    assert!(second.cancelled);
    assert!(
        !second_events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, PreviewEvent::Loading))
    );
    assert!(!studio.cancel_pose_preview(), "nothing left to cancel");

    // A warm-up (a file dragged over the window) reads the models before the preview asks.
    let fresh = Studio::new(data.path().to_path_buf(), false).unwrap();
    fresh.warm_pose_models().unwrap().await.unwrap();
    fresh.user_chose([&video]);
    let (events, sink) = recorder();
    fresh.pose_preview(video, sink).await.unwrap();
    let events = events.lock().unwrap();
    assert!(
        matches!(events[0], PreviewEvent::Started { .. }),
        "{:?}",
        events[0]
    );
    let empty = tempfile::tempdir().unwrap();
    let without_models = Studio::new(empty.path().to_path_buf(), false).unwrap();
    assert!(without_models.warm_pose_models().is_none());
}

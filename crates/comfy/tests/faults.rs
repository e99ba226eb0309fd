//! Each fault a real server behind the RunPod proxy shows, injected into the stand-in.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use standin_comfy::{Faults, Route, StandinConfig};
use std::time::Duration;
use studio_comfy::{CancellationToken, ClientConfig, ComfyClient, ComfyEvent, RenderEvent, render};

#[tokio::test]
async fn websocket_cut_mid_run_is_survived_through_history_polling() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin_with(StandinConfig {
        steps: Some(6),
        step_delay: Duration::from_millis(40),
        ..Default::default()
    })
    .await;
    server.set_faults(Faults {
        ws_cut_at_step: Some(2),
        ws_down_until_done: true,
        ..Default::default()
    });
    let rec = Recorder::default();
    let out = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("out"),
        rec.sink(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(out.files.len(), 1);
    let events = rec.events();
    assert!(events.iter().any(|e| matches!(
        e,
        RenderEvent::Run {
            event: ComfyEvent::Reconnecting { .. }
        }
    )));
    // Steps after the cut never arrived: the end came from /history while the socket was refused.
    assert!(!events.iter().any(|e| matches!(
        e,
        RenderEvent::Run {
            event: ComfyEvent::Progress { value: 6, .. }
        }
    )));
    assert!(events.contains(&RenderEvent::Run {
        event: ComfyEvent::Finished
    }));
}

#[tokio::test]
async fn upload_answered_524_is_a_timeout_error() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        answer_524: Some((Route::Upload, 1)),
        delay_524: Duration::from_millis(50),
        ..Default::default()
    });
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("out"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.timeout");
    assert!(err.message().contains("524"));
}

#[tokio::test]
async fn history_and_prompt_524s_are_retried_without_queueing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        answer_524: Some((Route::Prompt, 1)),
        delay_524: Duration::from_millis(20),
        ..Default::default()
    });
    let client = client(server.url());
    let manifest = manifest();
    let req = request(&photo, &video);
    render(
        &client,
        &manifest,
        &req,
        &dir.path().join("a"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(server.prompts_accepted(), 1);
    server.set_faults(Faults {
        answer_524: Some((Route::History, 2)),
        ..Default::default()
    });
    render(
        &client,
        &manifest,
        &req,
        &dir.path().join("b"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(server.prompts_accepted(), 2);
}

#[tokio::test]
async fn execution_error_names_node_and_class() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        fail_at_node: Some((
            "28".into(),
            "Allocation on device 0 would exceed allowed memory. (out of memory)".into(),
        )),
        ..Default::default()
    });
    let rec = Recorder::default();
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("out"),
        rec.sink(),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.execution_failed");
    assert!(
        err.message().contains("node 28 (WanVideoDecode)"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("ran out of memory"));
    assert!(rec.events().iter().any(
        |e| matches!(e, RenderEvent::Run { event: ComfyEvent::Failed { node, .. } } if node == "28")
    ));
}

#[tokio::test]
async fn upload_over_the_clients_limit_is_refused_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    let size = std::fs::metadata(&video).unwrap().len();
    let config = ClientConfig {
        max_upload_bytes: size - 1,
        ..ClientConfig::fast()
    };
    let client = ComfyClient::with_config(server.url(), config).unwrap();
    let err = render(
        &client,
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("out"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.upload_too_large");
    assert!(err.message().contains("dance.mp4"));
    // Every size is checked first: not even the (smaller) photo was sent.
    assert_eq!(server.uploads_received(), 0);
}

#[tokio::test]
async fn upload_over_the_servers_limit_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let photo_size = std::fs::metadata(&photo).unwrap().len();
    let server = standin_with(StandinConfig {
        max_upload_bytes: photo_size + 1024,
        ..Default::default()
    })
    .await;
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("out"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.upload_too_large");
    assert_eq!(server.prompts_accepted(), 0);
}

#[tokio::test]
async fn hostile_output_name_is_refused_and_nothing_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        hostile_output_name: Some("../../escaped.mp4".into()),
        ..Default::default()
    });
    let out_dir = dir.path().join("a").join("out");
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &out_dir,
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.bad_output_name");
    assert!(!dir.path().join("escaped.mp4").exists());
    assert!(!dir.path().join("a").join("escaped.mp4").exists());
}

#[tokio::test]
async fn cut_download_resumes_with_range_to_an_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        cut_download_after: Some(700),
        ..Default::default()
    });
    let out_dir = dir.path().join("out");
    let out = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &out_dir,
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let path = &out.files[0].path;
    let original = only_video(server.output_dir());
    assert!(std::fs::metadata(&original).unwrap().len() > 700);
    assert_eq!(
        std::fs::read(path).unwrap(),
        std::fs::read(&original).unwrap()
    );
    assert_eq!(server.ranged_downloads(), 1);
    let parts = out_dir
        .read_dir()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "part")
        .count();
    assert_eq!(parts, 0, "the resumed part became the video");
}

#[tokio::test]
async fn missing_node_or_model_is_reported_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server =
        standin_with(StandinConfig::default().without_node("WanVideoAddSteadyDancerEmbeds")).await;
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("o"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.node_missing");
    assert!(
        err.message().contains("WanVideoAddSteadyDancerEmbeds")
            && err.message().contains("ComfyUI-WanVideoWrapper")
    );
    assert_eq!(server.uploads_received(), 0);

    let server = standin_with(StandinConfig::default().without_model("onnx/yolov10m.onnx")).await;
    let client = client(server.url());
    let readiness = client.readiness(&manifest()).await.unwrap();
    assert_eq!(readiness.missing_models.len(), 1);
    assert_eq!(readiness.missing_models[0].field, "yolo_model");
    let err = render(
        &client,
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("o"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.model_missing");
    assert!(err.message().contains("onnx/yolov10m.onnx"));
}

#[tokio::test]
async fn server_side_validation_errors_become_actionable() {
    let server = standin().await;
    let client = client(server.url());
    let mut prompt = manifest().workflow.clone();
    prompt["71"]["class_type"] = "WanVideoAddSteadyDancerEmbedsV9".into();
    let err = client
        .queue_prompt(&serde_json::Value::Object(prompt))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "comfy.node_missing");
    assert!(
        err.message().contains("WanVideoAddSteadyDancerEmbedsV9")
            && err.message().contains("node 71")
    );

    // The workflow as shipped names example files that were never uploaded.
    let err = client
        .queue_prompt(&serde_json::Value::Object(manifest().workflow.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "comfy.input_missing", "{}", err.message());
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&url).system_stats().await.unwrap_err();
    assert_eq!(err.code(), "comfy.unreachable");
}

#[tokio::test]
async fn a_server_that_forgot_the_prompt_is_reported_not_waited_on_forever() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        forget_prompts: true,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let err = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("o"),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "comfy.prompt_lost");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn older_servers_without_execution_success_still_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let server = standin().await;
    server.set_faults(Faults {
        legacy_events: true,
        ..Default::default()
    });
    let rec = Recorder::default();
    let out = render(
        &client(server.url()),
        &manifest(),
        &request(&photo, &video),
        &dir.path().join("o"),
        rec.sink(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(out.files.len(), 1);
    assert!(rec.events().contains(&RenderEvent::Run {
        event: ComfyEvent::Finished
    }));
}

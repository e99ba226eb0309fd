//! Parameters that break the workflow's rules are refused before a pod is rented.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_width_off_the_rule_is_refused_before_any_pod_and_at_planning() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let mut spec = rig.new_pod();
    spec.params.insert("width".into(), serde_json::json!(500));

    let err = engine.estimate(&spec, 25).await.unwrap_err();
    assert_eq!(err.code(), "manifest.bad_param");
    assert!(
        err.message().contains("496") && err.message().contains("512"),
        "{}",
        err.message()
    );

    let job = engine.submit(&spec, None).unwrap();
    let err = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "manifest.bad_param");
    assert!(rig.runpod.billing().is_empty(), "no pod was rented");
    assert_eq!(rig.comfy.uploads_received(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landscape_render_sends_the_landscape_size_and_our_prompt_id() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let mut spec = rig.spec(studio_jobs::Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    spec.normalise.orientation = Some("landscape".into());
    let job = engine.submit(&spec, None).unwrap();
    let outcome = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    let prompt_id = outcome.job.prompt_id.clone().unwrap();
    let entry = rig
        .comfy
        .history(&prompt_id)
        .expect("the server ran our prompt id");
    let inputs = &entry["prompt"][2]["75"]["inputs"];
    let (w, h) = (
        inputs["custom_width"].as_i64().unwrap(),
        inputs["custom_height"].as_i64().unwrap(),
    );
    assert!(w > h, "landscape reaches the workflow: {w}x{h}");
    assert_eq!((w % 16, h % 16), (0, 0));
    let frames = inputs["frame_load_cap"].as_i64().unwrap();
    assert_eq!(frames % 4, 1, "4n+1 frames: {frames}");
    assert!(
        frames <= 24,
        "never more than the 1.5 s video holds at 16 fps: {frames}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_dance_is_priced_and_rendered_at_the_manifests_frame_cap() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let long = rig.dir.path().join("long.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args([
            "testsrc=size=480x832:rate=16:duration=12",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&long)
        .status()
        .unwrap();
    assert!(made.success());
    let engine = rig.engine();
    let mut spec = rig.spec(studio_jobs::Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    spec.video = long;
    // 12 s at 16 fps is 192 frames; the workflow's default cap is 173 (4n+1).
    assert_eq!(engine.expected_frames(&spec).await.unwrap(), 173);
    let mut short = spec.clone();
    short
        .params
        .insert("max_frames".into(), serde_json::json!(81));
    assert_eq!(engine.expected_frames(&short).await.unwrap(), 81);

    let job = engine.submit(&spec, None).unwrap();
    let outcome = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    let entry = rig
        .comfy
        .history(outcome.job.prompt_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        entry["prompt"][2]["75"]["inputs"]["frame_load_cap"],
        serde_json::json!(173),
        "the render reads the frames the estimate priced"
    );
}

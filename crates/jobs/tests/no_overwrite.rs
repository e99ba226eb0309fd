//! Results are never overwritten: every new pod starts with an empty output folder, so ComfyUI
//! names the first result of each pod alike; the app must still keep every render's video.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use standin_comfy::{StandinComfy, StandinConfig};
use std::sync::Arc;
use std::time::Duration;
use studio_jobs::{Engine, JobSpec, Stage};
use tokio_util::sync::CancellationToken;
use url::Url;

async fn fresh_comfy() -> StandinComfy {
    StandinComfy::start(StandinConfig {
        steps: Some(2),
        step_delay: Duration::from_millis(5),
        ..StandinConfig::default()
    })
    .await
    .unwrap()
}

/// Every pod created from now on is served by `comfy`, as if it were a newly booted machine.
fn next_pods_run_on(rig: &common::Rig, comfy: &StandinComfy) {
    let url = Url::parse(comfy.url()).unwrap();
    rig.runpod
        .set_upstream(Some(Arc::new(move |_pod: &str| Some(url.clone()))));
}

async fn render(engine: &Engine, spec: &JobSpec) -> studio_jobs::JobRecord {
    let job = engine.submit(spec, None).unwrap();
    let outcome = engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.job.stage, Stage::Done);
    outcome.job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_renders_on_two_fresh_pods_keep_two_videos() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let first_pod = fresh_comfy().await;
    let second_pod = fresh_comfy().await;

    next_pods_run_on(&rig, &first_pod);
    let first = render(&engine, &rig.new_pod()).await;
    let first_video = first.outputs[0].clone();
    let first_bytes = std::fs::read(&first_video).unwrap();

    // A different photo, so the two videos differ and an overwrite cannot pass unnoticed.
    let red = rig.dir.path().join("red.png");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args(["color=c=red:s=480x832", "-frames:v", "1"])
        .arg(&red)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut spec = rig.new_pod();
    spec.image = red;
    next_pods_run_on(&rig, &second_pod);
    let second = render(&engine, &spec).await;
    let second_video = second.outputs[0].clone();

    assert_eq!(first_video.parent(), second_video.parent(), "one folder");
    assert_ne!(first_video, second_video, "each render has its own file");
    assert_eq!(
        std::fs::read(&first_video).unwrap(),
        first_bytes,
        "the first video is untouched by the second render"
    );
    assert_ne!(std::fs::read(&second_video).unwrap(), first_bytes);

    let gallery = engine.journal().gallery_list().unwrap();
    assert_eq!(gallery.len(), 2);
    let video_of = |id: &str| &gallery.iter().find(|e| e.id == id).unwrap().video;
    assert_eq!(video_of(&first.id), &first_video);
    assert_eq!(video_of(&second.id), &second_video);
    assert!(gallery.iter().all(|e| !e.missing));

    // Each pod was asked to name its file after the job, so no pod mixes runs either.
    for (pod, job) in [(&first_pod, &first), (&second_pod, &second)] {
        let names: Vec<String> = std::fs::read_dir(pod.output_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("SteadyDancer_{}_00001.mp4", job.id)]);
    }
    let local = first_video.file_name().unwrap().to_string_lossy();
    assert!(
        local.starts_with("SteadyDancer_") && local.ends_with(".mp4"),
        "{local}"
    );
    assert!(local.contains(&first.id[..8]), "{local}");
    assert_eq!(rig.runpod.pods_billing(), 0);
}

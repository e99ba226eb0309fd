//! What the window may ask of the studio: input files only when the user chose them (file dialog,
//! drop, a gallery entry's inputs), a render only from its plan's id once confirmed, and each
//! result granted on its own, never the folder around it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use studio_app::window::{NOT_AN_OUTPUT, NOT_CHOSEN, NOT_CONFIRMED, NOT_FROM_WINDOW, PLAN_UNKNOWN};
use studio_app::{BatchRequest, PreviewEvent, Studio};
use studio_jobs::{JobEvent, Stage};

struct Files {
    _dir: tempfile::TempDir,
    photo: PathBuf,
    video: PathBuf,
    /// A file the user never chose, beside the chosen ones.
    secret: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    image::RgbImage::from_pixel(576, 1024, image::Rgb([200, 120, 80]))
        .save(&photo)
        .unwrap();
    let video = dir.path().join("dance.mp4");
    let mut out = studio_media::RgbVideoWriter::create(&video, 480, 832, 25.0).unwrap();
    for i in 0..50u32 {
        out.push(&image::RgbImage::from_pixel(
            480,
            832,
            image::Rgb([(i * 5) as u8, 60, 90]),
        ))
        .unwrap();
    }
    out.finish().unwrap();
    let secret = dir.path().join("secret.mp4");
    std::fs::copy(&video, &secret).unwrap();
    Files {
        _dir: dir,
        photo,
        video,
        secret,
    }
}

/// Each event with the files granted when it arrived.
type Seen = Arc<Mutex<Vec<(JobEvent, Vec<PathBuf>)>>>;

fn params() -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([
        ("seed".to_string(), 7.into()),
        ("steps".to_string(), 4.into()),
    ])
}

fn one(photo: &Path, video: &Path) -> BatchRequest {
    BatchRequest {
        images: vec![photo.to_path_buf()],
        videos: vec![video.to_path_buf()],
        params: params(),
        ..BatchRequest::default()
    }
}

fn no_preview_events() -> studio_app::PreviewSink {
    Arc::new(|_: PreviewEvent| {})
}

#[tokio::test]
async fn the_window_opens_only_files_the_user_chose() {
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let f = files();
    let studio = Studio::new(data.path().to_path_buf(), true).unwrap();

    let refused = studio.chosen_input(&f.photo).unwrap_err();
    assert_eq!(refused.code(), NOT_CHOSEN);
    assert!(
        refused.message().contains("photo.png") && refused.message().contains("Choose files"),
        "says which file and what to do: {}",
        refused.message()
    );
    let plan = studio
        .plan_batch_for_window(one(&f.photo, &f.video))
        .await
        .unwrap_err();
    assert_eq!(
        plan.code(),
        NOT_CHOSEN,
        "no plan (no probe) of unchosen files"
    );
    let preview = studio
        .pose_preview(f.secret.clone(), no_preview_events())
        .await
        .unwrap_err();
    assert_eq!(
        preview.code(),
        NOT_CHOSEN,
        "no pose preview of unchosen files"
    );

    // The file dialog returned the photo; the video was dropped (as the page sends it in tests).
    studio.user_chose([&f.photo]);
    studio.page_dropped(
        &serde_json::json!({ "paths": [f.video], "position": { "x": 1, "y": 2 } }).to_string(),
    );
    assert_eq!(studio.chosen_input(&f.photo).unwrap(), f.photo);
    assert_eq!(studio.chosen_input(&f.video).unwrap(), f.video);
    let other_name = f.photo.parent().unwrap().join(".").join("photo.png");
    assert!(
        studio.chosen_input(&other_name).is_ok(),
        "the same file by another name"
    );
    assert_eq!(
        studio.chosen_input(&f.secret).unwrap_err().code(),
        NOT_CHOSEN,
        "choosing a file does not open its folder"
    );
    assert_eq!(
        studio
            .chosen_input(Path::new("/etc/passwd"))
            .unwrap_err()
            .code(),
        NOT_CHOSEN
    );
    studio.page_dropped("not json");
    studio.page_dropped(r#"{"paths": "/etc/passwd"}"#);
    assert!(studio.chosen_input(Path::new("/etc/passwd")).is_err());

    // Inputs are not outputs: nothing may be revealed or played yet.
    assert_eq!(
        studio.granted_output(&f.video).unwrap_err().code(),
        NOT_AN_OUTPUT
    );
    assert_eq!(
        studio.video_url(&f.video).await.unwrap_err().code(),
        "media.not_playable_here"
    );
}

#[tokio::test]
async fn a_render_starts_from_its_plan_once_confirmed_and_grants_only_its_result() {
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let f = files();
    let studio = Studio::new(data.path().to_path_buf(), true).unwrap();
    let granted: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
    let hook_granted = granted.clone();
    studio.on_output_granted(Arc::new(move |file: &Path| {
        hook_granted.lock().unwrap().push(file.to_path_buf())
    }));
    studio.user_chose([&f.photo, &f.video]);

    // Only the photo was chosen: a batch naming the secret video is refused whole.
    let mixed = BatchRequest {
        videos: vec![f.video.clone(), f.secret.clone()],
        ..one(&f.photo, &f.video)
    };
    assert_eq!(
        studio
            .plan_batch_for_window(mixed)
            .await
            .unwrap_err()
            .code(),
        NOT_CHOSEN
    );
    // The page may not pick the server that sees the photo, nor where results are written.
    let elsewhere = BatchRequest {
        comfy_url: Some("http://127.0.0.1:9".into()),
        ..one(&f.photo, &f.video)
    };
    assert_eq!(
        studio
            .plan_batch_for_window(elsewhere)
            .await
            .unwrap_err()
            .code(),
        NOT_FROM_WINDOW
    );

    let plan = studio
        .plan_batch_for_window(one(&f.photo, &f.video))
        .await
        .unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["planId"], plan.plan_id.as_str());
    assert_eq!(json["renders"][0]["image"], f.photo.to_str().unwrap());
    assert_eq!(plan.renders.len(), 1);

    let sink_for = |events: Seen| {
        let granted = granted.clone();
        let sink: studio_jobs::EventSink = Arc::new(move |e: JobEvent| {
            let granted_then = granted.lock().unwrap().clone();
            events.lock().unwrap().push((e, granted_then));
        });
        sink
    };
    let events: Seen = Arc::default();

    let unconfirmed = studio
        .start_planned_batch(&plan.plan_id, false, sink_for(events.clone()))
        .await
        .unwrap_err();
    assert_eq!(unconfirmed.code(), NOT_CONFIRMED);
    assert!(unconfirmed.message().contains("confirm"));
    let made_up = studio
        .start_planned_batch("0123456789abcdef", true, sink_for(events.clone()))
        .await
        .unwrap_err();
    assert_eq!(made_up.code(), PLAN_UNKNOWN);
    assert!(events.lock().unwrap().is_empty(), "nothing ran");

    let outcome = studio
        .start_planned_batch(&plan.plan_id, true, sink_for(events.clone()))
        .await
        .unwrap();
    assert_eq!(outcome.renders.len(), 1);
    let result = outcome.renders[0].outputs[0].clone();
    assert!(result.is_file());
    let finished = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|(e, granted_then)| match e {
            JobEvent::Finished { stage, outputs, .. } => {
                Some((*stage, outputs.clone(), granted_then.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(finished.0, Stage::Done);
    assert_eq!(finished.1, vec![result.clone()]);
    assert_eq!(
        finished.2,
        vec![result.clone()],
        "granted before the window hears the render ended"
    );
    assert!(
        granted.lock().unwrap().iter().all(|g| *g == result),
        "only the result file, never its folder: {:?}",
        granted.lock().unwrap()
    );
    assert!(studio.granted_output(&result).is_ok());
    assert!(studio.video_url(&result).await.is_ok());

    let neighbour = result.with_file_name("someone-else.mp4");
    std::fs::copy(&result, &neighbour).unwrap();
    assert_eq!(
        studio.granted_output(&neighbour).unwrap_err().code(),
        NOT_AN_OUTPUT
    );
    assert_eq!(
        studio.video_url(&neighbour).await.unwrap_err().code(),
        "media.not_playable_here"
    );

    let again = studio
        .start_planned_batch(&plan.plan_id, true, sink_for(Arc::default()))
        .await
        .unwrap_err();
    assert_eq!(again.code(), PLAN_UNKNOWN, "a plan starts once");

    // Next start: the gallery grants its videos and makes its inputs usable for "render again".
    let next = Studio::new(data.path().to_path_buf(), true).unwrap();
    assert!(next.granted_output(&result).is_err());
    let entries = next.gallery_for_window().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(next.granted_output(&result).is_ok());
    assert!(next.video_url(&result).await.is_ok());
    assert!(next.chosen_input(&entries[0].spec.image).is_ok());
    assert!(next.chosen_input(&entries[0].spec.video).is_ok());
    assert!(next.granted_output(&neighbour).is_err());
}

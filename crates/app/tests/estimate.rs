//! The Create screen's estimate counts frames the way `studio render` does: both ask the
//! engine, which reads the workflow's rate and frame cap from its manifest.
#![allow(clippy::unwrap_used)]

use studio_app::{BatchRequest, RenderOptions, Studio};

#[tokio::test]
async fn the_plan_counts_frames_like_the_cli_from_the_manifest() {
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    image::RgbImage::from_pixel(480, 832, image::Rgb([200, 120, 80]))
        .save(&photo)
        .unwrap();
    let video = dir.path().join("dance.mp4");
    // 12 s at 25 fps: read at the workflow's 16 fps that is 192 frames, over its cap of 173.
    let mut out = studio_media::RgbVideoWriter::create(&video, 480, 832, 25.0).unwrap();
    for i in 0..300u32 {
        out.push(&image::RgbImage::from_pixel(
            480,
            832,
            image::Rgb([(i % 250) as u8, 60, 90]),
        ))
        .unwrap();
    }
    out.finish().unwrap();
    let studio = Studio::new(data.path().to_path_buf(), true).unwrap();
    studio.user_chose([&photo, &video]);
    let one = BatchRequest {
        images: vec![photo.clone()],
        videos: vec![video.clone()],
        ..BatchRequest::default()
    };
    let plan = studio.plan_batch_for_window(one.clone()).await.unwrap();
    assert_eq!(plan.renders[0].frames, 173);
    assert_eq!(plan.estimate.renders[0].frames, 173);
    let trimmed = studio
        .plan_batch_for_window(BatchRequest {
            options: RenderOptions {
                trim_start: Some(1.0),
                trim_end: Some(3.0),
                ..RenderOptions::default()
            },
            ..one
        })
        .await
        .unwrap();
    // 2 s at 16 fps is 32 frames, kept to 4n+1 below: 29.
    assert_eq!(trimmed.renders[0].frames, 29);
    assert_eq!(trimmed.estimate.renders[0].frames, 29);
}

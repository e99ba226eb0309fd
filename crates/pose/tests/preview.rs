//! The background preview (frames in order, first frame early, cancel) and the video export
//! through studio-media decoding and our MP4 writer.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use image::RgbImage;
use studio_media::RgbVideoWriter;
use studio_pose::preview::FrameSink;
use studio_pose::{PoseModels, PreviewOptions, start_with_source, write_preview_videos};

fn models() -> Arc<PoseModels> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    Arc::new(PoseModels::load(&d.join("det_test.onnx"), &d.join("pose_test.onnx")).unwrap())
}

#[test]
fn frames_arrive_in_order_with_a_summary() {
    let source = |sink: &mut FrameSink<'_>| {
        for i in 0..4u64 {
            if !sink(i * 3, i as f64 * 0.1, RgbImage::new(640, 640)) {
                break;
            }
        }
        Ok(4)
    };
    let (tx, rx) = mpsc::channel();
    let handle = start_with_source(models(), source, move |f| {
        tx.send((f.index, f.check.ok(), f.skeleton.dimensions()))
            .unwrap()
    });
    let summary = handle.wait().unwrap();
    let got: Vec<_> = rx.iter().collect();
    assert_eq!(
        got,
        vec![
            (0, true, (640, 640)),
            (3, true, (640, 640)),
            (6, true, (640, 640)),
            (9, true, (640, 640))
        ]
    );
    assert_eq!(summary.frames, 4);
    assert!(!summary.cancelled && summary.checks.ok());
    assert!(summary.first_frame_after.unwrap() <= summary.elapsed);
    assert!(summary.stages.detect_infer > std::time::Duration::ZERO);
}

#[test]
fn cancel_stops_an_endless_source() {
    let source = |sink: &mut FrameSink<'_>| {
        let mut i = 0;
        while sink(i, 0.0, RgbImage::new(320, 320)) {
            i += 1;
        }
        Ok(i)
    };
    let seen = Arc::new(AtomicBool::new(false));
    let s2 = seen.clone();
    let handle = start_with_source(models(), source, move |_| s2.store(true, Ordering::SeqCst));
    while !seen.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    handle.cancel();
    let summary = handle.wait().unwrap();
    assert!(summary.cancelled);
    assert!(summary.frames >= 1);
}

#[test]
fn writes_skeleton_and_overlay_videos() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dance.mp4");
    let mut w = RgbVideoWriter::create(&input, 320, 240, 10.0).unwrap();
    for i in 0..8u8 {
        w.push(&RgbImage::from_pixel(
            320,
            240,
            image::Rgb([i * 20, 80, 120]),
        ))
        .unwrap();
    }
    assert_eq!(w.finish().unwrap(), 8);

    let out = dir.path().join("out");
    let mut count = 0;
    let report = write_preview_videos(
        &models(),
        &input,
        &out,
        PreviewOptions {
            max_side: 640,
            every_nth: 2,
        },
        &AtomicBool::new(false),
        &mut |_| count += 1,
    )
    .unwrap();
    assert_eq!(count, 4);
    assert_eq!(report.summary.frames, 4);
    // 320x240 letterboxes at ratio 2: the person box ends at y 256, below the frame.
    assert_eq!(report.summary.checks.cut_off, vec![0, 2, 4, 6]);
    for path in [&report.skeleton_mp4, &report.overlay_mp4] {
        let facts = studio_media::probe(path).unwrap();
        assert_eq!((facts.width, facts.height), (320, 240));
        assert_eq!(facts.frame_count, Some(4), "{facts:?}");
    }
}

#[test]
fn summary_json_uses_milliseconds() {
    let source = |sink: &mut FrameSink<'_>| {
        sink(0, 0.0, RgbImage::new(64, 64));
        Ok(1)
    };
    let summary = start_with_source(models(), source, |_| {}).wait().unwrap();
    let v = serde_json::to_value(&summary).unwrap();
    assert!(v["elapsed_ms"].as_f64().unwrap() > 0.0);
    assert!(v["first_frame_after_ms"].as_f64().unwrap() > 0.0);
    assert!(v["stages"]["detect_infer_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(v["checks"]["frames"], 1);
}

#[test]
fn frame_info_and_jpeg_for_the_gui() {
    let source = |sink: &mut FrameSink<'_>| {
        sink(7, 0.28, RgbImage::new(640, 640));
        Ok(1)
    };
    let (tx, rx) = mpsc::channel();
    start_with_source(models(), source, move |f| {
        tx.send((
            f.info(),
            f.skeleton_jpeg(80).unwrap(),
            f.overlay_jpeg(80).unwrap(),
        ))
        .unwrap()
    })
    .wait()
    .unwrap();
    let (info, sk, ov) = rx.recv().unwrap();
    let v = serde_json::to_value(&info).unwrap();
    assert_eq!(
        (v["index"].as_u64(), v["width"].as_u64()),
        (Some(7), Some(640))
    );
    assert_eq!(v["people"][0]["keypoints"].as_array().unwrap().len(), 134);
    assert_eq!(v["check"]["people"], 1);
    for jpeg in [sk, ov] {
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (640, 640));
    }
}

#[test]
fn a_file_that_is_not_a_video_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("dance.mp4");
    std::fs::write(&bad, b"this is not a video at all").unwrap();
    let handle = studio_pose::start_preview(models(), bad, PreviewOptions::default(), |_| {});
    let err = handle.wait().unwrap_err();
    assert!(err.code().starts_with("media."), "{}", err.code());
}

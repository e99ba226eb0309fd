use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use studio_error::codes as common;
use studio_media::{
    Fit, NormaliseOptions, RgbFrame, decode_frames, error as codes, normalise, probe,
};

use crate::fixtures::Fixtures;

/// 2 s, 25 fps, 320x240 blue with a red 80x60 block in the top-left corner.
fn marked(fx: &Fixtures) -> PathBuf {
    fx.ffmpeg(
        "marked.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=blue:size=320x240:rate=25:duration=2,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

fn opts(width: u32, height: u32, fit: Fit) -> NormaliseOptions {
    NormaliseOptions {
        trim_start: 0.0,
        trim_end: None,
        fps: 16.0,
        width,
        height,
        fit,
    }
}

fn first_frame(path: &Path) -> RgbFrame {
    let mut first = None;
    decode_frames(path, 0, 1, |f| {
        first = Some(f);
        false
    })
    .expect("decode output");
    first.expect("a frame")
}

fn pixel(f: &RgbFrame, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * f.width + x) * 3) as usize;
    [f.data[i], f.data[i + 1], f.data[i + 2]]
}

fn no_cancel() -> AtomicBool {
    AtomicBool::new(false)
}

#[test]
fn trims_and_converts_to_constant_16_fps_h264() {
    let fx = Fixtures::new();
    let out = fx.path("out.mp4");
    let mut seen = Vec::new();
    let options = NormaliseOptions {
        trim_start: 0.5,
        trim_end: Some(1.5),
        ..opts(320, 240, Fit::Crop)
    };
    let report =
        normalise(&marked(&fx), &out, &options, |p| seen.push(p), &no_cancel()).expect("normalise");
    assert_eq!(report.frames, 16, "{report:?}");
    assert!((report.duration_secs - 1.0).abs() < 1e-9);
    assert_eq!((report.width, report.height), (320, 240));
    assert_eq!(report.encoder, "libx264");
    assert_eq!(
        report.output_size_bytes,
        std::fs::metadata(&out).unwrap().len()
    );
    assert!(!fx.path("out.mp4.part").exists());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(1.0));

    let facts = probe(&out).expect("probe output");
    assert_eq!(facts.codec, "h264");
    assert_eq!(facts.frame_count, Some(16));
    assert!((facts.frame_rate.unwrap() - 16.0).abs() < 0.01);
    assert!(
        (facts.duration_secs.unwrap() - 1.0).abs() < 0.07,
        "{facts:?}"
    );
    assert!(!facts.has_audio);
}

#[test]
fn output_is_yuv420p() {
    let fx = Fixtures::new();
    let out = fx.path("o.mp4");
    normalise(
        &marked(&fx),
        &out,
        &opts(160, 120, Fit::Crop),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    let probe_out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=pix_fmt,codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output()
        .expect("ffprobe");
    assert_eq!(
        String::from_utf8_lossy(&probe_out.stdout).trim(),
        "h264,yuv420p"
    );
}

#[test]
fn pad_keeps_the_whole_picture_with_black_bars() {
    let fx = Fixtures::new();
    let out = fx.path("pad.mp4");
    let report = normalise(
        &marked(&fx),
        &out,
        &opts(320, 480, Fit::Pad),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    assert_eq!((report.width, report.height), (320, 480));
    let f = first_frame(&out);
    assert_eq!((f.width, f.height), (320, 480));
    let bar = pixel(&f, 160, 40);
    assert!(bar.iter().all(|&c| c < 30), "top bar {bar:?}");
    let red = pixel(&f, 10, 130); // the block sits at the top-left of the picture, below the bar
    assert!(red[0] > 200 && red[2] < 60, "{red:?}");
    let blue = pixel(&f, 300, 340);
    assert!(blue[2] > 200 && blue[0] < 60, "{blue:?}");
}

#[test]
fn crop_fills_the_frame_without_bars() {
    let fx = Fixtures::new();
    let out = fx.path("crop.mp4");
    normalise(
        &marked(&fx),
        &out,
        &opts(240, 320, Fit::Crop),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    let f = first_frame(&out);
    assert_eq!((f.width, f.height), (240, 320));
    for (x, y) in [(120, 4), (120, 315), (230, 160)] {
        let p = pixel(&f, x, y);
        assert!(
            p[2] > 200 && p[0] < 60,
            "({x},{y}) {p:?} should be blue, not a bar"
        );
    }
}

#[test]
fn rotated_input_comes_out_upright() {
    let fx = Fixtures::new();
    let turned = fx.ffmpeg(
        "turned.mp4",
        &[
            "-i",
            marked(&fx).to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let out = fx.path("upright.mp4");
    normalise(
        &turned,
        &out,
        &opts(240, 320, Fit::Crop),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    let facts = probe(&out).unwrap();
    assert_eq!(facts.rotation, 0);
    assert_eq!((facts.width, facts.height), (240, 320));
    let f = first_frame(&out);
    let red = pixel(&f, 5, 315);
    assert!(red[0] > 200 && red[2] < 60, "{red:?}");
}

#[test]
fn variable_rate_input_becomes_constant() {
    let fx = Fixtures::new();
    let vfr = fx.clip(
        "vfr.mp4",
        "320x320",
        25,
        3.0,
        &[
            "-vf",
            "setpts='if(lt(N,25),N,25+(N-25)*2)/25/TB'",
            "-vsync",
            "vfr",
            "-c:v",
            "libx264",
        ],
    );
    assert!(probe(&vfr).unwrap().variable_frame_rate);
    let out = fx.path("cfr.mp4");
    let report = normalise(&vfr, &out, &opts(256, 256, Fit::Crop), |_| {}, &no_cancel()).unwrap();
    let facts = probe(&out).unwrap();
    assert!(!facts.variable_frame_rate, "{facts:?}");
    assert_eq!(facts.frame_count, Some(report.frames));
}

#[test]
fn cancel_stops_and_leaves_no_file() {
    let fx = Fixtures::new();
    let out = fx.path("never.mp4");
    let cancel = AtomicBool::new(false);
    let e = normalise(
        &marked(&fx),
        &out,
        &opts(320, 240, Fit::Crop),
        |_| cancel.store(true, Ordering::Relaxed),
        &cancel,
    )
    .expect_err("cancelled");
    assert_eq!(e.code(), common::CANCELLED);
    assert!(!out.exists());
    assert!(!fx.path("never.mp4.part").exists());
}

#[test]
fn bad_options_are_refused() {
    let fx = Fixtures::new();
    let input = marked(&fx);
    let out = fx.path("x.mp4");
    let bad = [
        NormaliseOptions {
            fps: 0.0,
            ..opts(320, 240, Fit::Crop)
        },
        NormaliseOptions {
            trim_start: 1.0,
            trim_end: Some(0.5),
            ..opts(320, 240, Fit::Crop)
        },
        opts(8, 8, Fit::Pad),
    ];
    for o in bad {
        let e = normalise(&input, &out, &o, |_| {}, &no_cancel()).expect_err("refused");
        assert_eq!(e.code(), common::INVALID_INPUT, "{o:?}");
    }
    let late = NormaliseOptions {
        trim_start: 5.0,
        ..opts(320, 240, Fit::Crop)
    };
    assert_eq!(
        normalise(&input, &out, &late, |_| {}, &no_cancel())
            .unwrap_err()
            .code(),
        common::INVALID_INPUT
    );
    assert!(!out.exists());
}

#[test]
fn odd_sizes_are_made_even() {
    let fx = Fixtures::new();
    let out = fx.path("even.mp4");
    let report = normalise(
        &marked(&fx),
        &out,
        &opts(241, 181, Fit::Pad),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    assert_eq!((report.width, report.height), (240, 180));
    let facts = probe(&out).unwrap();
    assert_eq!((facts.width, facts.height), (240, 180));
}

#[test]
fn damaged_input_fails_cleanly() {
    let fx = Fixtures::new();
    let half = fx.truncated(&marked(&fx), "half.mp4", 0.5);
    let out = fx.path("x.mp4");
    let e = normalise(
        &half,
        &out,
        &opts(320, 240, Fit::Crop),
        |_| {},
        &no_cancel(),
    )
    .expect_err("damaged");
    assert_eq!(e.code(), codes::CORRUPT);
    assert!(!out.exists() && !fx.path("x.mp4.part").exists());
}

#[test]
fn anamorphic_input_is_squared_before_cropping() {
    let fx = Fixtures::new();
    // Stored 160x240 with 2:1 pixels: shown as 320x240, like the marked clip squeezed.
    let squeezed = fx.ffmpeg(
        "squeezed.mp4",
        &[
            "-i",
            marked(&fx).to_str().unwrap(),
            "-vf",
            "scale=160:240,setsar=2/1",
            "-c:v",
            "libx264",
        ],
    );
    let out = fx.path("square.mp4");
    normalise(
        &squeezed,
        &out,
        &opts(320, 240, Fit::Pad),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    let f = first_frame(&out);
    // No bars: the displayed shape already matched 320x240.
    let edge = pixel(&f, 310, 120);
    assert!(edge[2] > 200 && edge[0] < 60, "{edge:?}");
    let red = pixel(&f, 70, 50);
    assert!(red[0] > 200 && red[2] < 60, "{red:?}");
}

#[test]
fn whole_clip_keeps_its_full_length() {
    // 2 s at 25 fps becomes exactly 32 frames at 16 fps: the last frame is not lost at the end.
    let fx = Fixtures::new();
    let out = fx.path("full.mp4");
    let report = normalise(
        &marked(&fx),
        &out,
        &opts(320, 240, Fit::Crop),
        |_| {},
        &no_cancel(),
    )
    .unwrap();
    assert_eq!(report.frames, 32);
    assert!((report.duration_secs - 2.0).abs() < 1e-9);
    assert_eq!(probe(&out).unwrap().frame_count, Some(32));
}

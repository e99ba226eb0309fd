use studio_media::{RgbFrame, decode_frames, error as codes};

use crate::fixtures::Fixtures;

/// 2 s, 25 fps, 320x240 blue with a red 80x60 block in the top-left corner.
fn marked_clip(fx: &Fixtures, extra_rotate: Option<&str>) -> std::path::PathBuf {
    let plain = fx.ffmpeg(
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
    );
    match extra_rotate {
        None => plain,
        Some(r) => fx.ffmpeg(
            "marked-rot.mp4",
            &[
                "-i",
                plain.to_str().unwrap(),
                "-c",
                "copy",
                "-metadata:s:v:0",
                &format!("rotate={r}"),
            ],
        ),
    }
}

fn pixel(f: &RgbFrame, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * f.width + x) * 3) as usize;
    [f.data[i], f.data[i + 1], f.data[i + 2]]
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 200 && p[1] < 60 && p[2] < 60
}

fn is_blue(p: [u8; 3]) -> bool {
    p[2] > 200 && p[0] < 60 && p[1] < 60
}

#[test]
fn every_nth_frame_at_preview_size() {
    let fx = Fixtures::new();
    let mut got = Vec::new();
    let handed = decode_frames(&marked_clip(&fx, None), 160, 5, |f| {
        got.push(f);
        true
    })
    .expect("decode");
    assert_eq!(handed, 10);
    let indices: Vec<u64> = got.iter().map(|f| f.index).collect();
    assert_eq!(indices, vec![0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    assert!((got[1].pts_secs - 0.2).abs() < 1e-6, "{:?}", got[1]);
    let first = &got[0];
    assert_eq!((first.width, first.height), (160, 120));
    assert_eq!(first.data.len(), 160 * 120 * 3);
    assert!(is_red(pixel(first, 5, 5)), "{:?}", pixel(first, 5, 5));
    assert!(is_blue(pixel(first, 150, 110)));
}

#[test]
fn stops_when_the_caller_has_enough() {
    let fx = Fixtures::new();
    let mut calls = 0;
    let handed = decode_frames(&marked_clip(&fx, None), 64, 1, |_| {
        calls += 1;
        calls < 3
    })
    .expect("decode");
    assert_eq!((handed, calls), (3, 3));
}

#[test]
fn frames_are_upright_when_the_video_is_rotated() {
    let fx = Fixtures::new();
    let mut first = None;
    decode_frames(&marked_clip(&fx, Some("90")), 320, 1, |f| {
        first = Some(f);
        false
    })
    .expect("decode");
    let f = first.expect("one frame");
    assert_eq!((f.width, f.height), (240, 320));
    // Turned a quarter counter-clockwise (as FFmpeg shows it): top-left lands bottom-left.
    assert!(is_red(pixel(&f, 5, 315)), "{:?}", pixel(&f, 5, 315));
    assert!(is_blue(pixel(&f, 5, 5)));
}

#[test]
fn damaged_file_fails_without_frames() {
    let fx = Fixtures::new();
    let half = fx.truncated(&marked_clip(&fx, None), "half.mp4", 0.5);
    let e = decode_frames(&half, 64, 1, |_| true).expect_err("damaged");
    assert_eq!(e.code(), codes::CORRUPT);
}

#[test]
fn a_photo_is_one_frame() {
    let fx = Fixtures::new();
    let mut frames = Vec::new();
    let n = decode_frames(&fx.still("p.png", "400x300"), 200, 1, |f| {
        frames.push(f);
        true
    })
    .expect("decode");
    assert_eq!(n, 1);
    assert_eq!((frames[0].width, frames[0].height), (200, 150));
    assert_eq!(frames[0].index, 0);
}

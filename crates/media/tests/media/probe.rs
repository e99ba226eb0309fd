use studio_media::{MediaKind, error as codes, probe};

use crate::fixtures::{Fixtures, noise};

fn approx(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn h264_mp4_reports_video_facts() {
    let fx = Fixtures::new();
    let path = fx.h264_mp4();
    let facts = probe(&path).expect("probe");
    assert_eq!(facts.kind, MediaKind::Video);
    assert_eq!(facts.container, "MP4");
    assert_eq!(facts.codec, "h264");
    assert_eq!((facts.width, facts.height), (320, 240));
    assert_eq!(facts.rotation, 0);
    assert!(approx(facts.duration_secs.unwrap(), 2.0, 0.05), "{facts:?}");
    assert!(approx(facts.frame_rate.unwrap(), 25.0, 0.01), "{facts:?}");
    assert_eq!(facts.frame_count, Some(50));
    assert!(!facts.has_audio);
    assert!(!facts.variable_frame_rate);
    assert_eq!(facts.file_name, "clip.mp4");
    assert_eq!(facts.file_size, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn facts_serialise_in_camel_case_with_lowercase_kind() {
    let fx = Fixtures::new();
    let facts = probe(&fx.h264_mp4()).expect("probe");
    let json = serde_json::to_value(&facts).unwrap();
    assert_eq!(json["kind"], "video");
    assert_eq!(json["fileName"], "clip.mp4");
    assert_eq!(json["frameCount"], 50);
    assert_eq!(json["hasAudio"], false);
    assert_eq!(json["checks"][0]["severity"], "warning");
    assert_eq!(json["checks"][0]["code"], "media.too_small");
}

#[test]
fn mov_with_sound_reports_audio_and_container() {
    let fx = Fixtures::new();
    let path = fx.ffmpeg(
        "talk.mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=30:duration=1.5",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1.5",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let facts = probe(&path).expect("probe");
    assert_eq!(facts.container, "QuickTime / MOV");
    assert!(facts.has_audio);
    assert_eq!((facts.width, facts.height), (640, 360));
    assert!(approx(facts.frame_rate.unwrap(), 30.0, 0.01));
}

#[test]
fn webm_vp9_is_a_video() {
    let fx = Fixtures::new();
    let path = fx.clip(
        "dance.webm",
        "320x240",
        24,
        1.0,
        &["-c:v", "libvpx-vp9", "-deadline", "realtime"],
    );
    let facts = probe(&path).expect("probe");
    assert_eq!(facts.kind, MediaKind::Video);
    assert_eq!(facts.container, "WebM");
    assert_eq!(facts.codec, "vp9");
    assert!(approx(facts.duration_secs.unwrap(), 1.0, 0.1), "{facts:?}");
}

#[test]
fn png_is_an_image() {
    let fx = Fixtures::new();
    let facts = probe(&fx.still("photo.png", "300x400")).expect("probe");
    assert_eq!(facts.kind, MediaKind::Image);
    assert_eq!(facts.container, "PNG");
    assert_eq!(facts.codec, "png");
    assert_eq!((facts.width, facts.height), (300, 400));
    assert_eq!(facts.duration_secs, None);
    assert_eq!(facts.frame_rate, None);
}

#[test]
fn jpeg_is_an_image() {
    let fx = Fixtures::new();
    let facts = probe(&fx.still("photo.jpg", "480x640")).expect("probe");
    assert_eq!(facts.kind, MediaKind::Image);
    assert_eq!(facts.container, "JPEG");
    assert_eq!(facts.codec, "mjpeg");
    assert_eq!((facts.width, facts.height), (480, 640));
}

#[test]
fn webp_and_bmp_are_images() {
    let fx = Fixtures::new();
    for (name, container) in [("p.webp", "WebP"), ("p.bmp", "BMP")] {
        let facts = probe(&fx.still(name, "320x320")).expect("probe");
        assert_eq!(facts.kind, MediaKind::Image, "{name}");
        assert_eq!(facts.container, container, "{name}");
    }
}

#[test]
fn mp4_cut_in_half_is_corrupt() {
    let fx = Fixtures::new();
    let half = fx.truncated(&fx.h264_mp4(), "half.mp4", 0.5);
    let e = probe(&half).expect_err("half a file");
    assert_eq!(e.code(), codes::CORRUPT, "{e:?}");
    assert!(e.message().contains("half.mp4"));
}

#[test]
fn fast_start_mp4_missing_its_end_is_corrupt() {
    // With the index at the front the first frame still decodes: the end must be checked too.
    let fx = Fixtures::new();
    let full = fx.clip(
        "fs.mp4",
        "320x240",
        25,
        4.0,
        &["-c:v", "libx264", "-movflags", "+faststart"],
    );
    let cut = fx.truncated(&full, "fs-cut.mp4", 0.5);
    let e = probe(&cut).expect_err("missing end");
    assert_eq!(e.code(), codes::CORRUPT, "{e:?}");
}

#[test]
fn random_bytes_are_not_media() {
    let fx = Fixtures::new();
    let path = fx.write("noise.mp4", &noise(64 * 1024, 7));
    let e = probe(&path).expect_err("noise");
    assert_eq!(e.code(), codes::NOT_MEDIA, "{e:?}");
}

#[test]
fn text_file_is_not_media() {
    let fx = Fixtures::new();
    let path = fx.write("notes.txt", b"Remember to buy milk.\nAnd a dance video.\n");
    let e = probe(&path).expect_err("text");
    assert_eq!(e.code(), codes::NOT_MEDIA, "{e:?}");
    assert!(e.message().contains("Export it again"));
}

#[test]
fn empty_file_is_not_media() {
    let fx = Fixtures::new();
    let e = probe(&fx.write("empty.mp4", b"")).expect_err("empty");
    assert_eq!(e.code(), codes::NOT_MEDIA);
}

#[test]
fn sound_only_has_no_video_stream() {
    let fx = Fixtures::new();
    let path = fx.ffmpeg(
        "song.m4a",
        &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"],
    );
    let e = probe(&path).expect_err("audio only");
    assert_eq!(e.code(), codes::NO_VIDEO_STREAM, "{e:?}");
}

#[test]
fn missing_file_is_not_found() {
    let fx = Fixtures::new();
    let e = probe(&fx.path("gone.mp4")).expect_err("missing");
    assert_eq!(e.code(), codes::NOT_FOUND);
}

#[test]
fn unknown_codec_is_unsupported() {
    let fx = Fixtures::new();
    let avi = fx.clip(
        "x.avi",
        "320x240",
        25,
        1.0,
        &["-c:v", "mpeg4", "-vtag", "XVID"],
    );
    // Rename the codec tag to one no decoder knows.
    let mut bytes = std::fs::read(&avi).unwrap();
    let mut patched = 0;
    while let Some(at) = bytes.windows(4).position(|w| w == b"XVID" || w == b"FMP4") {
        bytes[at..at + 4].copy_from_slice(b"QQZZ");
        patched += 1;
    }
    assert!(patched > 0);
    let e = probe(&fx.write("unknown.avi", &bytes)).expect_err("unknown codec");
    assert_eq!(e.code(), codes::UNSUPPORTED_CODEC, "{e:?}");
}

#[test]
fn anamorphic_video_reports_displayed_size() {
    let fx = Fixtures::new();
    let path = fx.clip(
        "wide-pixels.mp4",
        "320x240",
        25,
        1.0,
        &["-vf", "setsar=2/1", "-c:v", "libx264"],
    );
    let facts = probe(&path).expect("probe");
    assert_eq!((facts.width, facts.height), (640, 240));
}

#[cfg(unix)]
#[test]
fn named_pipe_is_refused_without_blocking() {
    let fx = Fixtures::new();
    let fifo = fx.path("pipe.mp4");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let e = probe(&fifo).expect_err("a pipe");
    assert_eq!(e.code(), codes::NOT_MEDIA);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn scrambled_picture_data_ends_quickly() {
    // The index is intact but the coded pictures are noise: decoding must stay bounded.
    let fx = Fixtures::new();
    let full = fx.clip(
        "s.mp4",
        "320x240",
        25,
        4.0,
        &["-c:v", "libx264", "-movflags", "+faststart"],
    );
    let mut bytes = std::fs::read(&full).unwrap();
    let moov_end = bytes.windows(4).position(|w| w == b"mdat").unwrap() + 4;
    let len = bytes.len() - moov_end;
    bytes[moov_end..].copy_from_slice(&noise(len, 99));
    let path = fx.write("scrambled.mp4", &bytes);
    let started = std::time::Instant::now();
    match probe(&path) {
        Ok(facts) => assert_eq!(facts.kind, studio_media::MediaKind::Video),
        Err(e) => assert_eq!(e.code(), codes::CORRUPT, "{e:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn animated_gif_is_a_video_and_still_gif_an_image() {
    let fx = Fixtures::new();
    let moving = fx.clip("dance.gif", "160x120", 10, 1.0, &[]);
    assert_eq!(probe(&moving).expect("probe").kind, MediaKind::Video);
    let still = fx.still("photo.gif", "160x120");
    assert_eq!(probe(&still).expect("probe").kind, MediaKind::Image);
}

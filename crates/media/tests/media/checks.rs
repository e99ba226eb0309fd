use studio_media::{Check, Limits, MediaFacts, Severity, check_inputs, probe};

use crate::fixtures::Fixtures;

fn codes(checks: &[Check]) -> Vec<&str> {
    checks.iter().map(|c| c.code.as_str()).collect()
}

fn find<'a>(checks: &'a [Check], code: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.code == code)
        .unwrap_or_else(|| panic!("no {code} in {checks:?}"))
}

fn h264(fx: &Fixtures, name: &str, size: &str, secs: f64) -> MediaFacts {
    let path = fx.clip(
        name,
        size,
        25,
        secs,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    probe(&path).expect("probe")
}

#[test]
fn good_pair_has_no_findings() {
    let fx = Fixtures::new();
    let photo = probe(&fx.still("p.png", "480x832")).unwrap();
    let video = h264(&fx, "v.mp4", "288x512", 2.0);
    assert!(check_inputs(&photo, &video, &Limits::default()).is_empty());
}

#[test]
fn clip_under_one_second_is_too_short() {
    let fx = Fixtures::new();
    let video = h264(&fx, "short.mp4", "320x320", 0.5);
    let check = find(&video.checks, "media.too_short");
    assert_eq!(check.severity, Severity::Error);
    assert!(check.message.contains("0.5 s"), "{}", check.message);
}

#[test]
fn clip_over_the_configured_maximum_is_too_long() {
    let fx = Fixtures::new();
    let photo = probe(&fx.still("p.png", "320x320")).unwrap();
    let video = h264(&fx, "long.mp4", "320x320", 3.0);
    let limits = Limits {
        max_duration_secs: 2.0,
        ..Limits::default()
    };
    let checks = check_inputs(&photo, &video, &limits);
    assert_eq!(codes(&checks), vec!["media.too_long"]);
    assert!(checks[0].message.contains("trim"));
    // Under the default maximum the same clip is fine.
    assert!(check_inputs(&photo, &video, &Limits::default()).is_empty());
}

#[test]
fn small_photo_and_video_are_too_small() {
    let fx = Fixtures::new();
    let photo = probe(&fx.still("p.jpg", "200x300")).unwrap();
    let video = h264(&fx, "v.mp4", "240x320", 2.0);
    let checks = check_inputs(&photo, &video, &Limits::default());
    let small: Vec<_> = checks
        .iter()
        .filter(|c| c.code == "media.too_small")
        .collect();
    assert_eq!(small.len(), 2, "{checks:?}");
    assert!(small[0].message.contains("200x300"));
    assert!(small[1].message.contains("240x320"));
}

#[test]
fn variable_frame_rate_is_found() {
    let fx = Fixtures::new();
    // First second at 25 fps, then every other frame time: 12.5 fps.
    let path = fx.clip(
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
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let facts = probe(&path).unwrap();
    assert!(facts.variable_frame_rate, "{facts:?}");
    assert_eq!(
        find(&facts.checks, "media.variable_frame_rate").severity,
        Severity::Warning
    );
    let steady = h264(&fx, "cfr.mp4", "320x320", 3.0);
    assert!(!steady.variable_frame_rate);
}

#[test]
fn rotation_metadata_is_honoured() {
    let fx = Fixtures::new();
    let stored = h264(&fx, "land.mp4", "480x320", 2.0);
    let rotated = fx.ffmpeg(
        "turned.mp4",
        &[
            "-i",
            stored.path.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let facts = probe(&rotated).unwrap();
    assert_eq!(facts.rotation, 90);
    assert_eq!((facts.width, facts.height), (320, 480));
    assert!(
        find(&facts.checks, "media.rotated")
            .message
            .contains("320x480")
    );
    // Upright it is portrait, so it agrees with a portrait photo.
    let photo = probe(&fx.still("p.png", "480x640")).unwrap();
    let pair = check_inputs(&photo, &facts, &Limits::default());
    assert!(
        !codes(&pair).contains(&"media.orientation_mismatch"),
        "{pair:?}"
    );
}

#[test]
fn portrait_photo_with_landscape_video_warns_and_offers_crop_or_pad() {
    let fx = Fixtures::new();
    let photo = probe(&fx.still("p.png", "480x832")).unwrap();
    let video = h264(&fx, "wide.mp4", "512x288", 2.0);
    let checks = check_inputs(&photo, &video, &Limits::default());
    let mismatch = find(&checks, "media.orientation_mismatch");
    assert_eq!(mismatch.severity, Severity::Warning);
    assert!(mismatch.message.contains("Crop") && mismatch.message.contains("Pad"));
    // A square photo fits either way.
    let square = probe(&fx.still("sq.png", "512x512")).unwrap();
    assert!(check_inputs(&square, &video, &Limits::default()).is_empty());
}

#[test]
fn swapped_inputs_are_errors() {
    let fx = Fixtures::new();
    let photo = probe(&fx.still("p.png", "480x832")).unwrap();
    let video = h264(&fx, "v.mp4", "288x512", 2.0);
    let checks = check_inputs(&video, &photo, &Limits::default());
    assert_eq!(
        find(&checks, "media.expected_image").severity,
        Severity::Error
    );
    assert_eq!(
        find(&checks, "media.expected_video").severity,
        Severity::Error
    );
}

#[test]
fn phone_photo_held_upright_is_portrait() {
    // Stored 640x480 with EXIF "rotate 90 clockwise to show": a portrait photo.
    let fx = Fixtures::new();
    let stored = std::fs::read(fx.still("raw.jpg", "640x480")).unwrap();
    let path = fx.write(
        "phone.jpg",
        &crate::fixtures::with_exif_orientation(&stored, 6),
    );
    let photo = probe(&path).unwrap();
    assert_eq!(photo.rotation, 270);
    assert_eq!((photo.width, photo.height), (480, 640));
    assert!(codes(&photo.checks).contains(&"media.rotated"));
    let video = h264(&fx, "v.mp4", "288x512", 2.0);
    let pair = check_inputs(&photo, &video, &Limits::default());
    assert!(
        !codes(&pair).contains(&"media.orientation_mismatch"),
        "{pair:?}"
    );
}

//! What goes to the pod carries no location, camera or file-name metadata: read back with ffprobe.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use studio_media::{Fit, NormaliseOptions};

use crate::fixtures::Fixtures;

/// ffprobe's view of a file: container and stream tags, and the first frame's tags (where FFmpeg
/// puts a JPEG's EXIF).
fn ffprobe_tags(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-show_frames",
        ])
        .args(["-read_intervals", "%+#1"])
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("TAG:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An EXIF block like a phone's: turned (Orientation 6) and where it was taken (GPS IFD).
fn exif_with_gps() -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    // IFD0 at 8 (30 bytes), GPS IFD at 38 (30 bytes), latitude rationals at 68.
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, 6);
    entry(&mut t, 0x8825, 4, 1, 38);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, 68);
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(48u32, 1u32), (51, 1), (2950, 100)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    payload
}

fn app1(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xff, 0xe1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn the_photo_for_upload_has_no_exif_gps_xmp_or_name() {
    let fx = Fixtures::new();
    let plain = fx.still("plain.jpg", "320x240");
    let jpeg = std::fs::read(&plain).unwrap();
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description exif:GPSLatitude=\"48,51.49N\"/></x:xmpmeta>";
    let mut tagged = jpeg[..2].to_vec();
    tagged.extend_from_slice(&app1(&exif_with_gps()));
    tagged.extend_from_slice(&app1(xmp));
    tagged.extend_from_slice(&jpeg[2..]);
    let original = fx.write("Anna at home 2024-05-01.jpg", &tagged);
    let before = ffprobe_tags(&original);
    assert!(
        before.contains("GPSLatitude"),
        "the fixture has GPS: {before}"
    );

    let out = fx.path("photo.jpg");
    let prepared = studio_media::prepare_photo(&original, &out).unwrap();
    let after = ffprobe_tags(&out);
    println!("input tags:\n{before}\noutput tags:\n{after}");
    assert!(!after.contains("GPS"), "{after}");
    assert!(!after.contains("Orientation"), "{after}");
    let bytes = std::fs::read(&out).unwrap();
    for needle in [
        &b"Exif"[..],
        b"GPS",
        b"xmpmeta",
        b"ns.adobe.com",
        b"Anna",
        b"Lavc",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} found in the upload copy",
            String::from_utf8_lossy(needle)
        );
    }
    // The turn the EXIF asked for is applied to the pixels, as the tag is gone.
    assert_eq!((prepared.width, prepared.height), (240, 320));
    let facts = studio_media::probe(&out).unwrap();
    assert_eq!((facts.width, facts.height, facts.rotation), (240, 320, 0));
}

#[test]
fn the_normalised_video_carries_no_metadata_of_the_input() {
    let fx = Fixtures::new();
    let tagged = fx.clip(
        "Holiday in Nice.mov",
        "320x240",
        25,
        2.0,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            "location=+43.6950+007.2650/",
            "-metadata",
            "com.apple.quicktime.location.ISO6709=+43.6950+007.2650/",
            "-metadata",
            "com.apple.quicktime.make=Apple",
            "-metadata",
            "title=Anna dancing",
            "-metadata",
            "creation_time=2024-05-01T10:00:00Z",
            "-metadata:s:v",
            "handler_name=Anna's phone",
            "-movflags",
            "use_metadata_tags",
        ],
    );
    let before = ffprobe_tags(&tagged);
    assert!(
        before.contains("43.6950"),
        "the fixture has a location: {before}"
    );

    let out = fx.path("dance.mp4");
    let opts = NormaliseOptions {
        trim_start: 0.0,
        trim_end: None,
        fps: 16.0,
        width: 240,
        height: 320,
        fit: Fit::Crop,
    };
    studio_media::normalise(&tagged, &out, &opts, |_| {}, &AtomicBool::new(false)).unwrap();
    let after = ffprobe_tags(&out);
    println!("input tags:\n{before}\noutput tags:\n{after}");
    for word in [
        "43.6950",
        "location",
        "Apple",
        "Anna",
        "creation_time",
        "encoder",
    ] {
        assert!(!after.contains(word), "{word} in the upload copy:\n{after}");
    }
}

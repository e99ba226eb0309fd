//! Files that must be refused before they cost memory, time or privacy: playlists posing as
//! videos, decompression bombs, names FFmpeg cannot take, network addresses.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use studio_media::{Fit, NormaliseOptions};

use crate::fixtures::Fixtures;
use crate::huge_png::black_png;

fn refused(path: &Path, code: &str) -> String {
    let started = Instant::now();
    let err = studio_media::probe(path).expect_err("refused");
    eprintln!(
        "probe {} refused in {:?}: {}",
        path.display(),
        started.elapsed(),
        err.message()
    );
    assert_eq!(err.code(), code, "{}", err.message());
    assert!(
        studio_media::thumbnail_jpeg(path, 256).is_err(),
        "thumbnail"
    );
    assert!(
        studio_media::decode_frames(path, 256, 1, |_| true).is_err(),
        "frames"
    );
    let out = path.with_file_name("normalised.mp4");
    let opts = NormaliseOptions {
        trim_start: 0.0,
        trim_end: None,
        fps: 16.0,
        width: 320,
        height: 240,
        fit: Fit::Crop,
    };
    let cancel = AtomicBool::new(false);
    assert!(studio_media::normalise(path, &out, &opts, |_| {}, &cancel).is_err());
    assert!(!out.exists());
    err.message().to_owned()
}

/// A text file named like a video that is an HLS playlist of another local file.
fn hls_posing_as_mp4(fx: &Fixtures) -> PathBuf {
    let other = fx.h264_mp4();
    let text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{}\n#EXT-X-ENDLIST\n",
        other.display()
    );
    fx.write("dance.mp4", text.as_bytes())
}

#[test]
fn an_hls_playlist_named_mp4_is_refused() {
    let fx = Fixtures::new();
    let message = refused(&hls_posing_as_mp4(&fx), "media.playlist");
    assert!(message.contains("playlist"), "{message}");
}

#[test]
fn a_concat_list_is_refused() {
    let fx = Fixtures::new();
    fx.h264_mp4();
    let list = fx.write("list.mp4", b"ffconcat version 1.0\nfile 'clip.mp4'\n");
    refused(&list, "media.playlist");
}

#[test]
fn a_huge_png_is_refused_from_its_header() {
    let fx = Fixtures::new();
    let bomb = fx.write("bomb.png", &black_png(16_000, 16_000));
    eprintln!(
        "bomb.png is {} bytes",
        std::fs::metadata(&bomb).unwrap().len()
    );
    let message = refused(&bomb, "media.too_large");
    assert!(message.contains("16000x16000"), "{message}");
    assert!(message.contains("8192"), "{message}");
}

#[test]
fn the_generated_png_is_a_real_picture() {
    let fx = Fixtures::new();
    let small = fx.write("black.png", &black_png(300, 200));
    let facts = studio_media::probe(&small).unwrap();
    assert_eq!((facts.width, facts.height), (300, 200));
}

#[test]
fn a_photo_just_inside_the_limit_is_accepted() {
    let fx = Fixtures::new();
    let big = fx.write("big.png", &black_png(8192, 6000));
    let started = Instant::now();
    let jpeg = studio_media::thumbnail_jpeg(&big, 256).unwrap();
    eprintln!("8192x6000 thumbnail in {:?}", started.elapsed());
    assert!(!jpeg.is_empty());
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_a_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let fx = Fixtures::new();
    let clip = fx.h264_mp4();
    let odd = fx
        .path("x")
        .with_file_name(std::ffi::OsStr::from_bytes(b"caf\xe9.mp4"));
    std::fs::copy(&clip, &odd).unwrap();
    let message = refused(&odd, "media.path_not_utf8");
    assert!(message.contains("Rename"), "{message}");

    let out = fx
        .path("x")
        .with_file_name(std::ffi::OsStr::from_bytes(b"out\xff.mp4"));
    let opts = NormaliseOptions {
        trim_start: 0.0,
        trim_end: None,
        fps: 16.0,
        width: 320,
        height: 240,
        fit: Fit::Crop,
    };
    let err = studio_media::normalise(&clip, &out, &opts, |_| {}, &AtomicBool::new(false))
        .expect_err("refused");
    assert_eq!(err.code(), "media.path_not_utf8");
}

#[test]
fn network_addresses_are_refused() {
    for url in ["http://127.0.0.1:9/dance.mp4", "rtmp://example.com/live"] {
        let err = studio_media::probe(Path::new(url)).expect_err("refused");
        assert_eq!(err.code(), "media.not_local", "{url}: {}", err.message());
    }
}

#[test]
fn other_containers_are_refused_by_name() {
    let fx = Fixtures::new();
    // FLV plays fine in FFmpeg but is not one of the formats the app takes.
    let flv = fx.clip("clip.flv", "320x240", 25, 1.0, &["-c:v", "flv"]);
    let err = studio_media::probe(&flv).expect_err("refused");
    assert_eq!(err.code(), "media.not_media", "{}", err.message());
    assert!(err.message().contains("MP4"), "{}", err.message());
}

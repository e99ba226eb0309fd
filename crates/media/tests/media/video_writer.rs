//! Pictures written with `RgbVideoWriter` come back out of the file: count, rate, size, colour.

use image::RgbImage;
use studio_media::{MediaKind, RgbVideoWriter, decode_frames, probe};

#[test]
fn written_pictures_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");
    // An odd width: the video is one column narrower (yuv420p needs even sizes).
    let mut w = RgbVideoWriter::create(&path, 161, 120, 12.5).unwrap();
    for i in 0..25u8 {
        w.push(&RgbImage::from_pixel(
            161,
            120,
            image::Rgb([200, i * 8, 40]),
        ))
        .unwrap();
    }
    assert_eq!(w.finish().unwrap(), 25);

    let facts = probe(&path).unwrap();
    assert_eq!(facts.kind, MediaKind::Video);
    assert_eq!((facts.width, facts.height), (160, 120));
    assert_eq!(facts.codec, "h264");
    assert!((facts.frame_rate.unwrap() - 12.5).abs() < 0.01, "{facts:?}");
    assert!(
        (facts.duration_secs.unwrap() - 2.0).abs() < 0.01,
        "{facts:?}"
    );

    let mut first = None;
    let decoded = decode_frames(&path, 640, 1, |f| {
        first.get_or_insert(f.data[..3].to_vec());
        true
    })
    .unwrap();
    assert_eq!(decoded, 25);
    let red = first.unwrap()[0];
    assert!((i32::from(red) - 200).abs() < 8, "red {red}");
}

#[test]
fn a_picture_of_another_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = RgbVideoWriter::create(&dir.path().join("out.mp4"), 64, 64, 25.0).unwrap();
    let err = w.push(&RgbImage::new(32, 64)).unwrap_err();
    assert_eq!(err.code(), studio_media::error::ENCODE_FAILED);
    assert!(err.message().contains("32x64"), "{}", err.message());
}

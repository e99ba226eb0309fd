use studio_media::{error as codes, thumbnail_jpeg};

use crate::fixtures::Fixtures;

fn decode(jpeg: &[u8]) -> image::RgbImage {
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "JPEG magic");
    image::load_from_memory(jpeg).expect("valid JPEG").to_rgb8()
}

#[test]
fn video_thumbnail_is_scaled_jpeg_of_first_frame() {
    let fx = Fixtures::new();
    let jpeg = thumbnail_jpeg(&fx.h264_mp4(), 160).expect("thumbnail");
    let img = decode(&jpeg);
    assert_eq!(img.dimensions(), (160, 120));
}

#[test]
fn small_picture_is_not_enlarged() {
    let fx = Fixtures::new();
    let img = decode(&thumbnail_jpeg(&fx.still("p.png", "200x100"), 512).expect("thumbnail"));
    assert_eq!(img.dimensions(), (200, 100));
}

#[test]
fn thumbnail_of_text_fails_with_not_media() {
    let fx = Fixtures::new();
    let e = thumbnail_jpeg(&fx.write("a.txt", b"hello"), 128).expect_err("text");
    assert_eq!(e.code(), codes::NOT_MEDIA);
}

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

#[test]
fn thumbnail_honours_rotation() {
    let fx = Fixtures::new();
    let plain = fx.ffmpeg(
        "m.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=blue:size=320x240:rate=25:duration=1,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let turned = fx.ffmpeg(
        "t.mp4",
        &[
            "-i",
            plain.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=270",
        ],
    );
    let img = decode(&thumbnail_jpeg(&turned, 320).expect("thumbnail"));
    assert_eq!(img.dimensions(), (240, 320));
    // A quarter turn clockwise: the top-left block lands top-right.
    let top_right = img.get_pixel(235, 5).0;
    assert!(top_right[0] > 200 && top_right[2] < 80, "{top_right:?}");
    let top_left = img.get_pixel(5, 5).0;
    assert!(top_left[2] > 200 && top_left[0] < 80, "{top_left:?}");
}

#[test]
fn photo_thumbnail_follows_exif_orientation() {
    let fx = Fixtures::new();
    let stored = std::fs::read(fx.ffmpeg(
        "raw.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=blue:size=320x240,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill",
            "-frames:v",
            "1",
        ],
    ))
    .unwrap();
    let path = fx.write(
        "phone.jpg",
        &crate::fixtures::with_exif_orientation(&stored, 6),
    );
    let img = decode(&thumbnail_jpeg(&path, 320).expect("thumbnail"));
    assert_eq!(img.dimensions(), (240, 320));
    // Orientation 6 means "turn clockwise to show": the top-left block lands top-right.
    let top_right = img.get_pixel(235, 5).0;
    assert!(top_right[0] > 200 && top_right[2] < 80, "{top_right:?}");
}

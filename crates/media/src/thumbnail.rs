//! First-frame thumbnails as JPEG bytes for the Create screen and the gallery.

use std::path::Path;

use ffmpeg_next::frame;
use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use studio_error::{Error, Result};

use crate::open::{self, FramePump};
use crate::rgb::RgbConverter;

const JPEG_QUALITY: u8 = 85;

/// The first picture of `path`, upright, its longer side at most `max_side` (never enlarged),
/// encoded as JPEG.
#[tracing::instrument(level = "info", skip_all, fields(path = %path.display(), max_side))]
pub fn thumbnail_jpeg(path: &Path, max_side: u32) -> Result<Vec<u8>> {
    let (width, height, rgb) = first_frame_rgb(path, max_side)?;
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode(&rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| Error::internal("Could not encode the thumbnail as JPEG.").with_source(e))?;
    Ok(out)
}

pub(crate) fn first_frame_rgb(path: &Path, max_side: u32) -> Result<(u32, u32, Vec<u8>)> {
    let mut input = open::open_with_budget(path, open::PROBE_BUDGET)?;
    let index = open::video_stream(&input, path)?;
    let stream_rotation = open::rotation(&input, index);
    let mut decoder = open::open_decoder(&input, index, path, 1)?;
    let mut first = frame::Video::empty();
    let mut pump = FramePump::new(&mut input, &mut decoder, index, path);
    if !pump.next(&mut first)? {
        return Err(crate::error::corrupt(
            path,
            "no picture could be decoded from it",
        ));
    }
    let rotation = open::upright_rotation(stream_rotation, &first);
    RgbConverter::new(rotation, max_side).convert(&first)
}

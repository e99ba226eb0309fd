//! The reference photo as it is uploaded: a fresh JPEG of its pixels only. The original may
//! carry where it was taken (EXIF GPS, XMP), the camera and the owner's name, and the pod's
//! proxy is public; its file name can name the person, so the caller picks the new one.

use std::path::Path;

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use serde::Serialize;
use studio_error::{Error, Result};

/// Longer side of the upload copy: above the render's 720-1280 pixels with room to spare, and a
/// few MB at most.
pub const UPLOAD_PHOTO_MAX_SIDE: u32 = 4096;
const QUALITY: u8 = 95;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedPhoto {
    pub width: u32,
    pub height: u32,
    pub output_size_bytes: u64,
}

/// Writes `output` as a JPEG of the first picture of `input`, upright (an EXIF turn is applied to
/// the pixels, since the tag is not carried over), at most [`UPLOAD_PHOTO_MAX_SIDE`] on its
/// longer side, with no metadata at all. Transparent areas become black.
#[tracing::instrument(level = "info", skip_all, fields(input = %input.display(), output = %output.display()))]
pub fn prepare_photo(input: &Path, output: &Path) -> Result<PreparedPhoto> {
    let (width, height, rgb) = crate::thumbnail::first_frame_rgb(input, UPLOAD_PHOTO_MAX_SIDE)?;
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode(&rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| Error::internal("Could not encode the photo as JPEG.").with_source(e))?;
    let mut part = output.as_os_str().to_owned();
    part.push(".part");
    let part = std::path::PathBuf::from(part);
    let write = std::fs::write(&part, &jpeg).and_then(|()| std::fs::rename(&part, output));
    if let Err(e) = write {
        let _ = std::fs::remove_file(&part);
        return Err(Error::io(&format!("write {}", output.display()), e));
    }
    Ok(PreparedPhoto {
        width,
        height,
        output_size_bytes: jpeg.len() as u64,
    })
}

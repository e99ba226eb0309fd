//! What FFmpeg is allowed to open, and how big a picture it may decode. FFmpeg would otherwise
//! follow playlists to other files or the network, and decode a 1 MB PNG into gigabytes.

use std::io::Read;
use std::path::{Path, PathBuf};

use ffmpeg_next as ff;
use studio_error::{Error, Result};

use crate::error as err;

/// Longest side of any picture, photo or video frame.
pub(crate) const MAX_SIDE: u32 = 8192;
/// Pixels in one picture: a 48 MP phone photo (8064x6048) fits, a 200 MP one does not. The
/// decoders are held to it too, so one frame never needs more than a few hundred MB.
pub(crate) const MAX_PIXELS: u64 = 50_000_000;
/// Pixels decoded over a whole video (frames x width x height): 5 minutes of 4K at 60 fps.
pub(crate) const MAX_VIDEO_PIXELS: u64 = 3840 * 2160 * 60 * 300;

/// Only local files: no network, no pipes, no nested protocols (crypto:, subfile:, data:).
pub(crate) const PROTOCOLS: &str = "file";
/// The containers the app takes, as FFmpeg's demuxer names. Everything else is refused before
/// its header is read, above all the list formats (hls, concat) that open other files.
pub(crate) const FORMATS: &str = "mov,mp4,matroska,webm,avi,mpegts,gif,apng,image2,png_pipe,\
jpeg_pipe,webp_pipe,bmp_pipe";

/// The path as FFmpeg must be given it: text (ffmpeg-next panics on other names), absolute (so
/// that a local name like "http:clip.mp4" is not taken for a protocol), never an address.
pub(crate) fn ffmpeg_path(path: &Path) -> Result<String> {
    let text = path.to_str().ok_or_else(|| err::path_not_utf8(path))?;
    if is_url(text) {
        return Err(err::not_local(path));
    }
    let absolute: PathBuf =
        std::path::absolute(path).map_err(|e| Error::io(&format!("read {}", path.display()), e))?;
    absolute
        .into_os_string()
        .into_string()
        .map_err(|_| err::path_not_utf8(path))
}

fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Options for opening an input: the two whitelists, and one file only where the image
/// demuxer would otherwise read "photo%03d.png" as a numbered sequence.
pub(crate) fn open_options() -> ff::Dictionary<'static> {
    let mut options = ff::Dictionary::new();
    options.set("protocol_whitelist", PROTOCOLS);
    options.set("format_whitelist", FORMATS);
    options.set("pattern_type", "none");
    options
}

/// Refuses a JPEG or PNG whose header declares too many pixels, before anything is decoded.
pub(crate) fn check_photo_header(path: &Path) -> Result<()> {
    let Ok(reader) = image::ImageReader::open(path).and_then(|r| r.with_guessed_format()) else {
        return Ok(());
    };
    if reader.format().is_none() {
        return Ok(());
    }
    match reader.into_dimensions() {
        Ok((w, h)) => check_picture(path, w, h),
        // A damaged header is FFmpeg's to report, in its own words.
        Err(_) => Ok(()),
    }
}

pub(crate) fn check_picture(path: &Path, width: u32, height: u32) -> Result<()> {
    if width.max(height) <= MAX_SIDE && u64::from(width) * u64::from(height) <= MAX_PIXELS {
        return Ok(());
    }
    let (w, h) = crate::rgb::fit_within(width, height, MAX_SIDE);
    let scale = (MAX_PIXELS as f64 / (f64::from(w) * f64::from(h)))
        .sqrt()
        .min(1.0);
    let (w, h) = ((f64::from(w) * scale) as u32, (f64::from(h) * scale) as u32);
    Err(err::too_large(
        path,
        &format!("{width}x{height} pixels"),
        &format!(
            "{MAX_SIDE} pixels on the longer side and {} megapixels",
            MAX_PIXELS / 1_000_000
        ),
        &format!(
            "Scale it down to at most {w}x{h} in any photo or video editor (1080 to 2000 pixels on the longer side is plenty), then pick it again."
        ),
    ))
}

/// Refuses a video whose header promises more decoding than any dance clip needs.
pub(crate) fn check_video(path: &Path, width: u32, height: u32, frames: u64) -> Result<()> {
    check_picture(path, width, height)?;
    let work = frames.saturating_mul(u64::from(width) * u64::from(height));
    if work <= MAX_VIDEO_PIXELS {
        return Ok(());
    }
    Err(err::too_large(
        path,
        &format!("{frames} frames of {width}x{height}"),
        "about 5 minutes of 4K at 60 fps",
        "Cut it to the part with the dance, or export it at 1080p, in a video editor, then pick it again.",
    ))
}

/// Names the list formats FFmpeg could be fooled into following, from the first bytes.
pub(crate) fn playlist_kind(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("#EXTM3U") || text.contains("#EXT-X-") {
        Some("an HLS playlist")
    } else if text.starts_with("ffconcat") || text.starts_with("file '") {
        Some("a concatenation list")
    } else if text.starts_with("[playlist]") || text.starts_with("<?xml") && text.contains("MPD") {
        Some("a playlist")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_told_apart_from_names() {
        assert!(is_url("http://example.com/a.mp4"));
        assert!(is_url("rtmp://host/live"));
        assert!(!is_url("/home/anna/http:clip.mp4"));
        assert!(!is_url("clips/a.mp4"));
        assert!(!is_url("weird/://name.mp4"));
    }

    #[test]
    fn the_limit_message_says_how_far_to_shrink() {
        let e = check_picture(Path::new("big.png"), 16_000, 16_000).expect_err("too big");
        assert_eq!(e.code(), err::TOO_LARGE);
        assert!(e.message().contains("16000x16000"), "{}", e.message());
        assert!(e.message().contains("7071x7071"), "{}", e.message());
        assert!(check_picture(Path::new("ok.jpg"), 8064, 6048).is_ok());
        assert!(check_picture(Path::new("tall.png"), 100, 9000).is_err());
    }

    #[test]
    fn endless_videos_are_refused() {
        assert!(check_video(Path::new("a.mp4"), 1920, 1080, 60 * 60).is_ok());
        let e = check_video(Path::new("a.mp4"), 3840, 2160, 10_000_000).expect_err("too long");
        assert!(e.message().contains("10000000 frames"), "{}", e.message());
    }
}

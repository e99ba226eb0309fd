//! Stable error codes of this crate and the messages that go with them.

use std::path::Path;

use studio_error::Error;

pub const NOT_FOUND: &str = "media.not_found";
pub const NOT_MEDIA: &str = "media.not_media";
pub const CORRUPT: &str = "media.corrupt";
pub const NO_VIDEO_STREAM: &str = "media.no_video_stream";
pub const UNSUPPORTED_CODEC: &str = "media.unsupported_codec";
pub const NO_H264_ENCODER: &str = "media.no_h264_encoder";
pub const ENCODE_FAILED: &str = "media.encode_failed";
pub const PATH_NOT_UTF8: &str = "media.path_not_utf8";
pub const NOT_LOCAL: &str = "media.not_local";
pub const PLAYLIST: &str = "media.playlist";
pub const TOO_LARGE: &str = "media.too_large";

const EXPORT_AGAIN: &str = "Export it again as MP4 (H.264) or JPEG/PNG.";

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub(crate) fn not_found(path: &Path) -> Error {
    Error::new(
        NOT_FOUND,
        format!(
            "The file {} does not exist (it may have been moved or deleted). Pick it again.",
            path.display()
        ),
    )
}

pub(crate) fn not_media(path: &Path) -> Error {
    Error::new(
        NOT_MEDIA,
        format!(
            "{} is not a picture or a video in a format this app reads (MP4, MOV, WebM, MKV, AVI, MPEG-TS; JPEG, PNG, WebP, GIF, BMP). {EXPORT_AGAIN}",
            name(path)
        ),
    )
}

pub(crate) fn corrupt(path: &Path, detail: &str) -> Error {
    Error::new(
        CORRUPT,
        format!(
            "{} looks damaged or incomplete ({detail}). If it was copied or downloaded, copy it again; otherwise {}",
            name(path),
            EXPORT_AGAIN.to_lowercase()
        ),
    )
}

pub(crate) fn no_video_stream(path: &Path) -> Error {
    Error::new(
        NO_VIDEO_STREAM,
        format!(
            "{} has no picture in it (it may be sound only). Pick a video or a photo instead.",
            name(path)
        ),
    )
}

pub(crate) fn unsupported_codec(path: &Path, codec: &str) -> Error {
    Error::new(
        UNSUPPORTED_CODEC,
        format!(
            "{} uses the format \"{codec}\", which this app cannot decode. {EXPORT_AGAIN}",
            name(path)
        ),
    )
}

pub(crate) fn path_not_utf8(path: &Path) -> Error {
    Error::new(
        PATH_NOT_UTF8,
        format!(
            "The name of {} contains characters that are not valid text (UTF-8), which FFmpeg cannot open. Rename the file (or its folder), for example to dance.mp4 or photo.jpg, and pick it again.",
            path.display()
        ),
    )
}

pub(crate) fn not_local(path: &Path) -> Error {
    Error::new(
        NOT_LOCAL,
        format!(
            "{} is a network address; only files on this computer can be used. Download the file first, then pick the downloaded copy.",
            path.display()
        ),
    )
}

pub(crate) fn playlist(path: &Path, kind: &str) -> Error {
    Error::new(
        PLAYLIST,
        format!(
            "{} is {kind}: a text list pointing at other files, not a video or a photo. Pick the video or photo file itself.",
            name(path)
        ),
    )
}

/// `what` names the measure that is over, e.g. "16000x16000 pixels".
pub(crate) fn too_large(path: &Path, what: &str, limit: &str, shrink: &str) -> Error {
    Error::new(
        TOO_LARGE,
        format!(
            "{} is too large to check safely ({what}; the limit is {limit}). {shrink}",
            name(path)
        ),
    )
}

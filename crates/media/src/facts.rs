//! What probing found out about one file, in the shape the GUI and the CLI show.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaKind {
    Image,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about an input: `code` is stable (for instance `media.too_short`), `message` is
/// for people and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub severity: Severity,
    pub code: String,
    pub message: String,
}

impl Check {
    pub(crate) fn warning(code: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn error(code: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFacts {
    pub path: PathBuf,
    pub file_name: String,
    pub file_size: u64,
    pub kind: MediaKind,
    /// Human name of the container, e.g. "MP4", "QuickTime / MOV", "PNG".
    pub container: String,
    /// FFmpeg's short codec name, e.g. "h264", "png", "mjpeg".
    pub codec: String,
    /// Size as displayed, with the rotation already applied.
    pub width: u32,
    pub height: u32,
    /// Counter-clockwise degrees (0, 90, 180, 270) the stored picture is turned for display, read
    /// from the display matrix; the same number `ffprobe` prints as `rotation`, modulo 360.
    pub rotation: i32,
    pub duration_secs: Option<f64>,
    pub frame_rate: Option<f64>,
    pub frame_count: Option<u64>,
    /// Frame durations differ noticeably within the first seconds of the video.
    pub variable_frame_rate: bool,
    pub has_audio: bool,
    /// Findings that need no settings (see `check_file` with default limits).
    pub checks: Vec<Check>,
}

impl MediaFacts {
    /// The shorter of the two displayed sides.
    pub fn short_side(&self) -> u32 {
        self.width.min(self.height)
    }
}

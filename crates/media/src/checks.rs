//! Rules that tell a user, before paying for a GPU, what is wrong with the photo or the video.

use serde::Serialize;

use crate::facts::{Check, MediaFacts, MediaKind};

pub const TOO_SHORT: &str = "media.too_short";
pub const TOO_LONG: &str = "media.too_long";
pub const TOO_SMALL: &str = "media.too_small";
pub const VARIABLE_FRAME_RATE: &str = "media.variable_frame_rate";
pub const ROTATED: &str = "media.rotated";
pub const ORIENTATION_MISMATCH: &str = "media.orientation_mismatch";
pub const EXPECTED_IMAGE: &str = "media.expected_image";
pub const EXPECTED_VIDEO: &str = "media.expected_video";

/// Thresholds the rules use; `max_duration_secs` comes from the settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub min_duration_secs: f64,
    pub max_duration_secs: f64,
    pub min_short_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_duration_secs: 1.0,
            max_duration_secs: 60.0,
            min_short_side: 256,
        }
    }
}

/// Rules for one file on its own.
pub fn check_file(facts: &MediaFacts, limits: &Limits) -> Vec<Check> {
    let mut out = Vec::new();
    let noun = match facts.kind {
        MediaKind::Image => "photo",
        MediaKind::Video => "video",
    };
    if facts.short_side() < limits.min_short_side {
        out.push(Check::warning(
            TOO_SMALL,
            format!(
                "The {noun} is only {}x{} pixels; at least {} on the shorter side is needed for a sharp result. Use a larger original if you have one.",
                facts.width, facts.height, limits.min_short_side
            ),
        ));
    }
    if facts.rotation != 0 {
        out.push(Check::warning(
            ROTATED,
            format!(
                "The {noun} is stored turned by {} degrees; it is shown and uploaded upright ({}x{}).",
                facts.rotation, facts.width, facts.height
            ),
        ));
    }
    if facts.kind == MediaKind::Video {
        if let Some(d) = facts.duration_secs {
            if d < limits.min_duration_secs {
                out.push(Check::error(
                    TOO_SHORT,
                    format!(
                        "The video lasts only {d:.1} s; it needs at least {:.0} s of dancing. Pick a longer clip.",
                        limits.min_duration_secs
                    ),
                ));
            } else if d > limits.max_duration_secs {
                out.push(Check::error(
                    TOO_LONG,
                    format!(
                        "The video lasts {d:.1} s, longer than the {:.0} s maximum set in Settings. Choose a trim range of at most {:.0} s, or raise the maximum.",
                        limits.max_duration_secs, limits.max_duration_secs
                    ),
                ));
            }
        }
        if facts.variable_frame_rate {
            out.push(Check::warning(
                VARIABLE_FRAME_RATE,
                "The video's frame rate changes along the clip (common for phone recordings). It is converted to a steady rate before upload, so motion may look slightly uneven.",
            ));
        }
    }
    out
}

/// Rules for the photo and the dance video together: each file's own rules, then whether they fit.
pub fn check_inputs(image: &MediaFacts, video: &MediaFacts, limits: &Limits) -> Vec<Check> {
    let mut out = Vec::new();
    if image.kind != MediaKind::Image {
        out.push(Check::error(
            EXPECTED_IMAGE,
            format!(
                "{} is a video; the reference must be a photo (JPEG or PNG). Pick a photo of the person.",
                image.file_name
            ),
        ));
    }
    if video.kind != MediaKind::Video {
        out.push(Check::error(
            EXPECTED_VIDEO,
            format!(
                "{} is a still picture; the dance must be a video (MP4, MOV or WebM). Pick a dance video.",
                video.file_name
            ),
        ));
    }
    out.extend(check_file(image, limits));
    out.extend(check_file(video, limits));
    let (photo, clip) = (orientation(image), orientation(video));
    if photo != clip && photo != Orientation::Square && clip != Orientation::Square {
        out.push(Check::warning(
            ORIENTATION_MISMATCH,
            format!(
                "The photo is {} but the video is {}. The result takes the photo's shape, so the video will be cropped or padded: choose Crop (fills the frame, cuts the edges) or Pad (keeps everything, adds bars).",
                photo.word(),
                clip.word()
            ),
        ));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orientation {
    Portrait,
    Landscape,
    Square,
}

impl Orientation {
    fn word(self) -> &'static str {
        match self {
            Self::Portrait => "portrait (upright)",
            Self::Landscape => "landscape (wide)",
            Self::Square => "square",
        }
    }
}

/// Within 5% of square counts as square, which fits either shape.
fn orientation(facts: &MediaFacts) -> Orientation {
    let ratio = f64::from(facts.width) / f64::from(facts.height.max(1));
    if ratio > 1.05 {
        Orientation::Landscape
    } else if ratio < 1.0 / 1.05 {
        Orientation::Portrait
    } else {
        Orientation::Square
    }
}

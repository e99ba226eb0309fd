//! Media checks with ffmpeg-next: probing, thumbnails, normalising and preview frames.
//!
//! Every entry point calls [`init`] itself, so callers may skip it; calling it early only moves
//! FFmpeg's one-time set-up out of the first user action.

mod checks;
mod encode;
pub mod error;
mod facts;
mod ffopen;
mod frames;
mod guard;
mod normalise;
mod open;
mod photo;
mod probe;
mod rgb;
mod sizes;
mod thumbnail;
mod video_writer;

pub use checks::{Limits, check_file, check_inputs};

/// Stable codes of the findings in [`Check::code`].
pub mod check_codes {
    pub use crate::checks::{
        EXPECTED_IMAGE, EXPECTED_VIDEO, ORIENTATION_MISMATCH, ROTATED, TOO_LONG, TOO_SHORT,
        TOO_SMALL, VARIABLE_FRAME_RATE,
    };
}
pub use facts::{Check, MediaFacts, MediaKind, Severity};
pub use frames::{RgbFrame, decode_frames};
pub use normalise::{Fit, NormaliseOptions, NormaliseReport, normalise};
pub use photo::{PreparedPhoto, UPLOAD_PHOTO_MAX_SIDE, prepare_photo};
pub use probe::probe;
pub use sizes::{RENDER_SIZES, render_size};
pub use thumbnail::thumbnail_jpeg;
pub use video_writer::RgbVideoWriter;

use std::sync::Once;

static INIT: Once = Once::new();

/// Initialises FFmpeg once and silences its own logging. FFmpeg prints lines such as
/// "moov atom not found" for every bad file; our errors already say what happened in plain words,
/// and the CLI promises a one-line reason. For debugging set `STUDIO_FFMPEG_LOG` to `error`,
/// `warning`, `info` or `debug`.
pub fn init() {
    INIT.call_once(|| {
        if let Err(e) = ffmpeg_next::init() {
            tracing::error!(error = %e, "ffmpeg initialisation failed");
        }
        ffmpeg_next::util::log::set_level(ffmpeg_log_level(
            std::env::var("STUDIO_FFMPEG_LOG").ok().as_deref(),
        ));
    });
}

fn ffmpeg_log_level(setting: Option<&str>) -> ffmpeg_next::util::log::Level {
    use ffmpeg_next::util::log::Level;
    match setting.map(str::to_ascii_lowercase).as_deref() {
        Some("error") => Level::Error,
        Some("warning") => Level::Warning,
        Some("info") => Level::Info,
        Some("debug") => Level::Debug,
        _ => Level::Quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffmpeg_next::util::log::Level;

    #[test]
    fn ffmpeg_is_quiet_unless_asked() {
        assert_eq!(ffmpeg_log_level(None), Level::Quiet);
        assert_eq!(ffmpeg_log_level(Some("nonsense")), Level::Quiet);
        assert_eq!(ffmpeg_log_level(Some("Warning")), Level::Warning);
        init();
        if std::env::var_os("STUDIO_FFMPEG_LOG").is_none() {
            assert_eq!(ffmpeg_next::util::log::get_level(), Ok(Level::Quiet));
        }
    }
}

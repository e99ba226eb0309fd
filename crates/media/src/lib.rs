//! Media checks with ffmpeg-next: probing, thumbnails, normalising and preview frames.
//!
//! Every entry point calls [`init`] itself, so callers may skip it; calling it early only moves
//! FFmpeg's one-time set-up out of the first user action.

mod checks;
mod encode;
pub mod error;
mod facts;
mod frames;
mod normalise;
mod open;
mod probe;
mod rgb;
mod sizes;
mod thumbnail;

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
pub use probe::probe;
pub use sizes::{RENDER_SIZES, render_size};
pub use thumbnail::thumbnail_jpeg;

use std::sync::Once;

static INIT: Once = Once::new();

/// Initialises FFmpeg once and silences its own logging: our messages say what
/// matters, and FFmpeg's chatter on stderr would confuse CLI users.
pub fn init() {
    INIT.call_once(|| {
        if let Err(e) = ffmpeg_next::init() {
            tracing::error!(error = %e, "ffmpeg initialisation failed");
        }
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

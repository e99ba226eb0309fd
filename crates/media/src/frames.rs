//! Decoding frames for the pose preview at preview size, stopping as soon as the caller has enough.

use std::path::Path;

use ffmpeg_next::frame;
use serde::Serialize;
use studio_error::Result;

use crate::open::{self, FramePump};
use crate::rgb::RgbConverter;

/// One upright picture, RGB24, rows packed (`data.len() == width * height * 3`).
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RgbFrame {
    /// Position of the frame in decoding order, counting every frame (also skipped ones).
    pub index: u64,
    /// Presentation time from the start of the stream.
    pub pts_secs: f64,
    pub width: u32,
    pub height: u32,
    #[serde(skip)]
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbFrame")
            .field("index", &self.index)
            .field("pts_secs", &self.pts_secs)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Calls `on_frame` with every `every_nth` frame (0 counts as 1), scaled so the longer side is at
/// most `max_side`, until it returns false or the video ends. Skipped frames are decoded (video
/// codecs need them) but never scaled or converted. Returns how many frames were handed over.
#[tracing::instrument(level = "info", skip_all, fields(path = %path.display(), max_side, every_nth))]
pub fn decode_frames(
    path: &Path,
    max_side: u32,
    every_nth: u32,
    mut on_frame: impl FnMut(RgbFrame) -> bool,
) -> Result<u64> {
    let every = u64::from(every_nth.max(1));
    // No deadline: a long clip legitimately takes long; the dry-packet cap still bounds damage.
    let mut input = open::open(path, || false)?;
    let index = open::video_stream(&input, path)?;
    let rotation = open::rotation(&input, index);
    let (time_base, start) = {
        let s = input
            .stream(index)
            .ok_or_else(|| studio_error::Error::internal("The picture stream vanished."))?;
        (f64::from(s.time_base()), s.start_time())
    };
    let start = if start == i64::MIN { 0 } else { start };
    // 0: as many decoding threads as the machine has cores.
    let mut decoder = open::open_decoder(&input, index, path, 0)?;
    let mut pump = FramePump::new(&mut input, &mut decoder, index, path);
    let mut converter: Option<RgbConverter> = None;
    let mut decoded = frame::Video::empty();
    let (mut seen, mut handed) = (0u64, 0u64);
    while pump.next(&mut decoded)? {
        let this = seen;
        seen += 1;
        if this % every != 0 {
            continue;
        }
        let converter = converter.get_or_insert_with(|| {
            RgbConverter::new(open::upright_rotation(rotation, &decoded), max_side)
        });
        let (width, height, data) = converter.convert(&decoded)?;
        let pts = decoded.timestamp().unwrap_or(start);
        handed += 1;
        let more = on_frame(RgbFrame {
            index: this,
            pts_secs: (pts - start) as f64 * time_base,
            width,
            height,
            data,
        });
        if !more {
            break;
        }
    }
    if seen == 0 {
        return Err(crate::error::corrupt(
            path,
            "no picture could be decoded from it",
        ));
    }
    tracing::info!(decoded = seen, handed, "frames decoded");
    Ok(handed)
}

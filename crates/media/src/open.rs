//! Opening a file under a time budget, picking its picture stream, and a frame pump that caps how
//! much it reads, so that no input can hang or crash the app.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use ff::format::context::Input;
use ff::{Packet, codec, decoder, frame, media};
use ffmpeg_next as ff;
use studio_error::{Error, Result};

use crate::error as err;
use crate::{ffopen, guard};

/// Longest a probe or a thumbnail may spend inside FFmpeg before the file is called damaged.
pub(crate) const PROBE_BUDGET: Duration = Duration::from_secs(15);

/// Packets of the picture stream read without a decoded frame coming out before the file is
/// called damaged. Real encoders need a handful (B-frames, frame threads); 400 is generous.
pub(crate) const MAX_DRY_PACKETS: usize = 400;

pub(crate) fn file_size(path: &Path) -> Result<u64> {
    match std::fs::metadata(path) {
        // Folders, pipes and devices: opening a pipe blocks forever, and none of them is a file
        // the user meant.
        Ok(meta) if !meta.is_file() => Err(err::not_media(path)),
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(err::not_found(path)),
        Err(e) => Err(Error::io(&format!("read {}", path.display()), e)),
    }
}

/// Opens `path`; `interrupt` returning true aborts any FFmpeg I/O in progress (a deadline for
/// probes, the cancel flag for long jobs). Only local files in the containers of
/// `guard::FORMATS`; a photo whose header is over the size limit is refused unread.
pub(crate) fn open(path: &Path, interrupt: impl FnMut() -> bool + Send + 'static) -> Result<Input> {
    crate::init();
    let url = guard::ffmpeg_path(path)?;
    if file_size(path)? == 0 {
        return Err(err::not_media(path));
    }
    guard::check_photo_header(path)?;
    match ffopen::open_input(&url, guard::open_options(), guard::MAX_PIXELS, interrupt) {
        Ok(input) => Ok(input),
        Err(ff::Error::Exit) => Err(err::corrupt(path, "reading it took too long")),
        Err(e) => match (guard::playlist_kind(path), sniff(path)) {
            (Some(kind), _) => Err(err::playlist(path, kind).with_source(e)),
            // A file that starts like a known container but cannot be opened was cut short or
            // damaged (a half-copied MP4 has no index); anything else is simply not media.
            (None, Some(kind)) => {
                Err(err::corrupt(path, &format!("the {kind} data is incomplete")).with_source(e))
            }
            (None, None) => Err(err::not_media(path).with_source(e)),
        },
    }
}

pub(crate) fn open_with_budget(path: &Path, budget: Duration) -> Result<Input> {
    let deadline = Instant::now() + budget;
    open(path, move || Instant::now() >= deadline)
}

/// Recognises the first bytes of the containers people drop, to tell "damaged" from "not media".
fn sniff(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 12];
    let mut file = std::fs::File::open(path).ok()?;
    let n = file.read(&mut head).ok()?;
    let head = &head[..n];
    let box_type = head.get(4..8);
    if matches!(
        box_type,
        Some(b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free")
    ) {
        Some("MP4/MOV")
    } else if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some("Matroska/WebM")
    } else if head.starts_with(b"RIFF") {
        Some("AVI/WebP")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some("PNG")
    } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("JPEG")
    } else if head.starts_with(b"GIF8") {
        Some("GIF")
    } else {
        None
    }
}

/// Index of the stream that carries the pictures (cover art attached to sound files does not
/// count), once its declared size is known to be within the limits.
pub(crate) fn video_stream(input: &Input, path: &Path) -> Result<usize> {
    let picture = input.streams().find(|s| {
        s.parameters().medium() == media::Type::Video
            && !s
                .disposition()
                .contains(ff::format::stream::Disposition::ATTACHED_PIC)
    });
    match picture {
        Some(s) => {
            check_declared_size(&s, input.duration(), path)?;
            Ok(s.index())
        }
        None if input.streams().count() == 0 => Err(err::not_media(path)),
        None => Err(err::no_video_stream(path)),
    }
}

/// The size the container states, before a frame is decoded. Unknown sizes (0) pass: the
/// decoders' pixel cap still holds.
fn check_declared_size(stream: &ff::Stream<'_>, container_us: i64, path: &Path) -> Result<()> {
    let (width, height) = ffopen::declared_size(&stream.parameters());
    let frames = if stream.frames() > 0 {
        stream.frames() as u64
    } else {
        let rate = f64::from(stream.avg_frame_rate());
        let secs = if stream.duration() > 0 {
            stream.duration() as f64 * f64::from(stream.time_base())
        } else {
            container_us.max(0) as f64 / 1e6
        };
        if rate.is_finite() && rate > 0.0 {
            (secs * rate) as u64
        } else {
            0
        }
    };
    guard::check_video(path, width, height, frames)
}

pub(crate) fn codec_name(id: codec::Id) -> &'static str {
    if id == codec::Id::None {
        "unknown"
    } else {
        id.name()
    }
}

/// Opens a decoder for the stream. `threads` other than 1 (0 = one per core) decodes several
/// frames at once: faster, at a few frames of latency.
pub(crate) fn open_decoder(
    input: &Input,
    index: usize,
    path: &Path,
    threads: usize,
) -> Result<decoder::Video> {
    let stream = input
        .stream(index)
        .ok_or_else(|| Error::internal("The picture stream vanished while opening it."))?;
    let params = stream.parameters();
    let id = params.id();
    if id == codec::Id::None || ff::decoder::find(id).is_none() {
        return Err(err::unsupported_codec(path, codec_name(id)));
    }
    let mut ctx = codec::context::Context::from_parameters(params)
        .map_err(|e| err::unsupported_codec(path, codec_name(id)).with_source(e))?;
    ffopen::limit_pixels(&mut ctx, guard::MAX_PIXELS);
    if threads != 1 {
        ctx.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: threads,
            ..Default::default()
        });
    }
    ctx.decoder()
        .video()
        .map_err(|e| err::unsupported_codec(path, codec_name(id)).with_source(e))
}

/// Rotation in counter-clockwise degrees (0, 90, 180, 270) from the stream's display matrix.
pub(crate) fn rotation(input: &Input, index: usize) -> i32 {
    let Some(stream) = input.stream(index) else {
        return 0;
    };
    stream
        .side_data()
        .filter(|side| side.kind() == codec::packet::side_data::Type::DisplayMatrix)
        .find_map(|side| matrix_rotation(side.data()))
        .unwrap_or(0)
}

/// The rotation to show `frame` upright: the stream's, or else the frame's own display matrix
/// (FFmpeg turns a JPEG's EXIF orientation into one, as phones store portrait photos sideways).
pub(crate) fn upright_rotation(stream_rotation: i32, frame: &frame::Video) -> i32 {
    if stream_rotation != 0 {
        return stream_rotation;
    }
    frame
        .side_data(frame::side_data::Type::DisplayMatrix)
        .and_then(|side| matrix_rotation(side.data()))
        .unwrap_or(0)
}

/// Same formula as FFmpeg's av_display_rotation_get, snapped to quarter turns, made positive.
fn matrix_rotation(data: &[u8]) -> Option<i32> {
    if data.len() < 36 {
        return None;
    }
    let at = |i: usize| {
        let b = &data[i * 4..i * 4 + 4];
        f64::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]])) / 65536.0
    };
    let (a, b, c, d) = (at(0), at(1), at(3), at(4));
    let (sx, sy) = (a.hypot(c), b.hypot(d));
    if sx == 0.0 || sy == 0.0 {
        return None;
    }
    let degrees = -(b / sy).atan2(a / sx).to_degrees();
    let quarter = (degrees / 90.0).round() as i32;
    Some((quarter * 90).rem_euclid(360))
}

/// Pulls decoded frames of one stream, reading packets as needed, with a cap on packets that
/// produce nothing. Keeps the timestamps of the packets it read (for frame-rate analysis).
pub(crate) struct FramePump<'a> {
    pub input: &'a mut Input,
    pub decoder: &'a mut decoder::Video,
    pub index: usize,
    pub path: &'a Path,
    pub packet_pts: Vec<i64>,
    pub keep_pts: usize,
    dry: usize,
    eof_sent: bool,
}

impl<'a> FramePump<'a> {
    pub fn new(
        input: &'a mut Input,
        decoder: &'a mut decoder::Video,
        index: usize,
        path: &'a Path,
    ) -> Self {
        Self {
            input,
            decoder,
            index,
            path,
            packet_pts: Vec::new(),
            keep_pts: 0,
            dry: 0,
            eof_sent: false,
        }
    }

    /// Fills `frame` with the next picture; `Ok(false)` at the end of the stream.
    pub fn next(&mut self, frame: &mut frame::Video) -> Result<bool> {
        loop {
            match self.decoder.receive_frame(frame) {
                Ok(()) => {
                    self.dry = 0;
                    return Ok(true);
                }
                Err(ff::Error::Eof) => return Ok(false),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {}
                // A damaged frame: skip it, the dry-packet cap bounds how long we keep trying.
                Err(e) => tracing::debug!(error = %e, "frame could not be decoded"),
            }
            if self.eof_sent {
                return Ok(false);
            }
            self.feed()?;
        }
    }

    /// Reads packets until one of ours went to the decoder (or the end was signalled).
    fn feed(&mut self) -> Result<()> {
        loop {
            let mut packet = Packet::empty();
            match packet.read(self.input) {
                Ok(()) if packet.stream() != self.index => continue,
                Ok(()) => {
                    self.dry += 1;
                    if self.dry > MAX_DRY_PACKETS {
                        return Err(err::corrupt(
                            self.path,
                            "no picture could be decoded from it",
                        ));
                    }
                    self.remember(&packet);
                    if let Err(e) = self.decoder.send_packet(&packet) {
                        tracing::debug!(error = %e, "packet rejected by decoder");
                    }
                    return Ok(());
                }
                Err(ff::Error::InvalidData) => {
                    self.dry += 1;
                    if self.dry > MAX_DRY_PACKETS {
                        return Err(err::corrupt(self.path, "its data cannot be read"));
                    }
                }
                Err(ff::Error::Exit) => {
                    return Err(err::corrupt(self.path, "reading it took too long"));
                }
                Err(e) => {
                    if !matches!(e, ff::Error::Eof) {
                        tracing::debug!(error = %e, "read stopped early");
                    }
                    self.eof_sent = true;
                    let _ = self.decoder.send_eof();
                    return Ok(());
                }
            }
        }
    }

    fn remember(&mut self, packet: &Packet) {
        if self.packet_pts.len() < self.keep_pts
            && let Some(pts) = packet.pts()
        {
            self.packet_pts.push(pts);
        }
    }

    /// Reads (without decoding) further packets of our stream until `keep_pts` timestamps are
    /// known or the stream ends. Cheap: demuxing only.
    pub fn collect_more_pts(&mut self) {
        let mut reads = 0usize;
        while self.packet_pts.len() < self.keep_pts && reads < self.keep_pts * 8 {
            reads += 1;
            let mut packet = Packet::empty();
            match packet.read(self.input) {
                Ok(()) if packet.stream() == self.index => self.remember(&packet),
                Ok(()) | Err(ff::Error::InvalidData) => {}
                Err(_) => return,
            }
        }
    }
}

//! An H.264 (yuv420p) encoder writing an MP4, and the filter graph that feeds it upright frames
//! of the chosen size and a constant frame rate.

use std::path::Path;

use ff::format::Pixel;
use ff::util::rational::Rational;
use ff::{Dictionary, Packet, codec, encoder, filter, format, frame};
use ffmpeg_next as ff;
use studio_error::{Error, Result};

use crate::error as err;
use crate::normalise::Fit;

/// Tried in order: software x264 first (same result everywhere), then whatever the platform has.
const H264_ENCODERS: &[&str] = &[
    "libx264",
    "libopenh264",
    "h264_videotoolbox",
    "h264_mf",
    "h264_nvenc",
    "h264_qsv",
    "h264_amf",
];

fn failed(what: &str, e: ff::Error) -> Error {
    Error::new(
        err::ENCODE_FAILED,
        format!("Preparing the video for upload failed while {what}. Try again; if it keeps failing, export the video again as MP4 (H.264)."),
    )
    .with_source(e)
}

/// Frame rate as an exact fraction: 29.97 becomes 30000/1001, 16 stays 16/1.
pub(crate) fn rate_fraction(fps: f64) -> Rational {
    if (fps - fps.round()).abs() < 1e-3 {
        return Rational::new(fps.round() as i32, 1);
    }
    let ntsc = fps * 1001.0;
    if (ntsc - ntsc.round()).abs() < 0.5 {
        return Rational::new(ntsc.round() as i32, 1001);
    }
    Rational::new((fps * 1000.0).round() as i32, 1000)
}

/// An open encoder and the MP4 it writes into.
pub(crate) struct Mp4Writer {
    output: format::context::Output,
    encoder: encoder::Video,
    encoder_tb: Rational,
    stream_tb: Rational,
    pub encoder_name: &'static str,
    pub frames: u64,
}

impl Mp4Writer {
    pub fn create(path: &Path, width: u32, height: u32, rate: Rational) -> Result<Self> {
        // ffmpeg-next panics on a name that is not UTF-8 (a data folder can have one).
        if path.to_str().is_none() {
            return Err(err::path_not_utf8(path));
        }
        let mut output = format::output_as(path, "mp4").map_err(|e| {
            Error::io(
                &format!("write {}", path.display()),
                std::io::Error::other(e.to_string()),
            )
        })?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let encoder_tb = rate.invert();
        let (encoder, codec, encoder_name) = open_h264(
            H264_ENCODERS,
            width,
            height,
            rate,
            encoder_tb,
            global_header,
        )?;
        let mut stream = output
            .add_stream(codec)
            .map_err(|e| failed("adding the video track", e))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(encoder_tb);
        let mut options = Dictionary::new();
        // The index goes first so the pod (and any player) can start reading at once.
        options.set("movflags", "+faststart");
        // No "encoder" tag and no creation time: the upload says nothing about this computer.
        options.set("fflags", "+bitexact");
        output
            .write_header_with(options)
            .map_err(|e| failed("starting the MP4 file", e))?;
        let stream_tb = output
            .stream(0)
            .map(|s| s.time_base())
            .unwrap_or(encoder_tb);
        Ok(Self {
            output,
            encoder,
            encoder_tb,
            stream_tb,
            encoder_name,
            frames: 0,
        })
    }

    /// Encodes one frame; its pts is replaced by the running frame number (constant rate).
    pub fn push(&mut self, frame: &mut frame::Video) -> Result<()> {
        frame.set_pts(Some(self.frames as i64));
        frame.set_kind(ff::picture::Type::None);
        self.encoder
            .send_frame(frame)
            .map_err(|e| failed("encoding a frame", e))?;
        self.frames += 1;
        self.drain()
    }

    pub fn finish(mut self) -> Result<(u64, &'static str)> {
        self.encoder
            .send_eof()
            .map_err(|e| failed("finishing the encoding", e))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(|e| failed("closing the MP4 file", e))?;
        Ok((self.frames, self.encoder_name))
    }

    fn drain(&mut self) -> Result<()> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            // Encoders leave durations unset here; without them the MP4's last frame lasts 0 s
            // and players and ffprobe report the wrong frame rate.
            if packet.duration() <= 0 {
                packet.set_duration(1);
            }
            packet.rescale_ts(self.encoder_tb, self.stream_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| failed("writing the MP4 file", e))?;
        }
        Ok(())
    }
}

fn open_h264(
    candidates: &[&'static str],
    width: u32,
    height: u32,
    rate: Rational,
    time_base: Rational,
    global_header: bool,
) -> Result<(encoder::Video, ff::Codec, &'static str)> {
    for &name in candidates {
        let Some(codec) = encoder::find_by_name(name) else {
            continue;
        };
        let Ok(mut enc) = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
        else {
            continue;
        };
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(Pixel::YUV420P);
        enc.set_aspect_ratio(Rational::new(1, 1));
        enc.set_frame_rate(Some(rate));
        enc.set_time_base(time_base);
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        if name == "libx264" {
            // Visually lossless and quick: the model should see the dance, not our artefacts.
            options.set("preset", "veryfast");
            options.set("crf", "18");
        }
        match enc.open_with(options) {
            Ok(opened) => return Ok((opened, codec, name)),
            Err(e) => tracing::debug!(encoder = name, error = %e, "H.264 encoder unusable"),
        }
    }
    Err(Error::new(
        err::NO_H264_ENCODER,
        "This computer's FFmpeg has no working H.264 encoder, so the video cannot be prepared for upload. Install an FFmpeg build with libx264 (on Debian/Ubuntu: the ffmpeg and libavcodec-extra packages).",
    ))
}

/// Filter chain text: turn upright, constant rate, fill or fit into `width` x `height`, yuv420p.
pub(crate) fn filter_spec(
    rotation: i32,
    sar: Rational,
    rate: Rational,
    width: u32,
    height: u32,
    fit: Fit,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    if sar.numerator() > 0 && sar.denominator() > 0 && sar.numerator() != sar.denominator() {
        // Square the pixels first so crop and pad work on the shape people see.
        parts.push("scale=trunc(iw*sar/2)*2:ih,setsar=1".into());
    }
    match rotation {
        90 => parts.push("transpose=cclock".into()),
        180 => parts.push("hflip,vflip".into()),
        270 => parts.push("transpose=clock".into()),
        _ => {}
    }
    parts.push(format!(
        "fps=fps={}/{}",
        rate.numerator(),
        rate.denominator()
    ));
    parts.push(match fit {
        Fit::Crop => format!(
            "scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
        ),
        Fit::Pad => format!(
            "scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black"
        ),
    });
    parts.push("setsar=1,format=yuv420p".into());
    parts.join(",")
}

/// A filter graph from decoded frames (`in`) to encoder-ready frames (`out`).
pub(crate) fn build_graph(
    first: &frame::Video,
    time_base: Rational,
    spec: &str,
) -> Result<filter::Graph> {
    let mut graph = filter::Graph::new();
    let pix = first
        .format()
        .descriptor()
        .map(|d| d.name())
        .unwrap_or("yuv420p");
    let sar = first.aspect_ratio();
    let (sar_n, sar_d) = if sar.numerator() > 0 && sar.denominator() > 0 {
        (sar.numerator(), sar.denominator())
    } else {
        (1, 1)
    };
    let args = format!(
        "video_size={}x{}:pix_fmt={pix}:time_base={}/{}:pixel_aspect={sar_n}/{sar_d}",
        first.width(),
        first.height(),
        time_base.numerator(),
        time_base.denominator()
    );
    let (Some(buffer), Some(sink)) = (filter::find("buffer"), filter::find("buffersink")) else {
        return Err(Error::internal("FFmpeg lacks its buffer filters."));
    };
    graph
        .add(&buffer, "in", &args)
        .map_err(|e| failed("setting up the picture filters", e))?;
    graph
        .add(&sink, "out", "")
        .map_err(|e| failed("setting up the picture filters", e))?;
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(spec))
        .map_err(|e| failed("setting up the picture filters", e))?;
    graph
        .validate()
        .map_err(|e| failed("checking the picture filters", e))?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_usable_encoder_is_a_clear_error() {
        crate::init();
        let tb = Rational::new(1, 16);
        let e = open_h264(&["no_such_encoder"], 64, 64, tb.invert(), tb, false)
            .err()
            .expect("no encoder");
        assert_eq!(e.code(), err::NO_H264_ENCODER);
        assert!(e.message().contains("libx264"));
        let (_, _, name) = open_h264(H264_ENCODERS, 64, 64, tb.invert(), tb, false).expect("x264");
        assert_eq!(name, "libx264");
    }

    #[test]
    fn frame_rates_become_exact_fractions() {
        assert_eq!(rate_fraction(16.0), Rational::new(16, 1));
        assert_eq!(rate_fraction(29.97), Rational::new(30000, 1001));
        assert_eq!(rate_fraction(12.5), Rational::new(12500, 1000));
    }

    #[test]
    fn crop_and_pad_specs() {
        let crop = filter_spec(
            270,
            Rational::new(1, 1),
            Rational::new(16, 1),
            480,
            832,
            Fit::Crop,
        );
        assert!(crop.starts_with("transpose=clock,fps=fps=16/1,scale=480:832"));
        assert!(crop.contains("crop=480:832"));
        let pad = filter_spec(
            0,
            Rational::new(8, 9),
            Rational::new(16, 1),
            480,
            832,
            Fit::Pad,
        );
        assert!(pad.contains("pad=480:832"));
        assert!(pad.starts_with("scale=trunc(iw*sar/2)*2:ih,setsar=1,fps"));
        assert!(pad.ends_with("format=yuv420p"));
    }
}

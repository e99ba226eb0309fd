//! Writes the skeleton and overlay videos (H.264 in MP4, yuv420p so every player opens them).

use std::path::Path;

use ff::format::Pixel;
use ff::software::scaling;
use ff::util::rational::Rational;
use ff::{Dictionary, Packet, codec, encoder, format, frame};
use ffmpeg_next as ff;
use image::RgbImage;
use studio_error::{Error, Result};

pub const ENCODE_FAILED: &str = "pose.encode_failed";
const ENCODERS: &[&str] = &[
    "libx264",
    "libopenh264",
    "h264_videotoolbox",
    "h264_mf",
    "mpeg4",
];

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ENCODE_FAILED,
        format!(
            "Writing the skeleton video failed while {what} ({e}). Check the output folder is writable and has space, then try again."
        ),
    )
}

/// An MP4 being written frame by frame at a constant rate.
pub struct Mp4Out {
    output: format::context::Output,
    encoder: encoder::Video,
    scaler: scaling::Context,
    enc_tb: Rational,
    stream_tb: Rational,
    width: u32,
    height: u32,
    frames: u64,
}

impl std::fmt::Debug for Mp4Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Out")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Mp4Out {
    /// `width` x `height` is the size of the frames that will be pushed; the video is that size
    /// rounded down to even numbers (yuv420p needs it).
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        studio_media::init();
        let (ew, eh) = ((width & !1).max(2), (height & !1).max(2));
        let rate = Rational::new((fps * 1000.0).round().max(1.0) as i32, 1000).reduce();
        let enc_tb = rate.invert();
        let mut output =
            format::output_as(path, "mp4").map_err(|e| failed("creating the file", e))?;
        let global = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let mut opened = None;
        for &name in ENCODERS {
            let Some(codec) = encoder::find_by_name(name) else {
                continue;
            };
            let Ok(mut enc) = codec::context::Context::new_with_codec(codec)
                .encoder()
                .video()
            else {
                continue;
            };
            enc.set_width(ew);
            enc.set_height(eh);
            enc.set_format(Pixel::YUV420P);
            enc.set_frame_rate(Some(rate));
            enc.set_time_base(enc_tb);
            if global {
                enc.set_flags(codec::Flags::GLOBAL_HEADER);
            }
            let mut opts = Dictionary::new();
            if name == "libx264" {
                opts.set("preset", "veryfast");
                opts.set("crf", "20");
            }
            if let Ok(e) = enc.open_with(opts) {
                opened = Some((e, codec));
                break;
            }
        }
        let (encoder, codec) = opened.ok_or_else(|| {
            failed(
                "opening an encoder",
                "no H.264 or MPEG-4 encoder in this FFmpeg",
            )
        })?;
        let mut stream = output
            .add_stream(codec)
            .map_err(|e| failed("adding the video track", e))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(enc_tb);
        output
            .write_header()
            .map_err(|e| failed("starting the file", e))?;
        let stream_tb = output.stream(0).map(|s| s.time_base()).unwrap_or(enc_tb);
        let scaler = scaling::Context::get(
            Pixel::RGB24,
            width,
            height,
            Pixel::YUV420P,
            ew,
            eh,
            scaling::Flags::BILINEAR,
        )
        .map_err(|e| failed("preparing the colour conversion", e))?;
        Ok(Self {
            output,
            encoder,
            scaler,
            enc_tb,
            stream_tb,
            width,
            height,
            frames: 0,
        })
    }

    pub fn push(&mut self, img: &RgbImage) -> Result<()> {
        if img.dimensions() != (self.width, self.height) {
            return Err(failed("adding a frame", "frame size changed mid-video"));
        }
        let mut rgb = frame::Video::new(Pixel::RGB24, self.width, self.height);
        let stride = rgb.stride(0);
        let row = self.width as usize * 3;
        let dst = rgb.data_mut(0);
        for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
            dst[y * stride..y * stride + row].copy_from_slice(src);
        }
        let mut yuv = frame::Video::empty();
        self.scaler
            .run(&rgb, &mut yuv)
            .map_err(|e| failed("converting colours", e))?;
        yuv.set_pts(Some(self.frames as i64));
        self.encoder
            .send_frame(&yuv)
            .map_err(|e| failed("encoding a frame", e))?;
        self.frames += 1;
        self.drain()
    }

    /// Flushes and closes the file; returns the number of frames written.
    pub fn finish(mut self) -> Result<u64> {
        self.encoder
            .send_eof()
            .map_err(|e| failed("finishing", e))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(|e| failed("closing the file", e))?;
        Ok(self.frames)
    }

    fn drain(&mut self) -> Result<()> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(self.enc_tb, self.stream_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| failed("writing the file", e))?;
        }
        Ok(())
    }
}

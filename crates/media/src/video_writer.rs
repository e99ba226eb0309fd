//! Writes RGB pictures as an H.264 MP4 with the same encoder set-up as the upload video: the
//! pose preview's skeleton and overlay videos, and the clips tests and benches generate.

use std::path::Path;

use ff::format::Pixel;
use ff::software::scaling;
use ff::{Rational, frame};
use ffmpeg_next as ff;
use image::RgbImage;
use studio_error::{Error, Result};

use crate::encode::{Mp4Writer, rate_fraction};
use crate::error as err;

/// An MP4 being written picture by picture at a constant rate.
pub struct RgbVideoWriter {
    writer: Mp4Writer,
    scaler: scaling::Context,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for RgbVideoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbVideoWriter")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("frames", &self.writer.frames)
            .finish_non_exhaustive()
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        err::ENCODE_FAILED,
        format!(
            "Writing the video failed while {what} ({e}). Check the folder is writable and has \
             space, then try again."
        ),
    )
}

impl RgbVideoWriter {
    /// `width` x `height` is the size of the pictures that will be pushed; the video is that size
    /// rounded down to even numbers (yuv420p needs it).
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        crate::init();
        let (ew, eh) = ((width & !1).max(2), (height & !1).max(2));
        let rate: Rational = rate_fraction(fps.max(0.001));
        let writer = Mp4Writer::create(path, ew, eh, rate)?;
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
            writer,
            scaler,
            width,
            height,
        })
    }

    pub fn push(&mut self, img: &RgbImage) -> Result<()> {
        if img.dimensions() != (self.width, self.height) {
            return Err(failed(
                "adding a picture",
                format!(
                    "it is {}x{}, the video {}x{}",
                    img.width(),
                    img.height(),
                    self.width,
                    self.height
                ),
            ));
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
        self.writer.push(&mut yuv)
    }

    /// Flushes and closes the file; returns the number of frames written.
    pub fn finish(self) -> Result<u64> {
        self.writer.finish().map(|(frames, _)| frames)
    }
}

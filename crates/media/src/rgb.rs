//! Turning decoded frames into upright RGB24 pictures of a bounded size.

use ff::format::Pixel;
use ff::software::scaling;
use ff::util::frame;
use ff::util::rational::Rational;
use ffmpeg_next as ff;
use studio_error::{Error, Result};

/// Display size for a stored `width` x `height` picture turned by `rotation` degrees.
pub(crate) fn displayed(width: u32, height: u32, rotation: i32) -> (u32, u32) {
    if rotation == 90 || rotation == 270 {
        (height, width)
    } else {
        (width, height)
    }
}

/// Width and height in square pixels: anamorphic video (sample aspect ratio other than 1:1, e.g.
/// 720x480 DV at 8:9) is shown wider or narrower than it is stored.
pub(crate) fn square_pixels(width: u32, height: u32, sar: Rational) -> (u32, u32) {
    let (n, d) = (sar.numerator(), sar.denominator());
    if n <= 0 || d <= 0 || n == d {
        return (width, height);
    }
    let w = (f64::from(width) * f64::from(n) / f64::from(d))
        .round()
        .max(1.0) as u32;
    (w, height)
}

/// Scales a display size down (never up) so its longer side is at most `max_side`.
pub(crate) fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longer = width.max(height);
    if max_side == 0 || longer <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(max_side) / f64::from(longer);
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// Converts frames to upright RGB24, reusing one scaler while the input format stays the same.
pub(crate) struct RgbConverter {
    rotation: i32,
    max_side: u32,
    scaler: Option<(ScalerKey, scaling::Context)>,
}

type ScalerKey = (Pixel, u32, u32, u32, u32);

impl std::fmt::Debug for RgbConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbConverter")
            .field("rotation", &self.rotation)
            .field("max_side", &self.max_side)
            .finish_non_exhaustive()
    }
}

impl RgbConverter {
    pub fn new(rotation: i32, max_side: u32) -> Self {
        Self {
            rotation,
            max_side,
            scaler: None,
        }
    }

    /// Returns (width, height, RGB24 bytes) of the upright picture.
    pub fn convert(&mut self, src: &frame::Video) -> Result<(u32, u32, Vec<u8>)> {
        let (pw, ph) = square_pixels(src.width(), src.height(), src.aspect_ratio());
        let (dw, dh) = displayed(pw, ph, self.rotation);
        let (tw, th) = fit_within(dw, dh, self.max_side);
        // Scale in stored orientation, then turn: turning the small picture is cheaper.
        let (sw, sh) = displayed(tw, th, self.rotation);
        let key = (src.format(), src.width(), src.height(), sw, sh);
        if self.scaler.as_ref().map(|(k, _)| *k) != Some(key) {
            let ctx = scaling::Context::get(
                src.format(),
                src.width(),
                src.height(),
                Pixel::RGB24,
                sw,
                sh,
                scaling::Flags::AREA,
            )
            .map_err(|e| Error::internal("Could not set up picture scaling.").with_source(e))?;
            self.scaler = Some((key, ctx));
        }
        let Some((_, scaler)) = self.scaler.as_mut() else {
            return Err(Error::internal("Picture scaler missing."));
        };
        let mut out = frame::Video::empty();
        scaler
            .run(src, &mut out)
            .map_err(|e| Error::internal("Could not scale a picture.").with_source(e))?;
        let packed = pack_rows(&out, sw, sh);
        Ok(rotate(&packed, sw, sh, self.rotation))
    }
}

/// Copies RGB24 rows out of a frame whose rows may be padded.
fn pack_rows(frame: &frame::Video, width: u32, height: u32) -> Vec<u8> {
    let row = width as usize * 3;
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut out = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    out
}

/// Turns a packed RGB24 picture counter-clockwise by `rotation` degrees.
pub(crate) fn rotate(data: &[u8], w: u32, h: u32, rotation: i32) -> (u32, u32, Vec<u8>) {
    let (w, h) = (w as usize, h as usize);
    if !matches!(rotation, 90 | 180 | 270) {
        return (w as u32, h as u32, data.to_vec());
    }
    let (ow, oh) = if rotation == 180 { (w, h) } else { (h, w) };
    let mut out = vec![0u8; data.len()];
    for y in 0..h {
        for x in 0..w {
            let (nx, ny) = match rotation {
                90 => (y, w - 1 - x),
                180 => (w - 1 - x, h - 1 - y),
                _ => (h - 1 - y, x),
            };
            let src = (y * w + x) * 3;
            let dst = (ny * ow + nx) * 3;
            out[dst..dst + 3].copy_from_slice(&data[src..src + 3]);
        }
    }
    (ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x1 picture: red then green.
    const RG: [u8; 6] = [255, 0, 0, 0, 255, 0];

    #[test]
    fn quarter_turn_counter_clockwise_puts_the_right_pixel_on_top() {
        let (w, h, out) = rotate(&RG, 2, 1, 90);
        assert_eq!((w, h), (1, 2));
        assert_eq!(out, vec![0, 255, 0, 255, 0, 0]);
    }

    #[test]
    fn quarter_turn_clockwise_puts_the_left_pixel_on_top() {
        let (w, h, out) = rotate(&RG, 2, 1, 270);
        assert_eq!((w, h), (1, 2));
        assert_eq!(out, vec![255, 0, 0, 0, 255, 0]);
    }

    #[test]
    fn half_turn_swaps_ends() {
        let (_, _, out) = rotate(&RG, 2, 1, 180);
        assert_eq!(out, vec![0, 255, 0, 255, 0, 0]);
    }

    #[test]
    fn fit_within_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit_within(1920, 1080, 320), (320, 180));
        assert_eq!(fit_within(100, 50, 320), (100, 50));
        assert_eq!(displayed(1920, 1080, 90), (1080, 1920));
        assert_eq!(square_pixels(720, 480, Rational::new(8, 9)), (640, 480));
        assert_eq!(square_pixels(720, 480, Rational::new(0, 1)), (720, 480));
    }
}

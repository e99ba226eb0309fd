//! Pixel sampling shared by the detector letterbox and the keypoint crop.

use image::RgbImage;

/// Bilinear sample at (x, y) in pixel-centre coordinates (pixel i spans i..i+1, centre i+0.5 is
/// addressed as i). Outside taps read `border` when given, else the nearest edge pixel.
pub(crate) fn bilinear(img: &RgbImage, x: f32, y: f32, border: Option<f32>) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let raw = img.as_raw();
    let tap = |xi: i64, yi: i64| -> [f32; 3] {
        let inside = xi >= 0 && yi >= 0 && xi < w && yi < h;
        if !inside && let Some(b) = border {
            return [b; 3];
        }
        let (xc, yc) = (xi.clamp(0, w - 1), yi.clamp(0, h - 1));
        let o = ((yc * w + xc) * 3) as usize;
        [raw[o] as f32, raw[o + 1] as f32, raw[o + 2] as f32]
    };
    let (a, b, c, d) = (
        tap(x0, y0),
        tap(x0 + 1, y0),
        tap(x0, y0 + 1),
        tap(x0 + 1, y0 + 1),
    );
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bottom = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bottom - top) * fy;
    }
    out
}

/// Resizes like OpenCV's INTER_LINEAR (half-pixel centres, edges replicated), then rounds to
/// u8 as the upstream pipeline does before it turns the image into floats.
pub(crate) fn resize_bilinear(img: &RgbImage, nw: u32, nh: u32) -> RgbImage {
    let sx = img.width() as f32 / nw as f32;
    let sy = img.height() as f32 / nh as f32;
    let mut out = RgbImage::new(nw, nh);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let src_x = (x as f32 + 0.5) * sx - 0.5;
        let src_y = (y as f32 + 0.5) * sy - 0.5;
        let v = bilinear(img, src_x.max(0.0), src_y.max(0.0), None);
        p.0 = [round_u8(v[0]), round_u8(v[1]), round_u8(v[2])];
    }
    out
}

pub(crate) fn round_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_interpolates_and_borders() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([0, 0, 0]));
        img.put_pixel(1, 0, image::Rgb([100, 200, 50]));
        assert_eq!(bilinear(&img, 0.5, 0.0, None), [50.0, 100.0, 25.0]);
        assert_eq!(bilinear(&img, 1.5, 0.0, None), [100.0, 200.0, 50.0]); // edge replicated
        assert_eq!(bilinear(&img, 1.5, 0.0, Some(0.0)), [50.0, 100.0, 25.0]); // constant border
    }

    #[test]
    fn resize_halves_by_averaging_pairs() {
        let mut img = RgbImage::new(4, 2);
        for x in 0..4 {
            for y in 0..2 {
                img.put_pixel(x, y, image::Rgb([(x * 40) as u8, 0, 0]));
            }
        }
        let out = resize_bilinear(&img, 2, 1);
        assert_eq!(out.get_pixel(0, 0).0[0], 20);
        assert_eq!(out.get_pixel(1, 0).0[0], 100);
    }
}

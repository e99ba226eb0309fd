//! The keypoint model's side: the affine crop of one person to 288x384, mean/std normalisation,
//! SimCC decoding and the mapping of crop positions back to the frame.

use image::RgbImage;

use crate::image_ops::bilinear;
use crate::keypoints::Keypoint;

pub const POSE_W: usize = 288;
pub const POSE_H: usize = 384;
/// COCO-WholeBody points the model emits.
pub const MODEL_POINTS: usize = 133;
/// SimCC bins per pixel: 576 = 288 * 2 and 768 = 384 * 2.
const SIMCC_SPLIT: f32 = 2.0;
const BOX_PADDING: f32 = 1.25;
const MEAN: [f32; 3] = [123.675, 116.28, 103.53];
const STD: [f32; 3] = [58.395, 57.12, 57.375];

/// A person's crop window in the frame: centre and size (already at the model's aspect).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropWindow {
    pub center: [f32; 2],
    pub scale: [f32; 2],
}

/// Pads the detector box by 1.25 and widens or heightens it to the model's 3:4 aspect.
pub fn crop_window(bbox: &[f32; 4]) -> CropWindow {
    let center = [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0];
    let mut w = (bbox[2] - bbox[0]) * BOX_PADDING;
    let mut h = (bbox[3] - bbox[1]) * BOX_PADDING;
    let aspect = POSE_W as f32 / POSE_H as f32;
    if w > h * aspect {
        h = w / aspect;
    } else {
        w = h * aspect;
    }
    CropWindow {
        center,
        scale: [w, h],
    }
}

/// The model input `[1, 3, 384, 288]`: the window warped to 288x384 (bilinear, black outside
/// the frame) and normalised per channel.
pub fn crop_input(frame: &RgbImage, win: &CropWindow) -> Vec<f32> {
    let step = win.scale[0] / POSE_W as f32;
    let plane = POSE_W * POSE_H;
    let mut data = vec![0.0; plane * 3];
    for y in 0..POSE_H {
        let sy = (y as f32 - POSE_H as f32 / 2.0) * step + win.center[1];
        for x in 0..POSE_W {
            let sx = (x as f32 - POSE_W as f32 / 2.0) * step + win.center[0];
            let px = bilinear(frame, sx, sy, Some(0.0));
            let o = y * POSE_W + x;
            for c in 0..3 {
                // the upstream warp writes u8 before normalising
                let v = px[c].round().clamp(0.0, 255.0);
                data[c * plane + o] = (v - MEAN[c]) / STD[c];
            }
        }
    }
    data
}

/// Argmax per axis halved; the score is the smaller of the two maxima. Positions are mapped back
/// into the frame through the crop window.
pub fn decode_simcc(simcc_x: &[f32], simcc_y: &[f32], win: &CropWindow) -> Vec<Keypoint> {
    let (nx, ny) = (POSE_W * 2, POSE_H * 2);
    assert_eq!(
        simcc_x.len(),
        MODEL_POINTS * nx,
        "simcc_x must be [1, 133, 576]"
    );
    assert_eq!(
        simcc_y.len(),
        MODEL_POINTS * ny,
        "simcc_y must be [1, 133, 768]"
    );
    (0..MODEL_POINTS)
        .map(|k| {
            let (ix, vx) = argmax(&simcc_x[k * nx..(k + 1) * nx]);
            let (iy, vy) = argmax(&simcc_y[k * ny..(k + 1) * ny]);
            let score = vx.min(vy);
            let (cx, cy) = if score <= 0.0 {
                (-1.0, -1.0) // as upstream: no peak, no position
            } else {
                (ix as f32 / SIMCC_SPLIT, iy as f32 / SIMCC_SPLIT)
            };
            Keypoint {
                x: cx / POSE_W as f32 * win.scale[0] + win.center[0] - win.scale[0] / 2.0,
                y: cy / POSE_H as f32 * win.scale[1] + win.center[1] - win.scale[1] / 2.0,
                score,
            }
        })
        .collect()
}

/// First index of the maximum, like numpy's argmax.
fn argmax(v: &[f32]) -> (usize, f32) {
    v.iter().enumerate().fold(
        (0, f32::MIN),
        |acc, (i, &x)| if x > acc.1 { (i, x) } else { acc },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_pads_and_fixes_aspect() {
        // 128x384 box: padded 160x480, too narrow for 3:4, so widened to 360x480
        let w = crop_window(&[256.0, 128.0, 384.0, 512.0]);
        assert_eq!(w.center, [320.0, 320.0]);
        assert_eq!(w.scale, [360.0, 480.0]);
        // a wide box gets taller instead: 400x100 -> 500x125 -> 500x666.67
        let w = crop_window(&[0.0, 0.0, 400.0, 100.0]);
        assert_eq!(w.scale[0], 500.0);
        assert!((w.scale[1] - 666.666_7).abs() < 1e-3);
    }

    #[test]
    fn simcc_peaks_map_back_to_frame() {
        let win = crop_window(&[256.0, 128.0, 384.0, 512.0]); // frame = 1.25 * crop + (140, 80)
        let mut sx = vec![0.0; MODEL_POINTS * 576];
        let mut sy = vec![0.0; MODEL_POINTS * 768];
        sx[288] = 0.9; // point 0 at crop x 144
        sy[120] = 0.7; // crop y 60
        sx[576 + 101] = 0.5; // point 1 at odd bin: crop x 50.5
        sy[768 + 767] = 0.8;
        let kps = decode_simcc(&sx, &sy, &win);
        assert_eq!(kps.len(), 133);
        assert_eq!((kps[0].x, kps[0].y, kps[0].score), (320.0, 155.0, 0.7));
        assert_eq!(
            (kps[1].x, kps[1].y, kps[1].score),
            (50.5 * 1.25 + 140.0, 383.5 * 1.25 + 80.0, 0.5)
        );
        assert_eq!(kps[2].score, 0.0); // all-zero rows: no point
        assert_eq!(kps[2].x, -1.25 + 140.0);
    }

    #[test]
    fn crop_samples_the_window_and_normalises() {
        // Left half red, right half blue; the window centre column is the boundary.
        let mut frame = RgbImage::new(200, 200);
        for (x, _, p) in frame.enumerate_pixels_mut() {
            p.0 = if x < 100 { [255, 0, 0] } else { [0, 0, 255] };
        }
        let win = CropWindow {
            center: [100.0, 100.0],
            scale: [288.0, 384.0], // one frame pixel per crop pixel
        };
        let data = crop_input(&frame, &win);
        let plane = POSE_W * POSE_H;
        let at = |c: usize, x: usize, y: usize| data[c * plane + y * POSE_W + x];
        let red = (255.0 - MEAN[0]) / STD[0];
        let zero_r = -MEAN[0] / STD[0];
        // crop (144 - 10, 192) is frame (90, 100): red
        assert!((at(0, 134, 192) - red).abs() < 1e-5);
        // crop (154, 192) is frame (110, 100): blue, so red channel 0
        assert!((at(0, 154, 192) - zero_r).abs() < 1e-5);
        assert!((at(2, 154, 192) - (255.0 - MEAN[2]) / STD[2]).abs() < 1e-5);
        // crop (10, 10) is frame (-34, -82): outside, black
        assert!((at(0, 10, 10) - zero_r).abs() < 1e-5);
    }
}

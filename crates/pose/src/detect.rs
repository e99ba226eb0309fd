//! The YOLOX person detector's pre- and post-processing: letterbox to 640x640 with grey 114,
//! grid decoding over strides 8/16/32, class-agnostic NMS at IoU 0.45, persons scoring > 0.3.

use image::RgbImage;
use serde::Serialize;

use crate::image_ops::resize_bilinear;

pub const DET_SIZE: u32 = 640;
pub const DET_ANCHORS: usize = 8400;
/// 4 box values, objectness, 80 COCO class scores.
pub const DET_ROW: usize = 85;
const STRIDES: [usize; 3] = [8, 16, 32];
const PAD_VALUE: f32 = 114.0;
const NMS_IOU: f32 = 0.45;
/// Candidates below this enter no NMS (as upstream), persons must then beat [`PERSON_SCORE`].
const NMS_SCORE: f32 = 0.1;
pub const PERSON_SCORE: f32 = 0.3;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// x0, y0, x1, y1 in frame pixels.
    pub bbox: [f32; 4],
    pub score: f32,
}

/// The detector input: `[1, 3, 640, 640]` raw 0..255 values in CHW order, plus the scale ratio
/// to map boxes back (frame = letterbox / ratio).
#[derive(Debug)]
pub struct Letterbox {
    pub data: Vec<f32>,
    pub ratio: f32,
}

/// Scales the frame to fit 640x640 keeping its aspect, top-left aligned, rest grey 114.
pub fn letterbox(frame: &RgbImage) -> Letterbox {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let ratio = (DET_SIZE as f32 / h).min(DET_SIZE as f32 / w);
    let nw = ((w * ratio) as u32).clamp(1, DET_SIZE);
    let nh = ((h * ratio) as u32).clamp(1, DET_SIZE);
    let resized = resize_bilinear(frame, nw, nh);
    let plane = (DET_SIZE * DET_SIZE) as usize;
    let mut data = vec![PAD_VALUE; plane * 3];
    for (x, y, p) in resized.enumerate_pixels() {
        let o = (y * DET_SIZE + x) as usize;
        for c in 0..3 {
            data[c * plane + o] = p.0[c] as f32;
        }
    }
    Letterbox { data, ratio }
}

/// Decodes the raw `[8400, 85]` output: centres are (offset + grid cell) * stride, sizes
/// exp(v) * stride; a row's class is its best class and its score objectness * that class score.
pub fn decode(raw: &[f32], ratio: f32) -> Vec<Detection> {
    assert_eq!(
        raw.len(),
        DET_ANCHORS * DET_ROW,
        "detector output must be [1, 8400, 85]"
    );
    let mut cands: Vec<(Detection, usize)> = Vec::new();
    let mut anchor = 0;
    for stride in STRIDES {
        let cells = DET_SIZE as usize / stride;
        for gy in 0..cells {
            for gx in 0..cells {
                let row = &raw[anchor * DET_ROW..(anchor + 1) * DET_ROW];
                anchor += 1;
                let (class, best) =
                    row[5..]
                        .iter()
                        .enumerate()
                        .fold(
                            (0, f32::MIN),
                            |acc, (i, &s)| if s > acc.1 { (i, s) } else { acc },
                        );
                let score = row[4] * best;
                if score <= NMS_SCORE {
                    continue;
                }
                let s = stride as f32;
                let cx = (row[0] + gx as f32) * s;
                let cy = (row[1] + gy as f32) * s;
                let bw = row[2].exp() * s;
                let bh = row[3].exp() * s;
                let bbox = [
                    (cx - bw / 2.0) / ratio,
                    (cy - bh / 2.0) / ratio,
                    (cx + bw / 2.0) / ratio,
                    (cy + bh / 2.0) / ratio,
                ];
                cands.push((Detection { bbox, score }, class));
            }
        }
    }
    let kept = nms(cands, NMS_IOU);
    kept.into_iter()
        .filter(|(d, class)| *class == 0 && d.score > PERSON_SCORE)
        .map(|(d, _)| d)
        .collect()
}

/// Greedy NMS, highest score first, dropping boxes whose IoU with a kept one exceeds `iou`.
/// Areas count inclusive pixels (+1), as the YOLOX reference does.
pub fn nms<T>(mut cands: Vec<(Detection, T)>, iou: f32) -> Vec<(Detection, T)> {
    cands.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    let mut kept: Vec<(Detection, T)> = Vec::new();
    for c in cands {
        if kept.iter().all(|k| overlap(&k.0.bbox, &c.0.bbox) <= iou) {
            kept.push(c);
        }
    }
    kept
}

pub fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |r: &[f32; 4]| (r[2] - r[0] + 1.0) * (r[3] - r[1] + 1.0);
    let w = (a[2].min(b[2]) - a[0].max(b[0]) + 1.0).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1]) + 1.0).max(0.0);
    let inter = w * h;
    inter / (area(a) + area(b) - inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_with(rows: &[(usize, [f32; 4], f32, usize, f32)]) -> Vec<f32> {
        let mut raw = vec![0.0; DET_ANCHORS * DET_ROW];
        for &(idx, reg, obj, class, cls) in rows {
            let r = &mut raw[idx * DET_ROW..(idx + 1) * DET_ROW];
            r[..4].copy_from_slice(&reg);
            r[4] = obj;
            r[5 + class] = cls;
        }
        raw
    }

    #[test]
    fn letterbox_pads_grey_and_keeps_aspect() {
        let frame = RgbImage::from_pixel(1280, 720, image::Rgb([10, 20, 30]));
        let lb = letterbox(&frame);
        assert_eq!(lb.ratio, 0.5);
        let plane = 640 * 640;
        assert_eq!(lb.data.len(), plane * 3);
        // inside the 640x360 image
        assert_eq!(
            (lb.data[0], lb.data[plane], lb.data[2 * plane]),
            (10.0, 20.0, 30.0)
        );
        assert_eq!(lb.data[359 * 640 + 639], 10.0);
        // below it: grey padding
        assert_eq!(lb.data[360 * 640], 114.0);
        assert_eq!(lb.data[2 * plane + 639 * 640 + 639], 114.0);
    }

    #[test]
    fn decodes_grid_strides_and_ratio() {
        // stride 16 cell (20, 20): centre (320, 320), w 8*16, h 24*16; stride 32 cell (3, 2).
        let raw = raw_with(&[
            (
                6400 + 20 * 40 + 20,
                [0.0, 0.0, 8f32.ln(), 24f32.ln()],
                0.8,
                0,
                0.9,
            ),
            (8000 + 2 * 20 + 3, [0.5, 0.25, 0.0, 0.0], 0.9, 0, 0.9),
        ]);
        let dets = decode(&raw, 0.5);
        assert_eq!(dets.len(), 2);
        assert!((dets[0].score - 0.81).abs() < 1e-6);
        // (3 + 0.5) * 32 = 112, (2 + 0.25) * 32 = 72, size 32; / 0.5
        let want = [
            (112.0 - 16.0) * 2.0,
            (72.0 - 16.0) * 2.0,
            (112.0 + 16.0) * 2.0,
            (72.0 + 16.0) * 2.0,
        ];
        for (a, b) in dets[0].bbox.iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "{:?}", dets[0].bbox);
        }
        let want = [
            (320.0 - 64.0) * 2.0,
            (320.0 - 192.0) * 2.0,
            (320.0 + 64.0) * 2.0,
            (320.0 + 192.0) * 2.0,
        ];
        for (a, b) in dets[1].bbox.iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "{:?}", dets[1].bbox);
        }
    }

    #[test]
    fn low_scores_and_other_classes_are_dropped() {
        let raw = raw_with(&[
            (100, [0.0; 4], 0.5, 0, 0.5),   // 0.25: not a person by score
            (200, [0.0; 4], 0.95, 2, 0.95), // a car
            (300, [0.0; 4], 0.9, 0, 0.34),  // 0.306: kept
        ]);
        let dets = decode(&raw, 1.0);
        assert_eq!(dets.len(), 1);
        assert!((dets[0].score - 0.306).abs() < 1e-6);
    }

    #[test]
    fn nms_suppresses_overlaps_above_045() {
        let d = |x0: f32, score: f32| {
            (
                Detection {
                    bbox: [x0, 0.0, x0 + 99.0, 99.0],
                    score,
                },
                (),
            )
        };
        // inclusive areas are 100x100: a shift of 30 leaves 70*100 / 13000 = 0.538 > 0.45;
        // a shift of 40 leaves 60*100 / 14000 = 0.4286 <= 0.45.
        let kept = nms(
            vec![d(30.0, 0.5), d(0.0, 0.9), d(140.0, 0.7), d(100.0, 0.6)],
            NMS_IOU,
        );
        let xs: Vec<f32> = kept.iter().map(|k| k.0.bbox[0]).collect();
        assert_eq!(xs, vec![0.0, 140.0, 100.0]);
        assert!(
            (overlap(&[0.0, 0.0, 99.0, 99.0], &[40.0, 0.0, 139.0, 99.0]) - 0.428_571).abs() < 1e-4
        );
    }

    #[test]
    fn a_car_can_suppress_a_person_like_upstream() {
        // Class-agnostic NMS: the higher-scoring car over the same place removes the person.
        let raw = raw_with(&[
            (500, [0.0; 4], 0.9, 0, 0.8),
            (500 + 1, [-1.0, 0.0, 0.0, 0.0], 0.95, 2, 0.95),
        ]);
        assert!(decode(&raw, 1.0).is_empty());
    }
}

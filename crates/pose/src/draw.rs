//! Draws a skeleton the way ComfyUI's DWPose preprocessor does: 17 limbs as filled ellipses in
//! the OpenPose colours, the canvas dimmed to 60%, joints as radius-4 dots, hands as 2 px lines
//! with a hue sweep and blue joints, the face as white dots. Feet are not drawn (as upstream).

use image::{Rgb, RgbImage};

use crate::keypoints::{FACE, Keypoint, LEFT_HAND, Person, RIGHT_HAND};

/// The 18 OpenPose colours; limb i and joint i use colour i.
pub const COLORS: [[u8; 3]; 18] = [
    [255, 0, 0],
    [255, 85, 0],
    [255, 170, 0],
    [255, 255, 0],
    [170, 255, 0],
    [85, 255, 0],
    [0, 255, 0],
    [0, 255, 85],
    [0, 255, 170],
    [0, 255, 255],
    [0, 170, 255],
    [0, 85, 255],
    [0, 0, 255],
    [85, 0, 255],
    [170, 0, 255],
    [255, 0, 255],
    [255, 0, 170],
    [255, 0, 85],
];

/// Body limbs as pairs of OpenPose indices.
pub const LIMBS: [(usize, usize); 17] = [
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
];

/// Hand bones: wrist to each finger base, then along each finger.
const HAND_EDGES: [(usize, usize); 20] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (0, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (0, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
];

const STICK_HALF_WIDTH: i64 = 4;
const JOINT_RADIUS: i64 = 4;
const FACE_RADIUS: i64 = 3;

/// The skeletons of `people` on a black canvas of the frame's size.
pub fn draw_skeleton(width: u32, height: u32, people: &[Person]) -> RgbImage {
    let mut canvas = RgbImage::new(width, height);
    for p in people {
        draw_limbs(&mut canvas, &p.keypoints);
    }
    // Upstream dims the whole canvas after the limbs, so limbs end at 60% and joints stay full.
    for v in canvas.iter_mut() {
        *v = (*v as f32 * 0.6) as u8;
    }
    for p in people {
        for (i, kp) in p.keypoints[..18].iter().enumerate() {
            if kp.visible() {
                fill_circle(
                    &mut canvas,
                    kp.x as i64,
                    kp.y as i64,
                    JOINT_RADIUS,
                    COLORS[i],
                );
            }
        }
    }
    for p in people {
        draw_hand(&mut canvas, &p.keypoints[LEFT_HAND]);
        draw_hand(&mut canvas, &p.keypoints[RIGHT_HAND]);
    }
    for p in people {
        for kp in p.keypoints[FACE].iter().filter(|k| k.visible()) {
            fill_circle(
                &mut canvas,
                kp.x as i64,
                kp.y as i64,
                FACE_RADIUS,
                [255, 255, 255],
            );
        }
    }
    canvas
}

/// The skeleton laid over the frame: skeleton pixels replace the frame's, black ones let it show.
pub fn overlay(frame: &RgbImage, skeleton: &RgbImage) -> RgbImage {
    let mut out = frame.clone();
    for (o, s) in out.pixels_mut().zip(skeleton.pixels()) {
        if s.0 != [0, 0, 0] {
            *o = *s;
        }
    }
    out
}

fn draw_limbs(canvas: &mut RgbImage, kps: &[Keypoint]) {
    for (i, &(a, b)) in LIMBS.iter().enumerate() {
        let (p, q) = (kps[a], kps[b]);
        if !p.visible() || !q.visible() {
            continue;
        }
        let (dx, dy) = (p.x - q.x, p.y - q.y);
        let half_len = ((dx * dx + dy * dy).sqrt() / 2.0) as i64;
        // Upstream truncates the centre and the angle to integers before drawing.
        let cx = ((p.x + q.x) / 2.0) as i64;
        let cy = ((p.y + q.y) / 2.0) as i64;
        let angle = (dy.atan2(dx).to_degrees() as i64) as f32;
        fill_ellipse(canvas, cx, cy, half_len, STICK_HALF_WIDTH, angle, COLORS[i]);
    }
}

fn draw_hand(canvas: &mut RgbImage, hand: &[Keypoint]) {
    for (i, &(a, b)) in HAND_EDGES.iter().enumerate() {
        let (p, q) = (hand[a], hand[b]);
        if p.visible() && q.visible() {
            let color = hue_to_rgb(i as f32 / HAND_EDGES.len() as f32);
            thick_line(
                canvas,
                (p.x as i64, p.y as i64),
                (q.x as i64, q.y as i64),
                color,
            );
        }
    }
    for kp in hand.iter().filter(|k| k.visible()) {
        fill_circle(canvas, kp.x as i64, kp.y as i64, JOINT_RADIUS, [0, 0, 255]);
    }
}

/// HSV with full saturation and value to RGB on 0..255, rounded as OpenCV rounds a colour.
pub fn hue_to_rgb(h: f32) -> [u8; 3] {
    let h6 = f64::from(h) * 6.0;
    let i = h6.floor() as i32 % 6;
    let f = h6 - h6.floor();
    let (q, t) = (1.0 - f, f);
    let (r, g, b) = match i {
        0 => (1.0, t, 0.0),
        1 => (q, 1.0, 0.0),
        2 => (0.0, 1.0, t),
        3 => (0.0, q, 1.0),
        4 => (t, 0.0, 1.0),
        _ => (1.0, 0.0, q),
    };
    [r, g, b].map(|v: f64| (v * 255.0).round() as u8)
}

fn put(canvas: &mut RgbImage, x: i64, y: i64, color: [u8; 3]) {
    if x >= 0 && y >= 0 && x < canvas.width() as i64 && y < canvas.height() as i64 {
        canvas.put_pixel(x as u32, y as u32, Rgb(color));
    }
}

fn fill_circle(canvas: &mut RgbImage, cx: i64, cy: i64, r: i64, color: [u8; 3]) {
    for y in cy - r..=cy + r {
        for x in cx - r..=cx + r {
            if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                put(canvas, x, y, color);
            }
        }
    }
}

fn fill_ellipse(canvas: &mut RgbImage, cx: i64, cy: i64, a: i64, b: i64, deg: f32, color: [u8; 3]) {
    let (s, c) = deg.to_radians().sin_cos();
    let (a, b) = (a.max(1) as f32, b as f32);
    let reach = a.max(b).ceil() as i64 + 1;
    for y in cy - reach..=cy + reach {
        for x in cx - reach..=cx + reach {
            let (dx, dy) = ((x - cx) as f32, (y - cy) as f32);
            let u = dx * c + dy * s;
            let v = -dx * s + dy * c;
            if (u / a).powi(2) + (v / b).powi(2) <= 1.0 {
                put(canvas, x, y, color);
            }
        }
    }
}

/// A 2 px line: every pixel within one pixel of the segment.
fn thick_line(canvas: &mut RgbImage, p: (i64, i64), q: (i64, i64), color: [u8; 3]) {
    let (x0, y0, x1, y1) = (p.0 as f32, p.1 as f32, q.0 as f32, q.1 as f32);
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    for y in p.1.min(q.1) - 1..=p.1.max(q.1) + 1 {
        for x in p.0.min(q.0) - 1..=p.0.max(q.0) + 1 {
            let t = (((x as f32 - x0) * dx + (y as f32 - y0) * dy) / len2).clamp(0.0, 1.0);
            let (ex, ey) = (x0 + t * dx - x as f32, y0 + t * dy - y as f32);
            if ex * ex + ey * ey <= 1.0 {
                put(canvas, x, y, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::KEYPOINT_COUNT;

    fn person(points: &[(usize, f32, f32)]) -> Person {
        let mut keypoints = vec![
            Keypoint {
                x: 0.0,
                y: 0.0,
                score: 0.0
            };
            KEYPOINT_COUNT
        ];
        for &(i, x, y) in points {
            keypoints[i] = Keypoint { x, y, score: 0.9 };
        }
        Person {
            bbox: [0.0; 4],
            box_score: 0.9,
            keypoints,
        }
    }

    #[test]
    fn limbs_dimmed_joints_full_colour() {
        // neck (1) at (50, 50), right shoulder (2) at (10, 50): limb 0 is red.
        let img = draw_skeleton(100, 100, &[person(&[(1, 50.0, 50.0), (2, 10.0, 50.0)])]);
        assert_eq!(img.get_pixel(30, 50).0, [153, 0, 0]); // limb centre at 60%
        assert_eq!(img.get_pixel(30, 54).0, [153, 0, 0]); // half-width 4
        assert_eq!(img.get_pixel(30, 55).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(50, 50).0, COLORS[1]); // joint 1
        assert_eq!(img.get_pixel(10, 54).0, COLORS[2]); // radius 4
        assert_eq!(img.get_pixel(14, 51).0, [153, 0, 0]); // outside the joint's disc: limb
        // the limb ellipse reaches 20 px from its centre along its axis
        assert_eq!(img.get_pixel(11, 50).0, COLORS[2]);
        assert_eq!(img.get_pixel(80, 50).0, [0, 0, 0]);
    }

    #[test]
    fn rotated_limb_follows_the_angle() {
        // neck (1) at (50, 10) down to the right hip (8) at (50, 90): limb 6, vertical.
        let img = draw_skeleton(100, 100, &[person(&[(1, 50.0, 10.0), (8, 50.0, 90.0)])]);
        let dim = |c: [u8; 3]| c.map(|v| (v as f32 * 0.6) as u8);
        assert_eq!(img.get_pixel(50, 30).0, dim(COLORS[6]));
        assert_eq!(img.get_pixel(53, 30).0, dim(COLORS[6]));
        assert_eq!(img.get_pixel(54, 50).0, dim(COLORS[6]));
        assert_eq!(img.get_pixel(55, 30).0, [0, 0, 0]);
    }

    #[test]
    fn one_joint_alone_draws_no_limb() {
        let img = draw_skeleton(60, 60, &[person(&[(0, 30.0, 30.0)])]);
        let lit = img.pixels().filter(|p| p.0 != [0, 0, 0]).count();
        assert_eq!(lit, 49); // the radius-4 disc only: 49 pixels
    }

    #[test]
    fn hands_sweep_hue_and_face_is_white() {
        // left hand: wrist (92) at (10, 10), point 5 (97) at (90, 10): edge 4 of 20, hue 0.2
        let p = person(&[(92, 10.0, 10.0), (97, 90.0, 10.0), (30, 50.0, 80.0)]);
        let img = draw_skeleton(100, 100, &[p]);
        assert_eq!(hue_to_rgb(0.2), [204, 255, 0]);
        assert_eq!(img.get_pixel(50, 10).0, [204, 255, 0]);
        assert_eq!(img.get_pixel(50, 11).0, [204, 255, 0]); // 2 px wide
        assert_eq!(img.get_pixel(50, 12).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(10, 10).0, [0, 0, 255]); // hand joints blue
        assert_eq!(img.get_pixel(50, 80).0, [255, 255, 255]); // face dot
        assert_eq!(img.get_pixel(53, 80).0, [255, 255, 255]); // radius 3
        assert_eq!(img.get_pixel(54, 80).0, [0, 0, 0]);
        assert_eq!(hue_to_rgb(0.0), [255, 0, 0]);
        assert_eq!(hue_to_rgb(0.5), [0, 255, 255]);
    }

    #[test]
    fn overlay_keeps_frame_where_skeleton_is_black() {
        let frame = RgbImage::from_pixel(2, 1, Rgb([9, 9, 9]));
        let mut sk = RgbImage::new(2, 1);
        sk.put_pixel(1, 0, Rgb([255, 0, 0]));
        let o = overlay(&frame, &sk);
        assert_eq!(
            (o.get_pixel(0, 0).0, o.get_pixel(1, 0).0),
            ([9, 9, 9], [255, 0, 0])
        );
    }
}

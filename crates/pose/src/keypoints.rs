//! The 134-point whole-body layout: COCO-WholeBody's 133 points with a neck inserted and the body
//! reordered to OpenPose-18, which is what ComfyUI's DWPose nodes draw and SteadyDancer consumes.

use serde::Serialize;

/// Points below this score are treated as not seen (drawing and checks).
pub const VISIBILITY_THRESHOLD: f32 = 0.3;
/// 133 model points + the neck.
pub const KEYPOINT_COUNT: usize = 134;
/// Index ranges in the 134-point layout.
pub const BODY: std::ops::Range<usize> = 0..18;
pub const FEET: std::ops::Range<usize> = 18..24;
pub const FACE: std::ops::Range<usize> = 24..92;
pub const LEFT_HAND: std::ops::Range<usize> = 92..113;
pub const RIGHT_HAND: std::ops::Range<usize> = 113..134;

/// OpenPose-18 body names, in order.
pub const BODY_NAMES: [&str; 18] = [
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
];

/// One point in frame pixels with the model's confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub score: f32,
}

impl Keypoint {
    pub fn visible(&self) -> bool {
        self.score > VISIBILITY_THRESHOLD
    }
}

/// One detected person: the detector box (x0, y0, x1, y1 in frame pixels), its score and
/// the 134 keypoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub bbox: [f32; 4],
    pub box_score: f32,
    pub keypoints: Vec<Keypoint>,
}

/// For each OpenPose body slot, the COCO index (with the neck appended as 17) it takes.
/// COCO body: 0 nose, 1/2 left/right eye, 3/4 left/right ear, 5/6 shoulders, 7/8 elbows,
/// 9/10 wrists, 11/12 hips, 13/14 knees, 15/16 ankles (left before right).
const OPENPOSE_FROM_COCO: [usize; 18] =
    [0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];

/// Turns the model's 133 COCO-WholeBody points into the 134-point OpenPose layout.
///
/// The neck is the mean of the shoulders; as in DWPose its score is 1 when both shoulders are
/// visible and 0 otherwise, so a neck is drawn exactly when both shoulders are.
pub fn to_openpose(coco: &[Keypoint]) -> Vec<Keypoint> {
    assert_eq!(coco.len(), 133, "COCO-WholeBody has 133 points");
    let (ls, rs) = (coco[5], coco[6]);
    let both = ls.score > VISIBILITY_THRESHOLD && rs.score > VISIBILITY_THRESHOLD;
    let neck = Keypoint {
        x: (ls.x + rs.x) / 2.0,
        y: (ls.y + rs.y) / 2.0,
        score: if both { 1.0 } else { 0.0 },
    };
    let mut body17 = coco[..17].to_vec();
    body17.push(neck);
    let mut out = Vec::with_capacity(KEYPOINT_COUNT);
    out.extend(OPENPOSE_FROM_COCO.iter().map(|&i| body17[i]));
    out.extend_from_slice(&coco[17..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(i: usize, score: f32) -> Keypoint {
        Keypoint {
            x: i as f32,
            y: 1000.0 + i as f32,
            score,
        }
    }

    #[test]
    fn neck_is_inserted_and_body_reordered() {
        let coco: Vec<Keypoint> = (0..133).map(|i| kp(i, 0.9)).collect();
        let op = to_openpose(&coco);
        assert_eq!(op.len(), KEYPOINT_COUNT);
        assert_eq!(op[0].x, 0.0); // nose stays
        assert_eq!((op[1].x, op[1].y, op[1].score), (5.5, 1005.5, 1.0)); // neck between 5 and 6
        assert_eq!(op[2].x, 6.0); // right shoulder is COCO 6
        assert_eq!(op[4].x, 10.0); // right wrist
        assert_eq!(op[7].x, 9.0); // left wrist
        assert_eq!(op[8].x, 12.0); // right hip
        assert_eq!(op[13].x, 15.0); // left ankle
        assert_eq!(op[14].x, 2.0); // right eye
        assert_eq!(op[17].x, 3.0); // left ear
        assert_eq!(op[18].x, 17.0); // feet follow unchanged
        assert_eq!(op[24].x, 23.0); // face starts at COCO 23
        assert_eq!(op[92].x, 91.0); // left hand at COCO 91
        assert_eq!(op[133].x, 132.0);
    }

    #[test]
    fn neck_hidden_when_a_shoulder_is() {
        let mut coco: Vec<Keypoint> = (0..133).map(|i| kp(i, 0.9)).collect();
        coco[6].score = 0.1;
        assert_eq!(to_openpose(&coco)[1].score, 0.0);
    }
}

//! Per-frame checks on the poses and their summary: the things that make a dance video fail on
//! the pod (nobody found, a second person, the body cut off by the edge, unsure keypoints).

use serde::Serialize;

use crate::keypoints::{BODY, Person};

/// Mean body score under which a frame is reported as low confidence.
pub const LOW_CONFIDENCE_MEAN: f32 = 0.5;
/// A box closer than this fraction of the frame side to an edge counts as touching it.
const EDGE_MARGIN: f32 = 0.005;
/// Body points (OpenPose order) that must lie inside the frame: head, arms, legs.
const CORE: std::ops::Range<usize> = 0..14;
const ANKLES: [usize; 2] = [10, 13];
/// Consecutive lost frames after the dancer was seen that make the "leaves the frame" warning.
const LEAVE_RUN: usize = 2;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameCheck {
    pub people: usize,
    pub no_person: bool,
    pub multiple_people: bool,
    pub cut_off: bool,
    pub low_confidence: bool,
    /// Mean of the main person's 18 body scores (0 without a person).
    pub body_score: f32,
}

impl FrameCheck {
    pub fn ok(&self) -> bool {
        !(self.no_person || self.multiple_people || self.cut_off || self.low_confidence)
    }
}

/// The person the preview follows: the one with the largest box.
pub fn main_person(people: &[Person]) -> Option<&Person> {
    let area = |p: &Person| (p.bbox[2] - p.bbox[0]) * (p.bbox[3] - p.bbox[1]);
    people.iter().max_by(|a, b| area(a).total_cmp(&area(b)))
}

pub fn check_frame(width: u32, height: u32, people: &[Person]) -> FrameCheck {
    let Some(p) = main_person(people) else {
        return FrameCheck {
            people: 0,
            no_person: true,
            multiple_people: false,
            cut_off: false,
            low_confidence: false,
            body_score: 0.0,
        };
    };
    let (w, h) = (width as f32, height as f32);
    let (mx, my) = (w * EDGE_MARGIN, h * EDGE_MARGIN);
    let touches = p.bbox[0] <= mx || p.bbox[1] <= my || p.bbox[2] >= w - mx || p.bbox[3] >= h - my;
    let outside = p.keypoints[CORE]
        .iter()
        .any(|k| k.x < 0.0 || k.y < 0.0 || k.x >= w || k.y >= h);
    let feet_lost = ANKLES.iter().any(|&i| !p.keypoints[i].visible());
    let body = &p.keypoints[BODY];
    let body_score = body.iter().map(|k| k.score).sum::<f32>() / body.len() as f32;
    FrameCheck {
        people: people.len(),
        no_person: false,
        multiple_people: people.len() > 1,
        cut_off: touches || outside || feet_lost,
        low_confidence: body_score < LOW_CONFIDENCE_MEAN,
        body_score,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// What the user sees before paying: counts and frame indices per check, and warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckSummary {
    pub frames: usize,
    pub no_person: Vec<usize>,
    pub multiple_people: Vec<usize>,
    pub cut_off: Vec<usize>,
    pub low_confidence: Vec<usize>,
    pub dancer_leaves_frame: bool,
    pub warnings: Vec<Warning>,
}

impl CheckSummary {
    pub fn ok(&self) -> bool {
        self.warnings.is_empty()
    }
}

/// Summarises checks given in frame order as (frame index, check).
pub fn summarise(checks: &[(usize, FrameCheck)]) -> CheckSummary {
    let mut s = CheckSummary {
        frames: checks.len(),
        ..Default::default()
    };
    let (mut seen, mut run) = (false, 0);
    for (i, c) in checks {
        let pick = |flag: bool, list: &mut Vec<usize>| {
            if flag {
                list.push(*i);
            }
        };
        pick(c.no_person, &mut s.no_person);
        pick(c.multiple_people, &mut s.multiple_people);
        pick(c.cut_off, &mut s.cut_off);
        pick(c.low_confidence, &mut s.low_confidence);
        let lost = c.no_person || c.cut_off;
        if !lost {
            seen = true;
            run = 0;
        } else if seen {
            run += 1;
            if run >= LEAVE_RUN {
                s.dancer_leaves_frame = true;
            }
        }
    }
    let n = s.frames.max(1);
    let mut warn = |code, list: &Vec<usize>, what: &str, advice: &str| {
        if !list.is_empty() {
            s.warnings.push(Warning {
                code,
                message: format!(
                    "{} of {} frames {what} (first at frame {}). {advice}",
                    list.len(),
                    n,
                    list[0]
                ),
            });
        }
    };
    warn(
        "pose.no_person",
        &s.no_person.clone(),
        "show nobody",
        "The skeleton video will be empty there; trim those frames or pick another video.",
    );
    warn(
        "pose.multiple_people",
        &s.multiple_people.clone(),
        "show more than one person",
        "SteadyDancer follows one dancer; crop the video to one person.",
    );
    warn(
        "pose.cut_off",
        &s.cut_off.clone(),
        "cut the body off at the frame edge",
        "Limbs outside the frame will be missing from the dance; use a wider shot.",
    );
    warn(
        "pose.low_confidence",
        &s.low_confidence.clone(),
        "have an unsure pose",
        "Better light, a plain background or a sharper video helps.",
    );
    if s.dancer_leaves_frame {
        s.warnings.push(Warning {
            code: "pose.dancer_leaves_frame",
            message: "The dancer leaves the frame during the video. The render will lose the body \
                      there; trim the video to the part where the whole dancer is visible."
                .into(),
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::{KEYPOINT_COUNT, Keypoint};

    fn person(bbox: [f32; 4], score: f32) -> Person {
        let kp = Keypoint {
            x: (bbox[0] + bbox[2]) / 2.0,
            y: (bbox[1] + bbox[3]) / 2.0,
            score,
        };
        Person {
            bbox,
            box_score: 0.9,
            keypoints: vec![kp; KEYPOINT_COUNT],
        }
    }

    #[test]
    fn frame_checks() {
        let ok = check_frame(1000, 1000, &[person([300.0, 100.0, 600.0, 900.0], 0.9)]);
        assert!(ok.ok(), "{ok:?}");
        assert!(check_frame(1000, 1000, &[]).no_person);
        let two = check_frame(
            1000,
            1000,
            &[
                person([300.0, 100.0, 600.0, 900.0], 0.9),
                person([700.0, 100.0, 800.0, 300.0], 0.9),
            ],
        );
        assert!(two.multiple_people && !two.cut_off);
        // touching the bottom edge (within 0.5% = 5 px)
        assert!(check_frame(1000, 1000, &[person([300.0, 100.0, 600.0, 996.0], 0.9)]).cut_off);
        let mut p = person([300.0, 100.0, 600.0, 900.0], 0.9);
        p.keypoints[4].x = -3.0; // right wrist outside
        assert!(check_frame(1000, 1000, &[p.clone()]).cut_off);
        p.keypoints[4].x = 400.0;
        p.keypoints[10].score = 0.1; // right ankle not found
        assert!(check_frame(1000, 1000, &[p]).cut_off);
        let unsure = check_frame(1000, 1000, &[person([300.0, 100.0, 600.0, 900.0], 0.45)]);
        assert!(unsure.low_confidence && (unsure.body_score - 0.45).abs() < 1e-6);
    }

    #[test]
    fn summary_lists_frames_and_warns_when_dancer_leaves() {
        let good = check_frame(1000, 1000, &[person([300.0, 100.0, 600.0, 900.0], 0.9)]);
        let none = check_frame(1000, 1000, &[]);
        let seq: Vec<(usize, FrameCheck)> = [&none, &good, &good, &none, &none, &good]
            .iter()
            .enumerate()
            .map(|(i, c)| (i * 2, (*c).clone()))
            .collect();
        let s = summarise(&seq);
        assert_eq!(s.frames, 6);
        assert_eq!(s.no_person, vec![0, 6, 8]);
        assert!(s.dancer_leaves_frame);
        let codes: Vec<&str> = s.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["pose.no_person", "pose.dancer_leaves_frame"]);
        assert_eq!(
            s.warnings[0].message,
            "3 of 6 frames show nobody (first at frame 0). The skeleton video will be empty there; \
             trim those frames or pick another video."
        );
        // Not found at the very start, or for a single frame, is no "leaves the frame".
        let s = summarise(&[(0, none.clone()), (1, good.clone()), (2, none), (3, good)]);
        assert!(!s.dancer_leaves_frame);
        assert!(!s.ok());
        let s = summarise(&[(0, ok_check())]);
        assert!(s.ok() && s.warnings.is_empty());
    }

    fn ok_check() -> FrameCheck {
        check_frame(1000, 1000, &[person([300.0, 100.0, 600.0, 900.0], 0.9)])
    }
}

//! One frame through the whole pipeline: detect people, estimate each one's keypoints, draw.

use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;
use studio_error::Result;

use crate::checks::{FrameCheck, check_frame};
use crate::crop::{crop_input, crop_window, decode_simcc};
use crate::detect::{decode, letterbox};
use crate::draw::draw_skeleton;
use crate::engine::PoseModels;
use crate::keypoints::{Person, to_openpose};

/// Time spent per stage, summed over frames by the preview and the bench (JSON: milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    #[serde(rename = "detect_pre_ms", serialize_with = "ms")]
    pub detect_pre: Duration,
    #[serde(rename = "detect_infer_ms", serialize_with = "ms")]
    pub detect_infer: Duration,
    #[serde(rename = "detect_post_ms", serialize_with = "ms")]
    pub detect_post: Duration,
    #[serde(rename = "pose_pre_ms", serialize_with = "ms")]
    pub pose_pre: Duration,
    #[serde(rename = "pose_infer_ms", serialize_with = "ms")]
    pub pose_infer: Duration,
    #[serde(rename = "pose_post_ms", serialize_with = "ms")]
    pub pose_post: Duration,
    #[serde(rename = "draw_ms", serialize_with = "ms")]
    pub draw: Duration,
}

/// Durations as milliseconds in JSON: what the GUI and scripts want to show.
pub(crate) fn ms<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

pub(crate) fn opt_ms<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => ms(d, s),
        None => s.serialize_none(),
    }
}

impl StageTimes {
    pub fn add(&mut self, o: &StageTimes) {
        self.detect_pre += o.detect_pre;
        self.detect_infer += o.detect_infer;
        self.detect_post += o.detect_post;
        self.pose_pre += o.pose_pre;
        self.pose_infer += o.pose_infer;
        self.pose_post += o.pose_post;
        self.draw += o.draw;
    }

    pub fn total(&self) -> Duration {
        self.detect_pre
            + self.detect_infer
            + self.detect_post
            + self.pose_pre
            + self.pose_infer
            + self.pose_post
            + self.draw
    }
}

/// What one frame gives: the people, the skeleton on black, the checks and the stage times.
#[derive(Debug, Clone)]
pub struct FramePose {
    pub people: Vec<Person>,
    pub skeleton: RgbImage,
    pub check: FrameCheck,
    pub times: StageTimes,
}

/// Finds every person in `frame` and their 134 keypoints (frame pixels).
pub fn estimate(
    models: &PoseModels,
    frame: &RgbImage,
    times: &mut StageTimes,
) -> Result<Vec<Person>> {
    let t = Instant::now();
    let lb = letterbox(frame);
    times.detect_pre += t.elapsed();
    let t = Instant::now();
    let raw = models.detect(lb.data)?;
    times.detect_infer += t.elapsed();
    let t = Instant::now();
    let dets = decode(&raw, lb.ratio);
    times.detect_post += t.elapsed();
    let mut people = Vec::with_capacity(dets.len());
    for d in dets {
        let t = Instant::now();
        let win = crop_window(&d.bbox);
        let input = crop_input(frame, &win);
        times.pose_pre += t.elapsed();
        let t = Instant::now();
        let (sx, sy) = models.keypoints(input)?;
        times.pose_infer += t.elapsed();
        let t = Instant::now();
        let coco = decode_simcc(&sx, &sy, &win);
        people.push(Person {
            bbox: d.bbox,
            box_score: d.score,
            keypoints: to_openpose(&coco),
        });
        times.pose_post += t.elapsed();
    }
    Ok(people)
}

/// Estimates, draws and checks one frame.
pub fn process_frame(models: &PoseModels, frame: &RgbImage) -> Result<FramePose> {
    let mut times = StageTimes::default();
    let people = estimate(models, frame, &mut times)?;
    let t = Instant::now();
    let skeleton = draw_skeleton(frame.width(), frame.height(), &people);
    times.draw += t.elapsed();
    let check = check_frame(frame.width(), frame.height(), &people);
    Ok(FramePose {
        people,
        skeleton,
        check,
        times,
    })
}

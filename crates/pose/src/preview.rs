//! The preview the GUI shows: runs in the background, hands over every processed frame as soon as
//! it is ready (so the first skeleton appears after one frame's work, not the whole clip), can be
//! cancelled, and ends with a summary of the checks.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;
use studio_error::{Error, Result};

use crate::checks::{CheckSummary, FrameCheck, summarise};
use crate::engine::PoseModels;
use crate::keypoints::Person;
use crate::pipeline::{StageTimes, process_frame};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PreviewOptions {
    /// Frames are scaled so their longer side is at most this (the pose models work at 640 and
    /// 288x384 anyway, so more only costs decoding time).
    pub max_side: u32,
    /// Process every n-th frame (1 = all).
    pub every_nth: u32,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        Self {
            max_side: 640,
            every_nth: 1,
        }
    }
}

impl PreviewOptions {
    /// About `per_second` preview frames per second of video: DWPose-L costs seconds per frame on
    /// a laptop CPU, so a whole-clip preview at full rate would take many minutes.
    pub fn sampled(video_fps: f64, per_second: f64) -> Self {
        let every = (video_fps / per_second.max(0.1)).round().max(1.0) as u32;
        Self {
            every_nth: every,
            ..Self::default()
        }
    }
}

/// One processed frame.
#[derive(Debug, Clone)]
pub struct PreviewFrame {
    pub index: u64,
    pub pts_secs: f64,
    /// The decoded frame at preview size.
    pub frame: RgbImage,
    /// The skeleton on black, same size.
    pub skeleton: RgbImage,
    pub people: Vec<Person>,
    pub check: FrameCheck,
}

/// What the GUI sends with each frame besides the pictures (JSON-friendly).
#[derive(Debug, Clone, Serialize)]
pub struct PreviewFrameInfo {
    pub index: u64,
    pub pts_secs: f64,
    pub width: u32,
    pub height: u32,
    pub people: Vec<Person>,
    pub check: FrameCheck,
}

impl PreviewFrame {
    pub fn info(&self) -> PreviewFrameInfo {
        PreviewFrameInfo {
            index: self.index,
            pts_secs: self.pts_secs,
            width: self.frame.width(),
            height: self.frame.height(),
            people: self.people.clone(),
            check: self.check.clone(),
        }
    }

    /// The skeleton as JPEG, for a webview (`quality` 1..=100).
    pub fn skeleton_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_jpeg(&self.skeleton, quality)
    }

    /// The skeleton over the frame as JPEG.
    pub fn overlay_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_jpeg(&crate::draw::overlay(&self.frame, &self.skeleton), quality)
    }
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(img)
        .map_err(|e| Error::internal(format!("Could not encode a preview picture: {e}.")))?;
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewSummary {
    pub checks: CheckSummary,
    pub frames: usize,
    pub cancelled: bool,
    /// From start to the first skeleton handed over (decoding included).
    #[serde(
        rename = "first_frame_after_ms",
        serialize_with = "crate::pipeline::opt_ms"
    )]
    pub first_frame_after: Option<Duration>,
    #[serde(rename = "elapsed_ms", serialize_with = "crate::pipeline::ms")]
    pub elapsed: Duration,
    /// Decoding time (frame source), then the pipeline's stages.
    #[serde(rename = "decode_ms", serialize_with = "crate::pipeline::ms")]
    pub decode: Duration,
    pub stages: StageTimes,
}

/// A frame source: calls its argument with (index, seconds, picture) until told to stop (false)
/// or out of frames. [`video_source`] is the real one; tests pass generated pictures.
pub type FrameSink<'a> = dyn FnMut(u64, f64, RgbImage) -> bool + 'a;

/// Runs the preview on this thread. `on_frame` gets every processed frame in order.
pub fn run_preview<S>(
    models: &PoseModels,
    source: S,
    cancel: &AtomicBool,
    on_frame: &mut dyn FnMut(PreviewFrame),
) -> Result<PreviewSummary>
where
    S: FnOnce(&mut FrameSink<'_>) -> Result<u64>,
{
    let span = tracing::info_span!("pose_preview");
    let _guard = span.enter();
    let started = Instant::now();
    let mut checks: Vec<(usize, FrameCheck)> = Vec::new();
    let mut stages = StageTimes::default();
    let mut first = None;
    let mut failure: Option<Error> = None;
    let mut busy = Duration::ZERO;
    let mut sink = |index: u64, pts_secs: f64, frame: RgbImage| -> bool {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let t = Instant::now();
        match process_frame(models, &frame) {
            Ok(p) => {
                stages.add(&p.times);
                checks.push((index as usize, p.check.clone()));
                on_frame(PreviewFrame {
                    index,
                    pts_secs,
                    frame,
                    skeleton: p.skeleton,
                    people: p.people,
                    check: p.check,
                });
                first.get_or_insert_with(|| started.elapsed());
                busy += t.elapsed();
                !cancel.load(Ordering::Relaxed)
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    };
    let result = source(&mut sink);
    let elapsed = started.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    result?;
    let cancelled = cancel.load(Ordering::Relaxed);
    tracing::info!(
        frames = checks.len(),
        cancelled,
        ?elapsed,
        "pose preview finished"
    );
    Ok(PreviewSummary {
        frames: checks.len(),
        checks: summarise(&checks),
        cancelled,
        first_frame_after: first,
        elapsed,
        decode: elapsed.saturating_sub(busy),
        stages,
    })
}

/// Frames of a video file through studio-media (upright, scaled, every n-th).
pub fn video_source(
    path: PathBuf,
    opts: PreviewOptions,
) -> impl FnOnce(&mut FrameSink<'_>) -> Result<u64> {
    move |sink| {
        studio_media::decode_frames(&path, opts.max_side, opts.every_nth, |f| {
            match RgbImage::from_raw(f.width, f.height, f.data) {
                Some(img) => sink(f.index, f.pts_secs, img),
                None => false,
            }
        })
    }
}

/// A preview running on its own thread.
#[derive(Debug)]
pub struct PreviewHandle {
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<Result<PreviewSummary>>,
}

impl PreviewHandle {
    /// Asks the preview to stop after the frame in progress; `wait` then returns the summary so far.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    pub fn wait(self) -> Result<PreviewSummary> {
        self.thread
            .join()
            .map_err(|_| Error::internal("The pose preview stopped unexpectedly."))?
    }
}

/// Starts the preview of `video` in the background.
pub fn start_preview(
    models: Arc<PoseModels>,
    video: PathBuf,
    opts: PreviewOptions,
    on_frame: impl FnMut(PreviewFrame) + Send + 'static,
) -> PreviewHandle {
    start_with_source(models, video_source(video, opts), on_frame)
}

/// [`start_preview`] with any frame source.
pub fn start_with_source<S>(
    models: Arc<PoseModels>,
    source: S,
    mut on_frame: impl FnMut(PreviewFrame) + Send + 'static,
) -> PreviewHandle
where
    S: FnOnce(&mut FrameSink<'_>) -> Result<u64> + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("pose-preview".into())
        .spawn(move || run_preview(&models, source, &flag, &mut on_frame))
        .expect("spawning a thread only fails when the OS is out of resources");
    PreviewHandle { cancel, thread }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_rate() {
        assert_eq!(PreviewOptions::sampled(25.0, 4.0).every_nth, 6);
        assert_eq!(PreviewOptions::sampled(30.0, 4.0).every_nth, 8);
        assert_eq!(PreviewOptions::sampled(10.0, 30.0).every_nth, 1);
        assert_eq!(PreviewOptions::sampled(25.0, 4.0).max_side, 640);
    }
}

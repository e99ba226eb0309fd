//! `studio preview`: the preview over a whole video written as a skeleton MP4 and an overlay MP4.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use studio_error::Result;

use crate::draw::overlay;
use crate::engine::PoseModels;
use crate::preview::{PreviewFrame, PreviewOptions, PreviewSummary, run_preview, video_source};
use studio_media::RgbVideoWriter;

#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub skeleton_mp4: PathBuf,
    pub overlay_mp4: PathBuf,
    pub summary: PreviewSummary,
}

/// Runs the preview over `video` and writes `skeleton.mp4` and `overlay.mp4` into `out_dir` at
/// the video's frame rate divided by `every_nth`. `on_frame` sees each frame (for progress).
#[tracing::instrument(skip(models, cancel, on_frame))]
pub fn write_preview_videos(
    models: &PoseModels,
    video: &Path,
    out_dir: &Path,
    opts: PreviewOptions,
    cancel: &AtomicBool,
    on_frame: &mut dyn FnMut(&PreviewFrame),
) -> Result<ExportReport> {
    let facts = studio_media::probe(video)?;
    let fps = facts.frame_rate.unwrap_or(25.0) / f64::from(opts.every_nth.max(1));
    std::fs::create_dir_all(out_dir)
        .map_err(|e| studio_error::Error::io("create the output folder", e))?;
    let skeleton_mp4 = out_dir.join("skeleton.mp4");
    let overlay_mp4 = out_dir.join("overlay.mp4");
    let mut writers: Option<(RgbVideoWriter, RgbVideoWriter)> = None;
    let mut failure = None;
    let mut sink = |f: PreviewFrame| {
        if failure.is_some() {
            return;
        }
        on_frame(&f);
        let res = (|| -> Result<()> {
            if writers.is_none() {
                let (w, h) = f.frame.dimensions();
                writers = Some((
                    RgbVideoWriter::create(&skeleton_mp4, w, h, fps)?,
                    RgbVideoWriter::create(&overlay_mp4, w, h, fps)?,
                ));
            }
            if let Some((sk, ov)) = writers.as_mut() {
                sk.push(&f.skeleton)?;
                ov.push(&overlay(&f.frame, &f.skeleton))?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            failure = Some(e);
        }
    };
    let summary = run_preview(
        models,
        video_source(video.to_path_buf(), opts),
        cancel,
        &mut sink,
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((sk, ov)) = writers {
        sk.finish()?;
        ov.finish()?;
    }
    Ok(ExportReport {
        skeleton_mp4,
        overlay_mp4,
        summary,
    })
}

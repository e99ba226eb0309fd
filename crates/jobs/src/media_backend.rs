//! [`MediaPrep`] over studio-media (ffmpeg-next): checks, normalising, verifying, thumbnails.

use crate::backend::{MediaPrep, PreparedInputs};
use crate::spec::JobSpec;
use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use studio_comfy::OutputKind;
use studio_error::{Error, Result};
use studio_media::{Fit, Limits, NormaliseOptions, Severity};
use tokio_util::sync::CancellationToken;

pub const BAD_RESULT: &str = "jobs.bad_result";

/// The manifest input names the SteadyDancer workflow (and any compatible one) uses.
pub const IMAGE_INPUT: &str = "reference_image";
pub const VIDEO_INPUT: &str = "driving_video";

#[derive(Debug, Clone)]
pub struct StudioMedia {
    pub limits: Limits,
    /// Short side of the render (480, 576 or 720).
    pub short_side: u32,
    /// Frame rate the workflow reads the dance video at.
    pub fps: f64,
    pub thumbnail_side: u32,
}

impl Default for StudioMedia {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            short_side: 480,
            fps: 16.0,
            thumbnail_side: 480,
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal("media work stopped unexpectedly").with_source(e))?
}

#[async_trait]
impl MediaPrep for StudioMedia {
    async fn check(&self, spec: &JobSpec) -> Result<()> {
        let (image, video, limits) = (spec.image.clone(), spec.video.clone(), self.limits.clone());
        blocking(move || {
            let i = studio_media::probe(&image)?;
            let v = studio_media::probe(&video)?;
            let checks = studio_media::check_inputs(&i, &v, &limits);
            match checks.into_iter().find(|c| c.severity == Severity::Error) {
                Some(c) => Err(Error::new(c.code, c.message)),
                None => Ok(()),
            }
        })
        .await
    }

    async fn expected_frames(&self, spec: &JobSpec) -> Result<u32> {
        let (video, fps, s) = (spec.video.clone(), self.fps, spec.clone());
        blocking(move || {
            let facts = studio_media::probe(&video)?;
            let secs = facts.duration_secs.unwrap_or(0.0);
            crate::params::expected_frames(&s, crate::setup::frames_in(secs, &s, fps))
        })
        .await
    }

    async fn normalise(
        &self,
        spec: &JobSpec,
        work_dir: &Path,
        progress: &(dyn Fn(f32) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<PreparedInputs> {
        let image = spec.image.clone();
        let video = spec.video.clone();
        let out = work_dir.join("dance.mp4");
        // The photo is a person's face and the pod's proxy is public: what goes up is a fresh
        // JPEG with no EXIF, GPS or XMP, under a name that says nothing about the user.
        let photo_out = work_dir.join("photo.jpg");
        let o = spec.normalise.clone();
        let (short_side, fps) = (self.short_side, self.fps);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let token = cancel.clone();
        // FFmpeg checks an AtomicBool each frame; the job's token sets it.
        let _bridge = crate::ctx::AbortOnDrop(tokio::spawn(async move {
            token.cancelled().await;
            flag.store(true, Ordering::Relaxed);
        }));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<f32>();
        let work = blocking(move || {
            let photo = studio_media::probe(&image)?;
            studio_media::prepare_photo(&image, &photo_out)?;
            let (mut w, mut h) = studio_media::render_size(&photo, short_side);
            match o.orientation.as_deref() {
                Some("landscape") if h > w => std::mem::swap(&mut w, &mut h),
                Some("portrait") if w > h => std::mem::swap(&mut w, &mut h),
                _ => {}
            }
            let opts = NormaliseOptions {
                trim_start: o.trim_start.unwrap_or(0.0),
                trim_end: o.trim_end,
                fps,
                width: w,
                height: h,
                fit: if o.fit.as_deref() == Some("pad") {
                    Fit::Pad
                } else {
                    Fit::Crop
                },
            };
            let report = studio_media::normalise(
                &video,
                &out,
                &opts,
                |f| {
                    let _ = tx.send(f);
                },
                &stop,
            )?;
            Ok((photo_out, out, report))
        });
        tokio::pin!(work);
        let (image, out, report) = loop {
            tokio::select! {
                Some(f) = rx.recv() => progress(f),
                r = &mut work => break r?,
            }
        };
        if cancel.is_cancelled() {
            return Err(crate::ctx::cancelled());
        }
        let frames = u32::try_from(report.frames).unwrap_or(u32::MAX);
        let files = BTreeMap::from([
            (IMAGE_INPUT.to_string(), image),
            (VIDEO_INPUT.to_string(), out),
        ]);
        let params = BTreeMap::from([
            ("width".to_string(), json!(report.width)),
            ("height".to_string(), json!(report.height)),
            ("fps".to_string(), json!(fps.round() as u32)),
            ("max_frames".to_string(), json!(frames.clamp(5, 1000))),
        ]);
        Ok(PreparedInputs {
            files,
            frames,
            params,
        })
    }

    async fn verify(&self, file: &Path, kind: Option<OutputKind>) -> Result<()> {
        let path = file.to_path_buf();
        blocking(move || crate::result_check::verify_result(&path, kind)).await
    }

    async fn thumbnail(&self, video: &Path, out: &Path) -> Result<Option<PathBuf>> {
        let (video, out, side) = (video.to_path_buf(), out.to_path_buf(), self.thumbnail_side);
        blocking(move || {
            let jpeg = studio_media::thumbnail_jpeg(&video, side)?;
            std::fs::write(&out, jpeg)
                .map_err(|e| Error::io(&format!("write {}", out.display()), e))?;
            Ok(Some(out))
        })
        .await
    }
}

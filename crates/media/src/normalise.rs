//! Preparing the dance video for upload: trim, constant frame rate, the render's size (cropped or
//! padded), upright, H.264 yuv420p in an MP4. Smaller uploads and no surprises on the pod.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ff::frame;
use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use studio_error::{Error, Result, codes};

use crate::encode::{self, Mp4Writer};
use crate::open::{self, FramePump};

/// How the video takes the output's shape when their aspect ratios differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Fit {
    /// Fill the frame and cut what sticks out.
    Crop,
    /// Keep the whole picture and add black bars.
    Pad,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormaliseOptions {
    /// Seconds from the start of the video where the output begins.
    pub trim_start: f64,
    /// Seconds from the start of the video where the output ends; `None` for the end of the video.
    pub trim_end: Option<f64>,
    /// Constant output frame rate (SteadyDancer's workflow loads at 16).
    pub fps: f64,
    /// Output size; odd values are rounded down to even (H.264 yuv420p needs even sides).
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NormaliseReport {
    pub output_size_bytes: u64,
    pub frames: u64,
    pub duration_secs: f64,
    pub width: u32,
    pub height: u32,
    /// FFmpeg encoder used, e.g. "libx264".
    pub encoder: String,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(codes::INVALID_INPUT, message)
}

fn validate(opts: &NormaliseOptions) -> Result<(u32, u32)> {
    if !(opts.fps.is_finite() && opts.fps >= 1.0 && opts.fps <= 240.0) {
        return Err(invalid(format!(
            "The frame rate {} is not usable; choose one between 1 and 240 (16 suits SteadyDancer).",
            opts.fps
        )));
    }
    let (w, h) = (opts.width & !1, opts.height & !1);
    if w < 16 || h < 16 || w > 8192 || h > 8192 {
        return Err(invalid(format!(
            "The output size {}x{} is not usable; choose sides between 16 and 8192 pixels.",
            opts.width, opts.height
        )));
    }
    if !(opts.trim_start.is_finite() && opts.trim_start >= 0.0) {
        return Err(invalid("The trim start must be zero or later."));
    }
    if let Some(end) = opts.trim_end
        && !(end.is_finite() && end > opts.trim_start)
    {
        return Err(invalid("The trim end must come after the trim start."));
    }
    Ok((w, h))
}

/// Writes `output` (MP4, H.264 yuv420p, no sound) from `input` as `opts` say. `progress` gets
/// 0.0..=1.0, `cancel` is checked every frame. The file appears only when complete: work happens in
/// a `.part` file beside it, removed on failure or cancel.
#[tracing::instrument(level = "info", skip_all, fields(input = %input.display(), output = %output.display()))]
pub fn normalise(
    input: &Path,
    output: &Path,
    opts: &NormaliseOptions,
    mut progress: impl FnMut(f32),
    cancel: &AtomicBool,
) -> Result<NormaliseReport> {
    let (width, height) = validate(opts)?;
    let part = part_path(output);
    let result = run(input, &part, opts, width, height, &mut progress, cancel);
    match result {
        Ok((frames, encoder)) => {
            std::fs::rename(&part, output)
                .map_err(|e| Error::io(&format!("write {}", output.display()), e))?;
            let size = std::fs::metadata(output)
                .map_err(|e| Error::io(&format!("read {}", output.display()), e))?
                .len();
            progress(1.0);
            let rate = f64::from(encode::rate_fraction(opts.fps));
            let report = NormaliseReport {
                output_size_bytes: size,
                frames,
                duration_secs: frames as f64 / rate,
                width,
                height,
                encoder: encoder.to_owned(),
            };
            tracing::info!(?report, "normalised");
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

fn part_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    output.with_file_name(name)
}

fn cancelled() -> Error {
    Error::new(codes::CANCELLED, "Preparing the video was cancelled.")
}

fn run(
    path: &Path,
    part: &Path,
    opts: &NormaliseOptions,
    width: u32,
    height: u32,
    progress: &mut impl FnMut(f32),
    cancel: &AtomicBool,
) -> Result<(u64, &'static str)> {
    let mut input = open::open(path, || false)?;
    let index = open::video_stream(&input, path)?;
    let rotation = open::rotation(&input, index);
    let (tb, start, duration, avg_rate) = {
        let s = input
            .stream(index)
            .ok_or_else(|| Error::internal("The picture stream vanished."))?;
        let start = if s.start_time() == i64::MIN {
            0
        } else {
            s.start_time()
        };
        let d = (s.duration() > 0).then(|| s.duration() as f64 * f64::from(s.time_base()));
        (s.time_base(), start, d, f64::from(s.avg_frame_rate()))
    };
    let container_secs = (input.duration() > 0).then(|| input.duration() as f64 / 1e6);
    let end = opts.trim_end.or(duration).or(container_secs);
    if let Some(total) = duration.or(container_secs)
        && opts.trim_start >= total
    {
        return Err(invalid(format!(
            "The trim start ({:.1} s) is past the end of the video ({total:.1} s).",
            opts.trim_start
        )));
    }
    if opts.trim_start > 0.0 {
        // Land on the key frame before the trim start; frames before it are dropped below.
        let target = (opts.trim_start * 1e6) as i64;
        if let Err(e) = input.seek(target, ..target) {
            tracing::debug!(error = %e, "seek failed; decoding from the start");
        }
    }
    let rate = encode::rate_fraction(opts.fps);
    let mut decoder = open::open_decoder(&input, index, path, 0)?;
    let mut pump = FramePump::new(&mut input, &mut decoder, index, path);
    let mut writer = Mp4Writer::create(part, width, height, rate)?;
    let secs = f64::from(tb);
    let trim_offset = (opts.trim_start / secs).round() as i64;
    // How long the last frame lasts, when the container does not say: one average frame.
    let frame_ticks = if avg_rate > 0.0 {
        (1.0 / (avg_rate * secs)).round().max(1.0) as i64
    } else {
        1
    };
    let mut end_pts = 0i64;
    let mut graph = None;
    let mut decoded = frame::Video::empty();
    let mut filtered = frame::Video::empty();
    let mut last_reported = -1.0f32;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        if !pump.next(&mut decoded)? {
            break;
        }
        let ts = decoded.timestamp().unwrap_or(start);
        let t = (ts - start) as f64 * secs;
        if t + secs * 0.5 < opts.trim_start {
            continue;
        }
        if let Some(e) = opts.trim_end.filter(|e| t >= e - secs * 0.5) {
            end_pts = ((e - opts.trim_start) / secs).round() as i64;
            break;
        }
        let pts = ts - start - trim_offset;
        decoded.set_pts(Some(pts));
        let lasts = decoded.packet().duration;
        end_pts = pts + if lasts > 0 { lasts } else { frame_ticks };
        let g = match graph.as_mut() {
            Some(g) => g,
            None => {
                let sar = decoded.aspect_ratio();
                let upright = open::upright_rotation(rotation, &decoded);
                let spec = encode::filter_spec(upright, sar, rate, width, height, opts.fit);
                graph.insert(encode::build_graph(&decoded, tb, &spec)?)
            }
        };
        feed(g, Feed::Frame(&decoded), &mut filtered, &mut writer)?;
        if let Some(end) = end {
            let share = ((t - opts.trim_start) / (end - opts.trim_start)).clamp(0.0, 1.0) as f32;
            if share - last_reported >= 0.005 {
                last_reported = share;
                progress(share.min(0.99));
            }
        }
    }
    drop(pump);
    let Some(mut g) = graph else {
        return Err(crate::error::corrupt(
            path,
            "no picture could be decoded in the chosen range",
        ));
    };
    feed(&mut g, Feed::End(end_pts), &mut filtered, &mut writer)?;
    if writer.frames == 0 {
        return Err(invalid(
            "The chosen trim range holds no frames. Choose a longer range.",
        ));
    }
    writer.finish()
}

enum Feed<'a> {
    Frame(&'a frame::Video),
    /// The input ends at this pts: the constant-rate filter fills up to it, so the last frame
    /// gets its full time (flushing without it drops the final output frame).
    End(i64),
}

/// Sends one frame (or the end) through the graph and encodes what comes out.
fn feed(
    graph: &mut ff::filter::Graph,
    frame: Feed<'_>,
    filtered: &mut frame::Video,
    writer: &mut Mp4Writer,
) -> Result<()> {
    let fail = |e: ff::Error| {
        Error::new(
            crate::error::ENCODE_FAILED,
            "Preparing the video for upload failed in the picture filters. Export the video again as MP4 (H.264) and retry.",
        )
        .with_source(e)
    };
    {
        let mut src = graph
            .get("in")
            .ok_or_else(|| Error::internal("Filter input missing."))?;
        let mut source = src.source();
        match frame {
            Feed::Frame(f) => source.add(f).map_err(fail)?,
            Feed::End(pts) => source.close(pts).map_err(fail)?,
        }
    }
    let mut out = graph
        .get("out")
        .ok_or_else(|| Error::internal("Filter output missing."))?;
    while out.sink().frame(filtered).is_ok() {
        writer.push(filtered)?;
    }
    Ok(())
}

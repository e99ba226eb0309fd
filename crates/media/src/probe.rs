//! `probe`: what a file is, as the Create screen and `studio probe` show it.

use std::path::Path;

use ff::codec::Id;
use ff::frame;
use ff::util::rational::Rational;
use ffmpeg_next as ff;
use studio_error::Result;

use crate::facts::{MediaFacts, MediaKind};
use crate::open::{self, FramePump};

/// Packet timestamps looked at to decide whether the frame rate is constant.
const PTS_SAMPLE: usize = 240;

/// Opens the file, decodes its first picture (so a damaged file is caught here, not on the pod)
/// and reports its facts. Bounded in time: see `open::PROBE_BUDGET`.
#[tracing::instrument(level = "info", skip_all, fields(path = %path.display()))]
pub fn probe(path: &Path) -> Result<MediaFacts> {
    let mut input = open::open_with_budget(path, open::PROBE_BUDGET)?;
    let file_size = open::file_size(path)?;
    let index = open::video_stream(&input, path)?;
    let stream_rotation = open::rotation(&input, index);
    let format_name = input.format().name().to_owned();
    let has_audio = input
        .streams()
        .any(|s| s.parameters().medium() == ff::media::Type::Audio);
    let container_duration = input.duration();
    let (id, time_base, stream_duration, stream_frames, avg_rate, real_rate) = {
        let s = input
            .stream(index)
            .ok_or_else(|| studio_error::Error::internal("The picture stream vanished."))?;
        (
            s.parameters().id(),
            s.time_base(),
            s.duration(),
            s.frames(),
            s.avg_frame_rate(),
            s.rate(),
        )
    };

    let mut decoder = open::open_decoder(&input, index, path, 1)?;
    let mut first = frame::Video::empty();
    let mut pump = FramePump::new(&mut input, &mut decoder, index, path);
    pump.keep_pts = PTS_SAMPLE;
    if !pump.next(&mut first)? {
        return Err(crate::error::corrupt(
            path,
            "no picture could be decoded from it",
        ));
    }
    pump.collect_more_pts();
    let pts = std::mem::take(&mut pump.packet_pts);
    drop(pump);
    let start = input.stream(index).map(|s| s.start_time()).unwrap_or(0);

    let rotation = open::upright_rotation(stream_rotation, &first);
    let (square_w, square_h) =
        crate::rgb::square_pixels(first.width(), first.height(), first.aspect_ratio());
    let (width, height) = crate::rgb::displayed(square_w, square_h, rotation);
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let duration = seconds(stream_duration, time_base)
        .or_else(|| (container_duration > 0).then(|| container_duration as f64 / 1e6));
    let kind = if is_image(&format_name, id, stream_frames, duration) {
        MediaKind::Image
    } else {
        MediaKind::Video
    };

    let (duration_secs, frame_rate, frame_count, variable_frame_rate) = match kind {
        MediaKind::Image => (None, None, None, false),
        MediaKind::Video => {
            let rate = rate_of(avg_rate).or_else(|| rate_of(real_rate));
            let count = if stream_frames > 0 {
                Some(stream_frames as u64)
            } else {
                duration
                    .zip(rate)
                    .map(|(d, r)| (d * r).round().max(1.0) as u64)
            };
            // Only the stream's own duration: the container's may include longer sound.
            if let Some(total) = seconds(stream_duration, time_base) {
                check_tail(&mut input, index, path, total, time_base, start)?;
            }
            (duration, rate, count, is_variable(pts))
        }
    };

    let mut facts = MediaFacts {
        path: path.to_path_buf(),
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file_size,
        kind,
        container: container_name(&format_name, &extension, id),
        codec: open::codec_name(id).to_owned(),
        width,
        height,
        rotation,
        duration_secs,
        frame_rate,
        frame_count,
        variable_frame_rate,
        has_audio,
        checks: Vec::new(),
    };
    facts.checks = crate::checks::check_file(&facts, &crate::checks::Limits::default());
    tracing::info!(kind = ?facts.kind, width, height, codec = %facts.codec, "probed");
    Ok(facts)
}

/// A file whose index is intact but whose data was cut off still decodes its first frame: read the
/// packets of the last second too, and call the file damaged when they are missing.
fn check_tail(
    input: &mut ff::format::context::Input,
    index: usize,
    path: &Path,
    total: f64,
    time_base: Rational,
    start: i64,
) -> Result<()> {
    if total < 1.5 {
        return Ok(());
    }
    let target = ((total - 1.0) * 1e6) as i64;
    if input.seek(target, ..target).is_err() {
        return Ok(()); // not seekable: nothing more to learn cheaply
    }
    let start = if start == i64::MIN { 0 } else { start };
    let mut end: Option<f64> = None;
    let mut reached_end = false;
    for _ in 0..4000 {
        let mut packet = ff::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == index => {
                if let Some(pts) = packet.pts() {
                    let t =
                        seconds(pts - start + packet.duration().max(1), time_base).unwrap_or(0.0);
                    end = Some(end.map_or(t, |e: f64| e.max(t)));
                }
            }
            Ok(()) | Err(ff::Error::InvalidData) => {}
            Err(ff::Error::Exit) => {
                return Err(crate::error::corrupt(path, "reading it took too long"));
            }
            Err(_) => {
                reached_end = true;
                break;
            }
        }
    }
    if !reached_end {
        return Ok(()); // the seek landed far from the end: inconclusive, assume whole
    }
    match end {
        Some(e) if e >= total * 0.9 - 0.25 => Ok(()),
        Some(e) => Err(crate::error::corrupt(
            path,
            &format!("the video stops after {e:.1} s of {total:.1} s"),
        )),
        None => Err(crate::error::corrupt(
            path,
            "its last second cannot be read",
        )),
    }
}

/// Still pictures come through FFmpeg's image demuxers, or as a single frame of a picture codec
/// (a frame count of 0 means unknown: then a clip lasting more than a blink is motion JPEG or an
/// animated GIF, so a video).
fn is_image(format_name: &str, id: Id, frames: i64, duration: Option<f64>) -> bool {
    let image_demuxer = format_name == "image2" || format_name.ends_with("_pipe");
    let picture_codec = matches!(
        id,
        Id::PNG
            | Id::MJPEG
            | Id::WEBP
            | Id::BMP
            | Id::TIFF
            | Id::JPEG2000
            | Id::PPM
            | Id::PAM
            | Id::GIF
    );
    let single = frames == 1 || (frames <= 0 && duration.is_none_or(|d| d < 0.2));
    image_demuxer || (picture_codec && single)
}

fn seconds(value: i64, time_base: Rational) -> Option<f64> {
    (value > 0 && time_base.denominator() != 0 && time_base.numerator() > 0)
        .then(|| value as f64 * f64::from(time_base))
}

fn rate_of(r: Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| f64::from(r))
}

/// True when frame durations differ: more than 2% of gaps are off the typical gap by over 10%.
/// Containers with millisecond clocks round 30 fps to 33/34 ms, which stays inside that margin.
pub(crate) fn is_variable(mut pts: Vec<i64>) -> bool {
    pts.sort_unstable();
    pts.dedup();
    let mut gaps: Vec<i64> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.len() < 8 {
        return false;
    }
    let mut sorted = gaps.clone();
    sorted.sort_unstable();
    let typical = sorted[sorted.len() / 2] as f64;
    let tolerance = typical * 0.1 + 1.0;
    gaps.retain(|&g| (g as f64 - typical).abs() > tolerance);
    let off = gaps.len();
    off >= 2 && off as f64 > sorted.len() as f64 * 0.02
}

fn container_name(format_name: &str, extension: &str, id: Id) -> String {
    let name = match format_name {
        "mov,mp4,m4a,3gp,3g2,mj2" => match extension {
            "mov" | "qt" => "QuickTime / MOV",
            "3gp" | "3g2" => "3GP",
            _ => "MP4",
        },
        "matroska,webm" if extension == "webm" => "WebM",
        "matroska,webm" => "Matroska (MKV)",
        "avi" => "AVI",
        "gif" => "GIF",
        "png_pipe" | "apng" => "PNG",
        "jpeg_pipe" | "jpegls_pipe" => "JPEG",
        "webp_pipe" => "WebP",
        "bmp_pipe" => "BMP",
        "tiff_pipe" => "TIFF",
        "image2" => match id {
            Id::PNG => "PNG",
            Id::MJPEG => "JPEG",
            Id::WEBP => "WebP",
            Id::BMP => "BMP",
            Id::TIFF => "TIFF",
            _ => "Image",
        },
        "mpegts" => "MPEG-TS",
        "mpeg" => "MPEG-PS",
        "flv" => "FLV",
        other => return other.split(',').next().unwrap_or(other).to_uppercase(),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_timestamps_are_constant_rate() {
        let pts: Vec<i64> = (0..100).map(|i| i * 512).collect();
        assert!(!is_variable(pts));
        let ms: Vec<i64> = (0..100)
            .map(|i| (i as f64 * 33.366_f64).round() as i64)
            .collect();
        assert!(!is_variable(ms));
    }

    #[test]
    fn mixed_gaps_are_variable_rate() {
        let mut pts: Vec<i64> = (0..25).map(|i| i * 40).collect();
        pts.extend((1..25).map(|i| 960 + i * 80));
        assert!(is_variable(pts));
    }

    #[test]
    fn still_or_moving_pictures() {
        assert!(is_image("png_pipe", Id::PNG, 0, None));
        assert!(is_image("gif", Id::GIF, 0, Some(0.1)));
        assert!(!is_image("gif", Id::GIF, 0, Some(2.0)));
        assert!(!is_image("matroska,webm", Id::MJPEG, 0, Some(3.0)));
        assert!(!is_image(
            "mov,mp4,m4a,3gp,3g2,mj2",
            Id::H264,
            1,
            Some(0.04)
        ));
    }

    #[test]
    fn container_names_are_human() {
        assert_eq!(
            container_name("mov,mp4,m4a,3gp,3g2,mj2", "mov", Id::H264),
            "QuickTime / MOV"
        );
        assert_eq!(
            container_name("mov,mp4,m4a,3gp,3g2,mj2", "mp4", Id::H264),
            "MP4"
        );
        assert_eq!(container_name("matroska,webm", "webm", Id::VP9), "WebM");
        assert_eq!(container_name("image2", "jpg", Id::MJPEG), "JPEG");
    }
}

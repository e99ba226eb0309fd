//! Whether a downloaded result is what its workflow promised (`[[outputs]] kind`): a video has
//! moving pictures, an image decodes as one still picture. FFmpeg reports an animated PNG with
//! neither frame count nor duration and cannot decode an animated WebP at all, so those two are
//! recognised from their own animation chunks.

use crate::media_backend::BAD_RESULT;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use studio_comfy::{Manifest, OutputKind};
use studio_error::{Error, Result};
use studio_media::MediaKind;

/// What every result of the job's workflow must be; `None` when its outputs differ (each file
/// is then accepted as either).
pub(crate) fn expected_kind(manifest: &Path) -> Result<Option<OutputKind>> {
    Ok(Manifest::load(manifest)?.result_kind())
}

/// Checks one downloaded result against `kind`, decoding it.
pub fn verify_result(path: &Path, kind: Option<OutputKind>) -> Result<()> {
    match kind {
        Some(OutputKind::Video) => verify_video(path),
        Some(OutputKind::Image) => verify_image(path),
        None => verify_image(path).or_else(|_| verify_video(path)),
    }
}

fn verify_video(path: &Path) -> Result<()> {
    let facts = studio_media::probe(path);
    if let Ok(f) = &facts {
        let moving =
            f.frame_count.is_some_and(|n| n > 1) || f.duration_secs.is_some_and(|d| d > 0.0);
        if f.kind == MediaKind::Video && moving {
            return Ok(());
        }
    }
    if animated(path).unwrap_or(false) {
        return Ok(());
    }
    let why = match facts {
        Err(e) => e.message().to_string(),
        Ok(_) => "it has one picture or none, not moving pictures".to_string(),
    };
    Err(Error::new(
        BAD_RESULT,
        format!(
            "The downloaded result {} is not a playable video: {why}. Render again; if it \
             happens again, check the workflow's output node (a still picture needs kind = \
             \"image\" in the manifest).",
            path.display()
        ),
    ))
}

fn verify_image(path: &Path) -> Result<()> {
    let why = match studio_media::probe(path) {
        Ok(f) if f.kind == MediaKind::Image => return Ok(()),
        Ok(_) => "it is a video, not a still picture".to_string(),
        Err(e) => e.message().to_string(),
    };
    Err(Error::new(
        BAD_RESULT,
        format!(
            "The downloaded result {} is not a picture the app can open: {why}. Render again; \
             if it happens again, check the workflow's output node and its kind in the manifest.",
            path.display()
        ),
    ))
}

/// An animated PNG (an `acTL` chunk before the image data, with more than one frame) or an
/// animated WebP (more than one `ANMF` frame chunk).
fn animated(path: &Path) -> std::io::Result<bool> {
    let mut f = File::open(path)?;
    let mut head = [0u8; 12];
    f.read_exact(&mut head)?;
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        f.seek(SeekFrom::Start(8))?;
        return apng_frames(&mut f).map(|n| n > 1);
    }
    if head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return webp_frames(&mut f).map(|n| n > 1);
    }
    Ok(false)
}

/// Chunks walked before giving up on a file that never says.
const MAX_CHUNKS: usize = 100_000;

fn apng_frames(f: &mut File) -> std::io::Result<u32> {
    for _ in 0..MAX_CHUNKS {
        let mut h = [0u8; 8];
        f.read_exact(&mut h)?;
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        match &h[4..8] {
            b"acTL" => {
                let mut n = [0u8; 4];
                f.read_exact(&mut n)?;
                return Ok(u32::from_be_bytes(n));
            }
            // The animation control must come before the first image data.
            b"IDAT" | b"IEND" => return Ok(1),
            _ => {
                f.seek(SeekFrom::Current(i64::from(len) + 4))?;
            }
        }
    }
    Ok(1)
}

fn webp_frames(f: &mut File) -> std::io::Result<u32> {
    let mut frames = 0;
    for _ in 0..MAX_CHUNKS {
        let mut h = [0u8; 8];
        if f.read_exact(&mut h).is_err() {
            break;
        }
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if &h[0..4] == b"ANMF" {
            frames += 1;
            if frames > 1 {
                break;
            }
        }
        // Chunks are padded to an even size.
        f.seek(SeekFrom::Current(i64::from(len) + i64::from(len & 1)))?;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
        let out = dir.join(name);
        let ok = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .expect("the ffmpeg command is installed")
            .success();
        assert!(ok, "ffmpeg failed making {name}");
        out
    }

    const MOVING: [&str; 6] = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1"];

    #[test]
    fn animated_png_and_webp_are_videos_and_stills_are_images() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let apng = ffmpeg(
            d,
            "a.png",
            &[&MOVING[..], &["-plays", "0", "-f", "apng"]].concat(),
        );
        let webp = ffmpeg(d, "a.webp", &[&MOVING[..], &["-loop", "0"]].concat());
        let mp4 = ffmpeg(
            d,
            "a.mp4",
            &[&MOVING[..], &["-pix_fmt", "yuv420p"]].concat(),
        );
        let still = ffmpeg(d, "s.png", &[&MOVING[..4], &["-frames:v", "1"]].concat());
        let still_webp = ffmpeg(d, "s.webp", &[&MOVING[..4], &["-frames:v", "1"]].concat());
        for v in [&apng, &webp, &mp4] {
            verify_result(v, Some(OutputKind::Video)).expect("a video");
            verify_result(v, None).expect("either");
        }
        for i in [&still, &still_webp] {
            verify_result(i, Some(OutputKind::Image)).expect("a picture");
            let e = verify_result(i, Some(OutputKind::Video)).expect_err("not a video");
            assert_eq!(e.code(), BAD_RESULT);
            assert!(e.message().contains("kind = \"image\""), "{}", e.message());
        }
        let e = verify_result(&mp4, Some(OutputKind::Image)).expect_err("not a picture");
        assert!(
            e.message().contains("not a still picture"),
            "{}",
            e.message()
        );
        let text = d.join("t.png");
        std::fs::write(&text, "not a picture").expect("write");
        assert!(verify_result(&text, None).is_err());
    }
}

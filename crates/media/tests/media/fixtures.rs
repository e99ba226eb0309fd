//! Real media files made by the `ffmpeg` command for each test, in a private temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `ffmpeg -v error -y <args> <dir/name>` and returns the output path.
    pub fn ffmpeg(&self, name: &str, args: &[&str]) -> PathBuf {
        let out = self.path(name);
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .expect("the ffmpeg command is installed");
        assert!(status.success(), "ffmpeg failed making {name}: {args:?}");
        out
    }

    /// A test pattern clip: `size` like "320x240", `secs` long, at `fps`.
    pub fn clip(&self, name: &str, size: &str, fps: u32, secs: f64, extra: &[&str]) -> PathBuf {
        let src = format!("testsrc=size={size}:rate={fps}:duration={secs}");
        let mut args = vec!["-f", "lavfi", "-i", src.as_str()];
        args.extend_from_slice(extra);
        self.ffmpeg(name, &args)
    }

    /// The reference H.264 clip: 2 s, 320x240, 25 fps, yuv420p, index at the end.
    pub fn h264_mp4(&self) -> PathBuf {
        self.clip(
            "clip.mp4",
            "320x240",
            25,
            2.0,
            &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        )
    }

    /// A still picture (one frame of the test pattern).
    pub fn still(&self, name: &str, size: &str) -> PathBuf {
        let src = format!("testsrc=size={size}:rate=1:duration=1");
        self.ffmpeg(name, &["-f", "lavfi", "-i", &src, "-frames:v", "1"])
    }

    /// Writes the first `fraction` of `src` to `name`.
    pub fn truncated(&self, src: &Path, name: &str, fraction: f64) -> PathBuf {
        let bytes = std::fs::read(src).expect("read source");
        let keep = (bytes.len() as f64 * fraction) as usize;
        self.write(name, &bytes[..keep])
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let out = self.path(name);
        std::fs::write(&out, bytes).expect("write fixture");
        out
    }
}

/// Deterministic noise (no extra crate): a xorshift sequence.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Inserts an EXIF block with the given Orientation tag (1..=8) right after a JPEG's start marker,
/// the way cameras and phones record how the photo was held.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes()); // first IFD right after the header
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

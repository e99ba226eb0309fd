//! `studio probe` on real files made with the ffmpeg CLI.

use std::path::Path;
use std::process::Command;

fn studio() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_studio"));
    let data = std::env::temp_dir().join("studio-cli-test-data");
    cmd.env("STUDIO_DATA_DIR", data);
    cmd
}

fn make_video(path: &Path) {
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x480:rate=30",
        ])
        .args(["-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
}

#[test]
fn probe_prints_the_facts_as_text_and_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let video = dir.path().join("clip.mp4");
    make_video(&video);

    let out = studio().arg("probe").arg(&video).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("clip.mp4: video"), "{text}");
    assert!(text.contains("320 x 480"), "{text}");
    assert!(text.contains("30.00 fps"), "{text}");

    let out = studio()
        .args(["probe", "--json"])
        .arg(&video)
        .output()
        .expect("run");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["kind"], "video");
    assert_eq!(json["width"], 320);
    assert_eq!(json["height"], 480);
    assert_eq!(json["codec"], "h264");
    assert_eq!(json["frameCount"], 45);
}

#[test]
fn a_bad_file_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video at all").expect("write");

    let out = studio().arg("probe").arg(&text).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error [media."), "{err}");

    let out = studio()
        .args(["probe", "--json"])
        .arg(dir.path().join("missing.mp4"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["error"]["code"], "media.not_found");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    let dir = tempfile::tempdir().expect("tmp");
    let video = dir.path().join("clip.mp4");
    make_video(&video);
    let mut child = studio()
        .arg("probe")
        .arg(&video)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // As `studio probe clip.mp4 | head -0`: the reading end is gone before anything is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

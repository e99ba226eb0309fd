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

#[path = "../../media/tests/media/huge_png.rs"]
mod huge_png;

/// Runs `studio probe --json FILE`, expecting exit 2 with `code`; prints the time taken and the
/// peak memory seen in /proc while it ran (a sample every millisecond, Linux only).
fn refused(file: &std::ffi::OsStr, code: &str) -> String {
    let started = std::time::Instant::now();
    let mut child = studio()
        .args(["probe", "--json"])
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    while child.try_wait().expect("wait").is_none() {
        if let Some(kb) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| vm_hwm_kb(&s))
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let out = child.wait_with_output().expect("wait");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "studio probe {}: {:?}, peak memory seen {} MB",
        file.to_string_lossy(),
        elapsed,
        peak_kb / 1024
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        peak_kb < 300 * 1024,
        "studio probe used {} MB refusing the file",
        peak_kb / 1024
    );
    json["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn an_hls_playlist_named_mp4_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let other = dir.path().join("other.mp4");
    make_video(&other);
    let dance = dir.path().join("dance.mp4");
    let playlist = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.5,\n{}\n#EXT-X-ENDLIST\n",
        other.display()
    );
    std::fs::write(&dance, playlist).expect("write");
    let message = refused(dance.as_os_str(), "media.playlist");
    assert!(message.contains("dance.mp4"), "{message}");
}

#[test]
fn a_concat_list_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    make_video(&dir.path().join("other.mp4"));
    let list = dir.path().join("list.mp4");
    std::fs::write(&list, "ffconcat version 1.0\nfile 'other.mp4'\n").expect("write");
    refused(list.as_os_str(), "media.playlist");
}

#[test]
fn a_16000_square_png_is_refused_quickly() {
    let dir = tempfile::tempdir().expect("tmp");
    let bomb = dir.path().join("photo.png");
    std::fs::write(&bomb, huge_png::black_png(16_000, 16_000)).expect("write");
    let message = refused(bomb.as_os_str(), "media.too_large");
    assert!(message.contains("8192"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_refused_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tmp");
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"d\xe9fil\xe9.mp4"));
    make_video(&dir.path().join("clip.mp4"));
    std::fs::copy(dir.path().join("clip.mp4"), &odd).expect("copy");
    refused(odd.as_os_str(), "media.path_not_utf8");
}

#[test]
fn a_network_address_is_refused() {
    refused("http://127.0.0.1:9/dance.mp4".as_ref(), "media.not_local");
}

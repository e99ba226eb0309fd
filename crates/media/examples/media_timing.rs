//! Prints how long probing, a thumbnail, preview decoding and normalising take for one file:
//! `cargo run --release -p studio-media --example media_timing -- VIDEO`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn main() -> Result<(), studio_error::Error> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: media_timing VIDEO");
        std::process::exit(2);
    };
    studio_media::init();
    let t = Instant::now();
    let facts = studio_media::probe(&path)?;
    println!(
        "probe: {:?} ({}x{}, {:?} frames)",
        t.elapsed(),
        facts.width,
        facts.height,
        facts.frame_count
    );
    let t = Instant::now();
    let jpeg = studio_media::thumbnail_jpeg(&path, 320)?;
    println!("thumbnail: {:?} ({} bytes)", t.elapsed(), jpeg.len());
    let t = Instant::now();
    let mut first = None;
    let n = studio_media::decode_frames(&path, 640, 1, |_| {
        first.get_or_insert(t.elapsed());
        true
    })?;
    println!(
        "decode_frames 640px: {n} frames in {:?} (first after {:?})",
        t.elapsed(),
        first.unwrap_or_default()
    );
    let out = std::env::temp_dir().join("media_timing_out.mp4");
    let options = studio_media::NormaliseOptions {
        trim_start: 0.0,
        trim_end: None,
        fps: 16.0,
        width: 720,
        height: 1280,
        fit: studio_media::Fit::Crop,
    };
    let t = Instant::now();
    let report = studio_media::normalise(&path, &out, &options, |_| {}, &AtomicBool::new(false))?;
    println!("normalise to 720x1280@16: {:?} ({report:?})", t.elapsed());
    let _ = std::fs::remove_file(out);
    Ok(())
}

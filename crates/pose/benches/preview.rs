//! The preview pipeline (decode, detect, keypoints, draw) over a generated 10 s 1080p clip, with
//! our engines (RTen, and ONNX Runtime through `ort` when a library is given) and, in the same
//! run, with onnxruntime's Python package doing the same pre- and post-processing
//! (benches/ort_preview.py). Not run by CI: `cargo bench -p studio-pose`.
//!
//! Environment:
//!   STUDIO_ONNXRUNTIME_LIB  an onnxruntime shared library (e.g. the one in the Python package's
//!                      `onnxruntime/capi/`): adds the ONNX Runtime engine
//!   POSE_BENCH_MODELS  folder with yolox_l.onnx and dw-ll_ucoco_384.onnx (the real weights);
//!                      without it, stand-ins with the real shapes are generated (needs `onnx`)
//!   POSE_BENCH_PYTHON  Python with onnx, onnxruntime, numpy, opencv-python-headless (python3)
//!   POSE_BENCH_EVERY   process every n-th frame (10; the clip has 250)
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use image::RgbImage;
use studio_media::RgbVideoWriter;
use studio_pose::preview::{PreviewOptions, run_preview, video_source};
use studio_pose::{Backend, PoseModels, StageTimes};

fn python() -> String {
    std::env::var("POSE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models(tmp: &Path) -> (PathBuf, bool) {
    if let Ok(dir) = std::env::var("POSE_BENCH_MODELS") {
        return (PathBuf::from(dir), true);
    }
    let status = Command::new(python())
        .arg(crate_dir().join("testdata/make_models.py"))
        .args(["bench", tmp.to_str().unwrap()])
        .status()
        .expect("run python (set POSE_BENCH_PYTHON)");
    assert!(
        status.success(),
        "make_models.py bench failed (pip install onnx numpy)"
    );
    (tmp.to_path_buf(), false)
}

/// 10 s of 1920x1080 at 25 fps: a bright figure-sized block moving over a gradient.
fn make_clip(path: &Path) {
    let (w, h) = (1920u32, 1080u32);
    let mut out = RgbVideoWriter::create(path, w, h, 25.0).unwrap();
    for i in 0..250u32 {
        let bx = 400 + i * 4;
        let img = RgbImage::from_fn(w, h, |x, y| {
            if x >= bx && x < bx + 300 && (200..900).contains(&y) {
                image::Rgb([220, 180, 150])
            } else {
                image::Rgb([(x / 8) as u8, (y / 5) as u8, 60])
            }
        });
        out.push(&img).unwrap();
    }
    out.finish().unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let every: u32 = std::env::var("POSE_BENCH_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (dir, real) = models(tmp.path());
    let det = dir.join("yolox_l.onnx");
    let pose = dir.join("dw-ll_ucoco_384.onnx");
    if !real {
        println!(
            "NOTE: the real DWPose weights cannot be downloaded here; these figures use generated \
             stand-ins with the real input/output names and shapes and a comparable size and layer \
             mix (random weights; see testdata/make_models.py)."
        );
    }
    let clip = tmp.path().join("clip_1080p_10s.mp4");
    let t = Instant::now();
    make_clip(&clip);
    println!(
        "clip: 1920x1080, 25 fps, 10 s, 250 frames (made in {:.1} s); every {every}th frame, preview size 640",
        t.elapsed().as_secs_f64()
    );

    let opts = PreviewOptions {
        max_side: 640,
        every_nth: every,
    };
    let mut ours = vec![run_ours(Backend::Rten, &det, &pose, &clip, opts)];
    match std::env::var("STUDIO_ONNXRUNTIME_LIB") {
        Ok(lib) if Path::new(&lib).is_file() => {
            ours.push(run_ours(
                Backend::OnnxRuntime(lib.into()),
                &det,
                &pose,
                &clip,
                opts,
            ));
        }
        _ => println!(
            "(STUDIO_ONNXRUNTIME_LIB not set to a library: the ONNX Runtime engine is not measured)"
        ),
    }

    // onnxruntime through Python, same clip, same frames, same steps.
    let out = Command::new(python())
        .arg(crate_dir().join("benches/ort_preview.py"))
        .args([
            "--video",
            clip.to_str().unwrap(),
            "--det",
            det.to_str().unwrap(),
            "--pose",
            pose.to_str().unwrap(),
        ])
        .args(["--every", &every.to_string(), "--max-side", "640"])
        .output()
        .expect("run python (set POSE_BENCH_PYTHON)");
    assert!(
        out.status.success(),
        "ort_preview.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ort: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ort_frames = ort["frames"].as_f64().unwrap();
    let ort_fps = ort_frames / ort["seconds"].as_f64().unwrap();

    println!();
    println!(
        "engine                     frames   fps     s/frame  load ms  first skeleton ms  (warm ms)"
    );
    for r in &ours {
        println!(
            "{:<26} {:>6}   {:>5.3}   {:>6.2}   {:>7.0}  {:>8.0}           ({:>4.0})",
            format!("{} (ours, Rust)", r.engine),
            r.frames,
            r.fps(),
            1.0 / r.fps(),
            ms(r.load),
            ms(r.first),
            ms(r.warm_first)
        );
    }
    println!(
        "{:<26} {:>6}   {:>5.3}   {:>6.2}   {:>7.0}  {:>8.0}",
        format!(
            "onnxruntime {} (Python)",
            ort["ort"].as_str().unwrap_or("?")
        ),
        ort_frames,
        ort_fps,
        1.0 / ort_fps,
        ort["load"].as_f64().unwrap() * 1000.0,
        (ort["first_frame"].as_f64().unwrap_or(0.0)) * 1000.0
    );
    println!(
        "first skeleton: from handing over the video with no model read; warm: probe + first \
         skeleton with the models already read (the app reads them while a file is dragged in)"
    );
    for r in &ours {
        println!(
            "ratio {} (Rust) / onnxruntime (Python), fps: {:.2}",
            r.engine,
            r.fps() / ort_fps
        );
    }
    println!();
    let o = |k: &str| ort["stages"][k].as_f64().unwrap() * 1000.0 / ort_frames.max(1.0);
    let header: String = ours.iter().map(|r| format!("{:>12}", r.engine)).collect();
    println!("per frame, ms   {header}  onnxruntime (Python)");
    type Stage = fn(&Run) -> Duration;
    let stages: [(&str, Stage, &str); 8] = [
        ("decode", |r| r.decode, "decode"),
        ("detect pre", |r| r.stages.detect_pre, "detect_pre"),
        ("detect infer", |r| r.stages.detect_infer, "detect_infer"),
        ("detect post", |r| r.stages.detect_post, "detect_post"),
        ("pose pre", |r| r.stages.pose_pre, "pose_pre"),
        ("pose infer", |r| r.stages.pose_infer, "pose_infer"),
        ("pose post", |r| r.stages.pose_post, "pose_post"),
        ("draw", |r| r.stages.draw, "draw"),
    ];
    for (name, get, key) in stages {
        let cols: String = ours
            .iter()
            .map(|r| format!("{:>12.1}", ms(get(r)) / r.frames.max(1) as f64))
            .collect();
        println!("{name:<15} {cols}  {:>12.1}", o(key));
    }
}

struct Run {
    engine: String,
    frames: u64,
    secs: f64,
    load: Duration,
    first: Duration,
    /// Probe plus first skeleton with the models already read, as in the app, which reads them
    /// while a file is dragged over the window.
    warm_first: Duration,
    decode: Duration,
    stages: StageTimes,
}

impl Run {
    fn fps(&self) -> f64 {
        self.frames as f64 / self.secs
    }
}

/// From "video dropped" (models not yet loaded) to the last frame.
fn run_ours(backend: Backend, det: &Path, pose: &Path, clip: &Path, opts: PreviewOptions) -> Run {
    let start = Instant::now();
    let models = PoseModels::load_with(det, pose, backend).unwrap();
    let load = start.elapsed();
    let mut first: Option<Duration> = None;
    let summary = run_preview(
        &models,
        video_source(clip.to_path_buf(), opts),
        &AtomicBool::new(false),
        &mut |_| {
            first.get_or_insert_with(|| start.elapsed());
        },
    )
    .unwrap();
    let warm = Instant::now();
    studio_media::probe(clip).unwrap();
    let stop = AtomicBool::new(false);
    let mut warm_first = Duration::ZERO;
    run_preview(
        &models,
        video_source(clip.to_path_buf(), opts),
        &stop,
        &mut |_| {
            warm_first = warm.elapsed();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        },
    )
    .unwrap();
    Run {
        engine: models.engine_name().to_string(),
        warm_first,
        frames: summary.frames as u64,
        secs: summary.elapsed.as_secs_f64(),
        load,
        first: first.unwrap_or_default(),
        decode: summary.decode,
        stages: summary.stages,
    }
}

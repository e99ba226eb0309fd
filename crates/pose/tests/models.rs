//! The whole pipeline through each engine on the generated test models
//! (testdata/make_models.py), whose outputs are fixed, so every position below is worked out by
//! hand. RTen always; ONNX Runtime too when `STUDIO_ONNXRUNTIME_LIB` names its library
//! (scripts/test.sh provides it).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::PathBuf;

use image::RgbImage;
use studio_pose::{Backend, PoseModels, process_frame};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Every engine this machine can run, each loaded and checked to be the one asked for (a failed
/// ONNX Runtime load falls back to RTen, which would otherwise go unnoticed).
fn engines() -> Vec<PoseModels> {
    let mut backends = vec![(Backend::Rten, "rten")];
    match std::env::var("STUDIO_ONNXRUNTIME_LIB") {
        Ok(lib) if std::path::Path::new(&lib).is_file() => {
            backends.push((Backend::OnnxRuntime(lib.into()), "onnxruntime"));
        }
        _ => eprintln!(
            "STUDIO_ONNXRUNTIME_LIB is not set to a library: the ONNX Runtime engine is not tested"
        ),
    }
    backends
        .into_iter()
        .map(|(backend, name)| {
            let m = PoseModels::load_with(
                &testdata("det_test.onnx"),
                &testdata("pose_test.onnx"),
                backend,
            )
            .expect("test models load");
            assert_eq!(m.engine_name(), name);
            m
        })
        .collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-3
}

#[test]
fn one_person_found_and_mapped_back_to_the_frame() {
    for models in engines() {
        person_mapped_back(&models);
    }
}

fn person_mapped_back(models: &PoseModels) {
    let frame = RgbImage::from_pixel(1280, 1280, image::Rgb([40, 40, 40]));
    let out = process_frame(models, &frame).unwrap();
    // Two overlapping persons (0.81 and 0.72) -> NMS keeps 0.81; 0.25 and the car are dropped.
    assert_eq!(out.people.len(), 1);
    let p = &out.people[0];
    assert!(close(p.box_score, 0.81), "{}", models.engine_name());
    // Letterbox ratio 0.5: box (264, 128, 392, 512) in the 640 square is (528, 256, 784, 1024).
    for (a, b) in p.bbox.iter().zip([528.0, 256.0, 784.0, 1024.0]) {
        assert!(close(*a, b), "{:?}", p.bbox);
    }
    // Window centre (656, 640), scale (720, 960): frame = 2.5 * crop + (296, 160).
    let at = |cx: f32, cy: f32| (2.5 * cx + 296.0, 2.5 * cy + 160.0);
    let k = &p.keypoints;
    assert_eq!(k.len(), 134);
    let nose = at(144.0, 60.0);
    assert!(close(k[0].x, nose.0) && close(k[0].y, nose.1), "{:?}", k[0]);
    let neck = at(144.0, 110.0); // between the shoulders (184, 110) and (104, 110)
    assert!(close(k[1].x, neck.0) && close(k[1].y, neck.1) && k[1].score == 1.0);
    let rsho = at(104.0, 110.0); // OpenPose 2 is COCO 6, the right shoulder
    assert!(close(k[2].x, rsho.0) && close(k[2].y, rsho.1));
    let lank = at(176.0, 350.0); // OpenPose 13 is COCO 15
    assert!(close(k[13].x, lank.0) && close(k[13].y, lank.1));
    assert!(close(k[17].score, 0.2)); // left ear made low on purpose
    assert!(close(k[0].score, 0.9));
    let lwrist_hand = at(210.0, 230.0); // first left-hand point
    assert!(close(k[92].x, lwrist_hand.0) && close(k[92].y, lwrist_hand.1));
    assert!(out.check.ok(), "{:?}", out.check);
    assert!(close(out.check.body_score, (16.0 * 0.9 + 1.0 + 0.2) / 18.0));
}

#[test]
fn skeleton_matches_the_golden_image() {
    for models in engines() {
        skeleton_is_golden(&models);
    }
}

fn skeleton_is_golden(models: &PoseModels) {
    let frame = RgbImage::from_pixel(640, 640, image::Rgb([0, 0, 0]));
    let out = process_frame(models, &frame).unwrap();
    let golden = testdata("golden_skeleton.png");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        out.skeleton.save(&golden).unwrap();
    }
    let want = image::open(&golden)
        .expect("golden image (UPDATE_GOLDEN=1 writes it)")
        .to_rgb8();
    assert_eq!(want.dimensions(), out.skeleton.dimensions());
    let differing = want
        .pixels()
        .zip(out.skeleton.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} pixels differ from the golden image ({})",
        models.engine_name()
    );
    // Hand-checked pixels. Frame = 1.25 * crop + (148, 80) here.
    let px = |x: u32, y: u32| out.skeleton.get_pixel(x, y).0;
    assert_eq!(px(328, 155), [255, 0, 0]); // nose joint, colour 0
    assert_eq!(px(328, 217), [255, 85, 0]); // neck joint, colour 1
    assert_eq!(px(303, 217), [153, 0, 0]); // neck-right shoulder limb, colour 0 at 60%
    assert_eq!(px(10, 10), [0, 0, 0]);
    // The left ear (score 0.2) has neither its joint nor its limb.
    assert!(
        out.skeleton
            .pixels()
            .all(|p| p.0 != [255, 0, 85] && p.0 != [153, 0, 51])
    );
}

//! The journal and gallery on a real SQLite file.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use studio_jobs::{GalleryEntry, JobSpec, Journal, NormaliseOptions, PodInfo, Stage, Target};

fn spec(dir: &Path) -> JobSpec {
    JobSpec {
        image: dir.join("me.png"),
        video: dir.join("dance.mp4"),
        manifest: "workflows/steadydancer.toml".into(),
        params: [("seed".to_string(), serde_json::json!(7))].into(),
        target: Target::NewPod {
            gpu_ids: vec!["NVIDIA A100 80GB PCIe".into()],
        },
        out_dir: dir.join("out"),
        budget_usd: Some(2.5),
        normalise: NormaliseOptions {
            trim_start: Some(1.0),
            ..Default::default()
        },
    }
}

#[test]
fn stage_changes_are_compare_and_swap_and_keep_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("jobs.sqlite")).unwrap();
    let job = j.create(&spec(dir.path()), None).unwrap();
    assert_eq!(job.stage, Stage::Queued);
    j.transition(&job.id, Stage::Queued, Stage::CheckingInputs)
        .unwrap();
    // A second writer that still believes the job is queued loses.
    let err = j
        .transition(&job.id, Stage::Queued, Stage::Cancelled)
        .unwrap_err();
    assert_eq!(err.code(), "jobs.stage_conflict");
    std::thread::sleep(std::time::Duration::from_millis(5));
    j.transition(&job.id, Stage::CheckingInputs, Stage::Failed)
        .unwrap();
    let rec = j.get(&job.id).unwrap();
    assert_eq!(rec.stage, Stage::Failed);
    assert!(rec.finished_ms.is_some());
    let names: Vec<_> = rec.stages.iter().map(|s| s.stage).collect();
    assert_eq!(names, [Stage::Queued, Stage::CheckingInputs, Stage::Failed]);
    assert!(rec.stages[1].duration_ms(0) >= 5);
    assert_eq!(rec.stages[0].ended_ms, Some(rec.stages[1].started_ms));
    assert_eq!(
        j.transition("nope", Stage::Queued, Stage::Done)
            .unwrap_err()
            .code(),
        "jobs.not_found"
    );
}

#[test]
fn survives_reopen_and_lists_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    let (a, b) = {
        let j = Journal::open(&path).unwrap();
        let a = j.create(&spec(dir.path()), None).unwrap();
        let b = j.create(&spec(dir.path()), None).unwrap();
        j.transition(&a.id, Stage::Queued, Stage::Done).unwrap();
        j.set_pod_name(&b.id, "studio-b").unwrap();
        j.set_pod(
            &b.id,
            &PodInfo {
                pod_id: "pod1".into(),
                gpu_id: "NVIDIA A100 80GB PCIe".into(),
                rate_usd_per_hour: 1.64,
                created_ms: 10,
                owned: true,
            },
        )
        .unwrap();
        j.set_prompt(&b.id, "p-1").unwrap();
        (a.id, b.id)
    };
    let j = Journal::open(&path).unwrap();
    let unfinished = j.unfinished().unwrap();
    assert_eq!(unfinished.len(), 1);
    let rec = &unfinished[0];
    assert_eq!(rec.id, b);
    assert_eq!(rec.pod.as_ref().unwrap().pod_id, "pod1");
    assert_eq!(rec.prompt_id.as_deref(), Some("p-1"));
    assert_eq!(rec.spec, spec(dir.path()));
    assert_eq!(j.list().unwrap().len(), 2);
    assert_eq!(j.live_pod_ids().unwrap(), ["pod1".to_string()].into());
    j.set_pod_ended(&b, 20).unwrap();
    assert!(j.live_pod_ids().unwrap().is_empty());
    assert_eq!(j.get(&a).unwrap().stage, Stage::Done);
}

#[test]
fn gallery_lists_newest_first_flags_missing_files_and_renders_again() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("jobs.sqlite")).unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let job = j.create(&spec(dir.path()), None).unwrap();
        let video = dir.path().join(format!("r{n}.mp4"));
        std::fs::write(&video, b"video").unwrap();
        let mut e = GalleryEntry::from_job(&job, video, None);
        e.created_ms = 1_000 + n;
        j.gallery_add(&e).unwrap();
        ids.push(job.id);
    }
    std::fs::rename(dir.path().join("r1.mp4"), dir.path().join("moved.mp4")).unwrap();
    let list = j.gallery_list().unwrap();
    let order: Vec<_> = list.iter().map(|e| e.id.clone()).collect();
    assert_eq!(order, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    assert!(list[1].missing);
    assert!(!list[0].missing && !list[2].missing);
    assert_eq!(j.render_again(&ids[0]).unwrap(), spec(dir.path()));
    // Deleting with files removes the video; deleting one whose file is gone is fine too.
    j.gallery_delete(&ids[2], true).unwrap();
    assert!(!dir.path().join("r2.mp4").exists());
    j.gallery_delete(&ids[1], true).unwrap();
    assert_eq!(j.gallery_list().unwrap().len(), 1);
    assert_eq!(
        j.gallery_delete(&ids[1], false).unwrap_err().code(),
        "gallery.not_found"
    );
}

//! Batches in the journal file: written whole, read back in order, renders put back with their
//! history, removed from the queue, and a journal from before batches opens unchanged.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use studio_jobs::{BatchSpec, JobSpec, Journal, NormaliseOptions, PodInfo, Stage, Target};

fn spec(dir: &Path, video: &str) -> JobSpec {
    JobSpec {
        image: dir.join("me.png"),
        video: dir.join(video),
        manifest: "workflows/steadydancer.toml".into(),
        params: Default::default(),
        target: Target::NewPod { gpu_ids: vec![] },
        out_dir: dir.join("out"),
        budget_usd: None,
        normalise: NormaliseOptions::default(),
    }
}

#[test]
fn a_batch_is_written_whole_and_read_back_in_queue_order() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("jobs.sqlite")).unwrap();
    let videos = ["a.mp4", "b.mp4", "c.mp4"];
    let b = j
        .create_batch(
            &BatchSpec {
                renders: videos.iter().map(|v| spec(dir.path(), v)).collect(),
                max_pods: 2,
                budget_usd: Some(3.0),
            },
            None,
        )
        .unwrap();
    assert_eq!((b.max_pods, b.budget_usd), (2, Some(3.0)));
    assert_eq!(b.finished_ms, None);
    let jobs = j.batch_jobs(&b.id).unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        b.job_ids
    );
    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(job.stage, Stage::Queued);
        assert_eq!(job.batch_id.as_deref(), Some(b.id.as_str()));
        assert_eq!(job.position, Some(i as u32));
        assert!(job.spec.video.ends_with(videos[i]));
    }
    let second = j
        .create_batch(
            &BatchSpec {
                renders: vec![spec(dir.path(), "d.mp4")],
                max_pods: 1,
                budget_usd: None,
            },
            None,
        )
        .unwrap();
    let all = j.batches().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, second.id, "newest first");
    assert_eq!(j.batch("nope").unwrap_err().code(), "jobs.batch_not_found");
}

#[test]
fn a_render_put_back_keeps_its_history_and_counts_and_a_queued_one_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("jobs.sqlite")).unwrap();
    let b = j
        .create_batch(
            &BatchSpec {
                renders: vec![spec(dir.path(), "a.mp4"), spec(dir.path(), "b.mp4")],
                max_pods: 1,
                budget_usd: None,
            },
            None,
        )
        .unwrap();
    let (first, second) = (&b.job_ids[0], &b.job_ids[1]);
    for (from, to) in [
        (Stage::Queued, Stage::CheckingInputs),
        (Stage::CheckingInputs, Stage::Normalising),
        (Stage::Normalising, Stage::Uploading),
        (Stage::Uploading, Stage::QueuedOnComfy),
    ] {
        j.transition(first, from, to).unwrap();
    }
    j.set_pod(
        first,
        &PodInfo {
            pod_id: "p1".into(),
            gpu_id: "g".into(),
            rate_usd_per_hour: 1.0,
            created_ms: 1,
            owned: false,
        },
    )
    .unwrap();
    j.set_prompt(first, "prompt-1").unwrap();
    assert_eq!(j.requeue(first).unwrap(), 1);
    let job = j.get(first).unwrap();
    assert_eq!(job.stage, Stage::Queued);
    assert_eq!(job.requeues, 1);
    assert!(job.pod.is_none() && job.prompt_id.is_none() && job.uploads.is_none());
    let stages: Vec<_> = job.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Queued,
            Stage::CheckingInputs,
            Stage::Normalising,
            Stage::Uploading,
            Stage::QueuedOnComfy,
            Stage::Queued
        ]
    );

    j.remove_queued(second).unwrap();
    let job = j.get(second).unwrap();
    assert_eq!(job.stage, Stage::Cancelled);
    assert_eq!(job.error_code.as_deref(), Some("cancelled"));
    assert_eq!(job.cost_usd, Some(0.0));
    // Only a queued render can be removed, and an ended one cannot be put back.
    assert!(j.remove_queued(second).is_err());
    assert!(j.requeue(second).is_err());
}

#[test]
fn a_journal_from_before_batches_opens_with_its_jobs_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    {
        // The jobs table as the app wrote it before batches existed, with one render in it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, spec TEXT NOT NULL, stage TEXT NOT NULL,
             stage_started_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, finished_ms INTEGER,
             pod_name TEXT, pod TEXT, pod_ended_ms INTEGER, comfy_url TEXT, uploads TEXT,
             prompt_id TEXT, outputs TEXT NOT NULL DEFAULT '[]', estimate TEXT, cost_usd REAL,
             error_code TEXT, error_message TEXT);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO jobs (id, spec, stage, stage_started_ms, created_ms, cost_usd)
             VALUES ('old', ?1, 'done', 5, 5, 0.25)",
            [serde_json::to_string(&spec(dir.path(), "a.mp4")).unwrap()],
        )
        .unwrap();
    }
    let j = Journal::open(&path).unwrap();
    let old = j.get("old").unwrap();
    assert_eq!(old.stage, Stage::Done);
    assert_eq!(old.cost_usd, Some(0.25));
    assert_eq!((old.batch_id, old.position, old.requeues), (None, None, 0));
    assert!(j.batches().unwrap().is_empty());
    drop(j);
    // And again, now that the columns exist.
    assert_eq!(Journal::open(&path).unwrap().list().unwrap().len(), 1);
}

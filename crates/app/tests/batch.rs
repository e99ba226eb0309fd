//! The facade's render queue in demo mode (the built-in stand-ins, real sockets): a queued
//! render cancelled from outside leaves the queue while the rest runs, the queue view follows
//! the batch, and a batch a crash left queued is offered for resuming and runs to its end.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studio_app::batch::NOT_RUNNING;
use studio_app::{BatchRequest, Studio};
use studio_jobs::{BatchSpec, JobEvent, Stage};

fn photo(dir: &Path) -> PathBuf {
    let photo = dir.join("photo.png");
    image::RgbImage::from_pixel(576, 1024, image::Rgb([200, 120, 80]))
        .save(&photo)
        .unwrap();
    photo
}

fn video(dir: &Path, name: &str, shade: u8) -> PathBuf {
    let video = dir.join(name);
    let mut out = studio_media::RgbVideoWriter::create(&video, 480, 832, 25.0).unwrap();
    for i in 0..25u32 {
        out.push(&image::RgbImage::from_pixel(
            480,
            832,
            image::Rgb([(i * 5) as u8, shade, 90]),
        ))
        .unwrap();
    }
    out.finish().unwrap();
    video
}

fn request(images: Vec<PathBuf>, videos: Vec<PathBuf>) -> BatchRequest {
    BatchRequest {
        images,
        videos,
        params: [
            ("seed".to_string(), 7.into()),
            ("steps".to_string(), 4.into()),
        ]
        .into(),
        max_pods: Some(1),
        ..BatchRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_render_cancelled_leaves_the_queue_while_the_rest_runs() {
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let studio = Studio::new(data.path().to_path_buf(), true).unwrap();
    let plan = studio
        .plan_batch(request(
            vec![photo(files.path())],
            vec![
                video(files.path(), "one.mp4", 60),
                video(files.path(), "two.mp4", 160),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(plan.renders.len(), 2);
    assert_eq!(plan.estimate.pods, 1);

    let events: Arc<Mutex<Vec<JobEvent>>> = Arc::default();
    let seen = events.clone();
    let sink: studio_jobs::EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
    let run = {
        let studio = studio.clone();
        let plan_id = plan.plan_id.clone();
        tokio::spawn(async move { studio.start_batch(&plan_id, sink, |_| {}).await })
    };
    let job_ids = loop {
        let started = events.lock().unwrap().iter().find_map(|e| match e {
            JobEvent::BatchStarted { job_ids, .. } => Some(job_ids.clone()),
            _ => None,
        });
        if let Some(ids) = started {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        studio.running_jobs(),
        2,
        "both renders belong to this process"
    );
    studio.cancel_render(&job_ids[1]).unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the batch ended")
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome.renders[0].stage,
        Stage::Done,
        "{:?}",
        outcome.renders[0]
    );
    assert!(outcome.renders[0].outputs[0].is_file());
    assert_eq!(outcome.renders[1].stage, Stage::Cancelled);
    assert_eq!(
        outcome.renders[1].cost_usd, 0.0,
        "a render never started costs nothing"
    );
    assert_eq!(studio.running_jobs(), 0);
    assert_eq!(
        studio.cancel_render(&job_ids[0]).unwrap_err().code(),
        NOT_RUNNING
    );

    let queue = studio.queue().await.unwrap();
    let view: Vec<(String, u32, Stage)> = queue
        .iter()
        .map(|q| (q.job_id.clone(), q.position, q.stage))
        .collect();
    assert_eq!(
        view,
        vec![
            (job_ids[0].clone(), 1, Stage::Done),
            (job_ids[1].clone(), 2, Stage::Cancelled)
        ]
    );
    assert!(
        queue
            .iter()
            .all(|q| q.batch_id.as_deref() == Some(outcome.batch.id.as_str()))
    );
    assert!(
        studio.pods().await.unwrap().is_empty(),
        "the lease's pod is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_left_queued_is_offered_for_resuming_and_runs_to_its_end() {
    studio_media::init();
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let studio = Studio::new(data.path().to_path_buf(), true).unwrap();
    let plan = studio
        .plan_batch(request(
            vec![photo(files.path())],
            vec![video(files.path(), "one.mp4", 60)],
        ))
        .await
        .unwrap();
    // As a crash leaves them: journaled and queued, never run (nothing was paid).
    let journal =
        studio_jobs::Journal::open(&data.path().join("demo").join("jobs.sqlite")).unwrap();
    let spec = BatchSpec {
        renders: vec![plan.renders[0].spec.clone()],
        max_pods: 1,
        budget_usd: None,
    };
    let left = journal.create_batch(&spec, Some(&plan.estimate)).unwrap();
    let dropped = journal.create_batch(&spec, Some(&plan.estimate)).unwrap();

    let offered = studio.resumable_batches().await.unwrap();
    let mut ids: Vec<&str> = offered.iter().map(|b| b.batch_id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![left.id.as_str(), dropped.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(offered.iter().all(|b| b.queued == 1 && b.renders == 1));

    // Cancelling a batch nobody runs removes its queued renders.
    studio.cancel_batch(&dropped.id).unwrap();
    assert_eq!(
        studio.cancel_batch(&dropped.id).unwrap_err().code(),
        NOT_RUNNING
    );

    let outcome = tokio::time::timeout(
        Duration::from_secs(300),
        studio.resume_batch(&left.id, studio_jobs::no_events()),
    )
    .await
    .expect("the batch ended")
    .unwrap();
    assert_eq!(outcome.renders.len(), 1);
    assert_eq!(
        outcome.renders[0].stage,
        Stage::Done,
        "{:?}",
        outcome.renders[0]
    );
    assert!(outcome.renders[0].outputs[0].is_file());
    assert!(studio.resumable_batches().await.unwrap().is_empty());
    let gallery = studio.gallery().await.unwrap();
    assert_eq!(gallery.len(), 1, "the resumed render is in the gallery");
}

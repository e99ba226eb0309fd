//! Warm pods (started by hand, no owner) and their idle timer, against the stand-in RunPod on
//! real sockets: a warm pod idle longer than allowed is terminated and confirmed gone; one
//! idle for less, or held by a render or a queue, is not; the Pods screen says when the timer
//! ends a warm pod; and the orphan banner leaves held and warm pods alone. The app reads its
//! addresses from the environment, so the test re-runs itself in a child process.
#![allow(clippy::unwrap_used)]

mod runpod_rig;

use runpod_rig::{app_env, run_in_child};
use standin_runpod::{StandIn, StandInConfig};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use studio_app::Studio;
use studio_jobs::{BatchSpec, JobSpec, NormaliseOptions, Target};

const GPU: &str = "NVIDIA A100 80GB PCIe";
const DATA_ENV: &str = "WARM_TEST_DATA";
const PODS_ENV: &str = "WARM_TEST_PODS";
const INSTALL: &str = "0a1b2c3d";
/// The pods, in the order the parent injects them.
const NAMES: [&str; 5] = ["warmold1", "warmnew1", "jobpod01", "batchpod", "orphan01"];

fn ours(what: &str) -> String {
    format!("sds-{INSTALL}-{what}")
}

fn spec(data: &Path) -> JobSpec {
    JobSpec {
        image: PathBuf::from("/nowhere/me.png"),
        video: PathBuf::from("/nowhere/dance.mp4"),
        manifest: PathBuf::from("/nowhere/steadydancer.toml"),
        params: Default::default(),
        target: Target::NewPod { gpu_ids: vec![] },
        out_dir: data.join("renders"),
        budget_usd: None,
        normalise: NormaliseOptions::default(),
    }
}

/// As the pods journal records a pod the app made: ready, held by `owner` if any.
fn ready_pod(data: &Path, name: &str, id: &str, owner: Option<&str>) {
    let j = studio_pods::Journal::open_in(data).unwrap();
    j.record_intent(name, GPU, 1.64).unwrap();
    j.record_created(name, id, 1.64).unwrap();
    if let Some(o) = owner {
        j.set_owner(id, Some(o)).unwrap();
    }
    j.record_ready(name).unwrap();
}

#[tokio::test]
async fn warm_pods_idle_too_long_are_terminated_and_held_ones_are_not() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let ids: Vec<String> = NAMES
            .iter()
            .map(|n| standin.inject_pod(&ours(n), GPU))
            .collect();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("install-id"), INSTALL).unwrap();
        let mut env = app_env(&standin, &standin.api_url());
        env.push((DATA_ENV, data.path().display().to_string()));
        env.push((PODS_ENV, ids.join(",")));
        assert!(
            run_in_child(
                "warm_pods_idle_too_long_are_terminated_and_held_ones_are_not",
                &env
            )
            .await,
            "the test in the child process failed"
        );
        let billing: HashSet<String> = standin
            .billing()
            .into_iter()
            .filter(|b| b.billing)
            .map(|b| b.id)
            .collect();
        assert_eq!(
            billing,
            ids[1..4].iter().cloned().collect(),
            "the warm pod idle too long and the orphan were terminated, nothing else"
        );
        return;
    };
    let data = PathBuf::from(data);
    let ids: Vec<String> = std::env::var(PODS_ENV)
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let (warm_old, warm_new, job_pod, batch_pod, orphan) =
        (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);

    // A render waiting for its pod, and a queue between two renders: both hold their pods.
    let jobs = studio_jobs::Journal::open(&studio_pods::Journal::path_in(&data)).unwrap();
    let job = jobs.create(&spec(&data), None).unwrap();
    let batch = jobs
        .create_batch(
            &BatchSpec {
                renders: vec![spec(&data), spec(&data)],
                max_pods: 1,
                budget_usd: None,
            },
            None,
        )
        .unwrap();
    ready_pod(&data, &ours(NAMES[0]), warm_old, None);
    ready_pod(
        &data,
        &ours(NAMES[2]),
        job_pod,
        Some(&format!("job:{}", job.id)),
    );
    ready_pod(
        &data,
        &ours(NAMES[3]),
        batch_pod,
        Some(&format!("batch:{}", batch.id)),
    );
    // A pod of ours nobody holds and that never became ready (a crash mid-start).
    let j = studio_pods::Journal::open_in(&data).unwrap();
    j.record_intent(&ours(NAMES[4]), GPU, 1.64).unwrap();
    j.record_created(&ours(NAMES[4]), orphan, 1.64).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ready_pod(&data, &ours(NAMES[1]), warm_new, None);

    let studio = Studio::new(data.clone(), false).unwrap();

    // The Pods screen: when the timer (10 minutes by default) ends each warm pod.
    let before = studio_jobs::journal::now_ms();
    let rows = studio.pods().await.unwrap();
    let stops = |id: &str| {
        rows.iter()
            .find(|r| r.pod_id == id)
            .unwrap_or_else(|| panic!("{id} listed: {rows:?}"))
            .idle_stops_at_ms
    };
    let ten_min = 10 * 60 * 1000;
    let new_stops = stops(warm_new).expect("a warm pod shows when it stops");
    assert!(
        (before + ten_min - 5_000..=before + ten_min).contains(&new_stops),
        "{new_stops} vs now {before}"
    );
    assert!(stops(warm_old).unwrap() < new_stops);
    assert_eq!(stops(job_pod), None, "held by a render");
    assert_eq!(stops(batch_pod), None, "held by a queue");
    let json = serde_json::to_value(rows.iter().find(|r| &r.pod_id == warm_new).unwrap()).unwrap();
    assert_eq!(json["idleStopsAtMs"].as_i64(), Some(new_stops));

    // The orphan banner: warm pods inside their idle time and held pods are not orphans.
    let orphans: Vec<String> = studio
        .orphans()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.pod_id)
        .collect();
    assert_eq!(orphans, vec![orphan.clone()]);

    // Ten minutes have not passed: the real setting ends nothing.
    assert!(studio.reap_idle_warm_pods().await.unwrap().is_empty());
    // An idle time between the two warm pods' ages: only the older one ends, confirmed gone.
    let age = |id: &str| {
        let since = j.by_pod_id(id).unwrap().unwrap().idle_since.unwrap();
        let since = studio_pods::journal::parse_time(&since).unwrap();
        let now = studio_pods::journal::parse_time(&studio_pods::journal::now_text()).unwrap();
        (now - since).unsigned_abs()
    };
    let (old_age, new_age) = (age(warm_old), age(warm_new));
    assert!(
        old_age > new_age + Duration::from_millis(1000),
        "{old_age:?} {new_age:?}"
    );
    let ended = studio
        .reap_idle_warm_pods_older_than(new_age + Duration::from_millis(700))
        .await
        .unwrap();
    assert_eq!(ended, vec![warm_old.clone()]);
    let row = j.by_pod_id(warm_old).unwrap().unwrap();
    assert_eq!(row.state, studio_pods::journal::states::TERMINATED);
    assert!(row.cost_usd.is_some());
    // Still warm: the young one, and the one that never got ready (no idle clock, not ended).
    let warm: HashSet<String> = j
        .warm_pods()
        .unwrap()
        .into_iter()
        .filter_map(|p| p.pod_id)
        .collect();
    assert_eq!(warm, HashSet::from([warm_new.clone(), orphan.clone()]));

    // A queue releases its pod: its idle clock starts, and the sweep ends only the orphan.
    j.set_owner(batch_pod, None).unwrap();
    let released = j.by_pod_id(batch_pod).unwrap().unwrap();
    assert!(released.idle_since.is_some() && released.owner.is_none());
    let swept: Vec<String> = studio
        .sweep()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.view.pod_id)
        .collect();
    assert_eq!(swept, vec![orphan.clone()]);
}

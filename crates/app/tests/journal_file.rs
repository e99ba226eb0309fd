//! The app keeps renders and pods in one journal file: a data folder of an earlier version,
//! with its pods in `pods.sqlite`, still shows the pod that bills (the close warning reads
//! it) after the first start, and the render journal opens the same file beside it.
#![allow(clippy::unwrap_used)]

use studio_app::Studio;

#[test]
fn a_billing_pod_of_an_earlier_versions_pods_file_is_still_seen() {
    let data = tempfile::tempdir().unwrap();
    {
        // Written as an earlier version did: the pods journal in its own file.
        let old = studio_pods::Journal::open(&data.path().join("pods.sqlite")).unwrap();
        old.record_intent("sds-0a1b2c3d-billing1", "NVIDIA H100 PCIe", 2.39)
            .unwrap();
        old.record_created("sds-0a1b2c3d-billing1", "podbills", 2.39)
            .unwrap();
        old.record_ready("sds-0a1b2c3d-billing1").unwrap();
    }
    assert!(!data.path().join(studio_jobs::JOBS_DB).exists());
    let studio = Studio::new(data.path().to_path_buf(), false).unwrap();
    let live = studio.live_pod_names().unwrap();
    assert!(live.contains("sds-0a1b2c3d-billing1"), "{live:?}");
    assert!(!data.path().join("pods.sqlite").exists());
    assert!(data.path().join("pods.sqlite.imported").exists());

    // The render journal shares the file: it opens and writes beside the pods.
    let jobs = studio_jobs::Journal::open(&data.path().join(studio_jobs::JOBS_DB)).unwrap();
    assert!(jobs.unfinished().unwrap().is_empty());
    let pods = studio_pods::Journal::open_in(data.path()).unwrap();
    assert_eq!(
        pods.by_pod_id("podbills").unwrap().unwrap().rate_per_hour,
        2.39
    );
    drop(studio);

    // A second start imports nothing again.
    let studio = Studio::new(data.path().to_path_buf(), false).unwrap();
    assert_eq!(studio.live_pod_names().unwrap().len(), 1);
    assert_eq!(pods.all().unwrap().len(), 1);
}

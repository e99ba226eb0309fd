//! The views the window polls (the queue every 2 s while a batch runs, the gallery, the jobs
//! list) read the journal alone: no key, no keychain, no network, and in demo mode they do not
//! start the stand-ins. The keychain here is the test's own, which refuses and counts every
//! read (the process's keyring backend), so a read would show even where refusing is harmless.
#![allow(clippy::unwrap_used)]

use std::any::Any;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use studio_app::Studio;
use studio_jobs::{BatchSpec, JobSpec, Journal, NormaliseOptions, Stage, Target};

/// Set in the copy of this test run without `RUNPOD_API_KEY` (which would spare the keychain).
const CHILD: &str = "STUDIO_TEST_QUEUE_VIEW_CHILD";

struct CountingKeychain(Arc<AtomicUsize>);

impl keyring::credential::CredentialBuilderApi for CountingKeychain {
    fn build(
        &self,
        _target: Option<&str>,
        _service: &str,
        _user: &str,
    ) -> keyring::Result<Box<keyring::credential::Credential>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(keyring::Error::NoStorageAccess(
            "the test's keychain refuses every read".into(),
        ))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A batch of two renders as a crash leaves it: journaled and queued.
fn journal_a_batch(journal_file: &Path, files: &Path) -> Vec<String> {
    let journal = Journal::open(journal_file).unwrap();
    let render = |name: &str| JobSpec {
        image: files.join("photo.png"),
        video: files.join(name),
        manifest: files.join("steadydancer.toml"),
        params: Default::default(),
        target: Target::NewPod { gpu_ids: vec![] },
        out_dir: files.join("renders"),
        budget_usd: None,
        normalise: NormaliseOptions::default(),
    };
    let spec = BatchSpec {
        renders: vec![render("one.mp4"), render("two.mp4")],
        max_pods: 1,
        budget_usd: None,
    };
    journal.create_batch(&spec, None).unwrap().job_ids
}

async fn polled_views_read_the_journal_alone() {
    let reads = Arc::new(AtomicUsize::new(0));
    keyring::set_default_credential_builder(Box::new(CountingKeychain(reads.clone())));
    let files = tempfile::tempdir().unwrap();

    for demo in [false, true] {
        let data = tempfile::tempdir().unwrap();
        let journal_file = if demo {
            data.path().join("demo").join("jobs.sqlite")
        } else {
            data.path().join("jobs.sqlite")
        };
        std::fs::create_dir_all(journal_file.parent().unwrap()).unwrap();
        let job_ids = journal_a_batch(&journal_file, files.path());
        let studio = Studio::new(data.path().to_path_buf(), demo).unwrap();

        let queue = studio.queue().await.unwrap();
        assert_eq!(
            queue.iter().map(|q| q.job_id.clone()).collect::<Vec<_>>(),
            job_ids,
            "demo {demo}"
        );
        assert!(queue.iter().all(|q| q.stage == Stage::Queued));
        assert_eq!(queue[1].position, 2);
        assert_eq!(studio.jobs().await.unwrap().len(), 2, "demo {demo}");
        assert!(studio.gallery().await.unwrap().is_empty());
        // The window polls again and again: still nothing but the journal.
        for _ in 0..3 {
            assert_eq!(studio.queue().await.unwrap().len(), 2);
        }

        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "a polled view read the keychain (demo {demo})"
        );
        assert!(
            !studio.demo_running(),
            "a polled view started the demo's stand-ins (demo {demo})"
        );
    }
}

#[test]
fn the_queue_gallery_and_jobs_views_read_no_keychain_and_start_no_demo() {
    if std::env::var_os(CHILD).is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(polled_views_read_the_journal_alone());
        return;
    }
    // A key in the environment would be used before the keychain: run again without it.
    let name = "the_queue_gallery_and_jobs_views_read_no_keychain_and_start_no_demo";
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove(studio_core::secrets::API_KEY_ENV)
        .env_remove(studio_app::DEMO_ENV)
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    assert!(report.contains("1 passed"), "the check ran: {report}");
}

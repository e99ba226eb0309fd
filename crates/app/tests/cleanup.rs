//! Every clean-up path is total: it acts on the real RunPod journal, key and address whatever
//! Settings say (Demo chosen, or a torn settings file), "Terminate all" tries every pod and
//! names each failure, and sweeps leave other installs' pods alone. Against the stand-in
//! RunPod on real sockets; the app reads its addresses from the environment, so each test
//! re-runs itself in a child process that has them (the stand-in stays in the parent).
#![allow(clippy::unwrap_used)]

mod runpod_rig;

use runpod_rig::{app_env, journal_pod, proxy, run_in_child};
use standin_runpod::{StandIn, StandInConfig};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use studio_app::Studio;
use studio_jobs::{JobSpec, NormaliseOptions, PodInfo, Stage, Target};

const GPU: &str = "NVIDIA A100 80GB PCIe";
const DATA_ENV: &str = "CLEANUP_TEST_DATA";
const PODS_ENV: &str = "CLEANUP_TEST_PODS";
/// This data folder's install id, written before the app starts.
const INSTALL: &str = "0a1b2c3d";

fn data_folder() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("install-id"), INSTALL).unwrap();
    data
}

fn ours(what: &str) -> String {
    format!("sds-{INSTALL}-{what}")
}

fn child_pods() -> Vec<(String, String)> {
    std::env::var(PODS_ENV)
        .unwrap()
        .split(',')
        .map(|p| {
            let (n, i) = p.split_once('=').unwrap();
            (n.to_string(), i.to_string())
        })
        .collect()
}

fn pods_env(pods: &[(&str, &str)]) -> String {
    pods.iter()
        .map(|(n, i)| format!("{n}={i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// An unfinished render that had started its own pod when the app died.
fn journal_render_on(data: &Path, pod_id: &str) -> String {
    let jobs = studio_jobs::Journal::open(&data.join("jobs.sqlite")).unwrap();
    let spec = JobSpec {
        image: PathBuf::from("/nowhere/me.png"),
        video: PathBuf::from("/nowhere/dance.mp4"),
        manifest: PathBuf::from("/nowhere/steadydancer.toml"),
        params: Default::default(),
        target: Target::NewPod { gpu_ids: vec![] },
        out_dir: data.join("renders"),
        budget_usd: None,
        normalise: NormaliseOptions::default(),
    };
    let job = jobs.create(&spec, None).unwrap();
    jobs.transition(&job.id, Stage::Queued, Stage::StartingPod)
        .unwrap();
    jobs.set_pod(
        &job.id,
        &PodInfo {
            pod_id: pod_id.to_string(),
            gpu_id: GPU.to_string(),
            rate_usd_per_hour: 1.64,
            created_ms: studio_jobs::journal::now_ms() - 60_000,
            owned: true,
        },
    )
    .unwrap();
    jobs.transition(&job.id, Stage::StartingPod, Stage::WaitingForComfy)
        .unwrap();
    job.id
}

fn unsettled_names(data: &Path) -> Vec<String> {
    studio_pods::Journal::open_in(data)
        .unwrap()
        .unsettled()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

#[tokio::test]
async fn demo_in_settings_or_a_torn_settings_file_never_hides_a_billing_pod() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let names = [
            ours("quit0001"),
            ours("render01"),
            ours("guard001"),
            ours("banner01"),
        ];
        let ids: Vec<String> = names.iter().map(|n| standin.inject_pod(n, GPU)).collect();
        let theirs = standin.inject_pod("sds-99999999-theirs01", GPU);
        let data = data_folder();
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .zip(&ids)
            .map(|(n, i)| (n.as_str(), i.as_str()))
            .collect();
        let mut env = app_env(&standin, &standin.api_url());
        env.push((DATA_ENV, data.path().display().to_string()));
        env.push((PODS_ENV, pods_env(&pairs)));
        assert!(
            run_in_child(
                "demo_in_settings_or_a_torn_settings_file_never_hides_a_billing_pod",
                &env
            )
            .await,
            "the test in the child process failed"
        );
        let billing: Vec<String> = standin
            .billing()
            .into_iter()
            .filter(|b| b.billing)
            .map(|b| b.id)
            .collect();
        assert_eq!(billing, vec![theirs], "only the other install's pod bills");
        return;
    };
    let data = PathBuf::from(data);
    let pods = child_pods();
    let (quit, render, guard, banner) = (&pods[0], &pods[1], &pods[2], &pods[3]);

    // Settings say Demo; real pods of this data folder are running.
    std::fs::write(data.join("settings.json"), r#"{"demoMode": true}"#).unwrap();
    journal_pod(&data, &banner.0, &banner.1);
    journal_pod(&data, &quit.0, &quit.1);
    journal_pod(&data, &render.0, &render.1);
    let job = journal_render_on(&data, &render.1);

    let studio = Studio::new(data.clone(), false).unwrap();
    // Start-up recovery settles the real render and terminates its pod.
    let settled = studio.recover(studio_jobs::no_events()).await.unwrap();
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].job_id, job);
    assert_eq!(settled[0].to, Stage::Interrupted, "{settled:?}");

    // The orphan banner shows the real pods (the demo's are none), and terminates from it.
    let orphans: HashSet<String> = studio
        .orphans()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.pod_id)
        .collect();
    assert_eq!(
        orphans,
        HashSet::from([banner.1.clone(), quit.1.clone(), guard.1.clone()]),
        "the real pods of this install that no render owns"
    );
    studio.terminate_pod(&banner.1).await.unwrap();

    // Quitting terminates the real pod left running.
    studio.shut_down().await;
    assert!(
        unsettled_names(&data).is_empty(),
        "{:?}",
        unsettled_names(&data)
    );

    // A torn settings file: the crash guard still settles with the defaults.
    std::fs::write(data.join("settings.json"), r#"{"demoMode": tr"#).unwrap();
    journal_pod(&data, &guard.0, &guard.1);
    let studio = Studio::new(data.clone(), false).unwrap();
    studio_app::guard::settle(&studio).await;
    assert!(
        unsettled_names(&data).is_empty(),
        "{:?}",
        unsettled_names(&data)
    );
}

#[tokio::test]
async fn terminate_all_goes_on_after_failures_and_names_each_one() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let proxy = proxy(&standin).await;
        let names = [
            ours("fails001"),
            ours("ok000001"),
            ours("fails002"),
            ours("ok000002"),
        ];
        let ids: Vec<String> = names.iter().map(|n| standin.inject_pod(n, GPU)).collect();
        let theirs = standin.inject_pod("sds-99999999-theirs01", GPU);
        proxy
            .refusals
            .delete_of
            .lock()
            .unwrap()
            .extend([ids[0].clone(), ids[2].clone()]);
        let data = data_folder();
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .zip(&ids)
            .map(|(n, i)| (n.as_str(), i.as_str()))
            .collect();
        let mut env = app_env(&standin, &proxy.api_url);
        env.push((DATA_ENV, data.path().display().to_string()));
        env.push((PODS_ENV, pods_env(&pairs)));
        assert!(
            run_in_child(
                "terminate_all_goes_on_after_failures_and_names_each_one",
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
            HashSet::from([ids[0].clone(), ids[2].clone(), theirs]),
            "every pod of ours that could be terminated was; the other install's was not touched"
        );
        return;
    };
    let pods = child_pods();
    let studio = Studio::new(PathBuf::from(data), false).unwrap();
    let err = studio.terminate_all().await.unwrap_err();
    assert_eq!(err.code(), "pods.left_running", "{err:?}");
    for failed in [&pods[0].1, &pods[2].1] {
        assert!(err.message().contains(failed.as_str()), "{}", err.message());
    }
    for fine in [&pods[1].1, &pods[3].1] {
        assert!(!err.message().contains(fine.as_str()), "{}", err.message());
    }
    assert!(err.message().contains("2 pod(s)"), "{}", err.message());
}

#[tokio::test]
async fn the_start_up_sweep_leaves_other_installs_pods_alone() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        let standin = StandIn::start(StandInConfig::default()).await.unwrap();
        let mine = standin.inject_pod(&ours("orphan01"), GPU);
        let theirs = standin.inject_pod("sds-99999999-theirs01", GPU);
        let unknown_old = standin.inject_pod("sds-5ca1ab1e", GPU);
        let data = data_folder();
        let mut env = app_env(&standin, &standin.api_url());
        env.push((DATA_ENV, data.path().display().to_string()));
        env.push((
            PODS_ENV,
            pods_env(&[("theirs", &theirs), ("old", &unknown_old)]),
        ));
        assert!(
            run_in_child("the_start_up_sweep_leaves_other_installs_pods_alone", &env).await,
            "the test in the child process failed"
        );
        let billing: HashSet<String> = standin
            .billing()
            .into_iter()
            .filter(|b| b.billing)
            .map(|b| b.id)
            .collect();
        assert!(!billing.contains(&mine), "our orphan was swept");
        assert_eq!(billing, HashSet::from([theirs, unknown_old]));
        return;
    };
    let studio = Studio::new(PathBuf::from(data), false).unwrap();
    let orphans = studio.orphans().await.unwrap();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    let swept = studio.sweep().await.unwrap();
    assert_eq!(swept.len(), 1, "{swept:?}");
    assert!(swept[0].terminated);
    // "Terminate all" has nothing of ours left; the Pods screen lists the others as such.
    assert_eq!(studio.terminate_all().await.unwrap(), 0);
    let listed = studio.pods().await.unwrap();
    let pods = child_pods();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (_, id) in &pods {
        let row = listed.iter().find(|r| &r.pod_id == id).unwrap();
        let other = serde_json::to_value(row).unwrap()["otherInstall"].as_bool();
        assert_eq!(other, Some(true), "{row:?}");
    }
}

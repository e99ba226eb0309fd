//! `studio render` drives the app's render queue: every photo with every video as one batch,
//! at most `--pods` pods at once, nothing rented without `--yes`, the same estimate the
//! window's plan shows, and `--comfy-url` as just another target (journal and gallery
//! included). The real `studio` binary against the stand-in RunPod and stand-in ComfyUI.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json, rig};
use std::path::{Path, PathBuf};
use std::time::Duration;
use studio_app::{BatchRequest, Studio};

#[tokio::test(flavor = "multi_thread")]
async fn a_two_by_two_batch_renders_four_results_on_at_most_two_pods() {
    let rig = rig().await;
    let mut args = rig.two_by_two();
    args.extend(["--pods", "2", "--yes", "--json"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = rig.studio(&args).spawn().unwrap();
    // Sampled every 20 ms while the batch runs: a third pod would be caught billing.
    let watch = async {
        loop {
            let billing = rig.runpod.pods_billing();
            if billing > 2 {
                return billing;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let out = tokio::select! {
        out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output()) => {
            out.expect("the batch ended within 10 minutes").unwrap()
        }
        most = watch => panic!("{most} pods billed at once; --pods 2 allows 2"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome = json(&out);
    let renders = outcome["renders"].as_array().unwrap();
    assert_eq!(renders.len(), 4, "{outcome:#}");
    let mut pairs = Vec::new();
    for r in renders {
        assert_eq!(r["stage"], "done", "{r:#}");
        assert!(r["error"].is_null(), "{r:#}");
        let file = PathBuf::from(r["outputs"][0].as_str().unwrap());
        assert!(file.is_file(), "{} was written", file.display());
        assert!(
            file.starts_with(rig.data.path().join("renders")),
            "Settings' folder"
        );
        pairs.push((
            r["image"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string(),
            r["video"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string(),
        ));
    }
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("ana.png", "salsa.mp4"),
            ("ana.png", "tango.mp4"),
            ("ben.png", "salsa.mp4"),
            ("ben.png", "tango.mp4")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(outcome["batch"]["finishedMs"].is_i64(), "{outcome:#}");
    assert_eq!(rig.runpod.pods_billing(), 0, "every pod was terminated");
    let created = rig.pods_created();
    assert!(
        (1..=2).contains(&created),
        "{created} pods were created for 4 renders with --pods 2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_yes_nothing_is_rented_and_the_window_plans_the_same_estimate() {
    const PLAN_ENV: &str = "RENDER_BATCH_CLI_PLAN";
    const FILES_ENV: &str = "RENDER_BATCH_FILES";
    if let Ok(cli_plan) = std::env::var(PLAN_ENV) {
        // The child: the window's facade in this process, same data folder and Settings.
        let files = PathBuf::from(std::env::var(FILES_ENV).unwrap());
        let cli: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cli_plan).unwrap()).unwrap();
        let data = std::env::var("STUDIO_DATA_DIR").unwrap();
        let studio = Studio::new(PathBuf::from(data), false).unwrap();
        let plan = studio
            .plan_batch(BatchRequest {
                images: vec![files.join("ana.png"), files.join("ben.png")],
                videos: vec![files.join("salsa.mp4"), files.join("tango.mp4")],
                params: [("seed".to_string(), serde_json::json!(7))].into(),
                ..BatchRequest::default()
            })
            .await
            .unwrap();
        let gui = serde_json::to_value(&plan).unwrap();
        assert_eq!(gui["estimate"], cli["estimate"]);
        for key in ["maxPods", "budgetUsd", "targetLabel"] {
            assert_eq!(gui[key], cli[key], "{key}");
        }
        for (g, c) in gui["renders"]
            .as_array()
            .unwrap()
            .iter()
            .zip(cli["renders"].as_array().unwrap())
        {
            assert_eq!(g["frames"], c["frames"]);
            assert_eq!(g["spec"], c["spec"]);
        }
        return;
    }
    let rig = rig().await;
    let args = rig.two_by_two();
    let mut with_json: Vec<&str> = args.iter().map(String::as_str).collect();
    with_json.push("--json");
    let out = rig.run(&with_json).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = json(&out);
    assert_eq!(plan["renders"].as_array().unwrap().len(), 4);
    assert_eq!(plan["maxPods"], 2, "Settings' pods at once");
    assert_eq!(plan["estimate"]["pods"], 2);
    assert_eq!(plan["budgetUsd"], 8.0, "Settings' $2 per render x 4");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Estimate: about $"), "{stderr}");
    // The pinned environment's first start is priced apart, with the lock's model bytes.
    let bytes = plan["estimate"]["podStart"]["downloadBytes"]
        .as_f64()
        .unwrap();
    assert!(bytes > 30e9, "the lock's models: {bytes}");
    let gb = format!("{:.1} GB of models", bytes / 1e9);
    assert!(stderr.contains(&gb), "{gb} not in: {stderr}");

    // Without --json and no terminal to ask: refused, and still nothing rented.
    let plain: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rig.run(&plain).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Estimate: about $") && stderr.contains("--yes"),
        "{stderr}"
    );
    // Limits out of range are refused, not quietly changed.
    for (flag, value, code) in [
        ("--pods", "9", "jobs.bad_max_pods"),
        ("--budget", "0", "jobs.bad_budget"),
    ] {
        let mut bad = plain.clone();
        bad.extend([flag, value, "--yes", "--json"]);
        let out = rig.run(&bad).await;
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert_eq!(json(&out)["error"]["code"], code);
    }
    assert_eq!(rig.pods_created(), 0, "no pod was created without --yes");
    assert!(rig.runpod.billing().is_empty());
    let jobs = json(&rig.run(&["jobs", "list", "--json"]).await);
    assert_eq!(jobs, serde_json::json!([]), "nothing was journaled");

    let saved = rig.files.path().join("cli-plan.json");
    std::fs::write(&saved, serde_json::to_string(&plan).unwrap()).unwrap();
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "without_yes_nothing_is_rented_and_the_window_plans_the_same_estimate",
            "--exact",
            "--nocapture",
        ])
        .envs(rig.env())
        .env(PLAN_ENV, &saved)
        .env(FILES_ENV, rig.files.path());
    assert!(
        child.status().await.unwrap().success(),
        "the window's plan differs from the CLI's (see the child's output)"
    );
    assert_eq!(rig.pods_created(), 0, "planning rents nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_render_on_a_comfy_url_is_journaled_and_lands_in_the_gallery() {
    let rig = rig().await;
    let url = rig.comfy.url().to_string();
    let out = rig
        .run(&[
            "render",
            "--image",
            &rig.file("ana.png"),
            "--video",
            &rig.file("salsa.mp4"),
            "--comfy-url",
            &url,
            "--json",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome = json(&out);
    let result = outcome["renders"][0]["outputs"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(Path::new(&result).is_file());
    assert_eq!(
        outcome["renders"][0]["costUsd"], 0.0,
        "an own server costs nothing"
    );
    assert_eq!(rig.pods_created(), 0);

    let gallery = json(&rig.run(&["gallery", "list", "--json"]).await);
    let entries = gallery.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{gallery:#}");
    assert_eq!(entries[0]["video"], result.as_str());
    let jobs = json(&rig.run(&["jobs", "list", "--json"]).await);
    assert_eq!(jobs[0]["stage"], "done");
    assert_eq!(jobs[0]["spec"]["target"]["kind"], "comfyUrl");
}

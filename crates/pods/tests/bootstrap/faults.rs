//! Downloads that break off, differ from what was expected, or do not fit.

use super::*;

#[tokio::test]
async fn cut_and_stalled_downloads_resume_and_are_verified() {
    let src = tempfile::tempdir().unwrap();
    let (cut, stall, whole) = (bytes(400_000, 5), bytes(400_000, 6), bytes(70_000, 11));
    let faulty = |bytes, fault| File {
        bytes,
        lfs: true,
        fault: Some(fault),
    };
    let server = ModelServer::start(vec![
        ("Org/r/cut.safetensors", faulty(cut.clone(), Fault::Cut)),
        (
            "Org/r/stall.safetensors",
            faulty(stall.clone(), Fault::Stall),
        ),
        ("Org/r/whole.safetensors", lfs(whole.clone())),
    ])
    .await;
    let models = [
        model(
            "loras/cut.safetensors",
            cut.len(),
            Some(&sha256(&cut)),
            "Org/r/cut.safetensors",
        ),
        model(
            "loras/stall.safetensors",
            stall.len(),
            None,
            "Org/r/stall.safetensors",
        ),
        model(
            "loras/whole.safetensors",
            70_000,
            None,
            "Org/r/whole.safetensors",
        ),
    ];
    let pod = plain_pod(src.path(), &models, &server);
    // An earlier pod got all of this one but stopped before renaming it.
    let part = pod.model("loras/whole.safetensors.part");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, &whole).unwrap();
    let run = pod.start();
    run.wait_for_stage("start", LONG).await;
    assert!(run.of("error").is_empty(), "{}", run.transcript());
    assert_eq!(
        std::fs::read(pod.model("loras/cut.safetensors")).unwrap(),
        cut
    );
    assert_eq!(
        std::fs::read(pod.model("loras/stall.safetensors")).unwrap(),
        stall
    );
    for name in ["cut", "stall"] {
        let ranges: Vec<Option<String>> = server
            .requests()
            .into_iter()
            .filter(|r| r.path == format!("/blobs/Org/r/{name}.safetensors"))
            .map(|r| r.range)
            .collect();
        // The first answer breaks off at half; the next asks for the rest.
        assert_eq!(ranges.len(), 2, "{name}: {ranges:?}");
        assert_eq!(ranges[0], None);
        let from: usize = ranges[1]
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .unwrap()
            .parse()
            .unwrap();
        assert!(from > 0 && from <= 200_000, "{name} resumed at {from}");
    }
    let pins = std::fs::read_to_string(pod.root().join("pins.txt")).unwrap();
    assert!(pins.contains(&format!(
        "loras/stall.safetensors {COMMIT} {}",
        sha256(&stall)
    )));
    // The whole .part was asked for its end only (416), then verified and kept.
    let whole_ranges: Vec<Option<String>> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/blobs/Org/r/whole.safetensors")
        .map(|r| r.range)
        .collect();
    assert_eq!(whole_ranges, [Some("bytes=70000-".to_string())]);
    assert_eq!(
        std::fs::read(pod.model("loras/whole.safetensors")).unwrap(),
        whole
    );
}

#[tokio::test]
async fn a_file_the_server_does_not_have_stops_at_once() {
    let src = tempfile::tempdir().unwrap();
    let server = ModelServer::start(vec![]).await;
    let dest = "vae/gone.safetensors";
    let mut pod = plain_pod(
        src.path(),
        &[model(dest, 1_000, None, "Org/r/gone.safetensors")],
        &server,
    );
    pod.set("SDS_ON_ERROR", "exit");
    let mut run = pod.start();
    assert!(!run.exit(LONG).await.success());
    let error = error_of(&run);
    assert_eq!(error["code"], "bootstrap.download");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 404") && message.contains(dest),
        "{message}"
    );
    // No retries for an answer that will not change.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn bytes_that_differ_from_the_lock_are_refused() {
    let src = tempfile::tempdir().unwrap();
    let (wanted, served) = (bytes(50_000, 7), bytes(50_000, 8));
    let server = ModelServer::start(vec![("Org/r/vae.safetensors", lfs(served.clone()))]).await;
    let dest = "vae/vae.safetensors";
    let mut pod = plain_pod(
        src.path(),
        &[model(
            dest,
            50_000,
            Some(&sha256(&wanted)),
            "Org/r/vae.safetensors",
        )],
        &server,
    );
    pod.set("SDS_ON_ERROR", "exit");
    let mut run = pod.start();
    let status = run.exit(LONG).await;
    assert!(!status.success());
    let error = error_of(&run);
    assert_eq!(error["code"], "bootstrap.hash_mismatch");
    let message = error["message"].as_str().unwrap();
    for part in [dest, &sha256(&wanted), &sha256(&served)] {
        assert!(message.contains(part), "{message} lacks {part}");
    }
    assert!(!pod.model(dest).exists());
    assert!(!pod.model(&format!("{dest}.part")).exists());
    assert!(!pod.root().join("pins.txt").exists());
    assert!(!stages(&run).contains(&"start".to_string()));
}

#[tokio::test]
async fn a_download_that_differs_from_its_pin_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let (pinned, now) = (bytes(60_000, 9), bytes(60_000, 10));
    let server = ModelServer::start(vec![("Org/r/clip.safetensors", lfs(now.clone()))]).await;
    let dest = "clip_vision/clip.safetensors";
    let mut pod = plain_pod(
        src.path(),
        &[model(dest, 60_000, None, "Org/r/clip.safetensors")],
        &server,
    );
    pod.set("SDS_ON_ERROR", "exit");
    // What an earlier pod recorded on this volume.
    std::fs::create_dir_all(pod.root()).unwrap();
    let pin = format!("{dest} {COMMIT} {} 60000\n", sha256(&pinned));
    std::fs::write(pod.root().join("pins.txt"), &pin).unwrap();

    let mut run = pod.start();
    assert!(!run.exit(LONG).await.success());
    let error = error_of(&run);
    assert_eq!(error["code"], "bootstrap.pin_mismatch");
    let message = error["message"].as_str().unwrap();
    for part in [dest, &sha256(&pinned), &sha256(&now), COMMIT] {
        assert!(message.contains(part), "{message} lacks {part}");
    }
    // It asked for the pinned revision, not `main`, and left the pin alone.
    let asked: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        asked[0],
        format!("/Org/r/resolve/{COMMIT}/clip.safetensors")
    );
    assert_eq!(
        std::fs::read_to_string(pod.root().join("pins.txt")).unwrap(),
        pin
    );
    assert!(!pod.model(dest).exists());
}

#[tokio::test]
async fn too_little_disk_is_reported_and_the_pod_idles_instead_of_exiting() {
    let src = tempfile::tempdir().unwrap();
    let server = ModelServer::start(vec![]).await;
    let huge = "100000000000000000";
    let line = format!("diffusion_models/huge.safetensors {huge} - - Org/r huge.safetensors");
    let pod = plain_pod(src.path(), &[line], &server);
    let mut run = pod.start();
    let error = run.wait_for(LONG, |e| e["event"] == "error").await;
    assert_eq!(error["code"], "bootstrap.disk");
    assert!(error["message"].as_str().unwrap().contains(huge));
    assert!(server.requests().is_empty());
    // An exit would make RunPod restart the container over and over.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(run.still_running());
}

//! The pod bootstrap (`crates/pods/bootstrap/bootstrap.sh`) run locally with `sh` as a pod runs
//! it, against git repositories, a wheel and a Hugging Face stand-in on this machine.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod model_server;
mod run;

use fixtures::{bytes, sha256};
use model_server::{COMMIT, Fault, File, ModelServer};
use run::{Run, free_port, get_json};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(40);
/// Quotes and a backslash: the id must survive JSON on stdout, in environment.json and in
/// /object_info.
const LOCK_ID: &str = r#"lock "7" \ a1b2"#;

/// One pod's worth of variables and its data folder.
struct Pod {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Pod {
    fn new(repos: &[(&str, &Path, &str)], models: &[String], server: &ModelServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repos: Vec<String> = repos
            .iter()
            .map(|(name, path, commit)| format!("{name} {commit} file://{}", path.display()))
            .collect();
        let env = vec![
            ("SDS_ROOT", dir.path().join("sds").display().to_string()),
            ("SDS_PYTHON", "python3".into()),
            ("SDS_LOCK_ID", LOCK_ID.into()),
            ("SDS_REPOS", repos.join("\n")),
            ("SDS_CONSTRAINTS", String::new()),
            ("SDS_PIP", String::new()),
            ("SDS_PIP_ARGS", "--no-index".into()),
            ("SDS_MODELS", models.join("\n")),
            ("SDS_HF_BASE", server.base.clone()),
            ("SDS_PARALLEL", "3".into()),
            ("SDS_PORT", free_port().to_string()),
            ("SDS_COMFY_ARGS", "--disable-auto-launch".into()),
            ("SDS_PROGRESS_SECS", "1".into()),
            ("SDS_STALL_SECS", "2".into()),
            ("SDS_RETRY_SECS", "0".into()),
        ];
        Self { dir, env }
    }

    fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
    }

    fn get(&self, key: &str) -> &str {
        &self.env.iter().find(|(k, _)| *k == key).unwrap().1
    }

    fn root(&self) -> PathBuf {
        PathBuf::from(self.get("SDS_ROOT"))
    }

    fn model(&self, dest: &str) -> PathBuf {
        self.root().join("ComfyUI/models").join(dest)
    }

    fn start(&self) -> Run {
        Run::start(&self.env, &self.dir.path().join("stderr.txt"))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.get("SDS_PORT"))
    }
}

/// An `SDS_MODELS` line: `dest size sha256 revision repo path`.
fn model(dest: &str, size: usize, sha: Option<&str>, repo_path: &str) -> String {
    let (repo, path) = repo_path.split_at(repo_path.match_indices('/').nth(1).unwrap().0);
    format!(
        "{dest} {size} {} - {repo} {}",
        sha.unwrap_or("-"),
        &path[1..]
    )
}

fn lfs(bytes: Vec<u8>) -> File {
    File {
        bytes,
        lfs: true,
        fault: None,
    }
}

fn error_of(run: &Run) -> Value {
    let errors = run.of("error");
    assert_eq!(errors.len(), 1, "{}", run.transcript());
    errors[0].clone()
}

fn stages(run: &Run) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in run.of("stage") {
        let s = e["stage"].as_str().unwrap().to_string();
        if seen.last() != Some(&s) {
            seen.push(s);
        }
    }
    seen
}

fn required_inputs(object_info: &Value, node: &str) -> Value {
    object_info[node]["input"]["required"].clone()
}

#[tokio::test]
async fn a_clean_run_installs_verifies_and_starts_and_a_second_run_reuses_it_all() {
    let src = tempfile::tempdir().unwrap();
    let (comfy, comfy_commit) = fixtures::comfyui(src.path(), "# nothing here\n");
    let (pack_a, a_commit) = fixtures::node_pack(src.path(), "PackA", Some("sdsfixture\n"));
    let (pack_b, b_old) = fixtures::node_pack(src.path(), "PackB", None);
    let b_new = fixtures::commit(&pack_b, &[("later.txt", b"2")], "second");
    let wheels = src.path().join("wheels");
    fixtures::wheel(&wheels);

    let (yolo, vitpose, data, small) = (
        bytes(150_000, 1),
        bytes(40_000, 2),
        bytes(300_000, 3),
        bytes(5_000, 4),
    );
    let server = ModelServer::start(vec![
        ("Org/det/yolo.onnx", lfs(yolo.clone())),
        ("Org/pose/onnx/vitpose.onnx", lfs(vitpose.clone())),
        ("Org/pose/onnx/vitpose_data.bin", lfs(data.clone())),
        (
            "Org/small/config.safetensors",
            File {
                bytes: small.clone(),
                lfs: false,
                fault: None,
            },
        ),
    ])
    .await;
    let models = vec![
        // The lock knows this one's hash; the others are pinned on first use, with sizes that
        // are only approximate.
        model(
            "detection/onnx/yolo.onnx",
            yolo.len(),
            Some(&sha256(&yolo)),
            "Org/det/yolo.onnx",
        ),
        model(
            "detection/onnx/vitpose.onnx",
            39_000,
            None,
            "Org/pose/onnx/vitpose.onnx",
        ),
        model(
            "detection/onnx/vitpose_data.bin",
            310_000,
            None,
            "Org/pose/onnx/vitpose_data.bin",
        ),
        model(
            "diffusion_models/x/config.safetensors",
            5_000,
            None,
            "Org/small/config.safetensors",
        ),
    ];
    let mut pod = Pod::new(
        &[
            ("ComfyUI", &comfy, &comfy_commit),
            ("PackA", &pack_a, &a_commit),
            // Not the newest commit: the pin, not the branch, decides.
            ("PackB", &pack_b, &b_old),
        ],
        &models,
        &server,
    );
    pod.set("SDS_CONSTRAINTS", "sdsfixture==1.0");
    pod.set(
        "SDS_PIP_ARGS",
        format!("--no-index --find-links {}", wheels.display()),
    );
    pod.set("HF_TOKEN", "hf_secret");
    let root = pod.root();

    let run = pod.start();
    let stats = get_json(&pod.url("/system_stats"), LONG, &run).await;
    assert_eq!(
        stages(&run),
        ["prepare", "install", "python", "models", "start"]
    );
    let installs: Vec<String> = run
        .of("stage")
        .iter()
        .filter(|e| e["stage"] == "install")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        installs,
        [
            format!("ComfyUI {}", &comfy_commit[..7]),
            format!("PackA {}", &a_commit[..7]),
            format!("PackB {}", &b_old[..7]),
        ]
    );
    assert!(
        run.of("stage")[0]["message"]
            .as_str()
            .unwrap()
            .contains(LOCK_ID)
    );

    // The repositories sit at their pinned commits.
    let head = |p: &Path| fixtures::git(p, &["rev-parse", "HEAD"]);
    assert_eq!(head(&root.join("ComfyUI")), comfy_commit);
    assert_eq!(head(&root.join("ComfyUI/custom_nodes/PackA")), a_commit);
    assert_eq!(head(&root.join("ComfyUI/custom_nodes/PackB")), b_old);

    // pip ran in the venv, offline, from the pack's requirements.
    let venv_python = root.join("venv/bin/python");
    assert_eq!(
        stats["system"]["prefix"].as_str().unwrap(),
        root.join("venv").display().to_string()
    );
    let argv: Vec<&str> = stats["system"]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        argv[1..],
        [
            "--listen",
            "0.0.0.0",
            "--port",
            pod.get("SDS_PORT"),
            "--disable-auto-launch"
        ]
    );
    let imported = std::process::Command::new(&venv_python)
        .args(["-c", "import sdsfixture; print(sdsfixture.VALUE)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&imported.stdout).trim(), "42");
    assert_eq!(
        std::fs::read_to_string(root.join("constraints.txt")).unwrap(),
        "sdsfixture==1.0\n"
    );

    // Every model is there, verified, and pinned on first use.
    for (dest, body) in [
        ("detection/onnx/yolo.onnx", &yolo),
        ("detection/onnx/vitpose.onnx", &vitpose),
        ("detection/onnx/vitpose_data.bin", &data),
        ("diffusion_models/x/config.safetensors", &small),
    ] {
        assert_eq!(&std::fs::read(pod.model(dest)).unwrap(), body, "{dest}");
        assert!(!pod.model(&format!("{dest}.part")).exists());
        // The stamp that spares the next start from hashing the file again.
        assert_eq!(
            std::fs::read_to_string(pod.model(&format!("{dest}.sha256"))).unwrap(),
            format!("{} {}\n", sha256(body), body.len())
        );
    }
    let pins = std::fs::read_to_string(root.join("pins.txt")).unwrap();
    let mut pins: Vec<&str> = pins.lines().collect();
    pins.sort();
    assert_eq!(
        pins,
        [
            format!(
                "detection/onnx/vitpose.onnx {COMMIT} {} 40000",
                sha256(&vitpose)
            ),
            format!(
                "detection/onnx/vitpose_data.bin {COMMIT} {} 300000",
                sha256(&data)
            ),
            format!("detection/onnx/yolo.onnx {COMMIT} {} 150000", sha256(&yolo)),
            format!(
                "diffusion_models/x/config.safetensors {COMMIT} {} 5000",
                sha256(&small)
            ),
        ]
    );
    let pinned = run.of("pinned");
    assert_eq!(pinned.len(), 4);
    let p = pinned
        .iter()
        .find(|p| p["file"] == "detection/onnx/vitpose_data.bin")
        .unwrap();
    assert_eq!(p["revision"], COMMIT);
    assert_eq!(p["sha256"], sha256(&data));
    assert_eq!(p["size"], 300_000);

    // Progress: each file's start and end, and the last event adds up to the real sizes.
    let progress = run.of("models");
    assert!(progress.len() > 2 * 4, "{progress:?}");
    let last = progress.last().unwrap();
    let total = (yolo.len() + vitpose.len() + data.len() + small.len()) as u64;
    assert_eq!(last["files"], 4);
    assert_eq!(last["done_files"], 4);
    assert_eq!(last["done_bytes"], total);
    assert_eq!(last["total_bytes"], total);
    assert!(
        progress
            .iter()
            .any(|e| e["current"] == "detection/onnx/vitpose_data.bin")
    );
    let first = &progress[0];
    assert_eq!(first["done_files"], 0);
    assert_eq!(first["total_bytes"], 150_000 + 39_000 + 310_000 + 5_000);

    // The token went to the resolve requests.
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.path.contains("/resolve/"))
            .all(|r| r.authorization.as_deref() == Some("Bearer hf_secret"))
    );
    assert!(
        !std::fs::read_to_string(pod.dir.path().join("stderr.txt"))
            .unwrap()
            .contains("hf_secret")
    );

    // The environment file and the node that reports it; the .onnx files are listed for the
    // detection loader but the shared extension set of other folders is untouched.
    let env: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("environment.json")).unwrap())
            .unwrap();
    assert_eq!(env["lock"], LOCK_ID);
    assert_eq!(env["repos"][2]["name"], "PackB");
    assert_eq!(env["repos"][2]["commit"], b_old.as_str());
    let info = get_json(&pod.url("/object_info"), LONG, &run).await;
    let node = &info["SteadyDancerStudioEnvironment"];
    assert_eq!(node["output"], serde_json::json!([]));
    assert_eq!(node["output_node"], false);
    assert_eq!(
        node["input"]["required"],
        serde_json::json!({
            "ComfyUI": [[comfy_commit]],
            "PackA": [[a_commit]],
            "PackB": [[b_old]],
            "lock": [[LOCK_ID]],
        })
    );
    assert!(info["PackANode"].is_object());
    let detection = required_inputs(&info, "OnnxDetectionModelLoader")["model"][0].clone();
    for f in [
        "onnx/yolo.onnx",
        "onnx/vitpose.onnx",
        "onnx/vitpose_data.bin",
    ] {
        assert!(
            detection.as_array().unwrap().iter().any(|v| v == f),
            "{f} missing from {detection}"
        );
    }
    assert_eq!(
        required_inputs(&info, "CheckpointLoaderSimple")["ckpt_name"][0],
        serde_json::json!([])
    );
    drop(run);

    // Second start on the same volume: PackB moves to its newer pin, nothing is downloaded
    // and pip is not run again.
    let before = server.requests().len();
    pod.set(
        "SDS_REPOS",
        format!(
            "ComfyUI {comfy_commit} file://{}\nPackA {a_commit} file://{}\nPackB {b_new} file://{}",
            comfy.display(),
            pack_a.display(),
            pack_b.display()
        ),
    );
    pod.set("SDS_PORT", free_port().to_string());
    let again = pod.start();
    let info = get_json(&pod.url("/object_info"), LONG, &again).await;
    assert_eq!(server.requests().len(), before, "a cached file was fetched");
    assert_eq!(
        head(&root.join("ComfyUI/custom_nodes/PackB")),
        b_new.as_str()
    );
    assert_eq!(
        required_inputs(&info, "SteadyDancerStudioEnvironment")["PackB"],
        serde_json::json!([[b_new]])
    );
    assert!(
        again
            .of("stage")
            .iter()
            .any(|e| e["stage"] == "python" && e["message"].as_str().unwrap().contains("skipped")),
        "{}",
        again.transcript()
    );
    assert!(again.of("pinned").is_empty());
    let last = again.of("models").last().unwrap().clone();
    assert_eq!(last["done_files"], 4);
    assert_eq!(last["done_bytes"], total);
}

/// A pod with ComfyUI alone (no requirements, so no pip) and `models`.
fn plain_pod(src: &Path, models: &[String], server: &ModelServer) -> Pod {
    let (comfy, commit) = fixtures::comfyui(src, "");
    Pod::new(&[("ComfyUI", &comfy, &commit)], models, server)
}

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

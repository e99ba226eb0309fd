//! A first start on an empty volume, then a second start on the same volume.

use super::*;

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

//! The create body the app sends, run as the pod runs it: `args` (dead-man timer, then the
//! bootstrap) with `env` as `EnvLock::bootstrap_env` writes it. Only the addresses a test must
//! move (root folder, model server, port, pip's index) are replaced.

use super::*;
use studio_pods::bootstrap::{ENVIRONMENT_NODE, environment_fields};
use studio_pods::{DeadMan, EnvLock, PodSpec};

#[tokio::test]
async fn the_apps_create_body_installs_the_lock_and_reports_it_to_the_preflight() {
    let src = tempfile::tempdir().unwrap();
    let (comfy, comfy_commit) = fixtures::comfyui(src.path(), "# nothing here\n");
    let (pack, pack_commit) = fixtures::node_pack(src.path(), "PackA", None);
    let weights = bytes(120_000, 9);
    let server =
        ModelServer::start(vec![("Org/repo/w/model.safetensors", lfs(weights.clone()))]).await;
    let lock_text = format!(
        r#"
lock_version = 1
workflow = "fixture.toml"
[image]
name = "runpod/pytorch:1.0.2-cu1281-torch280-ubuntu2404"
python = "python3"
[[repos]]
name = "ComfyUI"
url = "file://{comfy}"
commit = "{comfy_commit}"
[[repos]]
name = "PackA"
url = "file://{pack}"
commit = "{pack_commit}"
[[models]]
repo = "Org/repo"
path = "w/model.safetensors"
dest = "diffusion_models/w/model.safetensors"
size = 120000
"#,
        comfy = comfy.display(),
        pack = pack.display(),
    );
    let lock = EnvLock::parse(&lock_text, "fixture").unwrap();
    let spec = PodSpec::pinned(&lock, None);
    let deadman = DeadMan::new(
        Duration::from_secs(3600),
        url::Url::parse("http://127.0.0.1:9/v2").unwrap(),
    );
    let body = spec.create_request("sds-test", "NVIDIA A100 80GB PCIe", Some(&deadman));
    let args = body.args.expect("the bootstrap is the command");

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env: Vec<(&str, String)> = body
        .env
        .iter()
        .map(|(k, v)| (&*Box::leak(k.clone().into_boxed_str()), v.clone()))
        .collect();
    for (key, value) in [
        ("SDS_ROOT", dir.path().join("sds").display().to_string()),
        ("SDS_HF_BASE", server.base.clone()),
        ("SDS_PORT", port.to_string()),
        ("SDS_PIP_ARGS", "--no-index".to_string()),
        ("SDS_PROGRESS_SECS", "1".to_string()),
        // Dead-man timer: a pod id for the snippet; its 1 h sleep dies with the test.
        ("RUNPOD_POD_ID", "sds-test".to_string()),
    ] {
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }
    let run = Run::start_command(&args, &env, &dir.path().join("stderr.txt"));
    let url = format!("http://127.0.0.1:{port}");
    get_json(&format!("{url}/system_stats"), LONG, &run).await;
    assert_eq!(
        stages(&run),
        ["prepare", "install", "python", "models", "start"]
    );
    let root = dir.path().join("sds");
    assert_eq!(
        std::fs::read(root.join("ComfyUI/models/diffusion_models/w/model.safetensors")).unwrap(),
        weights
    );

    // What the preflight reads: the environment node lists exactly the lock's commits and id.
    let info = get_json(&format!("{url}/object_info"), LONG, &run).await;
    let required = &info[ENVIRONMENT_NODE]["input"]["required"];
    for (field, value) in environment_fields(&lock) {
        assert_eq!(
            required[&field][0],
            serde_json::json!([value]),
            "{field}\n{}",
            run.transcript()
        );
    }
}

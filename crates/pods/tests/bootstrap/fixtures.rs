//! Local stand-ins for what the pod fetches: git repositories (a ComfyUI-shaped one and node
//! packs), a wheel for pip's offline install, and hashes.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const FAKE_MAIN: &str = include_str!("fake_comfyui/main.py");
pub const FAKE_FOLDER_PATHS: &str = include_str!("fake_comfyui/folder_paths.py");

pub fn sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// Bytes that differ from file to file (by `seed`) and compress badly.
pub fn bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository under `dir/name` with `files` in its first commit; returns its path and commit.
pub fn repo(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> (PathBuf, String) {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    git(&path, &["init", "-q", "-b", "main"]);
    let commit = commit(&path, files, "first");
    (path, commit)
}

pub fn commit(repo: &Path, files: &[(&str, &[u8])], message: &str) -> String {
    for (name, body) in files {
        let file = repo.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

/// A ComfyUI-shaped repository: the stand-in main.py and folder_paths.py, plus an `.onnx` file
/// among the checkpoints that must stay hidden there.
pub fn comfyui(dir: &Path, requirements: &str) -> (PathBuf, String) {
    repo(
        dir,
        "ComfyUI",
        &[
            ("main.py", FAKE_MAIN.as_bytes()),
            ("folder_paths.py", FAKE_FOLDER_PATHS.as_bytes()),
            ("requirements.txt", requirements.as_bytes()),
            ("custom_nodes/.keep", b""),
            ("models/checkpoints/decoy.onnx", b"not a checkpoint"),
        ],
    )
}

/// A node pack with one node class.
pub fn node_pack(dir: &Path, name: &str, requirements: Option<&str>) -> (PathBuf, String) {
    let init = format!(
        "class {name}Node:\n    RETURN_TYPES = ()\n    FUNCTION = 'f'\n    CATEGORY = 't'\n    \
         OUTPUT_NODE = False\n\n    @classmethod\n    def INPUT_TYPES(cls):\n        \
         return {{'required': {{}}}}\n\n\nNODE_CLASS_MAPPINGS = {{'{name}Node': {name}Node}}\n"
    );
    let mut files: Vec<(&str, &[u8])> = vec![("__init__.py", init.as_bytes())];
    if let Some(r) = requirements {
        files.push(("requirements.txt", r.as_bytes()));
    }
    repo(dir, name, &files)
}

/// A pure-Python wheel `sdsfixture-1.0` in `dir`, for `pip install --no-index --find-links`.
pub fn wheel(dir: &Path) {
    let script = r#"
import sys, zipfile
d = "sdsfixture-1.0.dist-info"
files = {
    "sdsfixture/__init__.py": "VALUE = 42\n",
    d + "/METADATA": "Metadata-Version: 2.1\nName: sdsfixture\nVersion: 1.0\n",
    d + "/WHEEL": "Wheel-Version: 1.0\nGenerator: sds-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[d + "/RECORD"] = "".join(f"{n},,\n" for n in list(files) + [d + "/RECORD"])
with zipfile.ZipFile(sys.argv[1] + "/sdsfixture-1.0-py3-none-any.whl", "w") as z:
    for name, body in files.items():
        z.writestr(name, body)
"#;
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

//! The ONNX Runtime library that makes the preview faster: where it is looked for, and its
//! download on first use. The source is onnxruntime's official Python wheel on PyPI for this
//! platform, pinned by file name, size and the SHA-256 PyPI publishes; only the library is taken
//! out of it. Platforms without a wheel (macOS on Intel since 1.24) keep the built-in engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use studio_error::{Error, Result};

use crate::download::{DownloadProgress, Kind, ModelFile, POSE_MODELS_URL_ENV, ensure_file};
use crate::dwpose::ModelStatus;

pub const ONNXRUNTIME_VERSION: &str = "1.32.0";
/// Path of an onnxruntime shared library to use instead of the downloaded one; `off` forces the
/// built-in engine and downloads nothing.
pub const ONNXRUNTIME_LIB_ENV: &str = "STUDIO_ONNXRUNTIME_LIB";
/// URL of a wheel (or any zip) holding the library, instead of PyPI; `off` downloads nothing.
pub const ONNXRUNTIME_URL_ENV: &str = "STUDIO_ONNXRUNTIME_URL";
/// SHA-256 of the file at [`ONNXRUNTIME_URL_ENV`] (unchecked when unset).
pub const ONNXRUNTIME_SHA256_ENV: &str = "STUDIO_ONNXRUNTIME_SHA256";
/// The zip holds no onnxruntime library for this platform.
pub const RUNTIME_INVALID: &str = "pose.runtime_invalid";

const PYPI_FILES: &str = "https://files.pythonhosted.org/packages";
/// Records which download the library came from, so a new pinned version replaces it.
const SOURCE_FILE: &str = "source.txt";

/// (os, arch, path under PYPI_FILES, size, sha256), from PyPI's simple index for 1.32.0.
const WHEELS: [(&str, &str, &str, u64, &str); 5] = [
    (
        "linux",
        "x86_64",
        "a3/81/55845186c20cba59f614991f4065dea148e48eeb9749893768c85ce64327/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        27_780_211,
        "99e1074c4b2197accd5073052a465361be17b89c093b8ffb6e6bd8f986c52df8",
    ),
    (
        "linux",
        "aarch64",
        "4a/8f/1e43fb994513c7c7a9c6965272ef89d963c1bd4080993a6267bf913701d1/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_aarch64.whl",
        23_196_724,
        "e36c187006e7a7c8b8d6d57f1a209dd63f52430dca6c282b177718ad6b841054",
    ),
    (
        "macos",
        "aarch64",
        "6f/a4/480cd367bc135dd9951c89d461cc6af6be9302cd2ce91e231f6cb0e7ee1b/onnxruntime-1.32.0-cp312-cp312-macosx_14_0_arm64.whl",
        22_519_308,
        "d52510bbbcc880c13b826f7d75cdf33ac5cf0bb864d960000fc29ce73f0cb83e",
    ),
    (
        "windows",
        "x86_64",
        "a9/3e/27039badc39a1b01628b6b40b1ff1bf4a886e6dfb2f311c483606b7c86f7/onnxruntime-1.32.0-cp312-cp312-win_amd64.whl",
        16_698_767,
        "efe7456952c243a05a53d5b8732953625144642c2f3989094277f6217f0c0c40",
    ),
    (
        "windows",
        "aarch64",
        "5d/e1/2ee4e15cebe7c2868e1d9ef391450db0951e6bbb2f01b2eb926722e19397/onnxruntime-1.32.0-cp312-cp312-win_arm64.whl",
        16_030_610,
        "64d394c69d561af3efd4d4f49dcac8f11d0ce135a20701c16d53b74056cd4cf8",
    ),
];

/// `<models dir>/onnxruntime`: where the downloaded library lives.
pub fn runtime_dir(models_dir: &Path) -> PathBuf {
    models_dir.join("onnxruntime")
}

/// The platform's name for the library: `libonnxruntime.so`, `libonnxruntime.dylib`,
/// `onnxruntime.dll`.
pub fn runtime_library_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Whether a file in the wheel is the library (wheels carry it versioned:
/// `libonnxruntime.so.1.32.0`, `libonnxruntime.1.32.0.dylib`).
fn is_runtime_library(file_name: &str) -> bool {
    match std::env::consts::OS {
        "windows" => file_name.eq_ignore_ascii_case("onnxruntime.dll"),
        "macos" => file_name.starts_with("libonnxruntime.") && file_name.ends_with(".dylib"),
        _ => file_name == "libonnxruntime.so" || file_name.starts_with("libonnxruntime.so."),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The official wheel for `os`/`arch` (Rust's `std::env::consts` names), if PyPI has one.
pub fn onnxruntime_wheel(os: &str, arch: &str) -> Option<ModelFile> {
    let (_, _, path, size, sha) = WHEELS.iter().find(|w| w.0 == os && w.1 == arch)?;
    Some(ModelFile {
        file_name: path.rsplit('/').next().unwrap_or(path).to_string(),
        url: format!("{PYPI_FILES}/{path}"),
        size: Some(*size),
        sha256: Some((*sha).to_string()),
        approx_size: None,
    })
}

/// What to download for this platform: [`ONNXRUNTIME_URL_ENV`] when set, else the pinned wheel
/// from the models mirror ([`POSE_MODELS_URL_ENV`]`/onnxruntime/<wheel>`) when one is set, else
/// from PyPI. `None` when there is nothing to download: no wheel for this platform, or
/// [`ONNXRUNTIME_LIB_ENV`] set (to a library, or `off`), or [`ONNXRUNTIME_URL_ENV`] `off`.
pub fn runtime_source() -> Option<ModelFile> {
    if env(ONNXRUNTIME_LIB_ENV).is_some_and(|v| v == "off" || Path::new(&v).is_file()) {
        return None;
    }
    if let Some(url) = env(ONNXRUNTIME_URL_ENV) {
        if url == "off" {
            return None;
        }
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or("onnxruntime.whl")
            .to_string();
        return Some(ModelFile {
            file_name: name,
            url,
            size: None,
            sha256: env(ONNXRUNTIME_SHA256_ENV),
            approx_size: None,
        });
    }
    let wheel = onnxruntime_wheel(std::env::consts::OS, std::env::consts::ARCH)?;
    match env(POSE_MODELS_URL_ENV) {
        Some(mirror) => Some(ModelFile {
            url: format!(
                "{}/onnxruntime/{}",
                mirror.trim_end_matches('/'),
                wheel.file_name
            ),
            ..wheel
        }),
        None => Some(wheel),
    }
}

/// The library to load: [`ONNXRUNTIME_LIB_ENV`] when it names a file, else the downloaded one in
/// `runtime_dir`. `None` means the built-in engine.
pub fn find_runtime_in(runtime_dir: &Path) -> Option<PathBuf> {
    match env(ONNXRUNTIME_LIB_ENV) {
        Some(v) if v == "off" => return None,
        Some(v) if Path::new(&v).is_file() => return Some(PathBuf::from(v)),
        Some(v) => tracing::warn!("{ONNXRUNTIME_LIB_ENV}={v} is not a file; ignoring it"),
        None => {}
    }
    let lib = runtime_dir.join(runtime_library_name());
    lib.is_file().then_some(lib)
}

/// [`find_runtime_in`] over `<models_dir>/onnxruntime`.
pub fn find_runtime(models_dir: &Path) -> Option<PathBuf> {
    find_runtime_in(&runtime_dir(models_dir))
}

/// Present and from `source` (a library put there by hand, without a record, counts too).
fn installed(dir: &Path, source: &ModelFile) -> bool {
    if !dir.join(runtime_library_name()).is_file() {
        return false;
    }
    match std::fs::read_to_string(dir.join(SOURCE_FILE)) {
        Ok(recorded) => recorded.trim() == source.file_name,
        Err(_) => true,
    }
}

/// The library's download from `source` as a [`ModelStatus`] (named after the wheel, as the
/// progress reports are).
pub fn runtime_status(source: &ModelFile, models_dir: &Path) -> ModelStatus {
    let dir = runtime_dir(models_dir);
    let ready = installed(&dir, source);
    let part = dir.join(format!("{}.part", source.file_name));
    let have = if ready {
        source.size.unwrap_or(0)
    } else {
        std::fs::metadata(part).map_or(0, |m| m.len())
    };
    ModelStatus {
        file: source.file_name.clone(),
        ready,
        have,
        expected: source.size,
        optional: true,
    }
}

/// Makes sure the library from `source` is in `<models_dir>/onnxruntime/`: downloads the wheel
/// (resumable, hash-checked), takes the library out, deletes the wheel. Returns the library.
#[tracing::instrument(skip_all, fields(file = %source.file_name))]
pub async fn ensure_runtime(
    client: &reqwest::Client,
    source: &ModelFile,
    models_dir: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<PathBuf> {
    let dir = runtime_dir(models_dir);
    let lib = dir.join(runtime_library_name());
    if installed(&dir, source) {
        return Ok(lib);
    }
    let wheel = ensure_file(client, source, &dir, Kind::Runtime, on_progress).await?;
    let (from, to) = (wheel.clone(), lib.clone());
    let url = source.url.clone();
    tokio::task::spawn_blocking(move || extract_library(&from, &to, &url))
        .await
        .map_err(|e| Error::internal(format!("Unpacking ONNX Runtime stopped: {e}.")))??;
    std::fs::write(dir.join(SOURCE_FILE), &source.file_name)
        .map_err(|e| Error::io("record where ONNX Runtime came from", e))?;
    // The wheel (and its pin) are not needed once the library is out: 20-30 MB saved.
    let _ = std::fs::remove_file(&wheel);
    let _ = std::fs::remove_file(dir.join(format!("{}.pin.json", source.file_name)));
    Ok(lib)
}

fn extract_library(wheel: &Path, lib: &Path, url: &str) -> Result<()> {
    let invalid = |why: String| {
        let _ = std::fs::remove_file(wheel);
        Error::new(
            RUNTIME_INVALID,
            format!(
                "The ONNX Runtime download from {url} could not be unpacked ({why}). It was \
                 deleted; the pose preview uses the built-in engine. If {ONNXRUNTIME_URL_ENV} is \
                 set, point it at an onnxruntime wheel for this platform."
            ),
        )
    };
    let file =
        std::fs::File::open(wheel).map_err(|e| Error::io("open the ONNX Runtime download", e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| invalid(e.to_string()))?;
    let name = zip
        .file_names()
        .find(|n| is_runtime_library(n.rsplit('/').next().unwrap_or(n)))
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("no {} inside", runtime_library_name())))?;
    let mut entry = zip.by_name(&name).map_err(|e| invalid(e.to_string()))?;
    let part = lib.with_file_name(format!("{}.part", runtime_library_name()));
    let mut out =
        std::fs::File::create(&part).map_err(|e| Error::io("write the ONNX Runtime library", e))?;
    // Reading to the end checks the entry's CRC-32.
    if let Err(e) = std::io::copy(&mut entry, &mut out).and_then(|_| out.flush()) {
        let _ = std::fs::remove_file(&part);
        return Err(invalid(e.to_string()));
    }
    drop(out);
    std::fs::rename(&part, lib)
        .map_err(|e| Error::io("move the ONNX Runtime library into place", e))
}

/// Failed attempts per models folder, so a preview that finds no network does not wait for it
/// again on every load.
static LAST_FAILURE: Mutex<Vec<(PathBuf, Instant)>> = Mutex::new(Vec::new());
const RETRY_AFTER: Duration = Duration::from_secs(600);

/// What [`crate::ensure_dwpose`] does after the models: gets the library unless it is there; a
/// failure is logged (the built-in engine is used) and not retried for [`RETRY_AFTER`].
pub(crate) async fn ensure_runtime_quietly(
    client: &reqwest::Client,
    source: &ModelFile,
    models_dir: &Path,
    on_progress: &mut (dyn FnMut(DownloadProgress) + Send),
) {
    if installed(&runtime_dir(models_dir), source) {
        return;
    }
    let failures = || {
        LAST_FAILURE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if failures()
        .iter()
        .any(|(d, t)| d == models_dir && t.elapsed() < RETRY_AFTER)
    {
        tracing::info!("ONNX Runtime download failed recently; not trying again yet");
        return;
    }
    if let Err(e) = ensure_runtime(client, source, models_dir, on_progress).await {
        tracing::warn!(code = e.code(), "{}", e.message());
        let mut f = failures();
        f.retain(|(d, _)| d != models_dir);
        f.push((models_dir.to_path_buf(), Instant::now()));
    }
}

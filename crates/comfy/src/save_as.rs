//! Where a render's results are saved, and under which names. A fresh server names every first
//! result alike (`SteadyDancer_00001.mp4`), so the server's name is never used locally: each
//! render gets names carrying its own id, its `.part` files carry the full id, the extension is
//! the one the workflow asked for, and the final move never replaces a file.

use crate::download::OutputFile;
use crate::errors::SAVE_FAILED;
use crate::manifest::Manifest;
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

/// Names tried for one result before giving up (`NAME.mp4`, `NAME-2.mp4`, …).
const MAX_NAMES: u32 = 1000;

/// One render's destination: a folder shared with other renders, and the render's own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveAs {
    pub dir: PathBuf,
    /// Stable for the render's whole life (the job id), so a resumed download finds its own
    /// `.part` file after a restart, and only its own.
    pub render_id: String,
    /// When the render was created (Unix seconds, UTC): the date in the file name.
    pub created_unix: i64,
}

/// One result's local names: the name it should get and its private `.part` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    pub dir: PathBuf,
    /// `SteadyDancer_2025-06-01_1a2b3c4d`, without the extension.
    pub stem: String,
    pub ext: String,
    pub part: PathBuf,
}

impl SaveAs {
    /// A render that starts now, with an id of its own (a render outside the job engine).
    pub fn fresh(dir: &Path) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self {
            dir: dir.to_path_buf(),
            render_id: uuid::Uuid::new_v4().to_string(),
            created_unix: now,
        }
    }

    /// The local names for the `index`th result of this render.
    pub fn local_file(&self, manifest: &Manifest, out: &OutputFile, index: usize) -> LocalFile {
        let id = plain(&self.render_id, 64);
        let short: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let mut stem = format!(
            "{}_{}_{short}",
            workflow_word(manifest),
            date(self.created_unix)
        );
        if index > 0 {
            stem = format!("{stem}_{}", index + 1);
        }
        let ext = expected_extension(manifest, out);
        // The full id, not the short one: two renders may share a date and a short id, never
        // a `.part` file.
        let part = self.dir.join(format!("{stem}.{ext}.{id}.part"));
        LocalFile {
            dir: self.dir.clone(),
            stem,
            ext,
            part,
        }
    }

    /// What the server is asked to name this render's files: unique per render, so one
    /// server's output folder never mixes runs either.
    pub fn server_prefix(&self, manifest: &Manifest) -> String {
        format!("{}_{}", workflow_word(manifest), plain(&self.render_id, 64))
    }
}

/// Writes `prefix` into every output node whose manifest entry names a `prefix_field`.
pub fn set_output_prefix(manifest: &Manifest, prompt: &mut Value, prefix: &str) {
    for spec in &manifest.outputs {
        let Some(field) = &spec.prefix_field else {
            continue;
        };
        // Loading the manifest checked that the node and field exist and hold a value.
        if let Some(inputs) = prompt
            .get_mut(&spec.node)
            .and_then(|n| n.get_mut("inputs"))
            .and_then(Value::as_object_mut)
        {
            inputs.insert(field.clone(), Value::String(prefix.to_string()));
        }
    }
}

impl LocalFile {
    /// Moves the finished `.part` file to the first free name (`stem.ext`, `stem-2.ext`, …).
    pub fn finish(&self) -> Result<PathBuf> {
        let fail = |e: io::Error| {
            Error::new(
                SAVE_FAILED,
                format!(
                    "The result was downloaded to {} but could not be given its name in {}: {e}. \
                     Check that the folder is writable; the download is kept under that name.",
                    self.part.display(),
                    self.dir.display()
                ),
            )
            .with_source(e)
        };
        for n in 1..=MAX_NAMES {
            let name = match n {
                1 => format!("{}.{}", self.stem, self.ext),
                n => format!("{}-{n}.{}", self.stem, self.ext),
            };
            let to = self.dir.join(name);
            match move_new(&self.part, &to) {
                Ok(()) => return Ok(to),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Err(fail(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{MAX_NAMES} names starting with {} are taken", self.stem),
        )))
    }
}

/// Moves `from` to `to` only if `to` does not exist. A plain rename would silently replace
/// another render's video; a hard link fails instead when the name is taken.
fn move_new(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        // File systems without hard links (FAT, some network shares): a copy into a file that
        // only we can have created.
        Err(_) => copy_new(from, to)?,
    }
    if let Err(e) = std::fs::remove_file(from) {
        // The result is whole under its name; a leftover `.part` only costs space.
        tracing::warn!(part = %from.display(), "could not remove the finished download: {e}");
    }
    Ok(())
}

fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let copied = io::copy(&mut src, &mut dst).and_then(|_| dst.sync_all());
    if let Err(e) = copied {
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

/// The extension of the format the workflow asked for; the server's own name only when the
/// workflow does not say.
pub fn expected_extension(manifest: &Manifest, out: &OutputFile) -> String {
    let asked = manifest
        .workflow
        .get(&out.node)
        .and_then(|n| n.get("inputs"))
        .and_then(|i| i.get("format"))
        .and_then(Value::as_str);
    asked
        .and_then(format_extension)
        .or_else(|| out.format.as_deref().and_then(format_extension))
        .or_else(|| class_extension(manifest.class_of(&out.node)?))
        .or_else(|| {
            let (_, ext) = out.filename.rsplit_once('.')?;
            let ext = ext.to_ascii_lowercase();
            let plain =
                !ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric());
            plain.then_some(ext)
        })
        .unwrap_or_else(|| "bin".to_string())
}

/// `video/h264-mp4` -> `mp4`: VideoHelperSuite's formats end in their container; core ComfyUI's
/// `SaveVideo` names the container alone.
pub fn format_extension(format: &str) -> Option<String> {
    let tail = format.rsplit(['/', '-']).next()?.to_ascii_lowercase();
    let ext = match tail.as_str() {
        "prores" => "mov",
        "jpeg" => "jpg",
        "mp4" | "mov" | "webm" | "mkv" | "avi" | "gif" | "webp" | "png" | "jpg" | "flac"
        | "wav" | "mp3" => tail.as_str(),
        _ => return None,
    };
    Some(ext.to_string())
}

/// Core save nodes that have no `format` input write one format only.
fn class_extension(class: &str) -> Option<String> {
    let ext = match class {
        "SaveImage" | "SaveAnimatedPNG" => "png",
        "SaveAnimatedWEBP" => "webp",
        "SaveWEBM" => "webm",
        _ => return None,
    };
    Some(ext.to_string())
}

/// The workflow's name as one file-name word (`SteadyDancer`).
fn workflow_word(manifest: &Manifest) -> String {
    let word = plain(&manifest.name, 40);
    if word.is_empty() {
        "render".to_string()
    } else {
        word
    }
}

/// Letters, digits, `-` and `_` only (at most `max` of them): safe in any file system and in
/// ComfyUI's prefix, which treats `/` as a folder.
fn plain(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(max)
        .collect()
}

/// `2025-06-01` (UTC).
fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|_| "undated".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = r#"{
        "1": {"class_type": "VHS_VideoCombine", "inputs": {"filename_prefix": "SteadyDancer", "format": "video/h264-mp4"}},
        "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI"}}
    }"#;

    fn manifest() -> Manifest {
        let toml = r#"
            name = "Steady Dancer!"
            workflow = "w.json"
            [[outputs]]
            node = "1"
            prefix_field = "filename_prefix"
            [[outputs]]
            node = "2"
        "#;
        Manifest::from_strs(toml, WORKFLOW).expect("manifest")
    }

    fn out(node: &str, filename: &str, format: Option<&str>) -> OutputFile {
        OutputFile {
            node: node.into(),
            filename: filename.into(),
            subfolder: String::new(),
            kind: "output".into(),
            format: format.map(str::to_string),
            frame_rate: None,
        }
    }

    fn save_as(dir: &Path, id: &str) -> SaveAs {
        SaveAs {
            dir: dir.to_path_buf(),
            render_id: id.into(),
            created_unix: 1_748_736_000, // 2025-06-01
        }
    }

    // The workflow's name has a space and a `!`: one word of plain characters in file names.
    #[test]
    fn names_carry_the_workflow_the_date_and_the_render_and_the_asked_format() {
        let m = manifest();
        let s = save_as(Path::new("/out"), "1a2b3c4d-0000-4000-8000-000000000001");
        // The server calls it .webm; the workflow asked for H.264 MP4.
        let f = s.local_file(&m, &out("1", "SteadyDancer_00001.webm", None), 0);
        assert_eq!(f.stem, "Steady_Dancer_2025-06-01_1a2b3c4d");
        assert_eq!(f.ext, "mp4");
        assert_eq!(
            f.part,
            Path::new(
                "/out/Steady_Dancer_2025-06-01_1a2b3c4d.mp4.1a2b3c4d-0000-4000-8000-000000000001.part"
            )
        );
        let second = s.local_file(&m, &out("2", "ComfyUI_00001_.png", None), 1);
        assert_eq!(second.stem, "Steady_Dancer_2025-06-01_1a2b3c4d_2");
        assert_eq!(second.ext, "png");
        assert_eq!(
            s.server_prefix(&m),
            "Steady_Dancer_1a2b3c4d-0000-4000-8000-000000000001"
        );
    }

    #[test]
    fn a_prefix_field_must_be_a_text_input_of_the_output_node() {
        let with = |field: &str| {
            let toml = format!(
                "name = \"x\"\nworkflow = \"w.json\"\n[[outputs]]\nnode = \"1\"\nprefix_field = \"{field}\"\n"
            );
            let workflow = r#"{"1": {"class_type": "VHS_VideoCombine",
                "inputs": {"filename_prefix": "a", "crf": 19, "images": ["1", 0]}}}"#;
            Manifest::from_strs(&toml, workflow).map(|_| ())
        };
        assert!(with("filename_prefix").is_ok());
        let code = |field: &str| with(field).expect_err(field).code().to_string();
        assert_eq!(code("prefix"), "manifest.unknown_field");
        assert_eq!(code("images"), "manifest.unknown_field");
        assert_eq!(code("crf"), "manifest.invalid");
    }

    #[test]
    fn formats_map_to_their_container() {
        for (format, ext) in [
            ("video/h264-mp4", "mp4"),
            ("video/h265-mp4", "mp4"),
            ("video/vp9-webm", "webm"),
            ("video/ProRes", "mov"),
            ("image/gif", "gif"),
            ("image/webp", "webp"),
            ("mp4", "mp4"),
        ] {
            assert_eq!(format_extension(format).as_deref(), Some(ext), "{format}");
        }
        assert_eq!(format_extension("auto"), None);
    }

    #[test]
    fn the_prefix_goes_only_where_the_manifest_says() {
        let m = manifest();
        let mut prompt = Value::Object(m.workflow.clone());
        set_output_prefix(&m, &mut prompt, "SteadyDancer_job1");
        assert_eq!(
            prompt["1"]["inputs"]["filename_prefix"],
            "SteadyDancer_job1"
        );
        assert_eq!(prompt["2"]["inputs"]["filename_prefix"], "ComfyUI");
    }

    #[test]
    fn finishing_never_replaces_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = manifest();
        let o = out("1", "SteadyDancer_00001.mp4", None);
        let mut made = Vec::new();
        // Two renders whose short ids and dates agree: their names collide, their files may not.
        for (i, id) in ["1a2b3c4d-aaaa", "1a2b3c4d-bbbb", "1a2b3c4d-cccc"]
            .iter()
            .enumerate()
        {
            let f = save_as(dir.path(), id).local_file(&m, &o, 0);
            std::fs::write(&f.part, format!("render {i}")).expect("part");
            made.push(f.finish().expect("finish"));
        }
        let names: Vec<String> = made
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "Steady_Dancer_2025-06-01_1a2b3c4d.mp4",
                "Steady_Dancer_2025-06-01_1a2b3c4d-2.mp4",
                "Steady_Dancer_2025-06-01_1a2b3c4d-3.mp4"
            ]
        );
        for (i, p) in made.iter().enumerate() {
            assert_eq!(
                std::fs::read_to_string(p).expect("read"),
                format!("render {i}")
            );
        }
        let parts = std::fs::read_dir(dir.path())
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".part"))
            })
            .count();
        assert_eq!(parts, 0);
    }

    #[test]
    fn copying_into_a_taken_name_fails_and_keeps_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (from, to) = (dir.path().join("a.part"), dir.path().join("a.mp4"));
        std::fs::write(&from, "new").expect("write");
        std::fs::write(&to, "old").expect("write");
        let err = copy_new(&from, &to).expect_err("taken");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&to).expect("read"), "old");
    }
}

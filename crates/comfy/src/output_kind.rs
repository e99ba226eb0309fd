//! What an output node produces, known before anything is rented: a result the app cannot
//! verify would only be refused after the pod had billed its whole render.

use crate::errors::BAD_OUTPUT;
use crate::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;
use studio_error::{Error, Result};

/// An `[[outputs]]` node whose kind is neither declared nor known from its class, or whose
/// declared kind contradicts its class.
pub const MANIFEST_OUTPUT_KIND: &str = "manifest.output_kind";

/// What a result must decode as for the render to count as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Moving pictures: more than one frame, or a duration (MP4, WebM, GIF, animated PNG/WebP).
    Video,
    /// One still picture per file (PNG, JPEG, WebP).
    Image,
}

impl OutputKind {
    pub fn word(self) -> &'static str {
        match self {
            OutputKind::Video => "video",
            OutputKind::Image => "image",
        }
    }
}

/// Save nodes whose files are always moving pictures.
const VIDEO_CLASSES: &[&str] = &[
    "VHS_VideoCombine",
    "SaveVideo",
    "SaveWEBM",
    "SaveAnimatedWEBP",
    "SaveAnimatedPNG",
];

/// Save nodes whose files are always still pictures.
const IMAGE_CLASSES: &[&str] = &["SaveImage"];

/// The kind a node class is known to produce.
pub fn kind_of_class(class: &str) -> Option<OutputKind> {
    if VIDEO_CLASSES.contains(&class) {
        Some(OutputKind::Video)
    } else if IMAGE_CLASSES.contains(&class) {
        Some(OutputKind::Image)
    } else {
        None
    }
}

/// The kind of output node `node` of class `class`: the declared one, else the class's.
pub fn resolve(node: &str, class: &str, declared: Option<OutputKind>) -> Result<OutputKind> {
    match (declared, kind_of_class(class)) {
        (Some(d), Some(known)) if d != known => Err(Error::new(
            MANIFEST_OUTPUT_KIND,
            format!(
                "Output node {node} is a {class}, which saves {} files, but its [[outputs]] \
                 entry says kind = \"{}\". Write kind = \"{}\" (or leave kind out), or point the \
                 entry at a node that saves {}s.",
                known.word(),
                d.word(),
                known.word(),
                d.word()
            ),
        )),
        (Some(d), _) => Ok(d),
        (None, Some(known)) => Ok(known),
        (None, None) => Err(Error::new(
            MANIFEST_OUTPUT_KIND,
            format!(
                "Output node {node} is a {class}, and the app cannot tell what it saves, so it \
                 could not check the result until after the render had been paid for. Add \
                 kind = \"video\" or kind = \"image\" to its [[outputs]] entry (known save \
                 nodes: {}, {}).",
                VIDEO_CLASSES.join(", "),
                IMAGE_CLASSES.join(", ")
            ),
        )),
    }
}

/// The one kind every output has, or `None` when the outputs differ (each file is then
/// accepted as either).
pub fn common_kind(kinds: impl IntoIterator<Item = OutputKind>) -> Option<OutputKind> {
    let mut kinds = kinds.into_iter();
    let first = kinds.next()?;
    kinds.all(|k| k == first).then_some(first)
}

/// Checks that a downloaded file is what its output node promised, from its first bytes: a
/// still picture where the manifest says `image`. (Videos are checked by their container in
/// `verify_download`, and decoded by the job engine.)
pub(crate) fn check_file(manifest: &Manifest, node: &str, path: &Path) -> Result<()> {
    let kind = manifest
        .outputs
        .iter()
        .find(|o| o.node == node)
        .and_then(|o| o.kind);
    if kind != Some(OutputKind::Image) {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io("read the download", e))?;
    if is_picture(&head[..n]) {
        return Ok(());
    }
    Err(Error::new(
        BAD_OUTPUT,
        format!(
            "The downloaded {} from output node {node} is not a picture (PNG, JPEG, WebP, GIF \
             or BMP), though the manifest says kind = \"image\"; check the node, then render \
             again.",
            path.display()
        ),
    ))
}

/// The signatures of the picture formats ComfyUI's image nodes write.
pub fn is_picture(head: &[u8]) -> bool {
    head.starts_with(b"\x89PNG\r\n\x1a\n")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || (head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP".as_slice()))
        || head.starts_with(b"GIF8")
        || head.starts_with(b"BM")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_give_their_kind_and_a_declared_kind_must_agree() {
        assert_eq!(
            resolve("1", "SaveAnimatedPNG", None).ok(),
            Some(OutputKind::Video)
        );
        assert_eq!(
            resolve("1", "SaveImage", None).ok(),
            Some(OutputKind::Image)
        );
        assert_eq!(
            resolve("1", "MyNode", Some(OutputKind::Image)).ok(),
            Some(OutputKind::Image)
        );
        let e = resolve("1", "SaveImage", Some(OutputKind::Video)).expect_err("contradiction");
        assert_eq!(e.code(), MANIFEST_OUTPUT_KIND);
        let e = resolve("7", "MyNode", None).expect_err("unknown");
        assert!(e.message().contains("kind = \"video\""), "{}", e.message());
        assert!(e.message().contains("Output node 7"), "{}", e.message());
    }

    #[test]
    fn a_common_kind_only_when_all_agree() {
        use OutputKind::{Image, Video};
        assert_eq!(common_kind([Video, Video]), Some(Video));
        assert_eq!(common_kind([Video, Image]), None);
        assert_eq!(common_kind([]), None);
    }
}

//! What goes to the pod carries nothing about the user but the pictures: the photo is a fresh
//! JPEG named `photo.jpg`, without the original name or any metadata.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Recorder, rig};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uploaded_photo_is_a_clean_copy_under_a_neutral_name() {
    let rig = rig(2, Duration::from_millis(5)).await;
    let engine = rig.engine();
    let spec = rig.spec(studio_jobs::Target::ComfyUrl {
        url: rig.comfy.url().to_string(),
    });
    let job = engine.submit(&spec, None).unwrap();
    engine
        .run(
            &job.id,
            CancellationToken::new(),
            Recorder::default().sink(),
        )
        .await
        .unwrap();
    let names: Vec<String> = std::fs::read_dir(rig.comfy.input_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("me")),
        "original name leaked: {names:?}"
    );
    let photo = names
        .iter()
        .find(|n| n.starts_with("photo"))
        .expect("photo uploaded");
    let bytes = std::fs::read(rig.comfy.input_dir().join(photo)).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!has(b"Exif") && !has(b"xmpmeta"), "no metadata");
}

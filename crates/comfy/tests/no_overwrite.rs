//! A fresh server names its first result like every other fresh server does; the client must
//! still keep each render apart: its own file, and no `.part` from another render resumed.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use studio_comfy::{CancellationToken, render};

#[tokio::test]
async fn two_renders_on_fresh_servers_into_one_folder_keep_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let out_dir = dir.path().join("out");
    let mut made = Vec::new();
    let mut server_names = Vec::new();
    for _ in 0..2 {
        let server = standin().await;
        let out = render(
            &client(server.url()),
            &manifest(),
            &request(&photo, &video),
            &out_dir,
            |_| {},
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let path = out.files[0].path.clone();
        made.push((path.clone(), std::fs::read(&path).unwrap()));
        server_names.push(
            only_video(server.output_dir())
                .file_name()
                .unwrap()
                .to_owned(),
        );
    }
    // Each server was asked for a prefix of the render's own, not the workflow's shared one.
    assert_ne!(server_names[0], server_names[1]);
    for name in &server_names {
        let name = name.to_string_lossy();
        assert!(
            name.starts_with("SteadyDancer_") && name.ends_with("_00001.mp4"),
            "{name}"
        );
        assert_ne!(name, "SteadyDancer_00001.mp4");
    }
    assert_ne!(made[0].0, made[1].0, "each render has its own file");
    for (path, bytes) in &made {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
        assert_eq!(path.extension().unwrap(), "mp4");
    }
}

#[tokio::test]
async fn a_part_file_left_by_another_render_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (photo, video) = media(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    let first = standin().await;
    // Another size, so that a splice of the two would not pass for the second video.
    let mut narrow = request(&photo, &video);
    narrow.params.insert("width".into(), 320.into());
    let other = render(
        &client(first.url()),
        &manifest(),
        &narrow,
        &elsewhere,
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();

    // What a download of the first render left when it was cut: the head of its video under
    // the name the server gave it, which the next fresh server gives its own result too.
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let server_name = only_video(first.output_dir());
    let stale = out_dir.join(format!(
        "{}.part",
        server_name.file_name().unwrap().to_string_lossy()
    ));
    let head = std::fs::read(&other.files[0].path).unwrap()[..600].to_vec();
    std::fs::write(&stale, &head).unwrap();

    let second = standin().await;
    let out = render(
        &client(second.url()),
        &manifest(),
        &request(&photo, &video),
        &out_dir,
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(&out.files[0].path).unwrap(),
        std::fs::read(only_video(second.output_dir())).unwrap(),
        "the result is the second server's file, not spliced onto another render's"
    );
    assert_eq!(second.ranged_downloads(), 0, "nothing was resumed");
    assert_eq!(std::fs::read(&stale).unwrap(), head, "not ours to touch");
}

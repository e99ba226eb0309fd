//! The README tells users where their data lives; it must name the folder the app really uses.
#![allow(clippy::unwrap_used)]

#[test]
#[cfg(target_os = "linux")]
fn readme_names_the_data_folder() {
    let dir = studio_core::paths::platform_data_dir().unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let named = format!("`~/.local/share/{name}`");
    assert!(
        readme.contains(&named),
        "the README should name the Linux data folder as {named}"
    );
    assert!(
        !readme.contains("~/.local/share/SteadyDancer Studio"),
        "the README names a data folder the app does not use"
    );
}

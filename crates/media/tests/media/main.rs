//! Integration tests of studio-media against real files generated with the `ffmpeg` command.
#![allow(clippy::unwrap_used)]

mod checks;
mod fixtures;
mod frames;
mod hostile;
mod huge_png;
mod metadata;
mod normalise;
mod probe;
mod thumbnail;
mod video_writer;

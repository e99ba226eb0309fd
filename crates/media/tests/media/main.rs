//! Integration tests of studio-media against real files generated with the `ffmpeg` command.
#![allow(clippy::unwrap_used)]

mod checks;
mod fixtures;
mod frames;
mod normalise;
mod probe;
mod thumbnail;
mod video_writer;

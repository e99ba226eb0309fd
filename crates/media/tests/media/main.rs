//! Integration tests of studio-media against real files generated with the `ffmpeg` command.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod probe;
mod thumbnail;

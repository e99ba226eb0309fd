//! One app per data folder: a second copy is refused with a clear message after a short wait,
//! and gets in once the first is gone.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};
use studio_app::instance::{ALREADY_RUNNING, acquire};

#[test]
fn a_second_copy_is_refused_until_the_first_is_gone() {
    let data = tempfile::tempdir().unwrap();
    let first = acquire(data.path(), Duration::ZERO).unwrap();

    let started = Instant::now();
    let err = acquire(data.path(), Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.code(), ALREADY_RUNNING);
    assert!(err.message().contains("already open"), "{}", err.message());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited first"
    );

    // A copy that is just ending (as when a window closes and reopens at once) is waited for.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(first);
    });
    let second = acquire(data.path(), Duration::from_secs(5)).unwrap();
    releaser.join().unwrap();
    drop(second);

    // Another data folder is another app.
    let other = tempfile::tempdir().unwrap();
    let _a = acquire(data.path(), Duration::ZERO).unwrap();
    let _b = acquire(other.path(), Duration::ZERO).unwrap();
}

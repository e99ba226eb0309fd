//! A panic in a render's steps (a bug in a backend, a decoder, an event sink) must not skip
//! the finish step: the pod would keep billing and the job stay "running" forever. Steps run
//! under `catch_panic`, which turns the panic into an error the finish step settles like any
//! other.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;
use studio_error::{Error, Result};

pub const PANICKED: &str = "jobs.panicked";

/// Runs `fut`; a panic while it is polled becomes a `jobs.panicked` error.
pub(crate) async fn catch_panic<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        // The future is never polled again after a panic, so no broken state is observed.
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(panicked(payload.as_ref()))),
        }
    })
    .await
}

/// Runs `f`; a panic becomes `None` (logged), for calls whose failure must not stop clean-up.
pub(crate) fn ignore_panic<T>(what: &str, f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f))
        .inspect_err(|p| tracing::error!(what, panic = %message(p.as_ref()), "a call panicked"))
        .ok()
}

fn panicked(payload: &(dyn Any + Send)) -> Error {
    let detail = message(payload);
    tracing::error!(panic = %detail, "a render step panicked");
    Error::new(
        PANICKED,
        "The render stopped on an internal error; its pod was terminated. Render again, and \
         if it happens again send the app's log (logs folder) with a bug report.",
    )
    .with_source(std::io::Error::other(detail))
}

fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

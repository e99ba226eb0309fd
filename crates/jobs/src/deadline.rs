//! Deadlines for the transfer stages. The HTTP client bounds each read and resumes stalls;
//! this bounds the stage as a whole, so that no server, however it misbehaves, keeps a job
//! (and its pod's meter) running past what its files take at the slowest speed we wait for.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use studio_error::{Error, Result};
use tokio::time::Instant;

pub const STAGE_DEADLINE: &str = "jobs.stage_deadline";

/// A stage's deadline: a margin plus its bytes at the slowest speed, growing as downloads
/// learn their sizes.
#[derive(Debug)]
pub(crate) struct TransferClock {
    started: Instant,
    margin: Duration,
    min_bytes_per_sec: u64,
    /// The largest size seen per file (its total, else what has arrived).
    bytes: Mutex<BTreeMap<String, u64>>,
}

impl TransferClock {
    pub fn new(margin: Duration, min_bytes_per_sec: u64) -> Self {
        Self {
            started: Instant::now(),
            margin,
            min_bytes_per_sec: min_bytes_per_sec.max(1),
            bytes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records what a progress report says about `file`.
    pub fn saw(&self, file: &str, done: u64, total: Option<u64>) {
        let size = total.unwrap_or(0).max(done);
        let mut bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let known = bytes.entry(file.to_string()).or_default();
        *known = (*known).max(size);
    }

    pub fn bytes(&self) -> u64 {
        let bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        bytes.values().sum()
    }

    pub fn allowed(&self) -> Duration {
        self.margin + Duration::from_secs_f64(self.bytes() as f64 / self.min_bytes_per_sec as f64)
    }

    /// Runs `work` until it ends or the deadline, re-read whenever it would fire, passes.
    pub async fn bound<T>(
        &self,
        what: &str,
        pod: bool,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::pin!(work);
        loop {
            let deadline = self.started + self.allowed();
            tokio::select! {
                r = &mut work => return r,
                () = tokio::time::sleep_until(deadline) => {
                    if Instant::now() >= self.started + self.allowed() {
                        return Err(self.missed(what, pod));
                    }
                }
            }
        }
    }

    fn missed(&self, what: &str, pod: bool) -> Error {
        let then = if pod {
            "it was stopped and the pod shut down; what the render cost is shown with the job"
        } else {
            "it was stopped"
        };
        Error::new(
            STAGE_DEADLINE,
            format!(
                "The {what} was still unfinished after {} ({:.1} MB at no less than {:.0} kB/s, \
                 plus {} s); {then}. Check the connection and render again.",
                span(self.allowed()),
                self.bytes() as f64 / 1e6,
                self.min_bytes_per_sec as f64 / 1e3,
                self.margin.as_secs()
            ),
        )
    }
}

/// "3 min 20 s" or "40 s".
fn span(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_grows_with_the_sizes_it_learns() {
        let clock = TransferClock::new(Duration::from_millis(50), 1_000_000);
        clock.saw("a", 0, Some(50_000));
        clock.saw("a", 20_000, Some(50_000));
        clock.saw("b", 30_000, None);
        assert_eq!(clock.bytes(), 80_000);
        assert_eq!(clock.allowed(), Duration::from_millis(130));
        let err = clock
            .bound(
                "download of the result",
                true,
                std::future::pending::<Result<()>>(),
            )
            .await
            .expect_err("deadline");
        assert_eq!(err.code(), STAGE_DEADLINE);
        assert!(err.message().contains("pod shut down"), "{}", err.message());
        assert!(clock.started.elapsed() >= Duration::from_millis(130));
    }
}

//! The system asks the app to end: log-out, shut-down, `kill`, a closed terminal. Without a
//! handler the process dies on the spot and a running pod keeps billing until the next start's
//! sweep; with one, the shell runs the same clean-up as a confirmed quit first.

/// Resolves with the signal's name when the system asks the process to end. Once this has been
/// called the default "die at once" is gone for good: a second request while the pods are being
/// terminated does not cut the clean-up short (SIGKILL still does).
pub async fn termination_requested() -> &'static str {
    imp::first().await
}

#[cfg(unix)]
mod imp {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    fn listen(kind: SignalKind, name: &str) -> Option<Signal> {
        signal(kind)
            .inspect_err(|e| tracing::warn!(signal = name, "cannot listen for {name}: {e}"))
            .ok()
    }

    async fn next(s: &mut Option<Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }

    pub async fn first() -> &'static str {
        let mut term = listen(SignalKind::terminate(), "SIGTERM");
        let mut hup = listen(SignalKind::hangup(), "SIGHUP");
        let mut int = listen(SignalKind::interrupt(), "SIGINT");
        tokio::select! {
            _ = next(&mut term) => "SIGTERM",
            _ = next(&mut hup) => "SIGHUP",
            _ = next(&mut int) => "SIGINT",
        }
    }
}

#[cfg(windows)]
mod imp {
    use tokio::signal::windows;

    pub async fn first() -> &'static str {
        let mut c = windows::ctrl_c().ok();
        let mut close = windows::ctrl_close().ok();
        let mut shutdown = windows::ctrl_shutdown().ok();
        let mut logoff = windows::ctrl_logoff().ok();
        // A branch whose listener could not be made yields `None` and is disabled.
        tokio::select! {
            Some(()) = async { c.as_mut()?.recv().await } => "CTRL_C",
            Some(()) = async { close.as_mut()?.recv().await } => "CTRL_CLOSE",
            Some(()) = async { shutdown.as_mut()?.recv().await } => "CTRL_SHUTDOWN",
            Some(()) = async { logoff.as_mut()?.recv().await } => "CTRL_LOGOFF",
            else => std::future::pending::<&'static str>().await,
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    pub async fn first() -> &'static str {
        std::future::pending().await
    }
}

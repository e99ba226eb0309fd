//! Log-out, shut-down and `kill` reach the app as signals; each one must be heard (so the shell
//! can terminate pods first) and must not end the process on the spot. This binary holds only
//! this test: it signals its own process.
#![cfg(unix)]

use std::pin::pin;
use std::time::Duration;

#[tokio::test]
async fn each_ending_signal_is_heard_and_does_not_kill_the_process() {
    for (flag, name) in [("-TERM", "SIGTERM"), ("-HUP", "SIGHUP"), ("-INT", "SIGINT")] {
        let mut heard = pin!(studio_core::signals::termination_requested());
        // The first poll installs the handlers; nothing has been sent yet.
        let early = tokio::time::timeout(Duration::from_millis(50), heard.as_mut()).await;
        assert!(
            early.is_err(),
            "{name}: resolved before any signal was sent"
        );

        let status = std::process::Command::new("kill")
            .args([flag, &std::process::id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {flag} failed");

        let got = tokio::time::timeout(Duration::from_secs(5), heard)
            .await
            .unwrap_or_else(|_| panic!("{name} was not heard within 5 s"));
        assert_eq!(got, name);
    }
}

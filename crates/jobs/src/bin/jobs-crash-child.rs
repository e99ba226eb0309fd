//! A render in its own process, for the SIGKILL test (`tests/sigkill.rs`): it prints every
//! event as a JSON line and, at the stage named by `CRASH_CHILD_HANG_AT`, stops making progress
//! so the test can kill it there with SIGKILL. With `CRASH_CHILD_BATCH=n` it runs a batch of n
//! copies instead (`tests/batch_crash.rs`). Not shipped; `studio render` is the real front
//! end (the test can move to it once its pod path exists).
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use studio_error::{Error, Result, Sensitive};
use studio_jobs::{BatchControl, BatchSpec, EngineConfig, JobEvent, JobSpec, RunPodSetup};
use studio_pods::{Deadlines, LifecycleConfig, PodSpec};
use tokio_util::sync::CancellationToken;
use url::Url;

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| Error::new("child.env", format!("{name} is not set")))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.chain());
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let data = PathBuf::from(env("CRASH_CHILD_DATA_DIR")?);
    let api = Url::parse(&env("CRASH_CHILD_RUNPOD_URL")?)
        .map_err(|e| Error::internal("bad URL").with_source(e))?;
    let client = studio_runpod::RunPodClient::with_policy(
        api,
        Sensitive::new(env("CRASH_CHILD_RUNPOD_KEY")?),
        studio_runpod::RetryPolicy::fast(),
    )?;
    let lifecycle = LifecycleConfig {
        poll_interval: Duration::from_millis(25),
        deadlines: Deadlines {
            provisioning: Duration::from_secs(5),
            container: Duration::from_secs(5),
            comfy: Duration::from_secs(5),
            models: Duration::from_secs(5),
        },
        terminate_timeout: Duration::from_secs(5),
        ..LifecycleConfig::new(env("CRASH_CHILD_POD_TEMPLATE")?)
    };
    let mut config = EngineConfig::new(data.join("work"));
    config.poll = Duration::from_millis(25);
    config.cost_tick = Duration::from_millis(50);
    config.pod_check = Duration::from_millis(200);
    let setup = RunPodSetup {
        client,
        lifecycle,
        spec: PodSpec::default(),
    };
    let engine = studio_jobs::open_engine_with(
        &data,
        Some(setup),
        config,
        studio_comfy::ClientConfig::fast(),
    )?;
    let spec: JobSpec = serde_json::from_str(&env("CRASH_CHILD_SPEC")?)
        .map_err(|e| Error::internal("bad spec").with_source(e))?;
    let hang_at = std::env::var("CRASH_CHILD_HANG_AT").unwrap_or_default();
    let sink = Arc::new(move |e: JobEvent| {
        let line = serde_json::to_string(&e).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        drop(out);
        if matches!(&e, JobEvent::Stage { stage, .. } if stage.as_str() == hang_at) {
            // Hold this worker where the journal says `hang_at`; the test kills the process.
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
    });
    // A batch of `CRASH_CHILD_BATCH` copies of the spec (one pod at a time), for the queue's
    // crash test; its id is the first line printed.
    if let Ok(n) = std::env::var("CRASH_CHILD_BATCH") {
        let n: usize = n
            .parse()
            .map_err(|_| Error::new("child.env", "CRASH_CHILD_BATCH is not a number"))?;
        let batch = engine.submit_batch(
            &BatchSpec {
                renders: vec![spec; n],
                max_pods: 1,
                budget_usd: None,
            },
            None,
        )?;
        println!("{}", serde_json::json!({ "batchId": batch.id }));
        return engine
            .run_batch(&batch.id, BatchControl::default(), sink)
            .await
            .map(|_| ());
    }
    engine
        .render(&spec, None, CancellationToken::new(), sink)
        .await
        .map(|_| ())
}

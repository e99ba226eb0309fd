//! App overhead per render with zero-delay stand-ins (printed figures, not a timed test):
//! total time minus the stand-ins' own time (the stand-in ComfyUI's execution, from queued to
//! done). Run with `cargo bench -p studio-jobs --bench overhead`. Target: under 1 s.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use studio_jobs::Stage;
use tokio_util::sync::CancellationToken;

const RENDERS: usize = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let zero = standin_runpod::Timings {
            provisioning: Duration::ZERO,
            starting: Duration::ZERO,
            runtime_null: Duration::ZERO,
            comfy_ready: Duration::ZERO,
        };
        let rig = common::rig_with(4, Duration::ZERO, zero).await;
        let engine = rig.engine();
        let mut per_stage: BTreeMap<Stage, Duration> = BTreeMap::new();
        let (mut total, mut standin) = (Duration::ZERO, Duration::ZERO);
        for n in 0..RENDERS {
            let rec = common::Recorder::default();
            let began = Instant::now();
            let outcome = engine.render(&rig.new_pod(), None, CancellationToken::new(), rec.sink()).await.unwrap();
            let took = began.elapsed();
            let job = outcome.job;
            let mut server = Duration::ZERO;
            for s in &job.stages {
                let d = Duration::from_millis(s.duration_ms(s.started_ms).max(0) as u64);
                *per_stage.entry(s.stage).or_default() += d;
                if matches!(s.stage, Stage::QueuedOnComfy | Stage::Generating) {
                    server += d;
                }
            }
            println!("render {n}: total {took:?}, stand-in execution {server:?}, overhead {:?}", took - server);
            total += took;
            standin += server;
        }
        let n = RENDERS as u32;
        println!("\nmean per render over {RENDERS} renders (zero-delay stand-ins, 1.5 s 480x832 dance clip):");
        for (stage, d) in &per_stage {
            println!("  {:<22} {:>8.1} ms", stage.label(), d.as_secs_f64() * 1000.0 / f64::from(n));
        }
        let normalising = per_stage.get(&Stage::Normalising).copied().unwrap_or_default();
        let overhead = (total - standin) / n;
        println!("  total                  {:>8.1} ms", total.as_secs_f64() * 1000.0 / f64::from(n));
        println!("  stand-in's own time    {:>8.1} ms", standin.as_secs_f64() * 1000.0 / f64::from(n));
        println!("  app overhead           {:>8.1} ms (of which local normalising {:.1} ms)", overhead.as_secs_f64() * 1000.0, (normalising / n).as_secs_f64() * 1000.0);
        println!("  target: under 1000 ms -> {}", if overhead < Duration::from_secs(1) { "met" } else { "NOT met" });
        assert_eq!(rig.runpod.pods_billing(), 0);
    });
}

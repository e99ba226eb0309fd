//! Upload and download throughput of the client against a local stand-in ComfyUI, compared with
//! `curl` in the same run, and the client's peak memory growth. Not a timed test; run with
//! `cargo bench -p studio-comfy --bench transfer` (size: `TRANSFER_BENCH_MB`, default 1024).
//!
//! The server runs in a child process (this same binary, re-executed) so that the memory
//! figures are the client's alone.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use studio_comfy::{ClientConfig, ComfyClient, LocalFile, OutputFile};

const SERVER_ENV: &str = "TRANSFER_BENCH_SERVE_DIR";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(dir) = std::env::var_os(SERVER_ENV) {
        rt.block_on(serve(PathBuf::from(dir)));
        return;
    }
    rt.block_on(bench());
}

async fn serve(dir: PathBuf) {
    let config = standin_comfy::StandinConfig {
        max_upload_bytes: u64::MAX / 2,
        data_dir: Some(dir),
        ..Default::default()
    };
    let server = standin_comfy::StandinComfy::start(config)
        .await
        .expect("server starts");
    println!("{}", server.url());
    // Serve until the parent closes our stdin.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
}

/// Peak and current resident memory of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn make_file(path: &Path, mb: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..mb {
        // Cheap pseudo-random bytes so no layer can compress them away.
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        block[0] = i as u8;
        f.write_all(&block).expect("write");
    }
    f.flush().expect("flush");
}

/// Flushes dirty pages so one transfer does not pay for the previous one's writeback.
fn settle() {
    let _ = Command::new("sync").status();
}

fn curl(args: &[&str]) -> f64 {
    settle();
    let t = Instant::now();
    let status = Command::new("curl")
        .args(["-s", "-S", "-f"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("curl runs");
    assert!(status.success(), "curl {args:?} failed");
    t.elapsed().as_secs_f64()
}

async fn bench() {
    let mb: usize = std::env::var("TRANSFER_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("big.mp4");
    make_file(&source, mb);
    let bytes = (mb as f64) * 1024.0 * 1024.0;

    let server_dir = dir.path().join("server");
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env(SERVER_ENV, &server_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("server prints its URL");
    let url = url.trim().to_string();
    let config = ClientConfig {
        max_upload_bytes: u64::MAX,
        ..ClientConfig::default()
    };
    let client = ComfyClient::with_config(&url, config).expect("client");
    client.system_stats().await.expect("server answers");

    let (_, rss_before) = memory_kib();
    let out = OutputFile {
        node: "83".into(),
        filename: "big.mp4".into(),
        subfolder: String::new(),
        kind: "output".into(),
        format: None,
        frame_rate: None,
    };
    let view = format!("{url}/view?filename=big.mp4&type=output");
    let form = format!("image=@{}", source.display());
    let down_dir = dir.path().join("down");
    let save = LocalFile {
        dir: down_dir.clone(),
        stem: "big".into(),
        ext: "mp4".into(),
        part: down_dir.join("big.mp4.bench.part"),
    };
    let curl_out = dir.path().join("curl.out").display().to_string();
    // Interleaved rounds, best of each: the machine is shared, so single runs are noisy.
    let rounds: usize = std::env::var("TRANSFER_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (mut up_client, mut up_curl, mut down_client, mut down_curl) =
        (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        settle();
        let t = Instant::now();
        let uploaded = client.upload(&source, |_, _| {}).await.expect("upload");
        up_client = up_client.min(t.elapsed().as_secs_f64());
        // The uploaded copy becomes an "output" for the download half.
        std::fs::rename(
            server_dir.join("input").join(&uploaded.name),
            server_dir.join("output/big.mp4"),
        )
        .expect("move");
        up_curl = up_curl.min(curl(&[
            "-F",
            &form,
            "-F",
            "overwrite=true",
            &format!("{url}/upload/image"),
        ]));

        settle();
        let t = Instant::now();
        let got = client
            .download(&out, &save, |_, _| {})
            .await
            .expect("download");
        down_client = down_client.min(t.elapsed().as_secs_f64());
        assert_eq!(
            std::fs::metadata(&got).expect("downloaded").len(),
            bytes as u64
        );
        std::fs::remove_file(&got).expect("remove");
        down_curl = down_curl.min(curl(&["-o", &curl_out, &view]));
        std::fs::remove_file(&curl_out).expect("remove");
    }
    let (peak, _) = memory_kib();
    drop(child.stdin.take());
    let _ = child.wait();

    let mbps = |secs: f64| bytes / secs / 1e6;
    println!("transfer of {mb} MiB against a local stand-in ComfyUI, best of {rounds} rounds");
    println!(
        "  upload:   client {:8.1} MB/s   curl {:8.1} MB/s   ratio {:.2}",
        mbps(up_client),
        mbps(up_curl),
        up_curl / up_client
    );
    println!(
        "  download: client {:8.1} MB/s   curl {:8.1} MB/s   ratio {:.2}",
        mbps(down_client),
        mbps(down_curl),
        down_curl / down_client
    );
    println!(
        "  client peak memory growth: {:.1} MiB (peak RSS {:.1} MiB)",
        peak.saturating_sub(rss_before) as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

//! How a ComfyUI client behaves: timeouts, retries, the slowest transfer waited for, and the
//! caps on what a server may send. Defaults suit a real server behind the RunPod proxy.

use std::time::Duration;

/// Knobs with defaults for a real server behind the RunPod proxy; tests shorten the delays.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// ComfyUI refuses uploads over its `--max-upload-size` (100 MB by default).
    pub max_upload_bytes: u64,
    /// Timeout for small JSON requests (not uploads or downloads).
    pub request_timeout: Duration,
    /// Connection timeout for every request.
    pub connect_timeout: Duration,
    /// Retries for idempotent requests after a connection error, 502/503/504 or 524.
    pub retries: u32,
    pub retry_delay: Duration,
    /// How often `/history` is read while the websocket is down.
    pub history_poll: Duration,
    /// How often `/history` is read even while the websocket is up (a silent socket).
    pub history_check: Duration,
    pub reconnect_delay: Duration,
    /// Longest wait for the answer's headers and then for each read of its body: a connection
    /// that stalls without a reset (Wi-Fi roaming, a NAT timeout, a proxy that stops sending)
    /// must end while a pod bills. Longer than `stall_timeout`, so that the transfers' own
    /// detector, which can say what stalled and resume, speaks first.
    pub read_timeout: Duration,
    /// A transfer that moves no byte for this long has stalled: a download resumes with a range
    /// request, an upload starts again.
    pub stall_timeout: Duration,
    /// The slowest transfer the app waits for; with `transfer_margin` it sizes each transfer's
    /// deadline from its file size.
    pub min_transfer_bytes_per_sec: u64,
    pub transfer_margin: Duration,
    /// Attempts per upload (stalls, dropped connections); sending again is safe because ComfyUI
    /// renames a duplicate instead of replacing the file.
    pub upload_attempts: u32,
    /// The most one output file may be, whatever the workflow's size suggests (see `limits`).
    pub max_output_bytes: u64,
    /// The most output files one render may list.
    pub max_output_files: usize,
    /// Bits per pixel no output format exceeds (24 is uncompressed RGB), for the per-file cap
    /// from frames x width x height.
    pub output_bits_per_pixel: u64,
    /// Container, audio and metadata allowance on top of the pixels.
    pub output_overhead_bytes: u64,
    /// Free space that must remain on the output folder's disk once a download is whole.
    pub min_free_disk_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 100 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 4,
            retry_delay: Duration::from_secs(1),
            history_poll: Duration::from_secs(2),
            history_check: Duration::from_secs(15),
            reconnect_delay: Duration::from_secs(2),
            read_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(30),
            min_transfer_bytes_per_sec: 100_000,
            transfer_margin: Duration::from_secs(60),
            upload_attempts: 3,
            max_output_bytes: 16 << 30,
            max_output_files: 32,
            output_bits_per_pixel: 24,
            output_overhead_bytes: 64 << 20,
            min_free_disk_bytes: 256 << 20,
        }
    }
}

impl ClientConfig {
    /// Short delays for tests against a local server.
    pub fn fast() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            retries: 3,
            retry_delay: Duration::from_millis(20),
            history_poll: Duration::from_millis(30),
            history_check: Duration::from_millis(500),
            reconnect_delay: Duration::from_millis(30),
            read_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(1),
            transfer_margin: Duration::from_secs(5),
            ..Self::default()
        }
    }
}

impl ClientConfig {
    /// How long a transfer of `bytes` may take: the margin plus the bytes at the slowest speed
    /// waited for.
    pub fn transfer_deadline(&self, bytes: u64) -> Duration {
        let secs = bytes as f64 / self.min_transfer_bytes_per_sec.max(1) as f64;
        self.transfer_margin + Duration::from_secs_f64(secs)
    }

    pub(crate) fn upload_read_timeout(&self) -> Duration {
        self.read_timeout
            .max(self.transfer_deadline(self.max_upload_bytes.min(u64::MAX / 2)))
    }
}

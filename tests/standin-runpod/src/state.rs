//! Pods of the stand-in: status derived from the clock, and the billing clock tests read.

use crate::catalog;
use crate::faults::Faults;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long each phase of a pod's life takes. Short defaults keep tests fast.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub provisioning: Duration,
    pub starting: Duration,
    /// RUNNING is reported with `runtime: null` for this long (as v2 does).
    pub runtime_null: Duration,
    /// ComfyUI answers through the proxy this long after RUNNING.
    pub comfy_ready: Duration,
}

impl Timings {
    pub fn fast() -> Self {
        Self {
            provisioning: Duration::from_millis(150),
            starting: Duration::from_millis(150),
            runtime_null: Duration::from_millis(200),
            comfy_ready: Duration::from_millis(300),
        }
    }

    /// For driving the UI by hand: slow enough to watch each stage.
    pub fn demo() -> Self {
        Self {
            provisioning: Duration::from_secs(4),
            starting: Duration::from_secs(4),
            runtime_null: Duration::from_secs(3),
            comfy_ready: Duration::from_secs(6),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub request: Value,
    pub gpu_id: String,
    pub gpu_count: u32,
    pub cloud: String,
    /// USD per hour, fixed at create from the catalog.
    pub rate: f64,
    pub created: Instant,
    pub created_at: OffsetDateTime,
    pub ended: Option<Instant>,
    /// When a termination that lingers takes effect; until then the pod runs and bills.
    pub ends_at: Option<Instant>,
    /// Why billing stopped: "terminated" by the API, or "vanished" (spot reclaim).
    pub end_reason: Option<&'static str>,
    pub stopped: bool,
    pub never_ready: bool,
    pub vanish_after: Option<Duration>,
    /// What the pod prints while it starts, and when a bootstrap lets ComfyUI answer.
    pub boot: crate::boot::Boot,
}

/// One line of the billing clock.
#[derive(Debug, Clone, Serialize)]
pub struct BillingEntry {
    pub id: String,
    pub name: String,
    pub gpu_id: String,
    pub rate_per_hour: f64,
    pub seconds: f64,
    pub cost_usd: f64,
    /// True while the pod still costs money.
    pub billing: bool,
    pub end_reason: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub pods: Vec<PodRecord>,
    pub faults: Faults,
    pub next_id: u64,
    pub volumes: Vec<crate::volumes::VolumeRecord>,
    /// Every whole log event sent, as (pod id, sequence number), over all connections.
    pub log_served: Vec<(String, u64)>,
    /// What every create body must carry, when a test set it.
    pub pod_contract: Option<crate::PodContract>,
}

impl PodRecord {
    /// Applies a spot reclaim whose time has come; called before every read.
    pub fn settle(&mut self, now: Instant) {
        if self.ended.is_none()
            && let Some(after) = self.vanish_after
            && now >= self.created + after
        {
            self.ended = Some(self.created + after);
            self.end_reason = Some("vanished");
        }
        if self.ended.is_none()
            && let Some(at) = self.ends_at
            && now >= at
        {
            self.ended = Some(at);
            self.end_reason = Some("terminated");
        }
    }

    pub fn is_gone(&self) -> bool {
        self.ended.is_some()
    }

    fn since_created(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.created)
    }

    pub fn status(&self, t: &Timings, now: Instant) -> &'static str {
        if self.ended.is_some() {
            return "TERMINATED";
        }
        if self.stopped {
            return "EXITED";
        }
        let age = self.since_created(now);
        if age < t.provisioning {
            "PROVISIONING"
        } else if age < t.provisioning + t.starting {
            "STARTING"
        } else {
            "RUNNING"
        }
    }

    fn running_for(&self, t: &Timings, now: Instant) -> Option<Duration> {
        if self.ended.is_some() || self.stopped {
            return None;
        }
        self.since_created(now)
            .checked_sub(t.provisioning + t.starting)
    }

    /// Whether the pod's ComfyUI answers through the proxy right now.
    pub fn comfy_up(&self, t: &Timings, now: Instant) -> bool {
        if self.never_ready || self.boot.never_ready {
            return false;
        }
        match self.boot.comfy_at {
            Some(at) => self.running_for(t, now).is_some() && self.since_created(now) >= at,
            None => self.running_for(t, now).is_some_and(|d| d >= t.comfy_ready),
        }
    }

    /// The pod's log lines printed by `now`.
    pub fn log_printed(&self, now: Instant) -> usize {
        let age = self.since_created(now);
        self.boot.lines.partition_point(|l| l.at <= age)
    }

    pub fn billing(&self, now: Instant) -> BillingEntry {
        let end = self.ended.unwrap_or(now);
        let seconds = end.saturating_duration_since(self.created).as_secs_f64();
        BillingEntry {
            id: self.id.clone(),
            name: self.name.clone(),
            gpu_id: self.gpu_id.clone(),
            rate_per_hour: self.rate,
            seconds,
            cost_usd: seconds * self.rate / 3600.0,
            billing: self.ended.is_none(),
            end_reason: self.end_reason.map(str::to_string),
        }
    }

    /// The pod as a v2 `Pod` document.
    pub fn to_json(&self, t: &Timings, now: Instant) -> Value {
        let status = self.status(t, now);
        let actions: &[&str] = match status {
            "RUNNING" => &["stop", "restart", "terminate"],
            "EXITED" | "ERROR" => &["start", "terminate"],
            "TERMINATED" => &[],
            _ => &["stop", "terminate"],
        };
        let req = &self.request;
        let ports = req.get("ports").cloned().unwrap_or_else(|| json!([]));
        let runtime = match self.running_for(t, now) {
            Some(d) if d >= t.runtime_null => {
                let uptime = (d - t.runtime_null).as_secs();
                let port_list: Vec<Value> = ports
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|p| {
                        let (num, kind) = p.split_once('/')?;
                        Some(json!({"private": num.parse::<u16>().ok()?, "public": null, "type": kind, "ip": null}))
                    })
                    .collect();
                json!({"uptime": uptime, "gpus": [{"util": 0, "memoryUtil": 0}], "ports": port_list})
            }
            _ => Value::Null,
        };
        let started_at = self
            .running_for(t, now)
            .map(|d| fmt_time(OffsetDateTime::now_utc() - d));
        let billing_rate =
            if status == "RUNNING" || status == "STARTING" || status == "PROVISIONING" {
                self.rate
            } else {
                0.0
            };
        json!({
            "id": self.id,
            "name": self.name,
            "status": status,
            "actions": actions,
            "image": req.get("image").cloned().unwrap_or_else(|| json!("")),
            "args": req.get("args").cloned().unwrap_or_else(|| json!("")),
            "disk": req.get("disk").cloned().unwrap_or_else(|| json!(20)),
            "mounts": req.get("mounts").cloned().unwrap_or_else(|| json!({})),
            "ports": ports,
            "env": req.get("env").cloned().unwrap_or_else(|| json!({})),
            "registry": null,
            "gpu": {"id": self.gpu_id, "count": self.gpu_count},
            "cloud": self.cloud,
            "dataCenterId": req
                .pointer("/dataCenterIds/0")
                .cloned()
                .unwrap_or_else(|| json!(crate::volumes::DEFAULT_DATA_CENTER)),
            "cudaVersion": "12.8",
            "ssh": {"proxy": null, "direct": null},
            "template": null,
            "cost": billing_rate,
            "locked": false,
            "globalNetworking": {"enabled": false},
            "runtime": runtime,
            "createdAt": fmt_time(self.created_at),
            "startedAt": started_at,
        })
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl State {
    pub fn settle(&mut self, now: Instant) {
        for p in &mut self.pods {
            p.settle(now);
        }
    }

    pub fn live_pod_mut(&mut self, id: &str) -> Option<&mut PodRecord> {
        self.pods.iter_mut().find(|p| p.id == id && !p.is_gone())
    }

    /// A RunPod-like id: ten lowercase letters and digits, no dashes (the proxy splits on `-`).
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        let mut n = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ std::process::id() as u64;
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut id = String::with_capacity(10);
        for _ in 0..8 {
            id.push(alphabet[(n % 36) as usize] as char);
            n /= 36;
        }
        id.push_str(&format!("{:02}", self.next_id % 100));
        id
    }

    pub fn rate_for(gpu_id: &str, cloud: &str, count: u32) -> Option<f64> {
        let g = catalog::find(gpu_id)?;
        let unit = if cloud == "COMMUNITY" {
            g.community_price
        } else {
            g.secure_price
        };
        Some(unit * f64::from(count))
    }
}

//! Faults a test switches on for its own stand-in instance.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// What goes wrong, per stand-in instance. Counters ("bursts") count down one per API request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Creates for these GPU ids answer 400 with RunPod's no-capacity text.
    pub no_capacity: HashSet<String>,
    /// Creates for these GPU ids answer 403 (pool not accessible to this account).
    pub forbidden_gpus: HashSet<String>,
    /// Every create answers 402.
    pub insufficient_balance: bool,
    /// The next N API requests answer 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_burst: u32,
    pub retry_after_secs: u64,
    /// The next N API requests answer 503.
    pub server_error_burst: u32,
    /// The next N creates make the pod and then answer 500 anyway.
    pub create_500_but_created: u32,
    /// Pods created while set never get ComfyUI up (the proxy answers 502 forever).
    pub never_ready: bool,
    /// Pods created while set vanish (spot reclaim) this long after create.
    #[serde(with = "opt_millis")]
    pub vanish_after: Option<Duration>,
    /// Pods created while set run a bootstrap (`SDS_MODELS` in `env`) that reports a hash
    /// mismatch on its first model file and never gets ComfyUI up.
    pub bootstrap_hash_mismatch: bool,
    /// Every log-stream connection is cut (mid-event, without closing the response properly)
    /// after this many events; a reader must resume with `Last-Event-ID`.
    pub drop_log_stream_after: Option<u32>,
    /// `GET /v2/pods/{id}/logs` answers 404, as for a pod whose log RunPod cannot serve.
    pub logs_unavailable: bool,
    /// A pod that gets DELETE (or the terminate action) stays listed, RUNNING and billing
    /// this long after the first one, as RunPod's scheduler sometimes takes its time.
    #[serde(with = "opt_millis")]
    pub terminate_lingers: Option<Duration>,
    /// DELETE is answered 204 and the pod never goes: it stays listed and billing.
    pub terminate_never: bool,
    /// The next N DELETEs (or terminate actions) are answered 204 and forgotten, as a request
    /// lost behind RunPod's edge: only a later one ends the pod.
    pub deletes_lost: u32,
    /// Every API response is delayed this long.
    #[serde(with = "opt_millis")]
    pub slow: Option<Duration>,
}

/// Durations travel as milliseconds in the control endpoint's JSON.
mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

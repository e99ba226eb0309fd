//! Readiness checks that need ComfyUI. The lifecycle asks through this trait so that the
//! ComfyUI client (another crate) plugs in without this crate knowing it.

use std::future::Future;
use studio_error::Result;
use url::Url;

pub trait ReadinessProbe: Send + Sync {
    /// Whether ComfyUI answers at `base` (for instance `GET /system_stats` gives 200).
    fn comfy_answering(&self, base: &Url) -> impl Future<Output = Result<bool>> + Send;

    /// What the workflow needs that the server does not list yet (custom nodes, model
    /// files); empty when everything is present.
    fn requirements_present(&self, base: &Url) -> impl Future<Output = Result<Vec<String>>> + Send;
}

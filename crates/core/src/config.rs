//! Every outside address, overridable so the whole app can be pointed at the stand-in servers.

use studio_error::{Error, Result};
use url::Url;

pub const RUNPOD_API_URL_ENV: &str = "STUDIO_RUNPOD_API_URL";
pub const POD_URL_TEMPLATE_ENV: &str = "STUDIO_POD_URL_TEMPLATE";
pub const DEFAULT_RUNPOD_API_URL: &str = "https://api.runpod.io/v2";
pub const DEFAULT_POD_URL_TEMPLATE: &str = "https://{pod_id}-{port}.proxy.runpod.net";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub runpod_api_url: Url,
    /// `{pod_id}` and `{port}` are filled in per pod.
    pub pod_url_template: String,
}

impl Endpoints {
    pub fn from_env() -> Result<Self> {
        Self::from_values(
            std::env::var(RUNPOD_API_URL_ENV).ok().as_deref(),
            std::env::var(POD_URL_TEMPLATE_ENV).ok().as_deref(),
        )
    }

    pub fn from_values(api: Option<&str>, template: Option<&str>) -> Result<Self> {
        let api = api
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(DEFAULT_RUNPOD_API_URL);
        let runpod_api_url = Url::parse(api.trim()).map_err(|e| {
            Error::new(
                "config.bad_url",
                format!("{RUNPOD_API_URL_ENV} is not a valid address ({api}). Fix or unset it."),
            )
            .with_source(e)
        })?;
        let pod_url_template = template
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(DEFAULT_POD_URL_TEMPLATE)
            .trim()
            .to_string();
        if !pod_url_template.contains("{pod_id}") {
            return Err(Error::new(
                "config.bad_url",
                format!("{POD_URL_TEMPLATE_ENV} must contain {{pod_id}}. Fix or unset it."),
            ));
        }
        Ok(Self {
            runpod_api_url,
            pod_url_template,
        })
    }

    /// The address of a port on a pod, through RunPod's HTTP proxy (or the stand-in's).
    pub fn pod_url(&self, pod_id: &str, port: u16) -> Result<Url> {
        let text = self
            .pod_url_template
            .replace("{pod_id}", pod_id)
            .replace("{port}", &port.to_string());
        Url::parse(&text).map_err(|e| {
            Error::new(
                "config.bad_url",
                format!("The pod address template gave an invalid address ({text})."),
            )
            .with_source(e)
        })
    }

    pub fn is_default_runpod(&self) -> bool {
        self.runpod_api_url.as_str().trim_end_matches('/') == DEFAULT_RUNPOD_API_URL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_runpod_v2() {
        let e = Endpoints::from_values(None, None).expect("defaults");
        assert_eq!(e.runpod_api_url.as_str(), "https://api.runpod.io/v2");
        assert!(e.is_default_runpod());
        assert_eq!(
            e.pod_url("abc123", 8188).expect("url").as_str(),
            "https://abc123-8188.proxy.runpod.net/"
        );
    }

    #[test]
    fn overrides_reach_the_stand_ins() {
        let e = Endpoints::from_values(
            Some("http://127.0.0.1:9000/v2"),
            Some("http://127.0.0.1:9000/proxy/{pod_id}-{port}"),
        )
        .expect("overrides");
        assert!(!e.is_default_runpod());
        assert_eq!(
            e.pod_url("p1", 8188).expect("url").as_str(),
            "http://127.0.0.1:9000/proxy/p1-8188"
        );
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = Endpoints::from_values(Some("not a url"), None).expect_err("bad url");
        assert_eq!(err.code(), "config.bad_url");
        assert!(err.message().contains(RUNPOD_API_URL_ENV));
        let err = Endpoints::from_values(None, Some("http://x/{port}")).expect_err("no pod id");
        assert!(err.message().contains("{pod_id}"));
    }
}

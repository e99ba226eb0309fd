//! What a test (or the demo) expects every create body to carry, from the app's lock: the
//! stand-in refuses a body that differs, so a drift between the lock and what the app sends
//! fails a test instead of a real pod.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodContract {
    pub image: String,
    /// Variables the body must carry with exactly these values (the bootstrap's input).
    pub env: BTreeMap<String, String>,
    /// Texts the container command must contain (the bootstrap's own lines).
    pub args_contain: Vec<String>,
    /// The container disk without a network volume must hold the models and the environment.
    pub min_disk_gb: u64,
}

impl PodContract {
    /// The lock's image, its bootstrap variables and the disk its environment needs; the
    /// command must run the bootstrap (it prints `##sds` progress lines).
    pub fn new(image: String, env: BTreeMap<String, String>, min_disk_gb: u64) -> Self {
        Self {
            image,
            env,
            args_contain: vec!["##sds".to_string()],
            min_disk_gb,
        }
    }

    /// What differs, in words; `Ok` when the body keeps the contract.
    pub fn check(&self, body: &Value) -> Result<(), String> {
        let image = body.get("image").and_then(Value::as_str).unwrap_or("");
        if image != self.image {
            return Err(format!(
                "image {image:?} is not the lock's {:?}",
                self.image
            ));
        }
        for (key, want) in &self.env {
            let got = body.pointer(&format!("/env/{key}")).and_then(Value::as_str);
            if got != Some(want.as_str()) {
                return Err(format!("env {key} is not the lock's"));
            }
        }
        let args = body.get("args").and_then(Value::as_str).unwrap_or("");
        if let Some(missing) = self
            .args_contain
            .iter()
            .find(|a| !args.contains(a.as_str()))
        {
            return Err(format!("args do not run the bootstrap (no {missing:?})"));
        }
        let volume = body
            .pointer("/mounts/network")
            .and_then(Value::as_array)
            .is_some_and(|n| !n.is_empty());
        let disk = body.get("disk").and_then(Value::as_u64).unwrap_or(0);
        if !volume && disk < self.min_disk_gb {
            return Err(format!(
                "disk {disk} GB cannot hold the lock's environment ({} GB) without a network volume",
                self.min_disk_gb
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn contract() -> PodContract {
        PodContract {
            image: "runpod/pytorch:x".into(),
            env: [("SDS_LOCK_ID".to_string(), "abc".to_string())].into(),
            args_contain: vec!["##sds".into()],
            min_disk_gb: 53,
        }
    }

    #[test]
    fn a_body_as_the_lock_says_passes_and_each_difference_is_named() {
        let ok = json!({"image": "runpod/pytorch:x", "env": {"SDS_LOCK_ID": "abc"}, "args": "sh -c '##sds'", "disk": 53});
        assert_eq!(contract().check(&ok), Ok(()));
        let mut b = ok.clone();
        b["image"] = json!("other:latest");
        assert!(contract().check(&b).unwrap_err().contains("image"));
        let mut b = ok.clone();
        b["env"]["SDS_LOCK_ID"] = json!("zzz");
        assert!(contract().check(&b).unwrap_err().contains("SDS_LOCK_ID"));
        let mut b = ok.clone();
        b["args"] = json!("/start.sh");
        assert!(contract().check(&b).unwrap_err().contains("bootstrap"));
        let mut b = ok.clone();
        b["disk"] = json!(20);
        assert!(contract().check(&b).unwrap_err().contains("20 GB"));
        b["mounts"] = json!({"network": [{"volumeId": "v", "path": "/workspace"}]});
        assert_eq!(
            contract().check(&b),
            Ok(()),
            "a volume holds the environment"
        );
    }
}

//! Preflight of the pinned environment, before anything is uploaded: the pod's ComfyUI reports,
//! through the node the bootstrap installs, the commit each repository is checked out at and the
//! lock it was built from. A pod running anything else is stopped, not used.

use serde_json::Value;
use studio_comfy::choices;
use studio_error::{Error, Result};
use studio_pods::EnvLock;

use studio_pods::bootstrap::ENVIRONMENT_NODE;

/// `Ok` when the server runs exactly the lock's repositories at the lock's commits.
pub fn check_environment(object_info: &Value, lock: &EnvLock) -> Result<()> {
    let mismatch = |what: String| {
        Err(Error::new(
            studio_pods::codes::ENVIRONMENT_MISMATCH,
            format!(
                "The pod is not running the pinned SteadyDancer environment: {what}. The pod was stopped before anything was uploaded; start the render again, and if it repeats delete the network volume in Settings so the environment is installed afresh."
            ),
        ))
    };
    if object_info.get(ENVIRONMENT_NODE).is_none() {
        return mismatch(format!(
            "its ComfyUI does not list the {ENVIRONMENT_NODE} node that our start script installs (another image or start command?)"
        ));
    }
    for repo in &lock.repos {
        let running = choices(object_info, ENVIRONMENT_NODE, &repo.name).unwrap_or_default();
        if running != [repo.commit.as_str()] {
            let seen = running.first().map_or("nothing", |c| &c[..c.len().min(12)]);
            return mismatch(format!(
                "{} is at {seen}, the lock pins {}",
                repo.name,
                &repo.commit[..12]
            ));
        }
    }
    let id = lock.id();
    let running = choices(object_info, ENVIRONMENT_NODE, "lock").unwrap_or_default();
    if running != [id.as_str()] {
        return mismatch(format!(
            "it was built from lock {} instead of {id}",
            running.first().unwrap_or(&"(none)")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/object_info` of a pod built from `lock`, in ComfyUI's combo shape.
    fn info(lock: &EnvLock) -> Value {
        let required: serde_json::Map<String, Value> =
            studio_pods::bootstrap::environment_fields(lock)
                .into_iter()
                .map(|(k, v)| (k, serde_json::json!([[v]])))
                .collect();
        serde_json::json!({ ENVIRONMENT_NODE: { "input": { "required": required } } })
    }

    #[test]
    fn the_pinned_environment_passes() {
        let lock = EnvLock::bundled();
        check_environment(&info(&lock), &lock).expect("same lock");
    }

    #[test]
    fn another_commit_or_lock_or_no_node_is_refused_with_what_differs() {
        let lock = EnvLock::bundled();
        let mut other = lock.clone();
        other.repos[3].commit = "0".repeat(40);
        let e = check_environment(&info(&other), &lock).expect_err("commit differs");
        assert_eq!(e.code(), studio_pods::codes::ENVIRONMENT_MISMATCH);
        assert!(
            e.message().contains("ComfyUI-KJNodes is at 000000000000"),
            "{}",
            e.message()
        );
        let mut other = lock.clone();
        other.models[0].sha256 = "b".repeat(64);
        let e = check_environment(&info(&other), &lock).expect_err("lock differs");
        assert!(e.message().contains("built from lock"), "{}", e.message());
        let e = check_environment(&serde_json::json!({}), &lock).expect_err("no node");
        assert!(e.message().contains(ENVIRONMENT_NODE), "{}", e.message());
    }
}

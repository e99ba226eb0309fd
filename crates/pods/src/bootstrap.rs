//! The pod's start command for the pinned environment: our own bootstrap script (see
//! `bootstrap/README.md` for what it does and the variables it reads), run by `sh` after the
//! dead-man timer is armed.

/// The script, compiled in so the pod never runs anything the app did not ship.
pub const SCRIPT: &str = include_str!("../bootstrap/bootstrap.sh");

/// The environment node's Python source, written by the bootstrap into
/// `custom_nodes/sds_environment` (it goes in env, `SDS_NODE_PY`, to keep the command small).
pub const ENVIRONMENT_NODE_PY: &str = include_str!("../bootstrap/sds_environment.py");

/// What the bootstrap prints before each structured progress line.
pub const PROGRESS_PREFIX: &str = "##sds ";

/// The node class the bootstrap installs (`custom_nodes/sds_environment`); its inputs report what
/// the pod runs, so the preflight can read it from `/object_info`.
pub const ENVIRONMENT_NODE: &str = "SteadyDancerStudioEnvironment";

/// What that node offers on a pod built from `lock`: each repository's name with its commit as
/// the one choice, and `lock` with the lock's id.
pub fn environment_fields(lock: &crate::EnvLock) -> std::collections::BTreeMap<String, String> {
    let mut fields: std::collections::BTreeMap<String, String> = lock
        .repos
        .iter()
        .map(|r| (r.name.clone(), r.commit.clone()))
        .collect();
    fields.insert("lock".into(), lock.id());
    fields
}

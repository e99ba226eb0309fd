//! Who holds a pod, and the idle clock of pods nobody holds (see the journal's module note).

use super::{COLUMNS, Journal, JournalPod, LIVE, db, now_text};
use rusqlite::params;
use studio_error::Result;

impl Journal {
    /// Who holds the pod (`job:<id>`, `batch:<id>`), or nobody: a live pod left without an
    /// owner starts its idle clock; taking it stops the clock.
    pub fn set_owner(&self, pod_id: &str, owner: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                &format!(
                    "UPDATE pods SET owner = ?2,
                     idle_since = CASE WHEN ?2 IS NULL AND state IN {LIVE} THEN ?3 END
                     WHERE pod_id = ?1"
                ),
                params![pod_id, owner, now_text()],
            )
            .map_err(|e| db("record the pod's owner", e))?;
        self.event_for(pod_id, "owner", owner.unwrap_or(""))
    }

    /// Takes a warm pod for `owner` only if nobody holds it now (a queue's lease and the idle
    /// timer may reach for the same pod): true when this call took it.
    pub fn claim_warm(&self, pod_id: &str, owner: &str) -> Result<bool> {
        let changed = self
            .conn
            .execute(
                &format!(
                    "UPDATE pods SET owner = ?2, idle_since = NULL
                     WHERE pod_id = ?1 AND owner IS NULL AND state IN {LIVE}"
                ),
                params![pod_id, owner],
            )
            .map_err(|e| db("take a warm pod", e))?;
        if changed == 1 {
            self.event_for(pod_id, "owner", owner)?;
        }
        Ok(changed == 1)
    }

    /// Gives back a claim that came to nothing, with the idle clock as it was (a failed
    /// termination must not buy the pod another idle period).
    pub fn unclaim(&self, pod_id: &str, owner: &str, idle_since: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET owner = NULL, idle_since = ?3 WHERE pod_id = ?1 AND owner = ?2",
                params![pod_id, owner, idle_since],
            )
            .map_err(|e| db("give a pod back", e))?;
        self.event_for(pod_id, "owner", "")
    }

    /// Pods that are live, known to RunPod and held by nobody: the user's warm pods (and
    /// pods a queue released), oldest first.
    pub fn warm_pods(&self) -> Result<Vec<JournalPod>> {
        self.query(&format!(
            "SELECT {COLUMNS} FROM pods
             WHERE state IN {LIVE} AND pod_id IS NOT NULL AND owner IS NULL ORDER BY intent_at"
        ))
    }

    /// Pods not known to be gone (intents included) held by one of `owners`.
    pub fn held_by(&self, owners: &std::collections::HashSet<String>) -> Result<Vec<JournalPod>> {
        Ok(self
            .unsettled()?
            .into_iter()
            .filter(|p| p.owner.as_ref().is_some_and(|o| owners.contains(o)))
            .collect())
    }

    fn event_for(&self, pod_id: &str, kind: &str, detail: &str) -> Result<()> {
        match self.by_pod_id(pod_id)? {
            Some(p) => self.event(&p.name, kind, detail),
            None => Ok(()),
        }
    }
}

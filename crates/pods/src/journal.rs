//! The pod journal in SQLite: the intent is written before the create call, the id the moment
//! it is known, every status and stage change with a timestamp, the rate captured at create,
//! and when the pod was terminated. Start-up reads it to settle what a crash left behind.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use studio_error::{Error, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub mod states {
    /// Written before the create call; no id yet.
    pub const INTENT: &str = "intent";
    /// RunPod knows the pod.
    pub const CREATED: &str = "created";
    pub const READY: &str = "ready";
    pub const TERMINATED: &str = "terminated";
    /// The create failed and a lookup by name found no pod.
    pub const ABANDONED: &str = "abandoned";
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalPod {
    pub name: String,
    pub pod_id: Option<String>,
    pub gpu_id: String,
    pub rate_per_hour: f64,
    pub state: String,
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub intent_at: String,
    pub created_at: Option<String>,
    pub terminated_at: Option<String>,
    pub cost_usd: Option<f64>,
    pub last_error: Option<String>,
}

impl JournalPod {
    /// Seconds billed so far (or in total, once terminated), counted from the create answer.
    pub fn billed_seconds(&self, now: OffsetDateTime) -> f64 {
        let Some(start) = self.created_at.as_deref().and_then(parse_time) else {
            return 0.0;
        };
        let end = self
            .terminated_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now);
        ((end - start).as_seconds_f64()).max(0.0)
    }

    pub fn cost_so_far(&self, now: OffsetDateTime) -> f64 {
        self.billed_seconds(now) * self.rate_per_hour / 3600.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEvent {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

#[derive(Debug)]
pub struct Journal {
    conn: Connection,
}

pub fn now_text() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn db(action: &str, e: rusqlite::Error) -> Error {
    Error::new(
        "pods.journal",
        format!("Could not {action} in the pod journal. Check that the data folder is writable."),
    )
    .with_source(e)
}

const COLUMNS: &str = "name, pod_id, gpu_id, rate_per_hour, state, stage, owner, intent_at, \
                       created_at, terminated_at, cost_usd, last_error";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JournalPod> {
    Ok(JournalPod {
        name: r.get(0)?,
        pod_id: r.get(1)?,
        gpu_id: r.get(2)?,
        rate_per_hour: r.get(3)?,
        state: r.get(4)?,
        stage: r.get(5)?,
        owner: r.get(6)?,
        intent_at: r.get(7)?,
        created_at: r.get(8)?,
        terminated_at: r.get(9)?,
        cost_usd: r.get(10)?,
        last_error: r.get(11)?,
    })
}

impl Journal {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| db("open the journal", e))?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| db("open the journal", e))?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS pods (
                name TEXT PRIMARY KEY,
                pod_id TEXT,
                gpu_id TEXT NOT NULL,
                rate_per_hour REAL NOT NULL DEFAULT 0,
                state TEXT NOT NULL,
                stage TEXT,
                owner TEXT,
                intent_at TEXT NOT NULL,
                created_at TEXT,
                terminated_at TEXT,
                cost_usd REAL,
                last_error TEXT
             );
             CREATE INDEX IF NOT EXISTS pods_pod_id ON pods(pod_id);
             CREATE TABLE IF NOT EXISTS pod_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL,
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
             );",
        )
        .map_err(|e| db("prepare", e))?;
        Ok(Self { conn })
    }

    fn event(&self, name: &str, kind: &str, detail: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO pod_events (name, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![name, now_text(), kind, detail],
            )
            .map_err(|e| db("record an event", e))?;
        Ok(())
    }

    /// Before the create call: the name is how a pod whose create "failed" is found again.
    pub fn record_intent(&self, name: &str, gpu_id: &str, rate_per_hour: f64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO pods (name, gpu_id, rate_per_hour, state, intent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, gpu_id, rate_per_hour, states::INTENT, now_text()],
            )
            .map_err(|e| db("record the intent to create a pod", e))?;
        self.event(name, "intent", gpu_id)
    }

    /// The moment RunPod names the pod. `rate_per_hour` replaces the estimate when known.
    pub fn record_created(&self, name: &str, pod_id: &str, rate_per_hour: f64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET pod_id = ?2, state = ?3, created_at = ?4, rate_per_hour = ?5
                 WHERE name = ?1",
                params![name, pod_id, states::CREATED, now_text(), rate_per_hour],
            )
            .map_err(|e| db("record the pod id", e))?;
        self.event(name, "created", pod_id)
    }

    pub fn record_status(&self, name: &str, status: &str) -> Result<()> {
        self.event(name, "status", status)
    }

    pub fn record_stage(&self, name: &str, stage: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET stage = ?2 WHERE name = ?1",
                params![name, stage],
            )
            .map_err(|e| db("record the stage", e))?;
        self.event(name, "stage", stage)
    }

    pub fn record_ready(&self, name: &str) -> Result<()> {
        self.set_state(name, states::READY)
    }

    pub fn record_error(&self, name: &str, message: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET last_error = ?2 WHERE name = ?1",
                params![name, message],
            )
            .map_err(|e| db("record an error", e))?;
        self.event(name, "error", message)
    }

    /// The create failed and no pod by that name exists.
    pub fn record_abandoned(&self, name: &str, reason: &str) -> Result<()> {
        self.record_error(name, reason)?;
        self.set_state(name, states::ABANDONED)
    }

    fn set_state(&self, name: &str, state: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET state = ?2 WHERE name = ?1",
                params![name, state],
            )
            .map_err(|e| db("record the pod state", e))?;
        self.event(name, "state", state)
    }

    /// Once RunPod confirmed the pod is gone; the cost is computed from the captured rate.
    pub fn record_terminated(&self, pod_id: &str) -> Result<Option<JournalPod>> {
        let Some(pod) = self.by_pod_id(pod_id)? else {
            return Ok(None);
        };
        if pod.state == states::TERMINATED {
            return Ok(Some(pod));
        }
        let now = OffsetDateTime::now_utc();
        let cost = pod.cost_so_far(now);
        self.conn
            .execute(
                "UPDATE pods SET state = ?2, terminated_at = ?3, cost_usd = ?4 WHERE name = ?1",
                params![pod.name, states::TERMINATED, now_text(), cost],
            )
            .map_err(|e| db("record the termination", e))?;
        self.event(&pod.name, "state", states::TERMINATED)?;
        self.by_pod_id(pod_id)
    }

    /// Which job (if any) owns the pod; the sweep leaves owned pods alone.
    pub fn set_owner(&self, pod_id: &str, owner: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET owner = ?2 WHERE pod_id = ?1",
                params![pod_id, owner],
            )
            .map_err(|e| db("record the pod's owner", e))?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<Option<JournalPod>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM pods WHERE name = ?1"),
                params![name],
                row,
            )
            .optional()
            .map_err(|e| db("read a pod", e))
    }

    pub fn by_pod_id(&self, pod_id: &str) -> Result<Option<JournalPod>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM pods WHERE pod_id = ?1"),
                params![pod_id],
                row,
            )
            .optional()
            .map_err(|e| db("read a pod", e))
    }

    /// Pods that may still exist: neither terminated nor abandoned.
    pub fn unsettled(&self) -> Result<Vec<JournalPod>> {
        self.query(&format!(
            "SELECT {COLUMNS} FROM pods WHERE state NOT IN ('{}', '{}') ORDER BY intent_at",
            states::TERMINATED,
            states::ABANDONED
        ))
    }

    pub fn all(&self) -> Result<Vec<JournalPod>> {
        self.query(&format!("SELECT {COLUMNS} FROM pods ORDER BY intent_at"))
    }

    fn query(&self, sql: &str) -> Result<Vec<JournalPod>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| db("read pods", e))?;
        let rows = stmt.query_map([], row).map_err(|e| db("read pods", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db("read pods", e))
    }

    pub fn events(&self, name: &str) -> Result<Vec<JournalEvent>> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, kind, detail FROM pod_events WHERE name = ?1 ORDER BY id")
            .map_err(|e| db("read events", e))?;
        let rows = stmt
            .query_map(params![name], |r| {
                Ok(JournalEvent {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .map_err(|e| db("read events", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db("read events", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_then_id_then_terminated_with_cost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pods.sqlite");
        {
            let j = Journal::open(&path).expect("open");
            j.record_intent("sds-aaaa0001", "NVIDIA H100 PCIe", 2.39)
                .expect("intent");
            let p = j.get("sds-aaaa0001").expect("get").expect("row");
            assert_eq!(p.state, states::INTENT);
            assert!(p.pod_id.is_none());
            j.record_created("sds-aaaa0001", "pod1", 3600.0)
                .expect("created");
            j.record_stage("sds-aaaa0001", "provisioning")
                .expect("stage");
        }
        // A reopened journal (after a crash) still knows the pod is unsettled.
        let j = Journal::open(&path).expect("reopen");
        let open = j.unsettled().expect("unsettled");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].pod_id.as_deref(), Some("pod1"));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let done = j.record_terminated("pod1").expect("term").expect("row");
        assert_eq!(done.state, states::TERMINATED);
        // $3600/h for at least 20 ms is at least two cents.
        assert!(done.cost_usd.expect("cost") >= 0.02, "{done:?}");
        assert!(j.unsettled().expect("unsettled").is_empty());
        let kinds: Vec<String> = j
            .events("sds-aaaa0001")
            .expect("events")
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["intent", "created", "stage", "state"]);
    }

    #[test]
    fn abandoned_intents_are_settled() {
        let j = Journal::open_in_memory().expect("open");
        j.record_intent("sds-b", "g", 1.0).expect("intent");
        j.record_abandoned("sds-b", "runpod.no_capacity")
            .expect("abandon");
        assert!(j.unsettled().expect("unsettled").is_empty());
        let p = j.get("sds-b").expect("get").expect("row");
        assert_eq!(p.last_error.as_deref(), Some("runpod.no_capacity"));
    }
}

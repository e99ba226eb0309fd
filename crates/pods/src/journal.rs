//! The pod journal in SQLite: the intent is written before the create call, the id the moment
//! it is known, every status and stage change with a timestamp, the rate captured at create,
//! and when the pod was terminated. Start-up reads it to settle what a crash left behind.
//! Its tables live in the one journal file of the data folder, next to the renders (the
//! leases' records and the renders that hold them are read and written together); a
//! `pods.sqlite` of an earlier version is moved in once (see `import`).
//!
//! `owner` says who holds the pod: `job:<id>` (a render alone), `batch:<id>` (a queue), or
//! nobody for a pod the user started by hand (a "warm" pod), whose `idle_since` is when it was
//! last left without an owner: the idle timer ends it some minutes later.

mod import;
mod owner;

pub use import::IMPORT_FAILED;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
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

/// The data folder's journal file: renders, batches, and pods.
pub const JOURNAL_FILE: &str = "jobs.sqlite";
/// The pods journal of earlier versions, imported into [`JOURNAL_FILE`] once.
pub const OLD_POD_JOURNAL: &str = "pods.sqlite";

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
    /// RFC 3339: since when a live pod has had no owner (set at ready and at each release).
    pub idle_since: Option<String>,
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

    /// Live and held by nobody: a pod the user started, or one a queue released.
    pub fn is_warm(&self) -> bool {
        self.owner.is_none()
            && self.pod_id.is_some()
            && (self.state == states::CREATED || self.state == states::READY)
    }

    /// When the idle timer ends this pod: `idle_since + idle`, for a warm pod whose clock runs.
    pub fn idle_deadline(&self, idle: std::time::Duration) -> Option<OffsetDateTime> {
        if !self.is_warm() {
            return None;
        }
        let since = parse_time(self.idle_since.as_deref()?)?;
        Some(since + idle)
    }

    /// [`JournalPod::idle_deadline`] in unix milliseconds.
    pub fn idle_deadline_ms(&self, idle: std::time::Duration) -> Option<i64> {
        let at = self.idle_deadline(idle)?;
        Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
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
                       created_at, terminated_at, cost_usd, last_error, idle_since";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pods (
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
        last_error TEXT,
        idle_since TEXT
     );
     CREATE INDEX IF NOT EXISTS pods_pod_id ON pods(pod_id);
     CREATE TABLE IF NOT EXISTS pod_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
     );";

/// Live states, for SQL.
const LIVE: &str = "('created', 'ready')";

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
        idle_since: r.get(12)?,
    })
}

impl Journal {
    /// Opens (and creates) the journal file, e.g. `data_dir.join(JOURNAL_FILE)`, which the
    /// render journal opens too. A `pods.sqlite` beside it is imported first (see `import`).
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| db("open the journal", e))?;
        let old = (path.file_name() != Some(OLD_POD_JOURNAL.as_ref()))
            .then(|| path.with_file_name(OLD_POD_JOURNAL));
        Self::init(conn, old)
    }

    /// The journal of the data folder `dir`.
    pub fn open_in(dir: &Path) -> Result<Self> {
        Self::open(&Self::path_in(dir))
    }

    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(JOURNAL_FILE)
    }

    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| db("open the journal", e))?;
        Self::init(conn, None)
    }

    fn init(mut conn: Connection, old: Option<PathBuf>) -> Result<Self> {
        // Two connections of this process (the render journal's and this one) and other
        // processes (`studio jobs list`) share the file: readers never block the writer (WAL),
        // and a writer waits for another's short transaction instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db("prepare", e))?;
        use_wal(&conn).map_err(|e| db("prepare", e))?;
        // Immediate: two openers at once take turns, so a column is added and an old file
        // imported by one of them only.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db("prepare", e))?;
        tx.execute_batch(SCHEMA).map_err(|e| db("prepare", e))?;
        let has_idle: bool = tx
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('pods') WHERE name = 'idle_since'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| db("prepare", e))?
            > 0;
        if !has_idle {
            tx.execute("ALTER TABLE pods ADD COLUMN idle_since TEXT", [])
                .map_err(|e| db("add the idle clock", e))?;
        }
        let imported = match old.as_deref().filter(|p| p.exists()) {
            Some(old) => Some((old, import::copy_rows(&tx, old)?)),
            None => None,
        };
        tx.commit().map_err(|e| db("prepare", e))?;
        if let Some((old, counts)) = imported {
            import::set_aside(old, counts);
        }
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
        self.record_intent_for(name, gpu_id, rate_per_hour, None)
    }

    /// As [`Journal::record_intent`], held by `owner` from the start: a crash between the
    /// create call and anything later still leaves a row that says whose pod it is.
    pub fn record_intent_for(
        &self,
        name: &str,
        gpu_id: &str,
        rate_per_hour: f64,
        owner: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO pods (name, gpu_id, rate_per_hour, state, intent_at, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    name,
                    gpu_id,
                    rate_per_hour,
                    states::INTENT,
                    now_text(),
                    owner
                ],
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

    /// A pod nobody holds starts its idle clock the moment it is ready.
    pub fn record_ready(&self, name: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE pods SET idle_since = CASE WHEN owner IS NULL THEN ?2 END WHERE name = ?1",
                params![name, now_text()],
            )
            .map_err(|e| db("start the idle clock", e))?;
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

/// Puts the journal file in WAL mode. Switching needs the file to itself for an instant, and
/// SQLite answers "busy" at once, without its busy handler, when another connection (the
/// render journal's, the crash guard's, the CLI's) opens it at the same moment: try again.
pub fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

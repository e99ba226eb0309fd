//! The SQLite job journal. Every stage change is written (compare-and-swap on the current stage)
//! before the side effect it names, so a crash leaves a row that says what may have been started.

use crate::estimate::Estimate;
use crate::record::{JobRecord, PodInfo, StageTime};
use crate::spec::JobSpec;
use crate::stage::Stage;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use studio_error::{Error, Result};

pub const CONFLICT: &str = "jobs.stage_conflict";
pub const NOT_FOUND: &str = "jobs.not_found";
pub const DB: &str = "jobs.journal";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_started_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    pod_name TEXT,
    pod TEXT,
    pod_ended_ms INTEGER,
    comfy_url TEXT,
    uploads TEXT,
    prompt_id TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    estimate TEXT,
    cost_usd REAL,
    error_code TEXT,
    error_message TEXT
);
CREATE TABLE IF NOT EXISTS job_stages (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    stage TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
);
";

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `YYYY-MM-DD HH:MM` (UTC) for plain-text listings.
pub fn format_utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

pub(crate) fn db_err(e: rusqlite::Error) -> Error {
    Error::new(
        DB,
        "The job journal could not be read or written. Check that the data folder is writable and has free space.",
    )
    .with_source(e)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::new(
        "jobs.journal_corrupt",
        "A job in the journal could not be read. It may come from a newer version of the app.",
    )
    .with_source(e)
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| Error::internal("could not encode a job field").with_source(e))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: Option<String>) -> Result<Option<T>> {
    s.map(|s| serde_json::from_str(&s).map_err(json_err))
        .transpose()
}

/// The journal file. Cheap to share behind an `Arc`; calls are short and serialised.
#[derive(Debug)]
pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Journal {
    /// Opens (and creates) the journal at `path`, e.g. `data_dir().join("jobs.sqlite")`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db_err)?;
        // WAL: a reader (the CLI's `jobs list`) never blocks the app writing a stage change.
        studio_pods::journal::use_wal(&conn).map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        crate::gallery::create_schema(&conn)?;
        crate::batch::journal::migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions), so the
        // poisoned guard is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new job in `queued`.
    pub fn create(&self, spec: &JobSpec, estimate: Option<&Estimate>) -> Result<JobRecord> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT INTO jobs (id, spec, stage, stage_started_ms, created_ms, estimate) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![id, to_json(spec)?, Stage::Queued.as_str(), now, estimate.map(to_json).transpose()?],
        )
        .map_err(db_err)?;
        tx.execute(
            "INSERT INTO job_stages (job_id, seq, stage, started_ms) VALUES (?1, 0, ?2, ?3)",
            params![id, Stage::Queued.as_str(), now],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        drop(conn);
        self.get(&id)
    }

    pub fn get(&self, id: &str) -> Result<JobRecord> {
        let conn = self.conn();
        let rec = conn
            .query_row("SELECT * FROM jobs WHERE id = ?1", [id], read_row)
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| {
                Error::new(NOT_FOUND, format!("No job with id {id} is in the journal."))
            })?;
        let mut rec = rec?;
        rec.stages = stages(&conn, id)?;
        Ok(rec)
    }

    /// Every job, newest first.
    pub fn list(&self) -> Result<Vec<JobRecord>> {
        self.query("SELECT * FROM jobs ORDER BY created_ms DESC, rowid DESC")
    }

    /// Jobs that never reached done, failed, cancelled or interrupted.
    pub fn unfinished(&self) -> Result<Vec<JobRecord>> {
        self.query(
            "SELECT * FROM jobs WHERE stage NOT IN ('done','failed','cancelled','interrupted') ORDER BY created_ms",
        )
    }

    /// Pods that unfinished jobs own: the orphan sweep must leave these alone (recovery
    /// settles them instead).
    pub fn live_pod_ids(&self) -> Result<std::collections::HashSet<String>> {
        let mut ids: std::collections::HashSet<String> = self
            .unfinished()?
            .into_iter()
            .filter(|j| j.pod_ended_ms.is_none())
            .filter_map(|j| j.pod.map(|p| p.pod_id))
            .collect();
        // A lease holds its pod between renders too.
        ids.extend(self.open_leases()?.into_iter().map(|l| l.pod_id));
        Ok(ids)
    }

    pub(crate) fn query(&self, sql: &str) -> Result<Vec<JobRecord>> {
        self.query_with(sql, [])
    }

    pub(crate) fn query_with(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<JobRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(db_err)?;
        let rows = stmt.query_map(p, read_row).map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let mut rec = row.map_err(db_err)??;
            rec.stages = stages(&conn, &rec.id)?;
            out.push(rec);
        }
        Ok(out)
    }

    /// Moves a job from `from` to `to`, only if it is still in `from` (compare-and-swap): two
    /// writers (a running job and a cancel, or recovery) can never both win.
    pub fn transition(&self, id: &str, from: Stage, to: Stage) -> Result<()> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        let finished = to.is_terminal().then_some(now);
        let n = tx
            .execute(
                "UPDATE jobs SET stage = ?1, stage_started_ms = ?2, finished_ms = COALESCE(?3, finished_ms) WHERE id = ?4 AND stage = ?5",
                params![to.as_str(), now, finished, id, from.as_str()],
            )
            .map_err(db_err)?;
        if n == 0 {
            let actual: Option<String> = tx
                .query_row("SELECT stage FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            return Err(match actual {
                None => Error::new(NOT_FOUND, format!("No job with id {id} is in the journal.")),
                Some(actual) => Error::new(
                    CONFLICT,
                    format!(
                        "Job {id} is {actual}, not {}: another part of the app changed it first.",
                        from.as_str()
                    ),
                ),
            });
        }
        tx.execute(
            "INSERT INTO job_stages (job_id, seq, stage, started_ms)
             VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM job_stages WHERE job_id = ?1), ?2, ?3)",
            params![id, to.as_str(), now],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    pub(crate) fn set(
        &self,
        id: &str,
        column: &'static str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<()> {
        let sql = format!("UPDATE jobs SET {column} = ?1 WHERE id = ?2");
        let n = self
            .conn()
            .execute(&sql, params![value, id])
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::new(
                NOT_FOUND,
                format!("No job with id {id} is in the journal."),
            ));
        }
        Ok(())
    }

    /// Written before the create call, so a pod created by a call that then failed can be found.
    pub fn set_pod_name(&self, id: &str, name: &str) -> Result<()> {
        self.set(id, "pod_name", &name)
    }
    /// Written the moment the pod id is known.
    pub fn set_pod(&self, id: &str, pod: &PodInfo) -> Result<()> {
        self.set(id, "pod", &to_json(pod)?)
    }
    pub fn set_pod_ended(&self, id: &str, at_ms: i64) -> Result<()> {
        self.set(id, "pod_ended_ms", &at_ms)
    }
    pub fn set_comfy_url(&self, id: &str, url: &str) -> Result<()> {
        self.set(id, "comfy_url", &url)
    }
    pub fn set_uploads(&self, id: &str, uploads: &serde_json::Value) -> Result<()> {
        self.set(id, "uploads", &to_json(uploads)?)
    }
    pub fn set_prompt(&self, id: &str, prompt_id: &str) -> Result<()> {
        self.set(id, "prompt_id", &prompt_id)
    }
    pub fn set_outputs(&self, id: &str, outputs: &[PathBuf]) -> Result<()> {
        self.set(id, "outputs", &to_json(&outputs)?)
    }
    pub fn set_cost(&self, id: &str, usd: f64) -> Result<()> {
        self.set(id, "cost_usd", &usd)
    }
    pub fn set_error(&self, id: &str, err: &Error) -> Result<()> {
        self.set(id, "error_code", &err.code())?;
        self.set(id, "error_message", &err.message())
    }

    /// Removes a finished job from the journal (its gallery entry, if any, stays).
    pub fn delete(&self, id: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM jobs WHERE id = ?1", [id])
            .map_err(db_err)?;
        Ok(())
    }
}

fn stages(conn: &Connection, id: &str) -> Result<Vec<StageTime>> {
    let mut stmt = conn
        .prepare_cached("SELECT stage, started_ms FROM job_stages WHERE job_id = ?1 ORDER BY seq")
        .map_err(db_err)?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    let mut out: Vec<StageTime> = Vec::with_capacity(rows.len());
    for (name, started) in rows {
        if let Some(prev) = out.last_mut() {
            prev.ended_ms = Some(started);
        }
        let stage = Stage::parse(&name)?;
        // A terminal stage has no duration: it ends where it starts.
        let ended = stage.is_terminal().then_some(started);
        out.push(StageTime {
            stage,
            started_ms: started,
            ended_ms: ended,
        });
    }
    Ok(out)
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<Result<JobRecord>> {
    let spec: String = r.get("spec")?;
    let stage: String = r.get("stage")?;
    let pod: Option<String> = r.get("pod")?;
    let uploads: Option<String> = r.get("uploads")?;
    let outputs: String = r.get("outputs")?;
    let estimate: Option<String> = r.get("estimate")?;
    let id: String = r.get("id")?;
    let stage_started_ms = r.get("stage_started_ms")?;
    let created_ms = r.get("created_ms")?;
    let finished_ms = r.get("finished_ms")?;
    let pod_name = r.get("pod_name")?;
    let pod_ended_ms = r.get("pod_ended_ms")?;
    let comfy_url = r.get("comfy_url")?;
    let prompt_id = r.get("prompt_id")?;
    let cost_usd = r.get("cost_usd")?;
    let error_code = r.get("error_code")?;
    let error_message = r.get("error_message")?;
    let batch_id = r.get("batch_id")?;
    let position = r.get("position")?;
    let requeues = r.get("requeues")?;
    let billed_from_ms = r.get("billed_from_ms")?;
    Ok((|| {
        Ok(JobRecord {
            id,
            spec: serde_json::from_str(&spec).map_err(json_err)?,
            stage: Stage::parse(&stage)?,
            stage_started_ms,
            created_ms,
            finished_ms,
            pod_name,
            pod: from_json(pod)?,
            pod_ended_ms,
            comfy_url,
            uploads: from_json(uploads)?,
            prompt_id,
            outputs: serde_json::from_str(&outputs).map_err(json_err)?,
            estimate: from_json(estimate)?,
            cost_usd,
            error_code,
            error_message,
            stages: Vec::new(),
            batch_id,
            position,
            requeues,
            billed_from_ms,
        })
    })())
}

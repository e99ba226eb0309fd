//! Batches and leases in the job journal (`jobs.sqlite`), next to the jobs they hold.

use super::{BatchEstimate, BatchRecord, BatchSpec};
use crate::estimate::cost_for;
use crate::journal::{Journal, db_err, from_json, now_ms, to_json};
use crate::record::JobRecord;
use crate::stage::Stage;
use rusqlite::{Connection, OptionalExtension, params};
use studio_error::{Error, Result, codes};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    max_pods INTEGER NOT NULL,
    budget_usd REAL,
    estimate TEXT,
    finished_ms INTEGER,
    cost_usd REAL
);
CREATE TABLE IF NOT EXISTS leases (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    batch_id TEXT,
    pod_id TEXT NOT NULL,
    gpu_id TEXT NOT NULL,
    rate_usd_per_hour REAL NOT NULL,
    warm INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER
);
";

/// Columns later versions added to `jobs`; journals written before them open unchanged.
const JOB_COLUMNS: [(&str, &str); 4] = [
    ("batch_id", "TEXT"),
    ("position", "INTEGER"),
    ("requeues", "INTEGER NOT NULL DEFAULT 0"),
    ("billed_from_ms", "INTEGER"),
];

pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA).map_err(db_err)?;
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('jobs')")
        .map_err(db_err)?;
    let have: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    for (name, kind) in JOB_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {name} {kind}"))
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// One pod held for a batch or a lone render, from the moment it bills (or was taken warm).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeaseRow {
    pub id: String,
    /// `batch:<id>` or `job:<id>`, as in the pods journal.
    pub owner: String,
    pub batch_id: Option<String>,
    pub pod_id: String,
    pub gpu_id: String,
    pub rate_usd_per_hour: f64,
    /// A pod the user started by hand: released, never terminated, and not charged.
    pub warm: bool,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
}

impl LeaseRow {
    pub fn billed_usd(&self, now_ms: i64) -> f64 {
        if self.warm {
            return 0.0;
        }
        let end = self.ended_ms.unwrap_or(now_ms);
        cost_for(
            self.rate_usd_per_hour,
            ((end - self.started_ms) as f64 / 1000.0).max(0.0),
        )
    }
}

pub const BATCH_NOT_FOUND: &str = "jobs.batch_not_found";

fn not_found(id: &str) -> Error {
    Error::new(
        BATCH_NOT_FOUND,
        format!("No batch with id {id} is in the journal."),
    )
}

const LEASE_COLUMNS: &str =
    "id, owner, batch_id, pod_id, gpu_id, rate_usd_per_hour, warm, started_ms, ended_ms";

fn lease_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeaseRow> {
    Ok(LeaseRow {
        id: r.get(0)?,
        owner: r.get(1)?,
        batch_id: r.get(2)?,
        pod_id: r.get(3)?,
        gpu_id: r.get(4)?,
        rate_usd_per_hour: r.get(5)?,
        warm: r.get::<_, i64>(6)? != 0,
        started_ms: r.get(7)?,
        ended_ms: r.get(8)?,
    })
}

impl Journal {
    /// Writes the batch and all its renders (`queued`, in order) in one transaction.
    pub fn create_batch(
        &self,
        spec: &BatchSpec,
        estimate: Option<&BatchEstimate>,
    ) -> Result<BatchRecord> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT INTO batches (id, created_ms, max_pods, budget_usd, estimate) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, now, spec.max_pods.max(1), spec.budget_usd, estimate.map(to_json).transpose()?],
        )
        .map_err(db_err)?;
        for (i, render) in spec.renders.iter().enumerate() {
            let job = uuid::Uuid::new_v4().to_string();
            let one = estimate.and_then(|e| e.renders.get(i));
            tx.execute(
                "INSERT INTO jobs (id, spec, stage, stage_started_ms, created_ms, estimate, batch_id, position)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
                params![job, to_json(render)?, Stage::Queued.as_str(), now, one.map(to_json).transpose()?, id, i as i64],
            )
            .map_err(db_err)?;
            tx.execute(
                "INSERT INTO job_stages (job_id, seq, stage, started_ms) VALUES (?1, 0, ?2, ?3)",
                params![job, Stage::Queued.as_str(), now],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        drop(conn);
        self.batch(&id)
    }

    pub fn batch(&self, id: &str) -> Result<BatchRecord> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, created_ms, max_pods, budget_usd, estimate, finished_ms, cost_usd FROM batches WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<f64>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<f64>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| not_found(id))?;
        let mut stmt = conn
            .prepare_cached("SELECT id FROM jobs WHERE batch_id = ?1 ORDER BY position, created_ms")
            .map_err(db_err)?;
        let job_ids = stmt
            .query_map([id], |r| r.get(0))
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db_err)?;
        Ok(BatchRecord {
            id: row.0,
            created_ms: row.1,
            max_pods: row.2.clamp(1, i64::from(u32::MAX)) as u32,
            budget_usd: row.3,
            estimate: from_json(row.4)?,
            job_ids,
            finished_ms: row.5,
            cost_usd: row.6,
        })
    }

    /// Every batch, newest first.
    pub fn batches(&self) -> Result<Vec<BatchRecord>> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT id FROM batches ORDER BY created_ms DESC, rowid DESC")
                .map_err(db_err)?;
            stmt.query_map([], |r| r.get(0))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?
        };
        ids.iter().map(|id| self.batch(id)).collect()
    }

    /// The batch's renders in queue order.
    pub fn batch_jobs(&self, batch_id: &str) -> Result<Vec<JobRecord>> {
        self.query_with(
            "SELECT * FROM jobs WHERE batch_id = ?1 ORDER BY position, created_ms",
            [batch_id],
        )
    }

    pub(crate) fn set_batch_cost(&self, id: &str, usd: f64, finished: bool) -> Result<()> {
        let finished_ms = finished.then(now_ms);
        self.conn()
            .execute(
                "UPDATE batches SET cost_usd = ?2, finished_ms = COALESCE(?3, finished_ms) WHERE id = ?1",
                params![id, usd, finished_ms],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Batches that still have renders to run (not marked finished).
    pub(crate) fn unfinished_batch_ids(&self) -> Result<std::collections::HashSet<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM batches WHERE finished_ms IS NULL")
            .map_err(db_err)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(db_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db_err)
    }

    /// Puts a render back in the queue: its pod, prompt, uploads, outputs and error are
    /// cleared, its stage history is kept (a new `queued` row) and its requeue count goes up.
    /// Returns the new count.
    pub fn requeue(&self, job_id: &str) -> Result<u32> {
        self.put_back(job_id, true)
    }

    /// As [`Journal::requeue`]; `counted` false for a render that never reached a pod's work
    /// (its pod could not start, or the app closed while it was prepared locally).
    pub(crate) fn put_back(&self, job_id: &str, counted: bool) -> Result<u32> {
        let now = now_ms();
        let add = i64::from(counted);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        let n = tx
            .execute(
                "UPDATE jobs SET stage = 'queued', stage_started_ms = ?2, pod = NULL, pod_name = NULL,
                 pod_ended_ms = NULL, comfy_url = NULL, uploads = NULL, prompt_id = NULL,
                 outputs = '[]', error_code = NULL, error_message = NULL, cost_usd = NULL,
                 billed_from_ms = NULL, requeues = requeues + ?3
                 WHERE id = ?1 AND stage NOT IN ('done','failed','cancelled','interrupted')",
                params![job_id, now, add],
            )
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::new(
                crate::journal::CONFLICT,
                format!("Job {job_id} has ended (or is unknown); it cannot be queued again."),
            ));
        }
        tx.execute(
            "INSERT INTO job_stages (job_id, seq, stage, started_ms)
             VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM job_stages WHERE job_id = ?1), 'queued', ?2)",
            params![job_id, now],
        )
        .map_err(db_err)?;
        let count: i64 = tx
            .query_row("SELECT requeues FROM jobs WHERE id = ?1", [job_id], |r| {
                r.get(0)
            })
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(count.max(0) as u32)
    }

    /// A render still `queued` leaves the queue as cancelled; nothing was paid for it.
    pub fn remove_queued(&self, job_id: &str) -> Result<()> {
        self.transition(job_id, Stage::Queued, Stage::Cancelled)?;
        self.set_error(
            job_id,
            &Error::new(
                codes::CANCELLED,
                "Removed from the queue before it started; nothing was paid for it.",
            ),
        )?;
        self.set_cost(job_id, 0.0)
    }

    pub(crate) fn set_billed_from(&self, job_id: &str, ms: i64) -> Result<()> {
        self.set(job_id, "billed_from_ms", &ms)
    }

    pub(crate) fn open_lease(&self, l: &LeaseRow) -> Result<()> {
        self.conn()
            .execute(
                &format!("INSERT INTO leases ({LEASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![l.id, l.owner, l.batch_id, l.pod_id, l.gpu_id, l.rate_usd_per_hour, i64::from(l.warm), l.started_ms, l.ended_ms],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Marks the lease ended and every render that ran on its pod as having its pod gone.
    pub(crate) fn end_lease(&self, lease: &LeaseRow, at_ms: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "UPDATE leases SET ended_ms = ?2 WHERE id = ?1 AND ended_ms IS NULL",
            params![lease.id, at_ms],
        )
        .map_err(db_err)?;
        if !lease.warm {
            tx.execute(
                "UPDATE jobs SET pod_ended_ms = ?2 WHERE pod_ended_ms IS NULL
                 AND billed_from_ms IS NOT NULL AND json_extract(pod, '$.podId') = ?1",
                params![lease.pod_id, at_ms],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    pub(crate) fn open_leases(&self) -> Result<Vec<LeaseRow>> {
        self.leases_where("ended_ms IS NULL", [])
    }

    pub(crate) fn leases_of_owner(&self, owner: &str) -> Result<Vec<LeaseRow>> {
        self.leases_where("owner = ?1", [owner])
    }

    fn leases_where(&self, cond: &str, p: impl rusqlite::Params) -> Result<Vec<LeaseRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {LEASE_COLUMNS} FROM leases WHERE {cond} ORDER BY started_ms"
            ))
            .map_err(db_err)?;
        stmt.query_map(p, lease_row)
            .map_err(db_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db_err)
    }
}

//! Earlier versions kept the pods in their own file, `pods.sqlite`. Its rows are copied into
//! the one journal inside the opening transaction, and only once that committed is the old
//! file renamed `pods.sqlite.imported`: a crash between the two leaves both, and the next
//! open copies nothing twice (a pod already present keeps its row and its events). A file
//! that cannot be read stops the open with its path: its live pods may still be billing.

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, Transaction, params_from_iter};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use studio_error::{Error, Result};

/// The old file could not be read or copied; it was left as it was.
pub const IMPORT_FAILED: &str = "pods.journal_import";

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub pods: usize,
    pub live: usize,
    pub events: usize,
}

fn failed(old: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        IMPORT_FAILED,
        format!(
            "The pods journal of an earlier version ({}) could not be moved into the journal; \
             it was left as it was. Pods it lists may still be running and billing: check the \
             RunPod console (runpod.io/console/pods). Then move that file out of the data \
             folder (or make it readable) and start again.",
            old.display()
        ),
    )
    .with_source(e)
}

/// Copies every pod and its events from `old` into `tx`'s journal.
pub(super) fn copy_rows(tx: &Transaction<'_>, old: &Path) -> Result<Counts> {
    let _span = tracing::info_span!("import_pods_journal", old = %old.display()).entered();
    let src = Connection::open_with_flags(
        old,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed(old, e))?;
    src.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| failed(old, e))?;
    let copy = || -> rusqlite::Result<Counts> {
        let columns = common_columns(tx, &src)?;
        let mut counts = Counts::default();
        if columns.is_empty() {
            return Ok(counts);
        }
        let list = columns.join(", ");
        let marks = vec!["?"; columns.len()].join(", ");
        let mut insert = tx.prepare(&format!(
            "INSERT OR IGNORE INTO pods ({list}) VALUES ({marks})"
        ))?;
        let mut read = src.prepare(&format!("SELECT {list} FROM pods"))?;
        let name_at = columns.iter().position(|c| c == "name");
        let state_at = columns.iter().position(|c| c == "state");
        let mut fresh: HashSet<String> = HashSet::new();
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let values: Vec<Value> = (0..columns.len())
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<_>>()?;
            if insert.execute(params_from_iter(values.iter()))? == 1 {
                counts.pods += 1;
                let text = |at: Option<usize>| match at.map(|i| &values[i]) {
                    Some(Value::Text(t)) => Some(t.clone()),
                    _ => None,
                };
                if matches!(
                    text(state_at).as_deref(),
                    Some("created" | "ready" | "intent")
                ) {
                    counts.live += 1;
                }
                fresh.extend(text(name_at));
            }
        }
        if has_table(&src, "pod_events")? {
            let mut read =
                src.prepare("SELECT name, at, kind, detail FROM pod_events ORDER BY id")?;
            let mut add = tx.prepare(
                "INSERT INTO pod_events (name, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut rows = read.query([])?;
            while let Some(r) = rows.next()? {
                let name: String = r.get(0)?;
                if fresh.contains(&name) {
                    add.execute((
                        &name,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))?;
                    counts.events += 1;
                }
            }
        }
        Ok(counts)
    };
    copy().map_err(|e| failed(old, e))
}

fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn column_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('pods')")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    names.collect()
}

/// The old file's `pods` columns that the journal has too (an empty file has none).
fn common_columns(tx: &Transaction<'_>, src: &Connection) -> rusqlite::Result<Vec<String>> {
    if !has_table(src, "pods")? {
        return Ok(Vec::new());
    }
    let ours: HashSet<String> = column_names(tx)?.into_iter().collect();
    Ok(column_names(src)?
        .into_iter()
        .filter(|c| ours.contains(c))
        .collect())
}

/// After the copy committed: the old file (with its WAL, if one was left) is renamed so it is
/// never imported again. A failed rename only means the next open finds nothing new to copy.
pub(super) fn set_aside(old: &Path, counts: Counts) {
    let target = free_name(old);
    match std::fs::rename(old, &target) {
        Ok(()) => {
            for tail in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{tail}", old.display()));
                if side.exists() {
                    let _ = std::fs::rename(&side, format!("{}{tail}", target.display()));
                }
            }
            tracing::info!(
                pods = counts.pods,
                live = counts.live,
                events = counts.events,
                kept = %target.display(),
                "the old pods journal was imported into the journal"
            );
        }
        // Another process opening at the same moment moved it already.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(
            old = %old.display(),
            "the old pods journal was imported but could not be renamed ({e}); its rows are \
             already in the journal and will not be copied twice"
        ),
    }
}

/// `pods.sqlite.imported`, or with a number when an earlier import left that name.
fn free_name(old: &Path) -> PathBuf {
    let base = format!("{}.imported", old.display());
    std::iter::once(PathBuf::from(&base))
        .chain((2..).map(|n| PathBuf::from(format!("{base}.{n}"))))
        .find(|p| !p.exists())
        .unwrap_or_else(|| PathBuf::from(base))
}

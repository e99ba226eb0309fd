//! The gallery: finished renders with everything that made them, in the journal's SQLite file.

use crate::journal::{Journal, db_err, now_ms};
use crate::record::{JobRecord, StageTime};
use crate::spec::JobSpec;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use studio_error::{Error, Result};

pub const GALLERY_NOT_FOUND: &str = "gallery.not_found";

pub(crate) fn create_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS gallery (
            id TEXT PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            video TEXT NOT NULL,
            thumbnail TEXT,
            spec TEXT NOT NULL,
            gpu_id TEXT,
            stages TEXT NOT NULL,
            cost_usd REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS gallery_by_date ON gallery(created_ms);",
    )
    .map_err(db_err)
}

/// One result as the Gallery screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryEntry {
    /// The id of the job that made it.
    pub id: String,
    pub created_ms: i64,
    pub video: PathBuf,
    pub thumbnail: Option<PathBuf>,
    /// Inputs and every parameter; "render again" starts from this.
    pub spec: JobSpec,
    pub gpu_id: Option<String>,
    pub stages: Vec<StageTime>,
    pub cost_usd: f64,
    /// The video is no longer where it was saved (moved or deleted outside the app).
    #[serde(default)]
    pub missing: bool,
}

impl GalleryEntry {
    /// The entry for a finished job.
    pub fn from_job(job: &JobRecord, video: PathBuf, thumbnail: Option<PathBuf>) -> Self {
        Self {
            id: job.id.clone(),
            created_ms: job.created_ms,
            video,
            thumbnail,
            spec: job.spec.clone(),
            gpu_id: job.pod.as_ref().map(|p| p.gpu_id.clone()),
            stages: job.stages.clone(),
            cost_usd: job.cost_usd.unwrap_or_else(|| job.cost_usd_at(now_ms())),
            missing: false,
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| Error::internal("could not encode a gallery entry").with_source(e))
}

type RawEntry = (
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    f64,
);

fn decode(raw: RawEntry) -> Option<GalleryEntry> {
    let (id, created_ms, video, thumbnail, spec, gpu_id, stages, cost_usd) = raw;
    // An entry that cannot be read (a newer version wrote it) is skipped, never a crash.
    let spec = serde_json::from_str(&spec).ok()?;
    let stages = serde_json::from_str(&stages).unwrap_or_default();
    let video = PathBuf::from(video);
    let missing = !video.is_file();
    Some(GalleryEntry {
        id,
        created_ms,
        video,
        thumbnail: thumbnail.map(PathBuf::from).filter(|t| t.is_file()),
        spec,
        gpu_id,
        stages,
        cost_usd,
        missing,
    })
}

const COLUMNS: &str = "id, created_ms, video, thumbnail, spec, gpu_id, stages, cost_usd";

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

impl Journal {
    /// Adds (or replaces) the gallery entry for a job.
    pub fn gallery_add(&self, entry: &GalleryEntry) -> Result<()> {
        self.conn()
            .execute(
                &format!("INSERT OR REPLACE INTO gallery ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    entry.id,
                    entry.created_ms,
                    entry.video.to_string_lossy(),
                    entry.thumbnail.as_ref().map(|t| t.to_string_lossy().into_owned()),
                    to_json(&entry.spec)?,
                    entry.gpu_id,
                    to_json(&entry.stages)?,
                    entry.cost_usd,
                ],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Every result, newest first; files that were moved are flagged `missing`.
    pub fn gallery_list(&self) -> Result<Vec<GalleryEntry>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM gallery ORDER BY created_ms DESC, rowid DESC"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], raw).map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(e) = decode(row.map_err(db_err)?) {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub fn gallery_get(&self, id: &str) -> Result<GalleryEntry> {
        let raw = self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM gallery WHERE id = ?1"),
                [id],
                raw,
            )
            .optional()
            .map_err(db_err)?;
        raw.and_then(decode).ok_or_else(|| {
            Error::new(
                GALLERY_NOT_FOUND,
                format!("No result with id {id} is in the gallery."),
            )
        })
    }

    /// Removes an entry; with `delete_files` also the video and thumbnail (a file already gone
    /// is not an error).
    pub fn gallery_delete(&self, id: &str, delete_files: bool) -> Result<()> {
        let entry = self.gallery_get(id).ok();
        let n = self
            .conn()
            .execute("DELETE FROM gallery WHERE id = ?1", [id])
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::new(
                GALLERY_NOT_FOUND,
                format!("No result with id {id} is in the gallery."),
            ));
        }
        if let (true, Some(e)) = (delete_files, entry) {
            for f in std::iter::once(e.video).chain(e.thumbnail) {
                match std::fs::remove_file(&f) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(Error::io(&format!("delete {}", f.display()), err)),
                }
            }
        }
        Ok(())
    }

    /// "Render again with these settings": the spec that made the result.
    pub fn render_again(&self, id: &str) -> Result<JobSpec> {
        Ok(self.gallery_get(id)?.spec)
    }
}

//! The store's side of exports: the export history, the records in file order for the
//! writer, and the one write transaction an export commits with its rename. SQL lives here,
//! the policy in [`crate::export`].

use super::kinds::{BatchStatus, ExportRunOutcome, Trigger};
use super::{Result, Store, now_text};
use rusqlite::params;
use std::path::Path;

/// One row of the export history, as written.
#[derive(Debug, Clone)]
pub struct NewExportRun<'a> {
    /// Batch.
    pub batch: i64,
    /// Interface.
    pub interface: &'a str,
    /// Started (RFC 3339).
    pub started: &'a str,
    /// How it ended.
    pub outcome: ExportRunOutcome,
    /// Message.
    pub message: &'a str,
    /// The file written.
    pub path: Option<&'a Path>,
    /// Records written.
    pub written: u64,
    /// SHA-256 of the file.
    pub sha: Option<&'a str>,
    /// Rejected records held back.
    pub held: usize,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// The VPD code the file was made for (None: no file was made).
    pub vpd: Option<&'a str>,
    /// The sequence number it used.
    pub seq: Option<u64>,
}

/// One export run, as listed in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRun {
    /// Run id.
    pub id: i64,
    /// Batch.
    pub batch: i64,
    /// Interface.
    pub interface: String,
    /// File written.
    pub path: Option<String>,
    /// Records written.
    pub records_written: u64,
    /// SHA-256 of the file.
    pub sha256: Option<String>,
    /// Started (RFC 3339).
    pub started_at: String,
    /// Finished.
    pub finished_at: Option<String>,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// How it ended.
    pub outcome: ExportRunOutcome,
    /// Message.
    pub message: Option<String>,
    /// Rejected rows held back.
    pub held_back: u64,
    /// The VPD code the file was made for.
    pub vpd: Option<String>,
    /// The sequence number it used.
    pub seq: Option<u64>,
}

impl Store {
    /// Writes a row of the export history; returns its id.
    pub fn record_export_run(&self, r: &NewExportRun<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO export_run(batch_id, interface, path, records_written, sha256, started_at, finished_at, trigger, outcome, message, held_back, vpd, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                r.batch,
                r.interface,
                r.path.map(|p| p.display().to_string()),
                r.written as i64,
                r.sha,
                r.started,
                now_text(),
                r.trigger,
                r.outcome,
                r.message,
                r.held as i64,
                r.vpd,
                r.seq.map(|s| s as i64)
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The file of an export under way is written: its SHA-256 and what it holds, recorded
    /// before it is put in place under its name.
    pub fn export_written(
        &self,
        run: i64,
        sha: &str,
        written: u64,
        held: usize,
        message: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE export_run SET sha256 = ?2, records_written = ?3, held_back = ?4, message = ?5 WHERE id = ?1 AND outcome = 'pending'",
            params![run, sha, written as i64, held as i64, message],
        )?;
        Ok(())
    }

    /// An export under way ends: its file is in place (`ok`), or it failed or was refused
    /// and nothing is under its name. `message`, when given, replaces what it said.
    pub fn end_export(
        &self,
        run: i64,
        outcome: ExportRunOutcome,
        message: Option<&str>,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE export_run SET outcome = ?2, finished_at = ?3, message = COALESCE(?4, message) WHERE id = ?1 AND outcome = 'pending'",
            params![run, outcome, now_text(), message],
        )?;
        Ok(n == 1)
    }

    /// Exports under way, oldest first: while the store's export lock is held, what a run
    /// that stopped left in between.
    pub fn pending_exports(&self) -> Result<Vec<ExportRun>> {
        Ok(self
            .export_runs(None, None)?
            .into_iter()
            .rev()
            .filter(|r| r.outcome == ExportRunOutcome::Pending)
            .collect())
    }

    /// Export history, newest first, of a batch or an interface (or all).
    pub fn export_runs(
        &self,
        batch: Option<i64>,
        interface: Option<&str>,
    ) -> Result<Vec<ExportRun>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, batch_id, interface, path, records_written, sha256, started_at, finished_at, trigger, outcome, message, held_back, vpd, seq
             FROM export_run WHERE (?1 IS NULL OR batch_id = ?1) AND (?2 IS NULL OR interface = ?2) ORDER BY id DESC",
        )?;
        let rows = stmt.query_map(params![batch, interface], |r| {
            Ok(ExportRun {
                id: r.get(0)?,
                batch: r.get(1)?,
                interface: r.get(2)?,
                path: r.get(3)?,
                records_written: r.get::<_, i64>(4)? as u64,
                sha256: r.get(5)?,
                started_at: r.get(6)?,
                finished_at: r.get(7)?,
                trigger: r.get(8)?,
                outcome: r.get(9)?,
                message: r.get(10)?,
                held_back: r.get::<_, i64>(11)? as u64,
                vpd: r.get(12)?,
                seq: r.get::<_, Option<i64>>(13)?.map(|s| s as u64),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// True when the batch's source file began with a UTF-8 byte order mark.
    pub fn had_bom(&self, batch: i64) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT had_bom FROM batch WHERE id = ?1", [batch], |r| {
                r.get(0)
            })?)
    }

    /// False when the batch's source file's last line had no line ending (an export writes
    /// it back the same way).
    pub fn final_eol(&self, batch: i64) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT final_eol FROM batch WHERE id = ?1", [batch], |r| {
                r.get(0)
            })?)
    }

    /// The earlier ESR release(s) a batch's records were read as, in words (None: as its
    /// layout lists them today).
    pub fn read_as(&self, batch: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT read_as FROM batch WHERE id = ?1", [batch], |r| {
                r.get(0)
            })?)
    }

    /// Sets a batch's status (exported, held).
    pub fn set_status(&self, batch: i64, status: BatchStatus) -> Result<()> {
        self.conn.execute(
            "UPDATE batch SET status = ?2 WHERE id = ?1",
            params![batch, status],
        )?;
        Ok(())
    }

    /// Starts the one write transaction (IMMEDIATE: it waits for other writers, then holds
    /// the store) that an export commits around its rename. Statements run through this
    /// store meanwhile are part of it; dropping it rolls them back.
    pub fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?)
    }

    /// Hands every record of a batch to `f` in file order (excluded ones only when asked);
    /// `f` returns false to stop.
    pub fn for_each_record<E: From<super::StoreError>>(
        &self,
        batch: i64,
        with_excluded: bool,
        mut f: impl FnMut(super::StoredRecord) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "SELECT {} FROM record WHERE batch_id = ?1 AND (?2 OR excluded = 0) ORDER BY seq",
            super::query::RECORD_COLS
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| E::from(e.into()))?;
        let mut rows = stmt
            .query(params![batch, with_excluded])
            .map_err(|e| E::from(e.into()))?;
        while let Some(row) = rows.next().map_err(|e| E::from(e.into()))? {
            let rec = super::query::record_row(row).map_err(|e| E::from(e.into()))?;
            if !f(rec)? {
                break;
            }
        }
        Ok(())
    }

    /// Hands every record of a batch to `f` in file order as [`for_each_record`] does, its
    /// fields borrowed from the store's row where they can be (an export's pace).
    ///
    /// [`for_each_record`]: Store::for_each_record
    pub fn for_each_record_ref<E: From<super::StoreError>>(
        &self,
        batch: i64,
        with_excluded: bool,
        mut f: impl FnMut(super::RecordRef<'_>) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, line, record_type, fields, rejected, excluded FROM record WHERE batch_id = ?1 AND (?2 OR excluded = 0) ORDER BY seq",
            )
            .map_err(|e| E::from(e.into()))?;
        let mut rows = stmt
            .query(params![batch, with_excluded])
            .map_err(|e| E::from(e.into()))?;
        while let Some(row) = rows.next().map_err(|e| E::from(e.into()))? {
            let read = || -> rusqlite::Result<super::RecordRef<'_>> {
                Ok(super::RecordRef {
                    seq: row.get::<_, i64>(0)? as u32,
                    line: row.get::<_, i64>(1)? as u64,
                    record_type: text(row, 2)?,
                    stored: text(row, 3)?.unwrap_or(""),
                    rejected: row.get(4)?,
                    excluded: row.get(5)?,
                })
            };
            let rec = read().map_err(|e| E::from(e.into()))?;
            if !f(rec)? {
                break;
            }
        }
        Ok(())
    }

    /// Every setting, by key.
    pub fn settings(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM setting ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Column `i` of a row as text borrowed from it (None for NULL).
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

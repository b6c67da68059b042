//! The store's side of the NHS Interface Hub: organisations, hub transfers (each a row whose
//! `state` is the step it has reached), numbered extracts seen, and ESR's answers by row.
//! Every state change is its own committed statement, so a killed process resumes from the
//! last step it finished.

use super::{Result, Store, current_user, now_text};
use rusqlite::{OptionalExtension, params};

/// An organisation as stored (the password is never here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    /// VPD code (3 characters).
    pub vpd: String,
    /// Name.
    pub name: String,
    /// `ftps://USER@HOST:PORT/`, when it has a hub connection.
    pub hub_url: Option<String>,
    /// An extra CA certificate file (PEM) trusted for this hub.
    pub ca_file: Option<String>,
    /// When it was last changed.
    pub updated_at: String,
}

/// Which way a transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// From the hub's `Out` to here.
    Pull,
    /// From here to the hub's `In`.
    Push,
}

impl Way {
    fn as_str(self) -> &'static str {
        match self {
            Way::Pull => "pull",
            Way::Push => "push",
        }
    }
}

/// One hub transfer: a file pulled or pushed, and the step it has reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub vpd: String,
    /// Pull or push.
    pub way: Way,
    /// The file's name on the hub.
    pub remote_name: String,
    /// Its size in bytes, once known.
    pub size: Option<u64>,
    /// The local copy.
    pub local_path: Option<String>,
    /// The layout it was read with or written in.
    pub layout_id: Option<String>,
    /// The batch it made or came from.
    pub batch_id: Option<i64>,
    /// The step reached (see `hub::transfer`).
    pub state: String,
    /// Failed tries so far.
    pub attempts: u32,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When it started.
    pub started_at: String,
    /// When it last moved.
    pub updated_at: String,
    /// When it finished.
    pub done_at: Option<String>,
}

const TRANSFER_COLS: &str = "id, vpd, direction, remote_name, size, local_path, layout_id, batch_id, state, attempts, last_error, started_at, updated_at, done_at";

fn transfer(r: &rusqlite::Row<'_>) -> rusqlite::Result<Transfer> {
    let way: String = r.get(2)?;
    Ok(Transfer {
        id: r.get(0)?,
        vpd: r.get(1)?,
        way: if way == "push" { Way::Push } else { Way::Pull },
        remote_name: r.get(3)?,
        size: r.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
        local_path: r.get(5)?,
        layout_id: r.get(6)?,
        batch_id: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get::<_, i64>(9)?.max(0) as u32,
        last_error: r.get(10)?,
        started_at: r.get(11)?,
        updated_at: r.get(12)?,
        done_at: r.get(13)?,
    })
}

/// One numbered extract seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenSeq {
    /// The series (layout id and VPD).
    pub series: String,
    /// Its number.
    pub seq: u64,
    /// The file.
    pub file: String,
    /// Full (GDR) or changes (GOC), when the name says.
    pub kind: Option<String>,
    /// The batch it made.
    pub batch_id: Option<i64>,
    /// When.
    pub seen_at: String,
    /// A gap or a repeat found when it arrived, in words.
    pub finding: Option<String>,
}

/// ESR's answer about one row sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRow {
    /// The row (record seq) in the batch sent.
    pub seq: u32,
    /// Its line in the file received (as the table's Line column shows it; 0 when unknown).
    pub line: u64,
    /// accepted / warning / rejected.
    pub status: crate::layout::RowStatus,
    /// ESR's message.
    pub message: Option<String>,
    /// The answer batch that said so.
    pub answer_batch: i64,
}

/// What an answer file was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerInfo {
    /// The answer batch.
    pub answer_batch: i64,
    /// The batch it answers.
    pub answered_batch: Option<i64>,
    /// How it was matched, in words.
    pub matched_by: String,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows with a warning.
    pub warnings: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Answer rows that matched no row sent.
    pub unmatched: u64,
    /// When.
    pub at: String,
}

impl Store {
    /// Creates or changes an organisation.
    pub fn save_org(
        &self,
        vpd: &str,
        name: &str,
        hub_url: Option<&str>,
        ca_file: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO organisation (vpd, name, hub_url, ca_file, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(vpd) DO UPDATE SET name = ?2, hub_url = ?3, ca_file = ?4,
                 updated_at = ?5, updated_by = ?6",
            params![vpd, name, hub_url, ca_file, now_text(), current_user()],
        )?;
        Ok(())
    }

    /// Every organisation, by VPD.
    pub fn orgs(&self) -> Result<Vec<OrgRow>> {
        let mut st = self.conn.prepare(
            "SELECT vpd, name, hub_url, ca_file, updated_at FROM organisation ORDER BY vpd",
        )?;
        let rows = st.query_map([], |r| {
            Ok(OrgRow {
                vpd: r.get(0)?,
                name: r.get(1)?,
                hub_url: r.get(2)?,
                ca_file: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One organisation.
    pub fn org(&self, vpd: &str) -> Result<Option<OrgRow>> {
        Ok(self
            .orgs()?
            .into_iter()
            .find(|o| o.vpd.eq_ignore_ascii_case(vpd)))
    }

    /// A transfer by id.
    pub fn transfer(&self, id: i64) -> Result<Option<Transfer>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {TRANSFER_COLS} FROM hub_transfer WHERE id = ?1"),
                [id],
                transfer,
            )
            .optional()?)
    }

    /// The transfer of a file by name, if one was started.
    pub fn transfer_named(
        &self,
        vpd: &str,
        way: Way,
        remote_name: &str,
    ) -> Result<Option<Transfer>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {TRANSFER_COLS} FROM hub_transfer WHERE vpd = ?1 AND direction = ?2 AND remote_name = ?3"
                ),
                params![vpd, way.as_str(), remote_name],
                transfer,
            )
            .optional()?)
    }

    /// The push of a batch, if one was started.
    pub fn push_of(&self, batch: i64) -> Result<Option<Transfer>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {TRANSFER_COLS} FROM hub_transfer WHERE direction = 'push' AND batch_id = ?1"
                ),
                [batch],
                transfer,
            )
            .optional()?)
    }

    /// Starts a transfer at `state` (or returns the one already started for that file).
    pub fn start_transfer(
        &self,
        vpd: &str,
        way: Way,
        remote_name: &str,
        batch: Option<i64>,
        state: &str,
    ) -> Result<Transfer> {
        let now = now_text();
        self.conn.execute(
            "INSERT OR IGNORE INTO hub_transfer (vpd, direction, remote_name, batch_id, state, started_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![vpd, way.as_str(), remote_name, batch, state, now],
        )?;
        self.transfer_named(vpd, way, remote_name)?
            .ok_or(super::StoreError::Sqlite(
                rusqlite::Error::QueryReturnedNoRows,
            ))
    }

    /// Moves a transfer to its next step, with what that step learnt.
    pub fn advance_transfer(&self, id: i64, state: &str, set: &TransferFacts<'_>) -> Result<()> {
        let now = now_text();
        self.conn.execute(
            "UPDATE hub_transfer SET state = ?2, updated_at = ?3, last_error = NULL,
                 size = COALESCE(?4, size), local_path = COALESCE(?5, local_path),
                 layout_id = COALESCE(?6, layout_id), batch_id = COALESCE(?7, batch_id),
                 remote_name = COALESCE(?8, remote_name),
                 done_at = CASE WHEN ?2 = 'done' THEN ?3 ELSE done_at END
             WHERE id = ?1",
            params![
                id,
                state,
                now,
                set.size.map(|n| n as i64),
                set.local_path,
                set.layout_id,
                set.batch_id,
                set.remote_name
            ],
        )?;
        Ok(())
    }

    /// Records a failed try of a transfer's next step (the state is kept).
    pub fn transfer_failed(&self, id: i64, why: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE hub_transfer SET attempts = attempts + 1, last_error = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, why, now_text()],
        )?;
        Ok(())
    }

    /// Transfers of an organisation not finished, oldest first.
    pub fn unfinished_transfers(&self, vpd: &str, way: Way) -> Result<Vec<Transfer>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {TRANSFER_COLS} FROM hub_transfer WHERE vpd = ?1 AND direction = ?2 AND state != 'done' ORDER BY id"
        ))?;
        let rows = st.query_map(params![vpd, way.as_str()], transfer)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest transfers, newest first.
    pub fn transfers(&self, limit: u32) -> Result<Vec<Transfer>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {TRANSFER_COLS} FROM hub_transfer ORDER BY updated_at DESC, id DESC LIMIT ?1"
        ))?;
        let rows = st.query_map([limit], transfer)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The numbers seen in a series, in order of number.
    pub fn seen_in_series(&self, series: &str) -> Result<Vec<SeenSeq>> {
        let mut st = self.conn.prepare(
            "SELECT series, seq, file, kind, batch_id, seen_at, finding FROM sequence_seen
             WHERE series = ?1 ORDER BY seq, seen_at",
        )?;
        let rows = st.query_map([series], seen)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every series seen.
    pub fn series(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT series FROM sequence_seen ORDER BY series")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a numbered file seen (once per file); false when it was recorded before.
    pub fn record_seen(&self, s: &SeenSeq) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO sequence_seen (series, seq, file, kind, batch_id, seen_at, finding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(series, file) DO NOTHING",
            params![
                s.series,
                s.seq as i64,
                s.file,
                s.kind,
                s.batch_id,
                s.seen_at,
                s.finding
            ],
        )?;
        Ok(n == 1)
    }

    /// What the sequence watch found for a batch, if anything.
    pub fn sequence_finding(&self, batch: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT finding FROM sequence_seen WHERE batch_id = ?1 AND finding IS NOT NULL",
                [batch],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores what an answer file said of the rows of the batch it answers (replacing an
    /// earlier matching of the same answer), in one transaction.
    pub fn save_answer(&self, info: &AnswerInfo, rows: &[AnswerRow]) -> Result<()> {
        let tx = self.write_tx()?;
        self.conn.execute(
            "DELETE FROM answer_row WHERE answer_batch = ?1",
            [info.answer_batch],
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO answer (answer_batch, answered_batch, matched_by, accepted, warnings, rejected, unmatched, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                info.answer_batch,
                info.answered_batch,
                info.matched_by,
                info.accepted as i64,
                info.warnings as i64,
                info.rejected as i64,
                info.unmatched as i64,
                info.at
            ],
        )?;
        if let Some(answered) = info.answered_batch {
            let mut st = self.conn.prepare(
                "INSERT OR REPLACE INTO answer_row (answered_batch, seq, answer_batch, status, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in rows {
                st.execute(params![
                    answered,
                    r.seq,
                    info.answer_batch,
                    r.status.as_str(),
                    r.message
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What ESR said of each row of a batch (the latest answer per row), by row; with
    /// `all` false, only the rows not accepted (what the batch's panel and table show).
    pub fn answer_rows(&self, batch: i64, all: bool) -> Result<Vec<AnswerRow>> {
        let mut st = self.conn.prepare(
            "SELECT a.seq, a.status, a.message, a.answer_batch,
                    (SELECT r.line FROM record r WHERE r.batch_id = a.answered_batch AND r.seq = a.seq)
             FROM answer_row a
             WHERE answered_batch = ?1 AND (?2 OR a.status != 'accepted')
               AND answer_batch = (SELECT MAX(answer_batch) FROM answer_row b
                                   WHERE b.answered_batch = a.answered_batch AND b.seq = a.seq)
             ORDER BY seq",
        )?;
        let rows = st.query_map(params![batch, all], |r| {
            let status: String = r.get(1)?;
            Ok(AnswerRow {
                seq: r.get(0)?,
                status: crate::layout::RowStatus::parse(&status)
                    .unwrap_or(crate::layout::RowStatus::Rejected),
                message: r.get(2)?,
                answer_batch: r.get(3)?,
                line: r.get::<_, Option<i64>>(4)?.unwrap_or(0).max(0) as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The answers that arrived for a batch, and what an answer batch was matched to.
    pub fn answers(&self, answered: Option<i64>, answer: Option<i64>) -> Result<Vec<AnswerInfo>> {
        let mut st = self.conn.prepare(
            "SELECT answer_batch, answered_batch, matched_by, accepted, warnings, rejected, unmatched, at
             FROM answer WHERE (?1 IS NULL OR answered_batch = ?1) AND (?2 IS NULL OR answer_batch = ?2)
             ORDER BY answer_batch",
        )?;
        let rows = st.query_map(params![answered, answer], |r| {
            Ok(AnswerInfo {
                answer_batch: r.get(0)?,
                answered_batch: r.get(1)?,
                matched_by: r.get(2)?,
                accepted: r.get::<_, i64>(3)?.max(0) as u64,
                warnings: r.get::<_, i64>(4)?.max(0) as u64,
                rejected: r.get::<_, i64>(5)?.max(0) as u64,
                unmatched: r.get::<_, i64>(6)?.max(0) as u64,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Batches with rows ESR rejected and no re-send made of them yet: (batch, rejected rows).
    pub fn rejections_outstanding(&self) -> Result<Vec<(i64, u64)>> {
        let mut st = self.conn.prepare(
            "SELECT a.answered_batch, COUNT(*) FROM answer_row a
             WHERE a.status = 'rejected'
               AND a.answer_batch = (SELECT MAX(answer_batch) FROM answer_row b
                                     WHERE b.answered_batch = a.answered_batch AND b.seq = a.seq)
               AND NOT EXISTS (SELECT 1 FROM batch r WHERE r.resend_of = a.answered_batch)
               AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = a.answered_batch)
             GROUP BY a.answered_batch ORDER BY a.answered_batch",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks a batch as the re-send of another's rejected rows.
    pub fn set_resend_of(&self, batch: i64, of: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE batch SET resend_of = ?2 WHERE id = ?1",
            params![batch, of],
        )?;
        Ok(())
    }

    /// The re-send made of a batch's rejected rows, if one was made.
    pub fn resend_batch_of(&self, batch: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM batch WHERE resend_of = ?1 AND status != 'importing'
                 AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id)
                 ORDER BY id DESC LIMIT 1",
                [batch],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The latest batch received under a file name, and where that file was.
    pub fn batch_named(&self, name: &str) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, source_path FROM batch WHERE source_name = ?1 COLLATE NOCASE
                 AND status != 'importing'
                 AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id)
                 ORDER BY id DESC LIMIT 1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The batch a re-send was made for, if it is one.
    pub fn resend_of(&self, batch: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT resend_of FROM batch WHERE id = ?1", [batch], |r| {
                r.get(0)
            })
            .optional()?
            .flatten())
    }
}

/// What a transfer step learnt (None: unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct TransferFacts<'a> {
    /// Size in bytes.
    pub size: Option<u64>,
    /// Local copy.
    pub local_path: Option<&'a str>,
    /// Layout.
    pub layout_id: Option<&'a str>,
    /// Batch.
    pub batch_id: Option<i64>,
    /// The name on the hub (a push learns it from its export).
    pub remote_name: Option<&'a str>,
}

fn seen(r: &rusqlite::Row<'_>) -> rusqlite::Result<SeenSeq> {
    Ok(SeenSeq {
        series: r.get(0)?,
        seq: r.get::<_, i64>(1)?.max(0) as u64,
        file: r.get(2)?,
        kind: r.get(3)?,
        batch_id: r.get(4)?,
        seen_at: r.get(5)?,
        finding: r.get(6)?,
    })
}

//! The store's side of scheduled runs: schedule rows, leases, the run history. SQL lives
//! here; cadences, steps and policy in [`crate::schedule`].

use super::kinds::RunOutcome;
use super::{Result, Store, now_text};
use rusqlite::{OptionalExtension, params};

/// A schedule as stored (text as written; [`crate::schedule`] reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    /// Id.
    pub id: i64,
    /// Interface id.
    pub interface: String,
    /// Runs when due.
    pub enabled: bool,
    /// Cadence, as text.
    pub cadence: String,
    /// Inbox folder.
    pub inbox: Option<String>,
    /// Outbox folder.
    pub outbox: Option<String>,
    /// "hold" or "valid_rows_only".
    pub on_rejects: String,
    /// Last run's start (RFC 3339).
    pub last_run_at: Option<String>,
    /// When made (RFC 3339).
    pub created_at: Option<String>,
    /// Check references against the latest batch.
    pub check_references: bool,
    /// When its inbox was last looked at, whether or not there was anything to do.
    pub last_checked_at: Option<String>,
    /// The organisation (VPD) whose hub `Out` the run pulls from, besides its inbox.
    pub hub_from: Option<String>,
    /// The organisation (VPD) whose hub `In` the run delivers clean batches to.
    pub hub_to: Option<String>,
}

/// One recorded run, for the history view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    /// Run id.
    pub id: i64,
    /// Interface.
    pub interface: String,
    /// Started (RFC 3339).
    pub started_at: String,
    /// Finished.
    pub finished_at: Option<String>,
    /// Files picked up.
    pub files: u64,
    /// Batches made.
    pub batches: u64,
    /// Exports written.
    pub exports: u64,
    /// Outcome.
    pub outcome: RunOutcome,
    /// Message.
    pub message: Option<String>,
}

/// What a finished run records.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    /// Files picked up.
    pub files: u64,
    /// Batches made.
    pub batches: u64,
    /// Exports written.
    pub exports: u64,
    /// How it ended.
    pub outcome: RunOutcome,
    /// What it did, in words.
    pub message: &'a str,
}

impl Store {
    /// Creates or updates the schedule of an interface (by interface).
    pub fn upsert_schedule(&self, r: &ScheduleRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO schedule(interface, enabled, cadence, inbox, outbox, on_rejects, created_at, check_references, hub_from, hub_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(interface) DO UPDATE SET enabled = excluded.enabled, cadence = excluded.cadence, inbox = excluded.inbox,
                 outbox = excluded.outbox, on_rejects = excluded.on_rejects, check_references = excluded.check_references,
                 hub_from = excluded.hub_from, hub_to = excluded.hub_to",
            params![r.interface, r.enabled, r.cadence, r.inbox, r.outbox, r.on_rejects, r.created_at, r.check_references, r.hub_from, r.hub_to],
        )?;
        Ok(())
    }

    /// Every schedule row, by interface.
    pub fn schedule_rows(&self) -> Result<Vec<ScheduleRow>> {
        let mut stmt = self.conn.prepare_cached("SELECT id, interface, enabled, cadence, inbox, outbox, on_rejects, last_run_at, created_at, check_references, last_checked_at, hub_from, hub_to FROM schedule ORDER BY interface")?;
        let rows = stmt.query_map([], |r| {
            Ok(ScheduleRow {
                id: r.get(0)?,
                interface: r.get(1)?,
                enabled: r.get(2)?,
                cadence: r.get(3)?,
                inbox: r.get(4)?,
                outbox: r.get(5)?,
                on_rejects: r.get(6)?,
                last_run_at: r.get(7)?,
                created_at: r.get(8)?,
                check_references: r.get(9)?,
                last_checked_at: r.get(10)?,
                hub_from: r.get(11)?,
                hub_to: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Takes a schedule's lease for `owner` until `until` when it is free or ran out before
    /// `now` (times as RFC 3339 text); false when someone else holds it.
    pub fn take_lease(&self, schedule: i64, owner: &str, until: &str, now: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE schedule SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1 AND (lease_until IS NULL OR lease_until < ?4 OR lease_owner = ?2)",
            params![schedule, owner, until, now],
        )?;
        Ok(n == 1)
    }

    /// Takes a schedule's lease for `owner` whoever holds it: for a holder known to have
    /// stopped (no process on this computer holds the schedule's run lock).
    pub fn take_over_lease(&self, schedule: i64, owner: &str, until: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE schedule SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1",
            params![schedule, owner, until],
        )?;
        Ok(())
    }

    /// Renews the lease `owner` holds.
    pub fn renew_lease(&self, schedule: i64, owner: &str, until: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE schedule SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2",
            params![schedule, owner, until],
        )?;
        Ok(())
    }

    /// Who holds a schedule's lease, and until when (text).
    pub fn lease(&self, schedule: i64) -> Result<Option<(String, Option<String>)>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT lease_owner, lease_until FROM schedule WHERE id = ?1",
                [schedule],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(o, u)| o.map(|o| (o, u))))
    }

    /// Gives the lease back.
    pub fn release_lease(&self, schedule: i64, owner: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE schedule SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
            params![schedule, owner],
        )?;
        Ok(())
    }

    /// Records the start of a run; returns its id.
    pub fn start_schedule_run(&self, schedule: i64, started: &str, message: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO schedule_run(schedule_id, started_at, outcome, message) VALUES (?1, ?2, ?3, ?4)",
            params![schedule, started, RunOutcome::Running, message],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the end of a run, and the schedule's last run.
    pub fn finish_schedule_run(
        &self,
        run: i64,
        schedule: i64,
        started: &str,
        finished: &str,
        end: RunEnd<'_>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE schedule_run SET finished_at = ?2, files_picked = ?3, batches_made = ?4, exports_written = ?5, outcome = ?6, message = ?7 WHERE id = ?1",
            params![run, finished, end.files as i64, end.batches as i64, end.exports as i64, end.outcome, end.message],
        )?;
        self.schedule_checked(schedule, started, finished)
    }

    /// Records that a schedule's slot was taken and its inbox looked at (a run that found
    /// nothing to do leaves no history row, only this).
    pub fn schedule_checked(&self, schedule: i64, started: &str, checked: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE schedule SET last_run_at = ?2, last_checked_at = ?3 WHERE id = ?1",
            params![schedule, started, checked],
        )?;
        Ok(())
    }

    /// Marks as interrupted the runs of a schedule still marked as running.
    pub fn mark_runs_interrupted(
        &self,
        schedule: i64,
        finished: &str,
        note: &str,
    ) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE schedule_run SET outcome = ?2, finished_at = ?3,
                 message = COALESCE(message || char(10), '') || ?5
             WHERE schedule_id = ?1 AND outcome = ?4",
            params![
                schedule,
                RunOutcome::Interrupted,
                finished,
                RunOutcome::Running,
                note
            ],
        )?)
    }

    /// True when a run of the schedule is still marked as running.
    pub fn has_unfinished_run(&self, schedule: i64) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM schedule_run WHERE schedule_id = ?1 AND outcome = ?2)",
            params![schedule, RunOutcome::Running],
            |r| r.get(0),
        )?)
    }

    /// Run history, newest first.
    pub fn run_history(&self, limit: u64) -> Result<Vec<RunEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, s.interface, r.started_at, r.finished_at, r.files_picked, r.batches_made, r.exports_written, r.outcome, r.message
             FROM schedule_run r JOIN schedule s ON s.id = r.schedule_id ORDER BY r.id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(RunEntry {
                id: r.get(0)?,
                interface: r.get(1)?,
                started_at: r.get(2)?,
                finished_at: r.get(3)?,
                files: r.get::<_, i64>(4)? as u64,
                batches: r.get::<_, i64>(5)? as u64,
                exports: r.get::<_, i64>(6)? as u64,
                outcome: r.get(7)?,
                message: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Batches held for review, by id.
    pub fn held_batch_ids(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM batch WHERE status = ?1 ORDER BY id")?;
        let rows = stmt.query_map([super::kinds::BatchStatus::Held], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A batch a scheduled run imported is due: later runs deliver it until it is done.
    pub fn mark_due(&self, schedule: i64, batch: i64, source: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO due_batch(batch_id, schedule_id, source, since) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(batch_id) DO NOTHING",
            params![batch, schedule, source, now_text()],
        )?;
        Ok(())
    }

    /// Why a due batch still waits (the last attempt's failure).
    pub fn due_waits(&self, batch: i64, why: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE due_batch SET why = ?2 WHERE batch_id = ?1",
            params![batch, why],
        )?;
        Ok(())
    }

    /// A due batch was delivered (exported, held for review or sent to the hub).
    pub fn clear_due(&self, batch: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM due_batch WHERE batch_id = ?1", [batch])?;
        Ok(())
    }

    /// The batches a schedule still owes a delivery: (batch, source file name), oldest first.
    /// A batch purged meanwhile is no longer owed.
    pub fn due_batches(&self, schedule: i64) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.batch_id, d.source FROM due_batch d JOIN batch b ON b.id = d.batch_id
             WHERE d.schedule_id = ?1 AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = d.batch_id)
             ORDER BY d.batch_id",
        )?;
        let rows = stmt.query_map([schedule], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

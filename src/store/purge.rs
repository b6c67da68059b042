//! Retention: batches older than the trust allows are purged — their records, issues, keys
//! and the values in their edit log — leaving a tombstone (when, by whom, the file's name and
//! SHA-256, the record count). The edit log's append-only trigger lets nothing through but the
//! clearing of values of a batch with a tombstone. The store runs with `secure_delete` on, so
//! purged rows are overwritten, and the file is vacuumed after a purge.

use super::kinds::AccessAction;
use super::{Result, Store, current_user, now_text};
use rusqlite::params;

/// Days a batch is kept when no retention setting says otherwise.
pub const BATCH_DAYS: u32 = 90;
/// Days an archived source file is kept when no retention setting says otherwise.
pub const ARCHIVE_DAYS: u32 = 30;

/// A batch purged (or that a dry run would purge).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// Batch id.
    pub batch: i64,
    /// Interface.
    pub interface: String,
    /// Source file name.
    pub source_name: String,
    /// When imported.
    pub imported_at: String,
    /// Records it held.
    pub records: u64,
}

/// What is kept of a purged batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tombstone {
    /// Batch id.
    pub batch: i64,
    /// When purged.
    pub purged_at: String,
    /// By whom.
    pub purged_by: String,
    /// The source file's name.
    pub source_name: String,
    /// The source file's SHA-256.
    pub sha256: String,
    /// Records it held.
    pub records: u64,
    /// Under which rule.
    pub reason: String,
}

/// What a purge did (or would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PurgeReport {
    /// Batches purged.
    pub batches: Vec<Purged>,
    /// Archived source files deleted.
    pub files: Vec<std::path::PathBuf>,
    /// True for a dry run: nothing was changed.
    pub dry_run: bool,
}

impl Store {
    /// Days batches of `interface` are kept: `retention.batch-days.<interface>`, else
    /// `retention.batch-days`, else [`BATCH_DAYS`].
    pub fn batch_days(&self, interface: &str) -> Result<u32> {
        for key in [
            format!("retention.batch-days.{interface}"),
            "retention.batch-days".to_string(),
        ] {
            if let Some(v) = self.setting(&key)?
                && let Ok(n) = v.trim().parse::<u32>()
            {
                return Ok(n.max(1));
            }
        }
        Ok(BATCH_DAYS)
    }

    /// Days archived source files are kept: `retention.archive-days`, else [`ARCHIVE_DAYS`].
    pub fn archive_days(&self) -> Result<u32> {
        Ok(self
            .setting("retention.archive-days")?
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(ARCHIVE_DAYS, |n| n.max(1)))
    }

    /// The batches due for purging at `now`: imported more than their interface's days ago
    /// (or more than `older_than` days, when given), not purged already.
    pub fn purge_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        older_than: Option<u32>,
    ) -> Result<Vec<Purged>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, interface, source_name, imported_at, record_count FROM batch b
             WHERE status != 'importing' AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = b.id)
             ORDER BY id",
        )?;
        let rows: Vec<Purged> = stmt
            .query_map([], |r| {
                Ok(Purged {
                    batch: r.get(0)?,
                    interface: r.get(1)?,
                    source_name: r.get(2)?,
                    imported_at: r.get(3)?,
                    records: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for b in rows {
            let days = match older_than {
                Some(d) => d,
                None => self.batch_days(&b.interface)?,
            };
            let Ok(at) = chrono::DateTime::parse_from_rfc3339(&b.imported_at) else {
                continue;
            };
            if now.signed_duration_since(at.with_timezone(&chrono::Utc))
                > chrono::Duration::days(i64::from(days))
            {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Purges one batch: a tombstone first, then its records, issues, keys and the values in
    /// its edit log go, in one transaction; then the source file a scheduled run archived for
    /// it, if it is still there (returned). `why` says under which rule.
    pub fn purge_batch(&mut self, batch: i64, why: &str) -> Result<Option<std::path::PathBuf>> {
        let archived = self.archived_file(batch)?;
        let hub_copies = self.hub_copies(batch)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO purge(batch_id, purged_at, purged_by, interface, source_name, source_sha256, record_count, reason)
             SELECT id, ?2, ?3, interface, source_name, source_sha256, record_count, ?4 FROM batch WHERE id = ?1",
            params![batch, now_text(), current_user(), why],
        )?;
        tx.execute("DELETE FROM issue WHERE batch_id = ?1", [batch])?;
        tx.execute("DELETE FROM record_key WHERE batch_id = ?1", [batch])?;
        tx.execute("DELETE FROM record WHERE batch_id = ?1", [batch])?;
        tx.execute(
            "UPDATE edit SET old_value = NULL, new_value = NULL, reason = NULL WHERE batch_id = ?1",
            [batch],
        )?;
        tx.execute("UPDATE batch SET source_path = '' WHERE id = ?1", [batch])?;
        // ESR's messages about its rows may quote them.
        tx.execute(
            "UPDATE answer_row SET message = NULL WHERE answered_batch = ?1 OR answer_batch = ?1",
            [batch],
        )?;
        tx.commit()?;
        for f in &hub_copies {
            // The program's own copies (downloaded from, sent to the hub, re-send drafts).
            if let Err(e) = std::fs::remove_file(f) {
                tracing::warn!(batch, error = %e, "a hub copy of a purged batch could not be deleted");
            }
        }
        if let Some(f) = &archived {
            std::fs::remove_file(f).map_err(|source| super::StoreError::Io {
                context: format!("could not delete the archived file {}", f.display()),
                source,
            })?;
        }
        tracing::info!(batch, "batch purged under the retention rules");
        Ok(archived)
    }

    /// The source file a scheduled run archived for a batch (`<inbox>/archive/<name>`), when
    /// it is still there.
    pub fn archived_file(&self, batch: i64) -> Result<Option<std::path::PathBuf>> {
        let (source_path, source_name): (String, String) = self.conn.query_row(
            "SELECT source_path, source_name FROM batch WHERE id = ?1",
            [batch],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(std::path::Path::new(&source_path)
            .parent()
            .map(|d| d.join("archive").join(&source_name))
            .filter(|p| !source_path.is_empty() && p.is_file()))
    }

    /// The program's own copies of a batch's files: downloaded from the hub, sent to it, and
    /// the drafts of a re-send of its rejected rows.
    pub fn hub_copies(&self, batch: i64) -> Result<Vec<std::path::PathBuf>> {
        let mut out = Vec::new();
        let mut st = self.conn.prepare(
            "SELECT local_path FROM hub_transfer WHERE batch_id = ?1 AND local_path IS NOT NULL",
        )?;
        for p in st.query_map([batch], |r| r.get::<_, String>(0))? {
            out.push(std::path::PathBuf::from(p?));
        }
        if let Ok(rd) = std::fs::read_dir(self.dir().join("resend").join(batch.to_string())) {
            out.extend(rd.flatten().map(|e| e.path()));
        }
        out.retain(|p| p.is_file());
        Ok(out)
    }

    /// The tombstones of purged batches, oldest first.
    pub fn tombstones(&self) -> Result<Vec<Tombstone>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT batch_id, purged_at, purged_by, source_name, source_sha256, record_count, reason FROM purge ORDER BY batch_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Tombstone {
                batch: r.get(0)?,
                purged_at: r.get(1)?,
                purged_by: r.get(2)?,
                source_name: r.get(3)?,
                sha256: r.get(4)?,
                records: r.get::<_, i64>(5)? as u64,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Frees the space purged rows took (incremental when the store allows it).
    pub fn reclaim(&self) -> Result<()> {
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        if mode == 2 {
            self.conn.execute_batch("PRAGMA incremental_vacuum;")?;
        } else {
            // Once: switch to incremental vacuum (needs a full vacuum to take effect).
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
        }
        Ok(())
    }

    /// The daily purge under the retention rules, run by whichever engine gets there first
    /// that day (the window when it starts and daily, `run-due`): None when it already ran.
    pub fn purge_if_due(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PurgeReport>> {
        let today = now.date_naive().to_string();
        if self.setting("retention.purged-on")?.as_deref() == Some(today.as_str()) {
            return Ok(None);
        }
        let report = self.purge(now, None, false)?;
        self.conn.execute(
            "INSERT INTO setting(key, value) VALUES ('retention.purged-on', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [&today],
        )?;
        Ok(Some(report))
    }

    /// Purges what the retention rules (or `older_than` days) say is due at `now`, and the
    /// archived source files of the schedules' inboxes older than the archive days. With
    /// `dry_run`, only says what it would do. Logged in the access log (not a dry run).
    pub fn purge(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
        older_than: Option<u32>,
        dry_run: bool,
    ) -> Result<PurgeReport> {
        let batches = self.purge_due(now, older_than)?;
        let archive_days = older_than.unwrap_or(self.archive_days()?);
        let mut files = Vec::new();
        for row in self.schedule_rows()? {
            let Some(inbox) = row.inbox else { continue };
            let dir = std::path::PathBuf::from(inbox).join("archive");
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .map(chrono::DateTime::<chrono::Utc>::from)
                    .is_ok_and(|m| {
                        now.signed_duration_since(m)
                            > chrono::Duration::days(i64::from(archive_days))
                    });
                if p.is_file() && old {
                    files.push(p);
                }
            }
        }
        for b in &batches {
            if let Some(f) = self.archived_file(b.batch)?
                && !files.contains(&f)
            {
                files.push(f);
            }
        }
        files.sort();
        if !dry_run {
            for b in &batches {
                let days = match older_than {
                    Some(d) => d,
                    None => self.batch_days(&b.interface)?,
                };
                self.purge_batch(b.batch, &format!("older than {days} days"))?;
            }
            for f in &files {
                if f.exists() {
                    std::fs::remove_file(f).map_err(|source| super::StoreError::Io {
                        context: format!("could not delete the archived file {}", f.display()),
                        source,
                    })?;
                }
            }
            if !batches.is_empty() || !files.is_empty() {
                self.reclaim()?;
                self.log_access(
                    None,
                    AccessAction::Purge,
                    Some(batches.len() as u64),
                    &format!(
                        "{} batch(es), {} archived file(s)",
                        batches.len(),
                        files.len()
                    ),
                )?;
            }
        }
        Ok(PurgeReport {
            batches,
            files,
            dry_run,
        })
    }
}

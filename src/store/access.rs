//! The access log: who opened, revealed, copied, exported and purged what, and when — with
//! counts, never a field's value. Append-only (triggers refuse changes), like the edit log.

use super::kinds::AccessAction;
use super::{Result, Store, current_user, now_text};
use rusqlite::params;

/// One entry of the access log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessEntry {
    /// Entry id.
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub who: String,
    /// The batch, when the action was about one.
    pub batch: Option<i64>,
    /// What was done.
    pub action: String,
    /// How many (cells copied, records exported, batches purged).
    pub count: Option<u64>,
    /// In words: a reveal's reason, a saved file's name; never a field's value.
    pub detail: Option<String>,
}

impl Store {
    /// Records an access.
    pub fn log_access(
        &self,
        batch: Option<i64>,
        action: AccessAction,
        count: Option<u64>,
        detail: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO access_log(at, who, batch_id, action, count, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now_text(),
                current_user(),
                batch,
                action,
                count.map(|c| c as i64),
                (!detail.is_empty()).then_some(detail)
            ],
        )?;
        tracing::info!(batch, action = %action, count, "access logged");
        Ok(())
    }

    /// The access log from `since` (RFC 3339 or a date, inclusive), oldest first.
    pub fn access_log(&self, since: Option<&str>) -> Result<Vec<AccessEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, who, batch_id, action, count, detail FROM access_log WHERE (?1 IS NULL OR at >= ?1) ORDER BY id",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok(AccessEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                batch: r.get(3)?,
                action: r.get(4)?,
                count: r.get::<_, Option<i64>>(5)?.map(|c| c as u64),
                detail: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

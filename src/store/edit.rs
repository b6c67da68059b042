//! Editing a stored batch: set a value, exclude or include a record, undo and redo, accept a
//! file-level problem, and re-check references.
//!
//! Every change is written to the append-only edit log in the same transaction that changes
//! the record, and the transaction is committed before the call returns: a correction is never
//! lost. After a change the record is re-judged by [`check_record`] — the function the
//! pipeline uses on import — with the read problems kept beside the record, and its unique-key
//! group is re-checked through an in-memory index of the batch built on the first edit.
//! File-level issues (structure, the received trailer's counts and totals) are evidence about
//! the file as received: edits never recompute them; the officer clears one only by accepting
//! it with a reason ([`Store::accept`]). Undo and redo are new, logged entries.

use super::kinds::{BatchStatus, EditKind};
use super::{Result, Store, StoreError, current_user, join_fields, now_text, split_fields};
use crate::layout::{Layout, Role};
use crate::reader::{ReadProblem, problems_from_text, problems_to_text};
use crate::rules::{Rule, sql_list};
use crate::validate::{
    Against, Issue, References, check_record, consistent_hash, consistent_issue, history_clash,
    history_issue, index_keys, key_hash, period_of, record_type_of, unique_issue,
    unknown_type_issue,
};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// What an edit changed.
#[derive(Debug, Clone, Default)]
pub struct EditOutcome {
    /// Records whose values, flags or issues changed.
    pub changed: Vec<u32>,
    /// Records with an error and not excluded, after the edit.
    pub rejected_records: u64,
    /// Edit-log entries written.
    pub entries: usize,
}

/// One change, as the edit functions take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set field `field` of record `seq`.
    Set {
        /// Record.
        seq: u32,
        /// Field position.
        field: usize,
        /// New value.
        value: String,
    },
    /// Leave a record out of exports.
    Exclude {
        /// Record.
        seq: u32,
        /// Why.
        reason: String,
    },
    /// Put an excluded record back.
    Include {
        /// Record.
        seq: u32,
    },
}

/// A file-level problem the officer accepted, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// Entry id.
    pub id: i64,
    /// The rule accepted.
    pub rule: Rule,
    /// The line (None: every issue of the rule in the batch).
    pub line: Option<u64>,
    /// Why.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub who: String,
}

/// What an edit of a batch needs besides the records: its layout and references. The unique
/// keys are kept in the store (`record_key`), written at import and kept current here.
pub(crate) struct EditContext {
    layout: Arc<Layout>,
    refs: References,
    /// The batch's header record (its seq and fields), which detail rules may read.
    header: Option<(u32, Vec<String>)>,
    /// The batch was converted from a table: its header is the program's.
    made_frame: bool,
    /// The last edit id when the context was made (another process's edit makes it stale).
    last_edit: i64,
}

/// Writes the key index of a batch: (hash, record) pairs, sorted first so the rows go in
/// in order (a million of them in well under a second).
pub(crate) fn write_keys(
    tx: &Transaction<'_>,
    batch: i64,
    mut keys: Vec<(u64, u32)>,
) -> rusqlite::Result<()> {
    keys.sort_unstable();
    keys.dedup();
    // Many rows a statement: far fewer statement steps than one insert a key.
    const ROWS: usize = 256;
    let sql = |n: usize| {
        format!(
            "INSERT INTO record_key(batch_id, hash, seq) VALUES {}",
            vec!["(?, ?, ?)"; n].join(", ")
        )
    };
    let mut full = tx.prepare_cached(&sql(ROWS))?;
    for chunk in keys.chunks(ROWS) {
        let params: Vec<i64> = chunk
            .iter()
            .flat_map(|(h, seq)| [batch, *h as i64, i64::from(*seq)])
            .collect();
        if chunk.len() == ROWS {
            full.execute(rusqlite::params_from_iter(params))?;
        } else {
            tx.prepare(&sql(chunk.len()))?
                .execute(rusqlite::params_from_iter(params))?;
        }
    }
    Ok(())
}

impl EditContext {
    /// Puts a record's keys in the index (detail records not excluded).
    fn add(
        &self,
        tx: &Transaction<'_>,
        batch: i64,
        seq: u32,
        ri: Option<usize>,
        fields: &[String],
        excluded: bool,
    ) -> Result<()> {
        if excluded {
            return Ok(());
        }
        let mut ins = tx.prepare_cached(
            "INSERT OR IGNORE INTO record_key(batch_id, hash, seq) VALUES (?1, ?2, ?3)",
        )?;
        for h in self.hashes(ri, fields) {
            ins.execute(params![batch, h as i64, seq])?;
        }
        Ok(())
    }

    /// Takes a record's keys out of the index; returns them.
    fn remove(
        &self,
        tx: &Transaction<'_>,
        batch: i64,
        seq: u32,
        ri: Option<usize>,
        fields: &[String],
    ) -> Result<Vec<u64>> {
        let hashes = self.hashes(ri, fields);
        let mut del = tx.prepare_cached(
            "DELETE FROM record_key WHERE batch_id = ?1 AND hash = ?2 AND seq = ?3",
        )?;
        for h in &hashes {
            del.execute(params![batch, *h as i64, seq])?;
        }
        Ok(hashes)
    }

    fn hashes(&self, ri: Option<usize>, fields: &[String]) -> Vec<u64> {
        ri.map_or_else(Vec::new, |ri| index_keys(&self.layout, ri, fields))
    }

    fn against(&self) -> Against<'_> {
        Against {
            refs: &self.refs,
            header: self.header.as_ref().map(|(_, h)| h.as_slice()),
            made_frame: self.made_frame,
        }
    }
}

/// A batch's header record (its first record of the header type): seq and fields.
fn header_of(
    conn: &rusqlite::Connection,
    batch: i64,
    layout: &Layout,
) -> Result<Option<(u32, Vec<String>)>> {
    let Some(h) = layout.header() else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            "SELECT seq, fields FROM record WHERE batch_id = ?1 AND record_type = ?2 ORDER BY seq LIMIT 1",
            params![batch, layout.records[h].code],
            |r| Ok((r.get::<_, i64>(0)? as u32, split_fields(&r.get::<_, String>(1)?))),
        )
        .optional()?)
}

/// The records sharing a key, in file order.
fn key_group(tx: &Transaction<'_>, batch: i64, h: u64) -> Result<Vec<u32>> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq FROM record_key WHERE batch_id = ?1 AND hash = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![batch, h as i64], |r| r.get::<_, i64>(0))?;
    Ok(rows
        .map(|r| r.map(|s| s as u32))
        .collect::<rusqlite::Result<_>>()?)
}

struct Rec {
    line: u64,
    code: Option<String>,
    fields: Vec<String>,
    excluded: bool,
    reason: Option<String>,
    problems: Vec<ReadProblem>,
}

fn load(tx: &Transaction<'_>, batch: i64, seq: u32) -> Result<Rec> {
    tx.prepare_cached(
        "SELECT line, record_type, fields, excluded, exclude_reason, problems FROM record WHERE batch_id = ?1 AND seq = ?2",
    )?
    .query_row(params![batch, seq], |r| {
        Ok(Rec {
            line: r.get::<_, i64>(0)? as u64,
            code: r.get(1)?,
            fields: split_fields(&r.get::<_, String>(2)?),
            excluded: r.get(3)?,
            reason: r.get(4)?,
            problems: problems_from_text(r.get::<_, Option<String>>(5)?.as_deref()),
        })
    })
    .optional()?
    .ok_or(StoreError::NoRecord { batch, seq })
}

fn put_issue(tx: &Transaction<'_>, batch: i64, seq: Option<u32>, i: &Issue) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO issue(batch_id, seq, line, record_type, field, field_index, rule, severity, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        batch,
        seq,
        i.line as i64,
        i.record_type,
        i.field,
        i.field_index.map(|f| f as i64),
        i.rule,
        i.severity,
        i.message
    ])?;
    Ok(())
}

/// Re-judges one stored record's own issues (everything but file-level issues and unique
/// keys) with the same function the pipeline uses.
fn rejudge(
    tx: &Transaction<'_>,
    layout: &Layout,
    against: &Against<'_>,
    batch: i64,
    seq: u32,
    rec: &Rec,
) -> Result<()> {
    tx.prepare_cached(&format!(
        "DELETE FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule NOT IN ({})",
        sql_list(|r| r.is_file_level() || r.is_group())
    ))?
    .execute(params![batch, seq])?;
    let mut issues = Vec::new();
    let too_long = rec
        .problems
        .iter()
        .any(|p| matches!(p, ReadProblem::LineTooLong { .. }));
    match layout.stored_type(rec.code.as_deref()) {
        Some(ri) if !too_long => {
            check_record(
                layout,
                ri,
                rec.fields.as_slice(),
                rec.line,
                &rec.problems,
                against,
                &mut issues,
            );
        }
        _ if too_long => {
            check_record(
                layout,
                0,
                rec.fields.as_slice(),
                rec.line,
                &rec.problems,
                against,
                &mut issues,
            );
        }
        _ => issues.push(unknown_type_issue(layout, rec.fields.as_slice(), rec.line)),
    }
    for i in &issues {
        put_issue(tx, batch, Some(seq), i)?;
    }
    Ok(())
}

/// Recomputes a batch's counts and status in one place: rejected records (not excluded),
/// issues, and file-level errors not accepted. Returns the rejected count.
pub(crate) fn refresh_batch(tx: &Transaction<'_>, batch: i64) -> Result<u64> {
    let rejected: i64 = tx.query_row(
        "SELECT COUNT(*) FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 AND excluded = 0",
        [batch],
        |r| r.get(0),
    )?;
    let issues: i64 = tx.query_row(
        "SELECT COUNT(*) FROM issue WHERE batch_id = ?1",
        [batch],
        |r| r.get(0),
    )?;
    let file_errors = unaccepted_file_errors(tx, batch)?;
    let previous: BatchStatus =
        tx.query_row("SELECT status FROM batch WHERE id = ?1", [batch], |r| {
            r.get(0)
        })?;
    let status = BatchStatus::judged(previous, rejected as u64, file_errors);
    tx.prepare_cached("UPDATE batch SET rejected_count = ?2, issue_count = ?3, file_error_count = ?4, status = ?5 WHERE id = ?1")?
        .execute(params![batch, rejected, issues, file_errors as i64, status])?;
    Ok(rejected as u64)
}

fn unaccepted_file_errors(conn: &rusqlite::Connection, batch: i64) -> Result<u64> {
    let n: i64 = conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM issue i WHERE i.batch_id = ?1 AND i.severity = 'error' AND i.rule IN ({})
             AND NOT EXISTS (SELECT 1 FROM acceptance a WHERE a.batch_id = i.batch_id AND a.rule = i.rule AND (a.line IS NULL OR a.line = i.line))",
            sql_list(Rule::is_file_level)
        ),
        [batch],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

fn set_rejected_flag(tx: &Transaction<'_>, batch: i64, seq: u32) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE record SET rejected = EXISTS(SELECT 1 FROM issue WHERE batch_id = ?1 AND seq = ?2 AND severity = 'error' AND rule NOT IN ({})) WHERE batch_id = ?1 AND seq = ?2",
        sql_list(Rule::is_file_level)
    ))?
    .execute(params![batch, seq])?;
    Ok(())
}

impl Store {
    /// The reference batches a batch's reference rules check against.
    fn reference_batches(&self, batch: i64) -> Result<Vec<i64>> {
        let text: Option<String> = self.conn.query_row(
            "SELECT reference_batches FROM batch WHERE id = ?1",
            [batch],
            |r| r.get(0),
        )?;
        Ok(text
            .unwrap_or_default()
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect())
    }

    /// The references of a batch, rebuilt from the reference batches chosen for it.
    pub fn references_for(&mut self, batch: i64, layout: &Layout) -> Result<References> {
        let against: Vec<i64> = self
            .reference_batches(batch)?
            .into_iter()
            .filter(|b| self.batch(*b).is_ok())
            .collect();
        self.references_from(layout, &against)
    }

    /// The edit index of a batch, current with the log (rebuilt when another process edited
    /// the batch since it was built).
    fn context(&mut self, batch: i64) -> Result<EditContext> {
        let last = self.last_edit_id(batch)?;
        if let Some(c) = self.edit_ctx.remove(&batch)
            && c.last_edit == last
        {
            return Ok(c);
        }
        self.build_context(batch, last)
    }

    fn last_edit_id(&self, batch: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(id), 0) FROM edit WHERE batch_id = ?1",
            [batch],
            |r| r.get(0),
        )?)
    }

    fn build_context(&mut self, batch: i64, last_edit: i64) -> Result<EditContext> {
        let layout = self.batch_layout(batch)?;
        let refs = self.references_for(batch, &layout)?;
        let (indexed, made_frame): (bool, bool) = self.conn.query_row(
            "SELECT keys_indexed, made_from IS NOT NULL FROM batch WHERE id = ?1",
            [batch],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if !indexed {
            // A batch imported before keys were kept: build its index once.
            let mut keys = Vec::new();
            {
                let mut stmt = self.conn.prepare(
                    "SELECT seq, record_type, fields, excluded FROM record WHERE batch_id = ?1 ORDER BY seq",
                )?;
                let mut rows = stmt.query([batch])?;
                while let Some(row) = rows.next()? {
                    let seq = row.get::<_, i64>(0)? as u32;
                    let code: Option<String> = row.get(1)?;
                    if row.get::<_, bool>(3)? {
                        continue;
                    }
                    let fields = split_fields(&row.get::<_, String>(2)?);
                    if let Some(ri) = layout.stored_type(code.as_deref()) {
                        for h in index_keys(&layout, ri, fields.as_slice()) {
                            keys.push((h, seq));
                        }
                    }
                }
            }
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM record_key WHERE batch_id = ?1", [batch])?;
            write_keys(&tx, batch, keys)?;
            tx.execute("UPDATE batch SET keys_indexed = 1 WHERE id = ?1", [batch])?;
            tx.commit()?;
        }
        let header = header_of(&self.conn, batch, &layout)?;
        Ok(EditContext {
            layout,
            refs,
            header,
            made_frame,
            last_edit,
        })
    }

    /// Sets one field of one record.
    pub fn set_value(
        &mut self,
        batch: i64,
        seq: u32,
        field: usize,
        value: &str,
    ) -> Result<EditOutcome> {
        self.apply(
            batch,
            vec![Change::Set {
                seq,
                field,
                value: value.to_string(),
            }],
        )
    }

    /// Leaves records out of exports, with a reason.
    pub fn exclude(&mut self, batch: i64, seqs: &[u32], reason: &str) -> Result<EditOutcome> {
        self.apply(
            batch,
            seqs.iter()
                .map(|&seq| Change::Exclude {
                    seq,
                    reason: reason.to_string(),
                })
                .collect(),
        )
    }

    /// Puts excluded records back.
    pub fn include(&mut self, batch: i64, seqs: &[u32]) -> Result<EditOutcome> {
        self.apply(
            batch,
            seqs.iter().map(|&seq| Change::Include { seq }).collect(),
        )
    }

    /// Applies changes as one action (one undo step), logged and committed together.
    pub fn apply(&mut self, batch: i64, changes: Vec<Change>) -> Result<EditOutcome> {
        self.apply_logged(batch, changes, None, None)
    }

    /// What undo would reverse: the latest action not yet undone (its group id).
    pub fn undo_target(&self, batch: i64) -> Result<Option<i64>> {
        Ok(self.stacks(batch)?.0.last().copied())
    }

    /// What redo would repeat.
    pub fn redo_target(&self, batch: i64) -> Result<Option<i64>> {
        Ok(self.stacks(batch)?.1.last().copied())
    }

    /// Undo and redo stacks of original action groups, replayed from the log.
    fn stacks(&self, batch: i64) -> Result<(Vec<i64>, Vec<i64>)> {
        let edits = self.edits(batch)?;
        let group_of: HashMap<i64, i64> = edits.iter().map(|e| (e.id, e.group)).collect();
        let (mut undo, mut redo) = (Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        for e in &edits {
            if !seen.insert(e.group) {
                continue;
            }
            match e.kind {
                EditKind::Undo => {
                    if let Some(g) = e.undoes.and_then(|u| group_of.get(&u))
                        && undo.last() == Some(g)
                    {
                        undo.pop();
                        redo.push(*g);
                    }
                }
                EditKind::Redo => {
                    if let Some(g) = e.undoes.and_then(|u| group_of.get(&u))
                        && redo.last() == Some(g)
                    {
                        redo.pop();
                        undo.push(*g);
                    }
                }
                EditKind::Set | EditKind::Exclude | EditKind::Include => {
                    undo.push(e.group);
                    redo.clear();
                }
            }
        }
        Ok((undo, redo))
    }

    /// Undoes the latest action, as new logged entries. None when there is nothing to undo.
    pub fn undo(&mut self, batch: i64) -> Result<Option<EditOutcome>> {
        match self.undo_target(batch)? {
            Some(g) => self.replay(batch, g, true).map(Some),
            None => Ok(None),
        }
    }

    /// Repeats the latest undone action, as new logged entries.
    pub fn redo(&mut self, batch: i64) -> Result<Option<EditOutcome>> {
        match self.redo_target(batch)? {
            Some(g) => self.replay(batch, g, false).map(Some),
            None => Ok(None),
        }
    }

    /// Writes the entries of action group `g` again, reversed (undo: last first, old values
    /// back, exclusions swapped) or as they were (redo), each entry pointing at the one it
    /// reverses or repeats.
    fn replay(&mut self, batch: i64, g: i64, undo: bool) -> Result<EditOutcome> {
        let mut entries: Vec<_> = self
            .edits(batch)?
            .into_iter()
            .filter(|e| e.group == g)
            .collect();
        if undo {
            entries.reverse();
        }
        let mut changes = Vec::new();
        let mut undoes = Vec::new();
        for e in &entries {
            let was_exclusion = e.field_index.is_none();
            changes.push(if was_exclusion {
                // An exclusion entry has a reason; an inclusion has none recorded as its own.
                let excluded_before = match e.old_value.as_deref() {
                    Some(v) => v == "excluded",
                    // Logs written before version 6 kept no before/after for exclusions.
                    None => e.kind == EditKind::Include,
                };
                let exclude = excluded_before == undo;
                if exclude {
                    Change::Exclude {
                        seq: e.seq,
                        reason: e.reason.clone().unwrap_or_default(),
                    }
                } else {
                    Change::Include { seq: e.seq }
                }
            } else {
                Change::Set {
                    seq: e.seq,
                    field: e.field_index.unwrap_or_default(),
                    value: if undo {
                        e.old_value.clone()
                    } else {
                        e.new_value.clone()
                    }
                    .unwrap_or_default(),
                }
            });
            undoes.push(e.id);
        }
        self.apply_logged(
            batch,
            changes,
            Some(if undo { EditKind::Undo } else { EditKind::Redo }),
            Some(undoes),
        )
    }

    fn apply_logged(
        &mut self,
        batch: i64,
        changes: Vec<Change>,
        kind: Option<EditKind>,
        undoes: Option<Vec<i64>>,
    ) -> Result<EditOutcome> {
        self.batch(batch)?;
        let mut ctx = self.context(batch)?;
        let result = apply_in_tx(
            &mut self.conn,
            &mut ctx,
            batch,
            changes,
            kind,
            undoes.as_deref(),
        );
        if result.is_ok() {
            ctx.last_edit = self.last_edit_id(batch)?;
            self.edit_ctx.insert(batch, ctx);
        }
        result
    }

    /// Accepts a file-level problem of a batch, with the officer's reason: every issue of
    /// `rule` in the batch, or only the one at `line`. Logged (append-only) with who and when.
    /// Returns how many issues the acceptance covers.
    pub fn accept(
        &mut self,
        batch: i64,
        rule: Rule,
        line: Option<u64>,
        reason: &str,
    ) -> Result<u64> {
        self.batch(batch)?;
        if !rule.is_file_level() {
            return Err(StoreError::Invalid(format!(
                "{rule} is a problem with a record, not with the file: fix the record, or exclude it with a reason"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "say why the problem is accepted (the reason is kept in the batch's log)".into(),
            ));
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM issue WHERE batch_id = ?1 AND rule = ?2 AND (?3 IS NULL OR line = ?3)",
            params![batch, rule, line.map(|l| l as i64)],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(match line {
                Some(l) => format!("batch {batch} has no {rule} problem at line {l}"),
                None => format!("batch {batch} has no {rule} problem"),
            }));
        }
        tx.execute(
            "INSERT INTO acceptance(batch_id, rule, line, reason, at, who) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![batch, rule, line.map(|l| l as i64), reason, now_text(), current_user()],
        )?;
        refresh_batch(&tx, batch)?;
        tx.commit()?;
        tracing::info!(batch, rule = %rule, issues = n, "file-level problem accepted");
        Ok(n as u64)
    }

    /// The file-level problems a batch's officer accepted, oldest first.
    pub fn acceptances(&self, batch: i64) -> Result<Vec<Acceptance>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, rule, line, reason, at, who FROM acceptance WHERE batch_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([batch], |r| {
            Ok(Acceptance {
                id: r.get(0)?,
                rule: r.get(1)?,
                line: r.get::<_, Option<i64>>(2)?.map(|l| l as u64),
                reason: r.get(3)?,
                at: r.get(4)?,
                who: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// File-level errors of a batch not yet accepted, in line order.
    pub fn file_problems(&self, batch: i64) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {} FROM issue i WHERE i.batch_id = ?1 AND i.severity = 'error' AND i.rule IN ({})
             AND NOT EXISTS (SELECT 1 FROM acceptance a WHERE a.batch_id = i.batch_id AND a.rule = i.rule AND (a.line IS NULL OR a.line = i.line))
             ORDER BY i.line",
            super::query::ISSUE_COLS,
            sql_list(Rule::is_file_level)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([batch], super::query::issue_row)?;
        Ok(rows
            .map(|r| r.map(|(_, i)| i))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Checks a batch's reference rules again, against the batches now chosen (replacing the
    /// earlier choice; an empty list reports them as unchecked). Returns the rejected count.
    pub fn recheck_references(&mut self, batch: i64, against: &[i64]) -> Result<u64> {
        let layout = self.batch_layout(batch)?;
        let refs = self.references_from(&layout, against)?;
        let header = header_of(&self.conn, batch, &layout)?;
        let made_frame: bool = self.conn.query_row(
            "SELECT made_from IS NOT NULL FROM batch WHERE id = ?1",
            [batch],
            |r| r.get(0),
        )?;
        let rules = crate::validate::reference_rules(&layout);
        let list = against
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE batch SET reference_batches = ?2, reference = ?3 WHERE id = ?1",
            params![batch, (!list.is_empty()).then_some(list), refs.describe()],
        )?;
        tx.execute(
            "DELETE FROM issue WHERE batch_id = ?1 AND rule = ?2",
            params![batch, Rule::ReferenceUnchecked],
        )?;
        let codes: BTreeSet<String> = rules
            .iter()
            .map(|r| layout.records[r.record].code.clone())
            .collect();
        for code in codes {
            let seqs: Vec<u32> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT seq FROM record WHERE batch_id = ?1 AND record_type = ?2 ORDER BY seq",
                )?;
                let rows = stmt.query_map(params![batch, code], |r| r.get::<_, i64>(0))?;
                rows.map(|r| r.map(|s| s as u32))
                    .collect::<rusqlite::Result<_>>()?
            };
            for seq in seqs {
                let rec = load(&tx, batch, seq)?;
                let against = Against {
                    refs: &refs,
                    header: header.as_ref().map(|(_, h)| h.as_slice()),
                    made_frame,
                };
                rejudge(&tx, &layout, &against, batch, seq, &rec)?;
                set_rejected_flag(&tx, batch, seq)?;
            }
        }
        let rejected = refresh_batch(&tx, batch)?;
        tx.commit()?;
        self.edit_ctx.remove(&batch);
        Ok(rejected)
    }
}

/// Why an edit of this field is refused, if it is.
fn refuse(layout: &Layout, ri: Option<usize>, field: usize, value: &str) -> Option<String> {
    if let Some(why) = crate::text::edit_problem(value, &layout.dialect) {
        return Some(why);
    }
    let ri = ri?;
    let rt = &layout.records[ri];
    let f = rt.fields.get(field)?;
    if f.generate.is_some() {
        return Some(format!(
            "{} is filled in by the export (it writes the file name, extract time, VPD code or sequence): it cannot be edited",
            f.name
        ));
    }
    if f.control.is_some() {
        return Some(format!(
            "{} is the received trailer's control figure, kept as evidence: the export recomputes it for your changes. If it disagrees with the file, accept the problem with a reason",
            f.name
        ));
    }
    if layout.discriminator == Some(field) {
        let new_role = layout.record_index(value).map(|i| layout.records[i].role);
        if rt.role != Role::Detail || new_role.is_some_and(|r| r != Role::Detail) {
            return Some(
                "a header or trailer cannot be made or unmade by editing the record type".into(),
            );
        }
    }
    None
}

fn apply_in_tx(
    conn: &mut rusqlite::Connection,
    ctx: &mut EditContext,
    batch: i64,
    changes: Vec<Change>,
    kind: Option<EditKind>,
    undoes: Option<&[i64]>,
) -> Result<EditOutcome> {
    let layout = ctx.layout.clone();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let grp: i64 = tx.query_row("SELECT COALESCE(MAX(grp), 0) + 1 FROM edit", [], |r| {
        r.get(0)
    })?;
    let who = current_user();
    let at = now_text();
    let mut rejudge_set: BTreeSet<u32> = BTreeSet::new();
    let mut touched_hashes: HashSet<u64> = HashSet::new();
    let mut changed: BTreeSet<u32> = BTreeSet::new();
    let mut entries = 0;
    for (k, change) in changes.into_iter().enumerate() {
        let undo_of = undoes.and_then(|u| u.get(k)).copied();
        let seq = match &change {
            Change::Set { seq, .. } | Change::Exclude { seq, .. } | Change::Include { seq } => *seq,
        };
        let rec = load(&tx, batch, seq)?;
        let ri = layout.stored_type(rec.code.as_deref());
        match change {
            Change::Set { field, value, .. } => {
                if rec
                    .problems
                    .iter()
                    .any(|p| matches!(p, ReadProblem::LineTooLong { .. }))
                {
                    return Err(StoreError::Invalid(format!(
                        "line {} was too long to read, so it cannot be edited: exclude it with a reason",
                        rec.line
                    )));
                }
                let width = ri.map_or(rec.fields.len(), |i| {
                    layout.records[i].fields.len().max(rec.fields.len())
                });
                if field >= width {
                    return Err(StoreError::Invalid(format!(
                        "record {seq} has no field {}",
                        field + 1
                    )));
                }
                let old = rec.fields.get(field).cloned().unwrap_or_default();
                if old == value {
                    continue;
                }
                // Undo and redo put back a value the store held before (kept bytes included).
                if kind.is_none()
                    && let Some(why) = refuse(&layout, ri, field, &value)
                {
                    return Err(StoreError::Invalid(why));
                }
                let mut fields = rec.fields.clone();
                if fields.len() <= field {
                    fields.resize(field + 1, String::new());
                }
                touched_hashes.extend(ctx.remove(&tx, batch, seq, ri, &rec.fields)?);
                fields[field] = value.clone();
                let new_ri = if layout.discriminator == Some(field) {
                    record_type_of(&layout, fields.as_slice())
                } else {
                    ri
                };
                let new_code = new_ri.map(|i| layout.records[i].code.clone());
                ctx.add(&tx, batch, seq, new_ri, &fields, rec.excluded)?;
                touched_hashes.extend(ctx.hashes(new_ri, &fields));
                // The cell was retyped: what was wrong with how it was read no longer holds.
                let problems: Vec<ReadProblem> = rec
                    .problems
                    .iter()
                    .filter(|p| p.field() != Some(field))
                    .copied()
                    .collect();
                tx.prepare_cached("UPDATE record SET fields = ?3, record_type = ?4, problems = ?5 WHERE batch_id = ?1 AND seq = ?2")?.execute(params![
                    batch,
                    seq,
                    join_fields(&fields),
                    new_code,
                    problems_to_text(&problems)
                ])?;
                let fname = new_ri
                    .or(ri)
                    .and_then(|i| layout.records[i].fields.get(field))
                    .map(|f| f.name.clone());
                tx.prepare_cached(
                    "INSERT INTO edit(batch_id, grp, seq, field_index, field, kind, old_value, new_value, at, who, undoes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![batch, grp, seq, field as i64, fname, kind.unwrap_or(EditKind::Set), old, value, at, who, undo_of])?;
                rejudge_set.insert(seq);
            }
            Change::Exclude { reason, .. } => {
                if rec.excluded {
                    continue;
                }
                touched_hashes.extend(ctx.remove(&tx, batch, seq, ri, &rec.fields)?);
                tx.prepare_cached("UPDATE record SET excluded = 1, exclude_reason = ?3 WHERE batch_id = ?1 AND seq = ?2")?.execute(params![batch, seq, reason])?;
                tx.prepare_cached("INSERT INTO edit(batch_id, grp, seq, kind, old_value, new_value, reason, at, who, undoes) VALUES (?1, ?2, ?3, ?4, 'included', 'excluded', ?5, ?6, ?7, ?8)")?
                    .execute(params![batch, grp, seq, kind.unwrap_or(EditKind::Exclude), reason, at, who, undo_of])?;
                changed.insert(seq);
            }
            Change::Include { .. } => {
                if !rec.excluded {
                    continue;
                }
                ctx.add(&tx, batch, seq, ri, &rec.fields, false)?;
                touched_hashes.extend(ctx.hashes(ri, &rec.fields));
                tx.prepare_cached("UPDATE record SET excluded = 0, exclude_reason = NULL WHERE batch_id = ?1 AND seq = ?2")?.execute(params![batch, seq])?;
                tx.prepare_cached("INSERT INTO edit(batch_id, grp, seq, kind, old_value, new_value, reason, at, who, undoes) VALUES (?1, ?2, ?3, ?4, 'excluded', 'included', ?5, ?6, ?7, ?8)")?
                    .execute(params![batch, grp, seq, kind.unwrap_or(EditKind::Include), rec.reason, at, who, undo_of])?;
                changed.insert(seq);
            }
        }
        entries += 1;
    }

    // A changed header changes what detail records are judged against: the context takes
    // its new values, and every record whose rules read the header is re-judged.
    if let Some(hseq) = ctx.header.as_ref().map(|(q, _)| *q)
        && rejudge_set.contains(&hseq)
    {
        let rec = load(&tx, batch, hseq)?;
        ctx.header = Some((hseq, rec.fields));
        let readers: Vec<&str> = layout
            .records
            .iter()
            .filter(|r| r.rules.iter().any(|x| x.uses_header()))
            .map(|r| r.code.as_str())
            .collect();
        if !readers.is_empty() {
            let mut stmt = tx.prepare(&format!(
                "SELECT seq FROM record WHERE batch_id = ?1 AND record_type IN ({})",
                vec!["?"; readers.len()].join(", ")
            ))?;
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&batch];
            args.extend(readers.iter().map(|c| c as &dyn rusqlite::ToSql));
            let seqs = stmt
                .query_map(args.as_slice(), |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            rejudge_set.extend(seqs.into_iter().map(|q| q as u32));
        }
    }

    // Each edited record is re-judged as the pipeline judged it.
    for seq in &rejudge_set {
        let rec = load(&tx, batch, *seq)?;
        rejudge(&tx, &layout, &ctx.against(), batch, *seq, &rec)?;
        changed.insert(*seq);
    }

    // Unique keys: every record in a touched key group is re-judged.
    let mut members: BTreeSet<u32> = BTreeSet::new();
    for h in &touched_hashes {
        members.extend(key_group(&tx, batch, *h)?);
    }
    members.extend(changed.iter().copied());
    for seq in &members {
        let rec = load(&tx, batch, *seq)?;
        tx.prepare_cached(&format!(
            "DELETE FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule IN ({})",
            sql_list(Rule::is_group)
        ))?
        .execute(params![batch, seq])?;
        changed.insert(*seq);
        let Some(ri) = layout.stored_type(rec.code.as_deref()) else {
            continue;
        };
        if rec.excluded || layout.records[ri].role != Role::Detail {
            continue;
        }
        for ki in 0..layout.records[ri].unique.len() {
            let Some(h) = key_hash(&layout, ri, ki, rec.fields.as_slice()) else {
                continue;
            };
            let first = key_group(&tx, batch, h)?.first().copied();
            if let Some(first) = first.filter(|f| f < seq) {
                let first_line: i64 = tx.query_row(
                    "SELECT line FROM record WHERE batch_id = ?1 AND seq = ?2",
                    params![batch, first],
                    |r| r.get(0),
                )?;
                put_issue(
                    &tx,
                    batch,
                    Some(*seq),
                    &unique_issue(
                        &layout,
                        ri,
                        ki,
                        rec.fields.as_slice(),
                        rec.line,
                        first_line as u64,
                    ),
                )?;
            }
        }
        // A date-tracked record: its period against the earlier rows of its entity.
        if let Some((h, start, end)) = period_of(&layout, ri, rec.fields.as_slice()) {
            let mut earlier = Vec::new();
            for m in key_group(&tx, batch, h)? {
                if m >= *seq {
                    break;
                }
                let other = load(&tx, batch, m)?;
                let Some(ori) = layout.stored_type(other.code.as_deref()) else {
                    continue;
                };
                if other.excluded {
                    continue;
                }
                if let Some((oh, s, e)) = period_of(&layout, ori, other.fields.as_slice())
                    && oh == h
                {
                    earlier.push((other.line, s, e));
                }
            }
            if let Some((first, same)) = history_clash(start, end, earlier)
                && let Some(i) =
                    history_issue(&layout, ri, rec.fields.as_slice(), rec.line, first, same)
            {
                put_issue(&tx, batch, Some(*seq), &i)?;
            }
        }
        // Consistent rules: the first record with the key sets the value the rest must carry.
        for ci in 0..layout.consistent.len() {
            let Some((h, value)) = consistent_hash(&layout, ci, ri, rec.fields.as_slice()) else {
                continue;
            };
            let Some(first) = key_group(&tx, batch, h)?
                .first()
                .copied()
                .filter(|f| f < seq)
            else {
                continue;
            };
            let first_rec = load(&tx, batch, first)?;
            let Some(first_ri) = layout.stored_type(first_rec.code.as_deref()) else {
                continue;
            };
            let same = consistent_hash(&layout, ci, first_ri, first_rec.fields.as_slice())
                .is_some_and(|(_, v)| v == value);
            if (layout.consistent[ci].value.is_none() || !same)
                && let Some(i) = consistent_issue(
                    &layout,
                    ci,
                    ri,
                    rec.fields.as_slice(),
                    rec.line,
                    first_rec.line,
                )
            {
                put_issue(&tx, batch, Some(*seq), &i)?;
            }
        }
    }

    // Rejected flags and the batch's counts and status.
    for seq in &changed {
        set_rejected_flag(&tx, batch, *seq)?;
    }
    let rejected = refresh_batch(&tx, batch)?;
    tx.commit()?;
    tracing::info!(batch, entries, rejected, "edited");
    Ok(EditOutcome {
        changed: changed.into_iter().collect(),
        rejected_records: rejected,
        entries,
    })
}

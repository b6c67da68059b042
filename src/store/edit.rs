//! Editing a stored batch: set a value, exclude or include a record, undo and redo.
//!
//! Every change is written to the append-only edit log in the same transaction that changes
//! the record, and the transaction is committed before the call returns: a correction is never
//! lost. After a change the record is re-validated, and the file-level rules it touches
//! (unique keys, trailer counts and totals) are re-checked for the records they concern, using
//! an in-memory index of the batch built on the first edit. Undo and redo are new, logged
//! entries; the log is never rewritten.

use super::import::{RefSet, reference_issue};
use super::query::{ISSUE_COLS, issue_row};
use super::{Result, Store, StoreError, current_user, join_fields, now_text, split_fields};
use crate::layout::{Layout, RecordRule, Role};
use crate::rules as r;
use crate::validate::{
    Issue, Severity, Totals, check_fields, key_hash, summed_fields, trailer_issues, unique_issue,
    unknown_type_issue,
};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Rules that belong to the file rather than to one record's own values; re-validating a
/// record leaves them to their own recomputation.
const FILE_LEVEL: &[&str] = &[
    r::UNIQUE_ERROR,
    r::TRAILER_COUNT,
    r::TRAILER_TOTAL,
    r::HEADER_MISSING,
    r::HEADER_NOT_FIRST,
    r::TRAILER_MISSING,
    r::TRAILER_NOT_LAST,
    r::REFERENCE_UNCHECKED,
    r::ENCODING_MISMATCH,
];

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

/// In-memory index of a batch for incremental re-validation.
pub(crate) struct EditContext {
    layout: Arc<Layout>,
    groups: HashMap<u64, BTreeSet<u32>>,
    totals: Totals,
    trailer_seq: Option<u32>,
    refs: HashMap<(usize, usize), RefSet>,
}

impl EditContext {
    fn add(&mut self, seq: u32, ri: Option<usize>, fields: &[String], excluded: bool) {
        let layout = self.layout.clone();
        let Some(ri) = ri else {
            self.totals.body += 1;
            return;
        };
        if layout.records[ri].role == Role::Detail {
            self.totals.body += 1;
            self.totals.by_type[ri] += 1;
            self.sum(ri, fields, 1);
        }
        if !excluded {
            for ki in 0..layout.records[ri].unique.len() {
                if let Some(h) = key_hash(&layout, ri, ki, fields) {
                    self.groups.entry(h).or_default().insert(seq);
                }
            }
        }
    }

    fn remove(&mut self, seq: u32, ri: Option<usize>, fields: &[String]) -> Vec<u64> {
        let layout = self.layout.clone();
        let Some(ri) = ri else {
            self.totals.body = self.totals.body.saturating_sub(1);
            return Vec::new();
        };
        if layout.records[ri].role == Role::Detail {
            self.totals.body = self.totals.body.saturating_sub(1);
            self.totals.by_type[ri] = self.totals.by_type[ri].saturating_sub(1);
            self.sum(ri, fields, -1);
        }
        let mut hashes = Vec::new();
        for ki in 0..layout.records[ri].unique.len() {
            if let Some(h) = key_hash(&layout, ri, ki, fields) {
                if let Some(g) = self.groups.get_mut(&h) {
                    g.remove(&seq);
                }
                hashes.push(h);
            }
        }
        hashes
    }

    fn sum(&mut self, ri: usize, fields: &[String], sign: i128) {
        for (sr, sf) in summed_fields(&self.layout) {
            if sr == ri
                && let Ok(v) = self.layout.records[ri].fields[sf]
                    .format
                    .check(fields.get(sf).map_or("", String::as_str))
            {
                self.totals.sums[sr][sf] += sign * v;
            }
        }
    }

    fn hashes(&self, ri: Option<usize>, fields: &[String]) -> Vec<u64> {
        let Some(ri) = ri else { return Vec::new() };
        (0..self.layout.records[ri].unique.len())
            .filter_map(|ki| key_hash(&self.layout, ri, ki, fields))
            .collect()
    }
}

fn record_type_index(layout: &Layout, code: Option<&str>) -> Option<usize> {
    match layout.discriminator {
        None => Some(0),
        Some(_) => code.and_then(|c| layout.record_index(c)),
    }
}

struct Rec {
    line: u64,
    code: Option<String>,
    fields: Vec<String>,
    excluded: bool,
    reason: Option<String>,
}

fn load(tx: &Transaction<'_>, batch: i64, seq: u32) -> Result<Rec> {
    tx.query_row(
        "SELECT line, record_type, fields, excluded, exclude_reason FROM record WHERE batch_id = ?1 AND seq = ?2",
        params![batch, seq],
        |r| Ok(Rec { line: r.get::<_, i64>(0)? as u64, code: r.get(1)?, fields: split_fields(&r.get::<_, String>(2)?), excluded: r.get(3)?, reason: r.get(4)? }),
    )
    .optional()?
    .ok_or(StoreError::NoRecord { batch, seq })
}

fn put_issue(tx: &Transaction<'_>, batch: i64, seq: u32, i: &Issue) -> Result<()> {
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
        if i.severity == Severity::Error { "error" } else { "warning" },
        i.message
    ])?;
    Ok(())
}

impl Store {
    fn build_context(&mut self, batch: i64) -> Result<EditContext> {
        let layout = self.batch_layout(batch)?;
        let refs = self.reference_sets(&layout)?;
        let n = layout.records.len();
        let mut ctx = EditContext {
            layout: layout.clone(),
            groups: HashMap::new(),
            totals: Totals {
                body: 0,
                by_type: vec![0; n],
                sums: layout
                    .records
                    .iter()
                    .map(|r| vec![0; r.fields.len()])
                    .collect(),
            },
            trailer_seq: None,
            refs,
        };
        let mut stmt = self.conn.prepare("SELECT seq, record_type, fields, excluded FROM record WHERE batch_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([batch])?;
        while let Some(row) = rows.next()? {
            let seq = row.get::<_, i64>(0)? as u32;
            let code: Option<String> = row.get(1)?;
            let fields = split_fields(&row.get::<_, String>(2)?);
            let excluded: bool = row.get(3)?;
            let ri = record_type_index(&layout, code.as_deref());
            if ri.is_some_and(|i| layout.records[i].role == Role::Trailer) {
                ctx.trailer_seq = Some(seq);
            }
            ctx.add(seq, ri, &fields, excluded);
        }
        Ok(ctx)
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
        self.apply_logged(batch, changes, "", None)
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
            match e.kind.as_str() {
                "undo" => {
                    if let Some(g) = e.undoes.and_then(|u| group_of.get(&u))
                        && undo.last() == Some(g)
                    {
                        undo.pop();
                        redo.push(*g);
                    }
                }
                "redo" => {
                    if let Some(g) = e.undoes.and_then(|u| group_of.get(&u))
                        && redo.last() == Some(g)
                    {
                        redo.pop();
                        undo.push(*g);
                    }
                }
                _ => {
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
            let exclude = (e.kind == "exclude") != undo;
            changes.push(match e.kind.as_str() {
                "exclude" | "include" if exclude => Change::Exclude {
                    seq: e.seq,
                    reason: e.reason.clone().unwrap_or_default(),
                },
                "exclude" | "include" => Change::Include { seq: e.seq },
                _ => Change::Set {
                    seq: e.seq,
                    field: self.field_index_of(batch, e)?,
                    value: if undo {
                        e.old_value.clone()
                    } else {
                        e.new_value.clone()
                    }
                    .unwrap_or_default(),
                },
            });
            undoes.push(e.id);
        }
        self.apply_logged(
            batch,
            changes,
            if undo { "undo" } else { "redo" },
            Some(undoes),
        )
    }

    fn field_index_of(&self, batch: i64, e: &super::EditEntry) -> Result<usize> {
        let fi: Option<i64> = self.conn.query_row(
            "SELECT field_index FROM edit WHERE batch_id = ?1 AND id = ?2",
            params![batch, e.id],
            |r| r.get(0),
        )?;
        fi.map(|f| f as usize)
            .ok_or_else(|| StoreError::Invalid(format!("edit {} has no field", e.id)))
    }

    fn apply_logged(
        &mut self,
        batch: i64,
        changes: Vec<Change>,
        kind: &str,
        undoes: Option<Vec<i64>>,
    ) -> Result<EditOutcome> {
        self.batch(batch)?;
        let mut ctx = match self.edit_ctx.remove(&batch) {
            Some(c) => c,
            None => self.build_context(batch)?,
        };
        let result = apply_in_tx(
            &mut self.conn,
            &mut ctx,
            batch,
            changes,
            kind,
            undoes.as_deref(),
        );
        if result.is_ok() {
            self.edit_ctx.insert(batch, ctx);
        }
        result
    }
}

fn apply_in_tx(
    conn: &mut rusqlite::Connection,
    ctx: &mut EditContext,
    batch: i64,
    changes: Vec<Change>,
    kind: &str,
    undoes: Option<&[i64]>,
) -> Result<EditOutcome> {
    let layout = ctx.layout.clone();
    let tx = conn.transaction()?;
    let grp: i64 = tx.query_row("SELECT COALESCE(MAX(grp), 0) + 1 FROM edit", [], |r| {
        r.get(0)
    })?;
    let who = current_user();
    let at = now_text();
    let mut revalidate: BTreeSet<(u32, Option<usize>)> = BTreeSet::new();
    let mut touched_hashes: HashSet<u64> = HashSet::new();
    let mut trailer_dirty = false;
    let mut changed: BTreeSet<u32> = BTreeSet::new();
    let summed = summed_fields(&layout);
    let mut entries = 0;
    for (k, change) in changes.into_iter().enumerate() {
        let undo_of = undoes.and_then(|u| u.get(k)).copied();
        let seq = match &change {
            Change::Set { seq, .. } | Change::Exclude { seq, .. } | Change::Include { seq } => *seq,
        };
        let rec = load(&tx, batch, seq)?;
        let ri = record_type_index(&layout, rec.code.as_deref());
        let entry_kind = |base: &'static str| {
            if kind.is_empty() {
                base.to_string()
            } else {
                kind.to_string()
            }
        };
        match change {
            Change::Set { field, value, .. } => {
                let width = ri.map_or(rec.fields.len(), |i| {
                    layout.records[i].fields.len().max(rec.fields.len())
                });
                if field >= width {
                    return Err(StoreError::Invalid(format!(
                        "record {seq} has no field {}",
                        field + 1
                    )));
                }
                let mut fields = rec.fields.clone();
                if fields.len() <= field {
                    fields.resize(field + 1, String::new());
                }
                let old = fields[field].clone();
                if old == value {
                    continue;
                }
                touched_hashes.extend(ctx.remove(seq, ri, &rec.fields));
                fields[field] = value.clone();
                let new_ri = if layout.discriminator == Some(field) {
                    record_type_index(&layout, Some(&value))
                } else {
                    ri
                };
                let new_code = new_ri.map(|i| layout.records[i].code.clone());
                ctx.add(seq, new_ri, &fields, rec.excluded);
                touched_hashes.extend(ctx.hashes(new_ri, &fields));
                if new_ri != ri
                    || summed
                        .iter()
                        .any(|&(sr, sf)| Some(sr) == new_ri && sf == field)
                {
                    trailer_dirty = true;
                }
                if new_ri.is_some_and(|i| layout.records[i].role == Role::Trailer) {
                    ctx.trailer_seq = Some(seq);
                    trailer_dirty = true;
                }
                tx.prepare_cached("UPDATE record SET fields = ?3, record_type = ?4 WHERE batch_id = ?1 AND seq = ?2")?.execute(params![
                    batch,
                    seq,
                    join_fields(&fields),
                    new_code
                ])?;
                let fname = new_ri
                    .or(ri)
                    .and_then(|i| layout.records[i].fields.get(field))
                    .map(|f| f.name.clone());
                tx.prepare_cached(
                    "INSERT INTO edit(batch_id, grp, seq, field_index, field, kind, old_value, new_value, at, who, undoes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![batch, grp, seq, field as i64, fname, entry_kind("set"), old, value, at, who, undo_of])?;
                revalidate.insert((seq, Some(field)));
            }
            Change::Exclude { reason, .. } => {
                if rec.excluded {
                    continue;
                }
                touched_hashes.extend(ctx.remove(seq, ri, &rec.fields));
                ctx.add_counts_only(seq, ri, &rec.fields);
                tx.prepare_cached("UPDATE record SET excluded = 1, exclude_reason = ?3 WHERE batch_id = ?1 AND seq = ?2")?.execute(params![batch, seq, reason])?;
                tx.prepare_cached("INSERT INTO edit(batch_id, grp, seq, kind, reason, at, who, undoes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
                    .execute(params![batch, grp, seq, entry_kind("exclude"), reason, at, who, undo_of])?;
                changed.insert(seq);
            }
            Change::Include { .. } => {
                if !rec.excluded {
                    continue;
                }
                ctx.remove(seq, ri, &rec.fields);
                ctx.add(seq, ri, &rec.fields, false);
                touched_hashes.extend(ctx.hashes(ri, &rec.fields));
                tx.prepare_cached("UPDATE record SET excluded = 0, exclude_reason = NULL WHERE batch_id = ?1 AND seq = ?2")?.execute(params![batch, seq])?;
                tx.prepare_cached("INSERT INTO edit(batch_id, grp, seq, kind, reason, at, who, undoes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
                    .execute(params![batch, grp, seq, entry_kind("include"), rec.reason, at, who, undo_of])?;
                changed.insert(seq);
            }
        }
        entries += 1;
    }

    // Record-level re-validation of edited records.
    for (seq, field) in &revalidate {
        let rec = load(&tx, batch, *seq)?;
        let ri = record_type_index(&layout, rec.code.as_deref());
        // Read problems (bad bytes, broken quotes) stay on fields that were not retyped.
        let kept: Vec<(Option<u32>, Issue)> = {
            let sql = format!(
                "SELECT {ISSUE_COLS} FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule IN ('encoding-error', 'broken-quote')"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![batch, seq], issue_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let kept: Vec<Issue> = kept
            .into_iter()
            .map(|(_, i)| i)
            .filter(|i| i.field_index != *field)
            .collect();
        let keep_fields: HashSet<usize> = kept.iter().filter_map(|i| i.field_index).collect();
        tx.prepare_cached(&format!(
            "DELETE FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule NOT IN ({})",
            FILE_LEVEL
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(",")
        ))?
        .execute(params![batch, seq])?;
        let mut issues = kept;
        match ri {
            None => issues.push(unknown_type_issue(&layout, rec.fields.as_slice(), rec.line)),
            Some(ri) => {
                let mut fresh = Vec::new();
                check_fields(
                    &layout,
                    ri,
                    rec.fields.as_slice(),
                    rec.line,
                    &[],
                    &mut fresh,
                );
                for (k, rule) in layout.records[ri].rules.iter().enumerate() {
                    if let (RecordRule::Reference { field, .. }, Some(set)) =
                        (rule, ctx.refs.get(&(ri, k)))
                        && let Some(i) = reference_issue(
                            &layout,
                            ri,
                            *field,
                            rec.fields.get(*field).map_or("", String::as_str),
                            set,
                            rec.line,
                        )
                    {
                        fresh.push(i);
                    }
                }
                issues.extend(
                    fresh
                        .into_iter()
                        .filter(|i| i.field_index.is_none_or(|f| !keep_fields.contains(&f))),
                );
            }
        }
        for i in &issues {
            if i.rule == r::ENCODING_ERROR || i.rule == r::BROKEN_QUOTE {
                continue; // kept rows were not deleted
            }
            put_issue(&tx, batch, *seq, i)?;
        }
        changed.insert(*seq);
    }

    // Unique keys: every record in a touched key group is re-judged.
    let mut members: BTreeSet<u32> = BTreeSet::new();
    for h in &touched_hashes {
        if let Some(g) = ctx.groups.get(h) {
            members.extend(g.iter().copied());
        }
    }
    members.extend(revalidate.iter().map(|(s, _)| *s));
    members.extend(changed.iter().copied());
    for seq in &members {
        let rec = load(&tx, batch, *seq)?;
        tx.prepare_cached(
            "DELETE FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule = 'unique-error'",
        )?
        .execute(params![batch, seq])?;
        let Some(ri) = record_type_index(&layout, rec.code.as_deref()) else {
            continue;
        };
        if rec.excluded {
            changed.insert(*seq);
            continue;
        }
        for ki in 0..layout.records[ri].unique.len() {
            let Some(h) = key_hash(&layout, ri, ki, rec.fields.as_slice()) else {
                continue;
            };
            let first = ctx.groups.get(&h).and_then(|g| g.iter().next().copied());
            if let Some(first) = first.filter(|f| f < seq) {
                let first_line: i64 = tx.query_row(
                    "SELECT line FROM record WHERE batch_id = ?1 AND seq = ?2",
                    params![batch, first],
                    |r| r.get(0),
                )?;
                put_issue(
                    &tx,
                    batch,
                    *seq,
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
        changed.insert(*seq);
    }

    // Trailer control totals.
    if (trailer_dirty || !revalidate.is_empty() && !summed.is_empty())
        && let Some(t) = ctx.trailer_seq
    {
        let rec = load(&tx, batch, t)?;
        if let Some(ri) = record_type_index(&layout, rec.code.as_deref()) {
            tx.prepare_cached("DELETE FROM issue WHERE batch_id = ?1 AND seq = ?2 AND rule IN ('trailer-count', 'trailer-total')")?.execute(params![batch, t])?;
            let mut out = Vec::new();
            trailer_issues(
                &layout,
                ri,
                rec.fields.as_slice(),
                rec.line,
                &ctx.totals,
                &mut out,
            );
            for i in &out {
                put_issue(&tx, batch, t, i)?;
            }
            changed.insert(t);
        }
    }

    // Rejected flags and the batch's counts.
    for seq in &changed {
        tx.prepare_cached(
            "UPDATE record SET rejected = EXISTS(SELECT 1 FROM issue WHERE batch_id = ?1 AND seq = ?2 AND severity = 'error') WHERE batch_id = ?1 AND seq = ?2",
        )?
        .execute(params![batch, seq])?;
    }
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
    // Blank lines and the column-name row are dropped by export, so only records decide.
    let status = if rejected > 0 { "rejects" } else { "clean" };
    tx.prepare_cached("UPDATE batch SET rejected_count = ?2, issue_count = ?3, status = CASE WHEN status = 'held' THEN 'held' ELSE ?4 END WHERE id = ?1")?
        .execute(params![batch, rejected, issues, status])?;
    tx.commit()?;
    Ok(EditOutcome {
        changed: changed.into_iter().collect(),
        rejected_records: rejected as u64,
        entries,
    })
}

impl EditContext {
    /// Counts and sums stay as in the file when a record is excluded (the export recomputes the
    /// trailer); only its keys stop counting.
    fn add_counts_only(&mut self, _seq: u32, ri: Option<usize>, fields: &[String]) {
        let layout = self.layout.clone();
        let Some(ri) = ri else {
            self.totals.body += 1;
            return;
        };
        if layout.records[ri].role == Role::Detail {
            self.totals.body += 1;
            self.totals.by_type[ri] += 1;
            self.sum(ri, fields, 1);
        }
    }
}

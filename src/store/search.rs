//! Finding records in a stored batch: search, column filters and sorts that build an explicit
//! list of records for the table; records and issues fetched by sequence number; the row a
//! record sits at in a filtered view; and the changes a bulk fix (find-and-replace in a column,
//! "the same fix for every cell with this issue") would make.
//!
//! These are read-only; they compute lists of [`Change`]s that the caller passes to
//! [`Store::apply`], so every bulk fix is one undo step. A full scan of a million-record batch
//! takes about a second: callers run [`Store::select_seqs`] off the UI thread.

use super::edit::Change;
use super::query::{ISSUE_COLS, issue_row};
use super::{PageFilter, Result, Store, StoreError, StoredRecord, split_fields};
use crate::validate::Issue;
use rusqlite::params_from_iter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which records a table shows and in what order, beyond a [`PageFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowQuery {
    /// Record type and rejected-only filter.
    pub filter: PageFilter,
    /// Text searched for in every field (case-insensitive); empty: no search.
    pub search: String,
    /// Column filters: (field position, text the field must contain, case-insensitive).
    pub column_filters: Vec<(usize, String)>,
    /// Sort by this field, descending when the flag is set; None keeps file order.
    pub sort: Option<(usize, bool)>,
}

impl RowQuery {
    /// True when the query needs an explicit list (a plain filter pages straight from the store).
    pub fn needs_list(&self) -> bool {
        !self.search.trim().is_empty()
            || self
                .column_filters
                .iter()
                .any(|(_, t)| !t.trim().is_empty())
            || self.sort.is_some()
    }
}

/// How a bulk replace matches a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceMode {
    /// Every occurrence of the text inside the value is replaced.
    Contains,
    /// Only values equal to the text are replaced, as a whole.
    WholeValue,
}

/// Compares two cell values: numbers as numbers when both parse, otherwise text
/// (case-insensitive), so "10" sorts after "9" and "smith" next to "Smith".
pub fn compare_values(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

impl Store {
    /// Sequence numbers of the records a query shows, in display order. Honours `cancel`
    /// (returns [`StoreError::Cancelled`]).
    pub fn select_seqs(
        &self,
        batch: i64,
        q: &RowQuery,
        cancel: Option<&AtomicBool>,
    ) -> Result<Vec<u32>> {
        // Rejected rows are few: read them through their index rather than the whole batch.
        let mut sql = String::from(if q.filter.rejected_only {
            "SELECT seq, fields FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1"
        } else {
            "SELECT seq, fields FROM record WHERE batch_id = ?1"
        });
        let mut p: Vec<rusqlite::types::Value> = vec![batch.into()];
        if let Some(t) = &q.filter.record_type {
            sql.push_str(" AND record_type = ?2");
            p.push(t.clone().into());
        }
        sql.push_str(" ORDER BY seq");
        let search = q.search.trim().to_lowercase();
        let filters: Vec<(usize, String)> = q
            .column_filters
            .iter()
            .filter(|(_, t)| !t.trim().is_empty())
            .map(|(i, t)| (*i, t.trim().to_lowercase()))
            .collect();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(p))?;
        let mut out: Vec<(u32, String)> = Vec::new();
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            n += 1;
            if n.is_multiple_of(65_536) && cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(StoreError::Cancelled);
            }
            let seq = r.get::<_, i64>(0)? as u32;
            let raw: String = r.get(1)?;
            if !search.is_empty() && !raw.to_lowercase().contains(&search) {
                continue;
            }
            if filters.is_empty() && q.sort.is_none() {
                out.push((seq, String::new()));
                continue;
            }
            let fields = split_fields(&raw);
            let ok = filters.iter().all(|(i, t)| {
                fields
                    .get(*i)
                    .is_some_and(|v| v.to_lowercase().contains(t.as_str()))
            });
            if !ok {
                continue;
            }
            let key = match q.sort {
                Some((i, _)) => fields.get(i).cloned().unwrap_or_default(),
                None => String::new(),
            };
            out.push((seq, key));
        }
        if let Some((_, desc)) = q.sort {
            out.sort_by(|a, b| {
                let o = compare_values(&a.1, &b.1).then(a.0.cmp(&b.0));
                if desc { o.reverse() } else { o }
            });
        }
        Ok(out.into_iter().map(|(s, _)| s).collect())
    }

    /// Records by sequence number, in the order asked (missing ones are skipped).
    pub fn records_by_seqs(&self, batch: i64, seqs: &[u32]) -> Result<Vec<StoredRecord>> {
        let mut by_seq: HashMap<u32, StoredRecord> = HashMap::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let sql = format!(
                "SELECT seq, line, record_type, fields, rejected, excluded, exclude_reason FROM record WHERE batch_id = ? AND seq IN ({})",
                placeholders(chunk.len())
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let p = std::iter::once(batch).chain(chunk.iter().map(|s| i64::from(*s)));
            let rows = stmt.query_map(params_from_iter(p), |r| {
                Ok(StoredRecord {
                    seq: r.get::<_, i64>(0)? as u32,
                    line: r.get::<_, i64>(1)? as u64,
                    record_type: r.get(2)?,
                    fields: split_fields(&r.get::<_, String>(3)?),
                    rejected: r.get(4)?,
                    excluded: r.get(5)?,
                    exclude_reason: r.get(6)?,
                })
            })?;
            for r in rows {
                let r = r?;
                by_seq.insert(r.seq, r);
            }
        }
        Ok(seqs.iter().filter_map(|s| by_seq.remove(s)).collect())
    }

    /// Issues of several records, keyed by record.
    pub fn issues_for_seqs(&self, batch: i64, seqs: &[u32]) -> Result<HashMap<u32, Vec<Issue>>> {
        let mut out: HashMap<u32, Vec<Issue>> = HashMap::new();
        for chunk in seqs.chunks(500) {
            let sql = format!(
                "SELECT {ISSUE_COLS} FROM issue WHERE batch_id = ? AND seq IN ({}) ORDER BY seq, field_index, rule",
                placeholders(chunk.len())
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let p = std::iter::once(batch).chain(chunk.iter().map(|s| i64::from(*s)));
            let rows = stmt.query_map(params_from_iter(p), issue_row)?;
            for r in rows {
                if let (Some(seq), issue) = r? {
                    out.entry(seq).or_default().push(issue);
                }
            }
        }
        Ok(out)
    }

    /// The 0-based row at which record `seq` appears in a page view with `filter`, if it does.
    pub fn position(&self, batch: i64, seq: u32, filter: &PageFilter) -> Result<Option<u64>> {
        let rec = match self.record(batch, seq) {
            Ok(r) => r,
            Err(StoreError::NoRecord { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(t) = &filter.record_type
            && rec.record_type.as_deref() != Some(t.as_str())
        {
            return Ok(None);
        }
        if filter.rejected_only && !rec.rejected {
            return Ok(None);
        }
        let n: i64 = match (&filter.record_type, filter.rejected_only) {
            (None, false) => return Ok(Some(u64::from(seq))),
            (Some(_), false) => self.conn.query_row(
                "SELECT type_seq FROM record WHERE batch_id = ?1 AND seq = ?2",
                rusqlite::params![batch, seq],
                |r| r.get(0),
            )?,
            (t, true) => self.conn.query_row(
                "SELECT COUNT(*) FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 AND seq < ?2 AND (?3 IS NULL OR record_type = ?3)",
                rusqlite::params![batch, seq, t],
                |r| r.get(0),
            )?,
        };
        Ok(Some(n as u64))
    }

    /// The changes a find-and-replace would make: every record of `record_type` (all records
    /// when None) whose field `field` (every editable field when None) matches `find`.
    /// Excluded records are left alone. An empty `find` matches nothing.
    pub fn replace_changes(
        &mut self,
        batch: i64,
        record_type: Option<&str>,
        field: Option<usize>,
        find: &str,
        replace: &str,
        mode: ReplaceMode,
    ) -> Result<Vec<Change>> {
        if find.is_empty() {
            return Ok(Vec::new());
        }
        let layout = self.batch_layout(batch)?;
        // Across all columns, the fields the export fills in or that hold received evidence
        // (and the record type itself) are left alone: they cannot be edited.
        let editable = |ty: Option<&str>, i: usize| -> bool {
            if layout.discriminator == Some(i) {
                return false;
            }
            let rt = match ty {
                Some(t) => layout.record_index(t),
                None => layout.single(),
            }
            .and_then(|r| layout.records.get(r));
            rt.and_then(|r| r.fields.get(i))
                .is_none_or(|f| f.generate.is_none() && f.control.is_none())
        };
        let mut stmt = self.conn.prepare(
            "SELECT seq, fields, record_type FROM record WHERE batch_id = ?1 AND excluded = 0 AND (?2 IS NULL OR record_type = ?2) ORDER BY seq",
        )?;
        let mut rows = stmt.query(rusqlite::params![batch, record_type])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let raw: String = r.get(1)?;
            if !raw.contains(find) {
                continue;
            }
            let seq = r.get::<_, i64>(0)? as u32;
            let ty: Option<String> = r.get(2)?;
            let fields = split_fields(&raw);
            let which: Vec<usize> = match field {
                Some(f) => vec![f],
                None => (0..fields.len())
                    .filter(|i| editable(ty.as_deref(), *i))
                    .collect(),
            };
            for f in which {
                let Some(v) = fields.get(f) else { continue };
                let new = match mode {
                    ReplaceMode::Contains if v.contains(find) => v.replace(find, replace),
                    ReplaceMode::WholeValue if v == find => replace.to_string(),
                    _ => continue,
                };
                if &new != v {
                    out.push(Change::Set {
                        seq,
                        field: f,
                        value: new,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records whose record type the layout does not know (stored without a type), in file
    /// order: a multi-record-type table shows them in a tab of their own.
    pub fn untyped_seqs(&self, batch: i64) -> Result<Vec<u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq FROM record WHERE batch_id = ?1 AND record_type IS NULL ORDER BY seq",
        )?;
        let rows = stmt.query_map([batch], |r| r.get::<_, i64>(0))?;
        Ok(rows
            .map(|r| r.map(|s| s as u32))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The file line of every record the edit log of a batch touches, for the audit view.
    pub fn edited_lines(&self, batch: i64) -> Result<HashMap<u32, u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT r.seq, r.line FROM edit e JOIN record r ON r.batch_id = e.batch_id AND r.seq = e.seq WHERE e.batch_id = ?1",
        )?;
        let rows = stmt.query_map([batch], |r| {
            Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that have an issue of `rule` on field `field` (of `record_type` when given).
    pub fn seqs_with_issue(
        &self,
        batch: i64,
        rule: crate::rules::Rule,
        field: usize,
        record_type: Option<&str>,
    ) -> Result<Vec<u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT seq FROM issue WHERE batch_id = ?1 AND rule = ?2 AND field_index = ?3 AND seq IS NOT NULL AND (?4 IS NULL OR record_type = ?4) ORDER BY seq",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![batch, rule, field as i64, record_type],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(rows
            .map(|r| r.map(|s| s as u32))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The changes that set `value` in field `field` of every record with an issue of `rule`
    /// on that field whose value is still `was`: "apply this fix to the other cells with the
    /// same wrong value". Refused for a field where one value cannot fit many records (an
    /// identifier, a key, free text about a person: [`crate::layout::RecordType::one_value_fits_many`]).
    pub fn same_issue_changes(
        &mut self,
        batch: i64,
        rule: crate::rules::Rule,
        field: usize,
        record_type: Option<&str>,
        was: &str,
        value: &str,
    ) -> Result<Vec<Change>> {
        let layout = self.batch_layout(batch)?;
        let rt = match record_type {
            Some(code) => layout.record_index(code),
            None => layout.single(),
        }
        .and_then(|i| layout.records.get(i));
        let name = rt
            .and_then(|r| r.fields.get(field))
            .map_or_else(|| format!("field {}", field + 1), |f| f.name.clone());
        if !rt.is_some_and(|r| r.one_value_fits_many(field)) {
            return Err(StoreError::Invalid(format!(
                "{name} holds a value of its own for each record (an identifier, a key or personal data): fix each record by hand"
            )));
        }
        Ok(self
            .same_value_seqs(batch, rule, field, record_type, was)?
            .into_iter()
            .map(|seq| Change::Set {
                seq,
                field,
                value: value.to_string(),
            })
            .collect())
    }

    /// Records (not excluded) with an issue of `rule` on field `field` whose value is `was`.
    pub fn same_value_seqs(
        &self,
        batch: i64,
        rule: crate::rules::Rule,
        field: usize,
        record_type: Option<&str>,
        was: &str,
    ) -> Result<Vec<u32>> {
        let seqs = self.seqs_with_issue(batch, rule, field, record_type)?;
        let recs = self.records_by_seqs(batch, &seqs)?;
        Ok(recs
            .into_iter()
            .filter(|r| !r.excluded && r.fields.get(field).map(String::as_str) == Some(was))
            .map(|r| r.seq)
            .collect())
    }
}

/// A suggested fix of one cell (see [`crate::fixes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Record.
    pub seq: u32,
    /// File line.
    pub line: u64,
    /// Field position.
    pub field: usize,
    /// Field name.
    pub field_name: String,
    /// The value now.
    pub was: String,
    /// The fix.
    pub fix: crate::fixes::Fix,
}

/// One kind of fix of one field, over every cell it mends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairGroup {
    /// Field position.
    pub field: usize,
    /// Field name.
    pub field_name: String,
    /// The kind of fix.
    pub kind: crate::fixes::FixKind,
    /// The cells, in file order.
    pub cells: Vec<Suggestion>,
}

impl RepairGroup {
    /// The changes that apply it (one undo step).
    pub fn changes(&self) -> Vec<Change> {
        self.cells.iter().map(Suggestion::change).collect()
    }

    /// The edit log's words for it.
    pub fn label(&self) -> String {
        format!(
            "Repair {}: {} ({} cell(s))",
            self.field_name,
            self.kind.title().to_lowercase(),
            self.cells.len()
        )
    }
}

/// Cells of one field no fix can mend, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmendable {
    /// Field name.
    pub field_name: String,
    /// How many cells.
    pub count: u64,
    /// The first one's line.
    pub first_line: u64,
    /// Why, in plain words.
    pub why: String,
}

/// What the repair step offers for a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Fixes, by field and kind.
    pub groups: Vec<RepairGroup>,
    /// Cells that cannot be mended.
    pub unmendable: Vec<Unmendable>,
}

impl Suggestion {
    /// The change that applies it.
    pub fn change(&self) -> Change {
        Change::Set {
            seq: self.seq,
            field: self.field,
            value: self.fix.value.clone(),
        }
    }
}

impl Store {
    /// For each cell listed (record, field) of records not excluded, what `judge` makes of
    /// its value: a suggestion, or a reason it cannot be mended (field name, line, reason).
    #[allow(clippy::type_complexity)]
    fn suggest_cells(
        &mut self,
        batch: i64,
        layout: &crate::layout::Layout,
        cells: &[(u32, usize)],
        judge: impl Fn(
            &crate::layout::Field,
            &str,
        ) -> Option<std::result::Result<crate::fixes::Fix, String>>,
    ) -> Result<Vec<std::result::Result<Suggestion, (String, u64, String)>>> {
        let mut out = Vec::new();
        for chunk in cells.chunks(500) {
            let seqs: Vec<u32> = chunk.iter().map(|c| c.0).collect();
            let recs: HashMap<u32, StoredRecord> = self
                .records_by_seqs(batch, &seqs)?
                .into_iter()
                .map(|r| (r.seq, r))
                .collect();
            for (seq, fi) in chunk {
                let Some(rec) = recs.get(seq).filter(|r| !r.excluded) else {
                    continue;
                };
                let ri = match (&rec.record_type, layout.discriminator) {
                    (_, None) => Some(0),
                    (Some(c), Some(_)) => layout.record_index(c),
                    (None, Some(_)) => None,
                };
                let Some(f) = ri.and_then(|i| layout.records[i].fields.get(*fi)) else {
                    continue;
                };
                let was = rec.fields.get(*fi).cloned().unwrap_or_default();
                match judge(f, &was) {
                    Some(Ok(fix)) => out.push(Ok(Suggestion {
                        seq: *seq,
                        line: rec.line,
                        field: *fi,
                        field_name: f.name.clone(),
                        was,
                        fix,
                    })),
                    Some(Err(why)) => out.push(Err((f.name.clone(), rec.line, why))),
                    None => {}
                }
            }
        }
        Ok(out)
    }

    /// The repairs of a batch: every cell with an error that one mechanical fix mends,
    /// grouped by field and kind of fix (in field order), and the cells that cannot be mended
    /// with the reason (numbers Excel shortened), by field. What the repair step shows.
    pub fn repairs(&mut self, batch: i64) -> Result<Repairs> {
        let layout = self.batch_layout(batch)?;
        let cells: Vec<(u32, usize)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT seq, field_index FROM issue WHERE batch_id = ?1 AND severity = 'error' AND seq IS NOT NULL AND field_index IS NOT NULL ORDER BY seq",
            )?;
            let rows = stmt.query_map(rusqlite::params![batch], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as usize))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let found = self.suggest_cells(batch, &layout, &cells, |f, was| {
            crate::fixes::suggest(f, was)
                .map(Ok)
                .or_else(|| crate::fixes::unrecoverable(f, was).map(Err))
        })?;
        let mut groups: Vec<RepairGroup> = Vec::new();
        let mut lost: Vec<Unmendable> = Vec::new();
        for r in found {
            match r {
                Ok(s) => match groups
                    .iter_mut()
                    .find(|g| g.field == s.field && g.kind == s.fix.kind)
                {
                    Some(g) => g.cells.push(s),
                    None => groups.push(RepairGroup {
                        field: s.field,
                        field_name: s.field_name.clone(),
                        kind: s.fix.kind,
                        cells: vec![s],
                    }),
                },
                Err((field, line, why)) => match lost.iter_mut().find(|u| u.field_name == field) {
                    Some(u) => u.count += 1,
                    None => lost.push(Unmendable {
                        field_name: field,
                        count: 1,
                        first_line: line,
                        why,
                    }),
                },
            }
        }
        groups.sort_by_key(|g| (g.field, g.kind));
        Ok(Repairs {
            groups,
            unmendable: lost,
        })
    }

    /// The suggested fixes of the cells with an issue of `rule` (records not excluded), in
    /// file order: only corrections that make the cell pass its check.
    pub fn suggested_fixes(
        &mut self,
        batch: i64,
        rule: crate::rules::Rule,
    ) -> Result<Vec<Suggestion>> {
        let layout = self.batch_layout(batch)?;
        let cells: Vec<(u32, usize)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT seq, field_index FROM issue WHERE batch_id = ?1 AND rule = ?2 AND seq IS NOT NULL AND field_index IS NOT NULL ORDER BY seq",
            )?;
            let rows = stmt.query_map(rusqlite::params![batch, rule], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as usize))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        self.suggest_cells(batch, &layout, &cells, |f, was| {
            crate::fixes::suggest(f, was).map(Ok)
        })
        .map(|v| v.into_iter().filter_map(|s| s.ok()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_as_numbers_when_both_are_numbers() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_values("9", "10"), Less);
        assert_eq!(compare_values("10.5", "10.25"), Greater);
        assert_eq!(compare_values("smith", "Smith"), Equal);
        assert_eq!(compare_values("Adams", "baker"), Less);
    }

    #[test]
    fn a_plain_filter_needs_no_list() {
        let mut q = RowQuery::default();
        assert!(!q.needs_list());
        q.column_filters.push((1, "  ".into()));
        assert!(!q.needs_list());
        q.search = "x".into();
        assert!(q.needs_list());
    }
}

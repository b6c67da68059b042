//! Reading the store: batches, pages of records, issues and the edit log, sized to feed a
//! virtualised table at any scroll position of a million-record batch.

use super::kinds::{BatchStatus, EditKind};
use super::{Result, Store, StoreError, split_fields};
use crate::rules::Rule;
use crate::validate::{Issue, Severity};
use rusqlite::{OptionalExtension, Row, params};

/// One batch, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// Batch id.
    pub id: i64,
    /// Interface id.
    pub interface: String,
    /// Layout id and version it was imported with.
    pub layout: String,
    /// Source file name.
    pub source_name: String,
    /// Source path.
    pub source_path: String,
    /// SHA-256 of the source file.
    pub sha256: String,
    /// When imported (RFC 3339).
    pub imported_at: String,
    /// Who imported it.
    pub imported_by: String,
    /// Records.
    pub records: u64,
    /// Records with an error and not excluded.
    pub rejected: u64,
    /// Issues.
    pub issues: u64,
    /// Where the batch stands.
    pub status: BatchStatus,
    /// File-level errors not yet accepted (they keep the batch from being clean).
    pub file_errors: u64,
    /// What its reference rules were checked against (None: not checked).
    pub reference: Option<String>,
    /// The officer named the interface for a file the program did not recognise: who, when
    /// and what the program had said (None: recognised).
    pub interface_choice: Option<String>,
    /// Converted from a table (a workbook sheet, a foreign CSV): what from and how the
    /// columns were mapped (None: an interface file as received).
    pub made_from: Option<String>,
    /// Its latest export that was written: the rejected records it held back (0: all of it
    /// went).
    pub exported_held: Option<u64>,
    /// The organisation whose hub it was delivered to, if it was.
    pub delivered_to: Option<String>,
    /// The layout's id alone.
    pub layout_id: String,
    /// The earlier ESR release(s) its records were read as, in words (None: as its layout
    /// lists them today).
    pub read_as: Option<String>,
}

impl BatchInfo {
    /// Where the batch stands, in words for the lists: its status, said more exactly once
    /// its valid rows went out or it reached a hub.
    pub fn status_words(&self) -> String {
        match (&self.delivered_to, self.exported_held) {
            (Some(vpd), _) => format!("Delivered to {vpd}"),
            (None, Some(held)) if held > 0 => format!("Exported, {held} held back"),
            (None, Some(_)) => "Exported".into(),
            _ if self.status == BatchStatus::Rejects
                && self.rejected == 0
                && self.file_errors > 0 =>
            {
                "File problems".into()
            }
            _ => self.status.title().into(),
        }
    }
}

fn batch_row(r: &Row<'_>) -> rusqlite::Result<BatchInfo> {
    Ok(BatchInfo {
        id: r.get(0)?,
        interface: r.get(1)?,
        layout: format!("{} {}", r.get::<_, String>(2)?, r.get::<_, String>(3)?),
        source_name: r.get(4)?,
        source_path: r.get(5)?,
        sha256: r.get(6)?,
        imported_at: r.get(7)?,
        imported_by: r.get(8)?,
        records: r.get::<_, i64>(9)? as u64,
        rejected: r.get::<_, i64>(10)? as u64,
        issues: r.get::<_, i64>(11)? as u64,
        status: r.get(12)?,
        file_errors: r.get::<_, i64>(13)? as u64,
        reference: r.get(14)?,
        interface_choice: r.get(15)?,
        made_from: r.get(16)?,
        exported_held: r.get::<_, Option<i64>>(17)?.map(|n| n as u64),
        delivered_to: r.get(18)?,
        layout_id: r.get(2)?,
        read_as: r.get(19)?,
    })
}

const BATCH_COLS: &str = "id, interface, layout_id, layout_version, source_name, source_path, source_sha256, imported_at, imported_by, record_count, rejected_count, issue_count, status, file_error_count, reference, interface_choice, made_from,
    (SELECT e.held_back FROM export_run e WHERE e.batch_id = batch.id AND e.outcome = 'ok' ORDER BY e.id DESC LIMIT 1),
    (SELECT t.vpd FROM hub_transfer t WHERE t.batch_id = batch.id AND t.direction = 'push' AND t.state = 'done' LIMIT 1),
    read_as";

/// A stored record as [`crate::store::Store::for_each_record_ref`] hands it over: fields
/// borrowed from the store's row where they can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Position in the batch (0-based, file order).
    pub seq: u32,
    /// Physical line in the source file.
    pub line: u64,
    /// Record type code (None: unknown).
    pub record_type: Option<&'a str>,
    /// Field values with edits applied, as the store keeps them (see [`RecordRef::fields`]).
    pub stored: &'a str,
    /// Has an error.
    pub rejected: bool,
    /// Left out of exports.
    pub excluded: bool,
}

impl<'a> RecordRef<'a> {
    /// Field values with edits applied.
    pub fn fields(&self) -> Vec<std::borrow::Cow<'a, str>> {
        super::split_fields_ref(self.stored).collect()
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Position in the batch (0-based, file order).
    pub seq: u32,
    /// Physical line in the source file.
    pub line: u64,
    /// Record type code (None: unknown).
    pub record_type: Option<String>,
    /// Field values with edits applied.
    pub fields: Vec<String>,
    /// Has an error.
    pub rejected: bool,
    /// Left out of exports.
    pub excluded: bool,
    /// Why it was excluded.
    pub exclude_reason: Option<String>,
}

pub(crate) fn record_row(r: &Row<'_>) -> rusqlite::Result<StoredRecord> {
    Ok(StoredRecord {
        seq: r.get::<_, i64>(0)? as u32,
        line: r.get::<_, i64>(1)? as u64,
        record_type: r.get(2)?,
        fields: split_fields(&r.get::<_, String>(3)?),
        rejected: r.get(4)?,
        excluded: r.get(5)?,
        exclude_reason: r.get(6)?,
    })
}

pub(crate) const RECORD_COLS: &str =
    "seq, line, record_type, fields, rejected, excluded, exclude_reason";

/// Which records a page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFilter {
    /// Only records with an error (excluded ones too, so they can be seen).
    pub rejected_only: bool,
    /// Only records of this type.
    pub record_type: Option<String>,
}

/// One entry of the edit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditEntry {
    /// Entry id (log order).
    pub id: i64,
    /// Group: entries made by one action share it.
    pub group: i64,
    /// Record.
    pub seq: u32,
    /// Field name (None for exclude/include).
    pub field: Option<String>,
    /// Field position (None for exclude/include).
    pub field_index: Option<usize>,
    /// What the entry did.
    pub kind: EditKind,
    /// Value before.
    pub old_value: Option<String>,
    /// Value after.
    pub new_value: Option<String>,
    /// Reason (exclusions).
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub who: String,
    /// For undo/redo: the entry it reverses or repeats.
    pub undoes: Option<i64>,
}

pub(crate) fn issue_row(r: &Row<'_>) -> rusqlite::Result<(Option<u32>, Issue)> {
    Ok((
        r.get::<_, Option<i64>>(0)?.map(|s| s as u32),
        Issue {
            line: r.get::<_, i64>(1)? as u64,
            record_type: r.get(2)?,
            field: r.get(3)?,
            field_index: r.get::<_, Option<i64>>(4)?.map(|f| f as usize),
            rule: r.get(5)?,
            severity: r.get(6)?,
            message: r.get(7)?,
        },
    ))
}

pub(crate) const ISSUE_COLS: &str =
    "seq, line, record_type, field, field_index, rule, severity, message";

impl Store {
    /// Batches, newest first, optionally of one interface.
    pub fn batches(&self, interface: Option<&str>) -> Result<Vec<BatchInfo>> {
        let sql = format!(
            "SELECT {BATCH_COLS} FROM batch WHERE status != 'importing' AND (?1 IS NULL OR interface = ?1) AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id) ORDER BY id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([interface], batch_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One batch.
    pub fn batch(&self, id: i64) -> Result<BatchInfo> {
        let sql = format!(
            "SELECT {BATCH_COLS} FROM batch WHERE id = ?1 AND status != 'importing' AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id)"
        );
        self.conn
            .query_row(&sql, [id], batch_row)
            .optional()?
            .ok_or(StoreError::NoBatch(id))
    }

    /// Number of records a filter shows.
    pub fn count(&self, batch: i64, filter: &PageFilter) -> Result<u64> {
        let n: i64 = match (&filter.record_type, filter.rejected_only) {
            (None, false) => self.conn.query_row("SELECT record_count FROM batch WHERE id = ?1", [batch], |r| r.get(0))?,
            (None, true) => self.conn.query_row("SELECT COUNT(*) FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1", [batch], |r| r.get(0))?,
            (Some(t), false) => self.conn.query_row("SELECT COUNT(*) FROM record WHERE batch_id = ?1 AND record_type IS ?2", params![batch, t], |r| r.get(0))?,
            (Some(t), true) => {
                self.conn.query_row("SELECT COUNT(*) FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 AND record_type IS ?2", params![batch, t], |r| r.get(0))?
            }
        };
        Ok(n as u64)
    }

    /// The fields of a batch's header record: its first record, when that is of the layout's
    /// header type (None: the layout has no header, or the batch does not start with one).
    pub fn header_fields(
        &self,
        batch: i64,
        layout: &crate::layout::Layout,
    ) -> Result<Option<Vec<String>>> {
        let Some(h) = layout.header() else {
            return Ok(None);
        };
        let code = layout.records[h].code.as_str();
        Ok(self
            .page(batch, 0, 1, &PageFilter::default())?
            .into_iter()
            .next()
            .filter(|r| r.record_type.as_deref() == Some(code))
            .map(|r| r.fields))
    }

    /// A page of records: `limit` records from position `offset` of the filtered list.
    /// Unfiltered and per-type pages seek straight to the position through an index, so any
    /// page of a million-record batch costs the same.
    pub fn page(
        &self,
        batch: i64,
        offset: u64,
        limit: u64,
        filter: &PageFilter,
    ) -> Result<Vec<StoredRecord>> {
        let (sql, p): (String, Vec<rusqlite::types::Value>) = match (
            &filter.record_type,
            filter.rejected_only,
        ) {
            (None, false) => (
                format!(
                    "SELECT {RECORD_COLS} FROM record WHERE batch_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
                ),
                vec![batch.into(), (offset as i64).into(), (limit as i64).into()],
            ),
            (Some(t), false) => (
                format!(
                    "SELECT {RECORD_COLS} FROM record WHERE batch_id = ?1 AND record_type = ?2 AND type_seq >= ?3 ORDER BY type_seq LIMIT ?4"
                ),
                vec![
                    batch.into(),
                    t.clone().into(),
                    (offset as i64).into(),
                    (limit as i64).into(),
                ],
            ),
            (None, true) => (
                format!(
                    "SELECT {RECORD_COLS} FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 ORDER BY seq LIMIT ?3 OFFSET ?2"
                ),
                vec![batch.into(), (offset as i64).into(), (limit as i64).into()],
            ),
            (Some(t), true) => (
                format!(
                    "SELECT {RECORD_COLS} FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 AND record_type = ?4 ORDER BY seq LIMIT ?3 OFFSET ?2"
                ),
                vec![
                    batch.into(),
                    (offset as i64).into(),
                    (limit as i64).into(),
                    t.clone().into(),
                ],
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(p), record_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One record.
    pub fn record(&self, batch: i64, seq: u32) -> Result<StoredRecord> {
        let sql = format!("SELECT {RECORD_COLS} FROM record WHERE batch_id = ?1 AND seq = ?2");
        self.conn
            .query_row(&sql, params![batch, seq], record_row)
            .optional()?
            .ok_or(StoreError::NoRecord { batch, seq })
    }

    /// The record at a physical line (records are in line order, so a binary search on seq).
    pub fn seq_for_line(&self, batch: i64, line: u64) -> Result<Option<u32>> {
        let n = self.count(batch, &PageFilter::default())?;
        let (mut lo, mut hi) = (0u64, n);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT line FROM record WHERE batch_id = ?1 AND seq = ?2")?;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let l: i64 = stmt.query_row(params![batch, mid as i64], |r| r.get(0))?;
            match (l as u64).cmp(&line) {
                std::cmp::Ordering::Equal => return Ok(Some(mid as u32)),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }

    /// Issues of a batch grouped by rule, in the rules' order: (rule, severity, count).
    pub fn issues_by_rule(&self, batch: i64) -> Result<Vec<(Rule, Severity, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rule, MIN(severity), COUNT(*) FROM issue WHERE batch_id = ?1 GROUP BY rule",
        )?;
        let rows = stmt.query_map([batch], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        let mut out: Vec<(Rule, Severity, u64)> = rows.collect::<rusqlite::Result<_>>()?;
        // What blocks the batch first, then in the rules' own order; never by count: a group
        // does not move when a fix changes its count.
        out.sort_by_key(|r| (!r.0.blocks_batch(r.1), r.0));
        Ok(out)
    }

    /// Issue counts of one rule by field name ("record" for issues about a whole record),
    /// largest first.
    pub fn rule_counts_by_field(&self, batch: i64, rule: Rule) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(field, 'record'), COUNT(*) FROM issue WHERE batch_id = ?1 AND rule = ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
        )?;
        let rows = stmt.query_map(params![batch, rule], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Issues of one record.
    pub fn record_issues(&self, batch: i64, seq: u32) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issue WHERE batch_id = ?1 AND seq = ?2 ORDER BY field_index, rule"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![batch, seq], issue_row)?;
        Ok(rows
            .map(|r| r.map(|(_, i)| i))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Issues of a batch in line order, optionally of one rule, with the record each is on.
    pub fn issues(
        &self,
        batch: i64,
        rule: Option<Rule>,
        limit: u64,
    ) -> Result<Vec<(Option<u32>, Issue)>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issue WHERE batch_id = ?1 AND (?2 IS NULL OR rule = ?2) ORDER BY line, field_index LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![batch, rule, limit as i64], issue_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest stored batch of an interface.
    pub fn latest_batch(&self, interface: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM batch WHERE interface = ?1 AND status != 'importing' AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id) ORDER BY id DESC LIMIT 1",
                [interface],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records (not excluded) with a record-rejecting error, by seq.
    pub fn rejected_seqs(&self, batch: i64) -> Result<std::collections::BTreeSet<u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq FROM record INDEXED BY record_rejected WHERE batch_id = ?1 AND rejected = 1 AND excluded = 0",
        )?;
        let rows = stmt.query_map([batch], |r| r.get::<_, i64>(0))?;
        let mut out = std::collections::BTreeSet::new();
        for r in rows {
            out.insert(r? as u32);
        }
        Ok(out)
    }

    /// The line of the first rejected record (not excluded) of the given record types.
    pub fn first_rejected_of_types(&self, batch: i64, codes: &[&str]) -> Result<Option<u64>> {
        let mut first: Option<u64> = None;
        for code in codes {
            let line: Option<i64> = self
                .conn
                .prepare_cached(
                    "SELECT MIN(line) FROM record WHERE batch_id = ?1 AND record_type = ?2 AND rejected = 1 AND excluded = 0",
                )?
                .query_row(params![batch, code], |r| r.get(0))?;
            if let Some(l) = line {
                first = Some(first.map_or(l as u64, |f| f.min(l as u64)));
            }
        }
        Ok(first)
    }

    /// How many entries the edit log of a batch holds.
    pub fn edit_count(&self, batch: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM edit WHERE batch_id = ?1",
            [batch],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The edit log of a batch, oldest first.
    pub fn edits(&self, batch: i64) -> Result<Vec<EditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, grp, seq, field, kind, old_value, new_value, reason, at, who, undoes, field_index FROM edit WHERE batch_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([batch], |r| {
            Ok(EditEntry {
                id: r.get(0)?,
                group: r.get(1)?,
                seq: r.get::<_, i64>(2)? as u32,
                field: r.get(3)?,
                kind: r.get(4)?,
                old_value: r.get(5)?,
                new_value: r.get(6)?,
                reason: r.get(7)?,
                at: r.get(8)?,
                who: r.get(9)?,
                undoes: r.get(10)?,
                field_index: r.get::<_, Option<i64>>(11)?.map(|f| f as usize),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// What the issues panel shows about the file as a whole, read from the store once.
#[derive(Debug, Clone, Default)]
pub struct FileState {
    /// File-level rules with an error not yet accepted.
    pub open_rules: std::collections::HashSet<Rule>,
    /// The acceptances logged for the batch.
    pub acceptances: Vec<super::Acceptance>,
    /// Batches of each referenced interface, newest first (id, label), at most 50.
    pub reference_batches: std::collections::HashMap<String, Vec<(i64, String)>>,
    /// What the hub and ESR said of the batch (sequence watch, answers, delivery).
    pub hub: HubFacts,
}

/// What the hub and ESR said of a batch: its place in a numbered series, ESR's answer to
/// it, the re-send of its rejected rows, its delivery to the hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubFacts {
    /// A gap or a repeat the sequence watch found when it arrived.
    pub sequence: Option<String>,
    /// The latest answer from ESR matched to it.
    pub answer: Option<super::hub::AnswerInfo>,
    /// What ESR said of each row it did not accept (latest answer per row), by record seq:
    /// the rejected and warned rows the panel lists and the table marks.
    pub rows: std::collections::BTreeMap<u32, super::hub::AnswerRow>,
    /// The batch of its rejected rows made to re-send, if one was made.
    pub resend: Option<i64>,
    /// The batch this one re-sends the rejected rows of.
    pub resend_of: Option<i64>,
    /// The batch this answer file answers (when it is one of ESR's answers).
    pub answers: Option<super::hub::AnswerInfo>,
    /// Its delivery to the hub: (organisation, file name, step reached, last error).
    pub push: Option<(String, String, String, Option<String>)>,
    /// The organisations with a hub connection it could be delivered to (VPD codes).
    pub hubs: Vec<String>,
}

impl Store {
    /// What the issues panel shows about a batch as a whole.
    pub fn file_state(&mut self, batch: i64) -> Result<FileState> {
        let layout = self.batch_layout(batch)?;
        let batch = self.batch(batch)?;
        let store: &Store = self;
        let open_rules = if batch.file_errors > 0 {
            store
                .file_problems(batch.id)?
                .iter()
                .map(|i| i.rule)
                .collect()
        } else {
            Default::default()
        };
        let mut reference_batches = std::collections::HashMap::new();
        for r in crate::validate::reference_rules(&layout) {
            if reference_batches.contains_key(&r.interface) {
                continue;
            }
            let list: Vec<(i64, String)> = store
                .batches(Some(&r.interface))?
                .iter()
                .take(50)
                .map(|b| {
                    (
                        b.id,
                        format!(
                            "batch {} · {} · {}",
                            b.id,
                            b.source_name,
                            b.imported_at.get(..10).unwrap_or("")
                        ),
                    )
                })
                .collect();
            reference_batches.insert(r.interface.clone(), list);
        }
        let hub = HubFacts {
            sequence: store.sequence_finding(batch.id)?,
            answer: store.answers(Some(batch.id), None)?.pop(),
            rows: store
                .answer_rows(batch.id, false)?
                .into_iter()
                .map(|r| (r.seq, r))
                .collect(),
            resend: store.resend_batch_of(batch.id)?,
            resend_of: store.resend_of(batch.id)?,
            answers: store.answers(None, Some(batch.id))?.pop(),
            push: store
                .push_of(batch.id)?
                .map(|t| (t.vpd, t.remote_name, t.state, t.last_error)),
            hubs: store
                .orgs()?
                .into_iter()
                .filter(|o| o.hub_url.is_some())
                .map(|o| o.vpd)
                .collect(),
        };
        Ok(FileState {
            open_rules,
            acceptances: store.acceptances(batch.id)?,
            reference_batches,
            hub,
        })
    }
}

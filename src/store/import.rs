//! Import: a file streamed through the reader and validator into the store in one transaction.

use super::{Result, Store, StoreError, current_user, hex, join_fields, now_text};
use crate::layout::{Layout, RecordRule};
use crate::reader::{ReadError, Reader};
use crate::rules as r;
use crate::validate::{Issue, Severity, ValidateError, Validator, Verdict};
use rusqlite::{OptionalExtension, params};
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Options for an import.
#[derive(Default)]
pub struct ImportOptions<'a> {
    /// Import even when the same file (same SHA-256) was imported before.
    pub force: bool,
    /// Set to stop; nothing is stored.
    pub cancel: Option<&'a AtomicBool>,
    /// Called about every 16k lines with (bytes read, total bytes, lines read).
    pub progress: Option<&'a mut dyn FnMut(u64, u64, u64)>,
}

/// What an import stored.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The new batch.
    pub batch_id: i64,
    /// Records stored.
    pub records: u64,
    /// Records with an error.
    pub rejected: u64,
    /// Issue counts by rule.
    pub by_rule: Vec<(String, usize)>,
    /// Issues stored.
    pub issues: u64,
    /// SHA-256 of the file.
    pub sha256: String,
}

struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The values a `reference` rule checks against: the latest batch of the other interface.
pub(crate) struct RefSet {
    pub(crate) values: Option<HashSet<String>>,
    pub(crate) interface: String,
    pub(crate) batch: Option<i64>,
}

impl Store {
    /// Values of `target` in record type `record` of the latest batch of `interface`.
    pub(crate) fn reference_set(
        &mut self,
        interface: &str,
        record: &str,
        target: &str,
    ) -> Result<RefSet> {
        let latest: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM batch WHERE interface = ?1 AND status != 'importing' ORDER BY id DESC LIMIT 1",
                [interface],
                |r| r.get(0),
            )
            .optional()?;
        let Some(b) = latest else {
            return Ok(RefSet {
                values: None,
                interface: interface.to_string(),
                batch: None,
            });
        };
        let layout = self.batch_layout(b)?;
        let fi = layout
            .record_index(record)
            .and_then(|ri| layout.records[ri].field_index(target));
        let Some(fi) = fi else {
            return Ok(RefSet {
                values: None,
                interface: interface.to_string(),
                batch: None,
            });
        };
        let mut values = HashSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT fields FROM record WHERE batch_id = ?1 AND record_type = ?2")?;
        let rows = stmt.query_map(params![b, record], |r| r.get::<_, String>(0))?;
        for row in rows {
            let row = row?;
            if let Some(v) = row.split('\u{1F}').nth(fi) {
                values.insert(v.to_string());
            }
        }
        Ok(RefSet {
            values: Some(values),
            interface: interface.to_string(),
            batch: Some(b),
        })
    }

    /// Loads the reference sets a layout's rules need, keyed by (record type, rule index).
    pub(crate) fn reference_sets(
        &mut self,
        layout: &Layout,
    ) -> Result<HashMap<(usize, usize), RefSet>> {
        let mut out = HashMap::new();
        for (ri, rt) in layout.records.iter().enumerate() {
            for (k, rule) in rt.rules.iter().enumerate() {
                if let RecordRule::Reference {
                    interface,
                    record,
                    target,
                    ..
                } = rule
                {
                    out.insert((ri, k), self.reference_set(interface, record, target)?);
                }
            }
        }
        Ok(out)
    }

    /// Imports a file as a new batch. See [`ImportOptions`].
    pub fn import(
        &mut self,
        path: &Path,
        layout: &Layout,
        mut opts: ImportOptions<'_>,
    ) -> Result<ImportOutcome> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let read_err = |source: ReadError| {
            StoreError::Validate(ValidateError::Read {
                file: name.clone(),
                source,
            })
        };
        let file = std::fs::File::open(path).map_err(|e| read_err(ReadError::Io(e)))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let src = std::io::BufReader::with_capacity(
            256 * 1024,
            HashingReader {
                inner: file,
                hasher: sha2::Sha256::new(),
            },
        );
        let refs = self.reference_sets(layout)?;
        let layout_sha = super::sha256_hex(layout.text.as_bytes());
        let who = current_user();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO layout(sha256, id, version, text) VALUES (?1, ?2, ?3, ?4)",
            params![layout_sha, layout.id, layout.version, layout.text],
        )?;
        tx.execute(
            "INSERT INTO batch(interface, layout_id, layout_version, layout_sha256, source_name, source_path, source_sha256, source_bytes, imported_at, imported_by, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8, ?9, 'importing')",
            params![layout.interface, layout.id, layout.version, layout_sha, name, path.display().to_string(), total as i64, now_text(), who],
        )?;
        let batch = tx.last_insert_rowid();
        let mut reader = Reader::new(src, layout.dialect);
        let mut v = Validator::new(layout);
        let mut issues: Vec<Issue> = Vec::new();
        let mut seq: u32 = 0;
        let mut type_seq = vec![0u32; layout.records.len()];
        let mut unknown_seq = 0u32;
        let mut last_seq: Option<u32> = None;
        let mut last_line = 0u64;
        let mut first_line_of_type: Vec<Option<u64>> = vec![None; layout.records.len()];
        let (mut rejected, mut issue_count) = (0u64, 0u64);
        let mut by_rule: HashMap<String, usize> = HashMap::new();
        {
            let mut ins_rec = tx.prepare_cached(
                "INSERT INTO record(batch_id, seq, line, record_type, type_seq, fields, rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut ins_issue = tx.prepare_cached(
                "INSERT INTO issue(batch_id, seq, line, record_type, field, field_index, rule, severity, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut put = |i: &Issue,
                           seq: Option<u32>,
                           by_rule: &mut HashMap<String, usize>|
             -> rusqlite::Result<()> {
                *by_rule.entry(i.rule.clone()).or_default() += 1;
                ins_issue.execute(params![
                    batch,
                    seq,
                    i.line as i64,
                    i.record_type,
                    i.field,
                    i.field_index.map(|f| f as i64),
                    i.rule,
                    if i.severity == Severity::Error {
                        "error"
                    } else {
                        "warning"
                    },
                    i.message
                ])?;
                Ok(())
            };
            loop {
                let line = match reader.next_line() {
                    Ok(Some(l)) => l,
                    Ok(None) => break,
                    Err(e) => return Err(read_err(e)),
                };
                issues.clear();
                let verdict = v.check_line(&line, &mut issues);
                match verdict {
                    Verdict::Blank | Verdict::ColumnNames => {
                        for i in &issues {
                            put(i, None, &mut by_rule)?;
                            issue_count += 1;
                        }
                    }
                    Verdict::Record {
                        record_type,
                        rejected: mut bad,
                    } => {
                        if let Some(ri) = record_type {
                            for (k, rule) in layout.records[ri].rules.iter().enumerate() {
                                if let RecordRule::Reference { field, .. } = rule {
                                    let value = line.fields.get(*field);
                                    if let Some(set) = refs.get(&(ri, k))
                                        && let Some(i) = reference_issue(
                                            layout, ri, *field, value, set, line.line,
                                        )
                                    {
                                        bad |= i.severity == Severity::Error;
                                        issues.push(i);
                                    }
                                }
                            }
                            if first_line_of_type[ri].is_none() {
                                first_line_of_type[ri] = Some(line.line);
                            }
                        }
                        let ts = match record_type {
                            Some(ri) => {
                                type_seq[ri] += 1;
                                type_seq[ri] - 1
                            }
                            None => {
                                unknown_seq += 1;
                                unknown_seq - 1
                            }
                        };
                        let code = record_type.map(|ri| layout.records[ri].code.as_str());
                        ins_rec.execute(params![
                            batch,
                            seq,
                            line.line as i64,
                            code,
                            ts,
                            join_fields(line.fields.iter()),
                            bad
                        ])?;
                        for i in &issues {
                            put(i, Some(seq), &mut by_rule)?;
                            issue_count += 1;
                        }
                        if bad {
                            rejected += 1;
                        }
                        last_seq = Some(seq);
                        last_line = line.line;
                        seq += 1;
                    }
                }
                let ln = reader.lines_read();
                if ln & 0x3FFF == 0 {
                    if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        return Err(StoreError::Cancelled);
                    }
                    if let Some(p) = opts.progress.as_mut() {
                        p(reader.bytes_read(), total, ln);
                    }
                }
            }
            issues.clear();
            v.finish(&mut issues);
            // A reference that cannot be checked is said once, not once a record.
            for ((ri, k), set) in &refs {
                if set.values.is_none()
                    && let (Some(line), RecordRule::Reference { field, .. }) =
                        (first_line_of_type[*ri], &layout.records[*ri].rules[*k])
                {
                    let f = &layout.records[*ri].fields[*field];
                    issues.push(Issue {
                            line,
                            record_type: Some(layout.records[*ri].code.clone()),
                            field: Some(f.name.clone()),
                            rule: r::REFERENCE_UNCHECKED.into(),
                            severity: Severity::Warning,
                            message: format!(
                                "{} could not be checked against {}: the store has no batch of that interface yet; import one and re-validate",
                                f.name, set.interface
                            ),
                            field_index: Some(*field),
                        });
                }
            }
            if let Some(at) = reader.looks_utf8_at {
                issues.push(Issue {
                    line: at,
                    record_type: None,
                    field: None,
                    rule: r::ENCODING_MISMATCH.into(),
                    severity: Severity::Warning,
                    message: format!(
                        "Line {at} reads as UTF-8 text but the layout says {}",
                        layout.dialect.encoding.name()
                    ),
                    field_index: None,
                });
            }
            for i in &issues {
                let s = if i.line == last_line { last_seq } else { None };
                put(i, s, &mut by_rule)?;
                issue_count += 1;
            }
        }
        let had_bom = reader.had_bom;
        // Everything was read through the hashing reader (to the end of the file).
        let sha = hex(&reader.into_inner().into_inner().hasher.finalize());
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM batch WHERE source_sha256 = ?1 AND id != ?2 AND status != 'importing' ORDER BY id LIMIT 1",
                params![sha, batch],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(existing) = existing
            && !opts.force
        {
            // Dropping the transaction rolls the whole import back.
            return Err(StoreError::Duplicate { existing, sha });
        }
        tx.execute(
            "UPDATE batch SET record_count = ?2, rejected_count = ?3, issue_count = ?4, status = ?5, had_bom = ?6, source_sha256 = ?7 WHERE id = ?1",
            params![batch, i64::from(seq), rejected as i64, issue_count as i64, if rejected > 0 { "rejects" } else { "clean" }, had_bom, sha],
        )?;
        tx.commit()?;
        let mut by_rule: Vec<(String, usize)> = by_rule.into_iter().collect();
        by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(ImportOutcome {
            batch_id: batch,
            records: u64::from(seq),
            rejected,
            by_rule,
            issues: issue_count,
            sha256: sha,
        })
    }
}

/// The issue for a reference value, if any.
pub(crate) fn reference_issue(
    layout: &Layout,
    ri: usize,
    field: usize,
    value: &str,
    set: &RefSet,
    line: u64,
) -> Option<Issue> {
    let values = set.values.as_ref()?;
    if value.is_empty() || values.contains(value) {
        return None;
    }
    let f = &layout.records[ri].fields[field];
    Some(Issue {
        line,
        record_type: Some(layout.records[ri].code.clone()),
        field: Some(f.name.clone()),
        rule: r::FOREIGN_KEY.into(),
        severity: Severity::Error,
        message: format!(
            "{} \"{value}\" is not in the latest {} batch (batch {}): check the number, or import a newer {} file",
            f.name,
            set.interface,
            set.batch.unwrap_or(0),
            set.interface
        ),
        field_index: Some(field),
    })
}

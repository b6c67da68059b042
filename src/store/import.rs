//! Import: a file judged by the one pipeline ([`crate::validate::run`]) and stored as a batch
//! in one transaction, with every issue the pipeline found and the read problems of each
//! record kept beside it (so re-judging a record after an edit sees what the import saw).

use super::kinds::BatchStatus;
use super::{Result, Store, StoreError, current_user, hex, join_fields, now_text};
use crate::layout::Layout;
use crate::reader::problems_to_text;
use crate::validate::{
    Checked, Issue, Options, RefSource, References, RunError, Verdict, reference_rules,
};
use rusqlite::{OptionalExtension, params};
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// Keys of the key index held before a sorted batch of them is written (32 MB).
const KEY_BATCH: usize = 1 << 21;

/// Records a multi-row insert writes.
const RECORDS_A_STATEMENT: usize = 64;

/// The statement inserting `n` records.
fn insert_records(n: usize) -> String {
    format!(
        "INSERT INTO record(batch_id, seq, line, record_type, type_seq, fields, rejected, problems) VALUES {}",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ")
    )
}

/// One record row as the writer inserts it.
struct RecordRow<'a> {
    seq: u32,
    line: i64,
    code: Option<&'a str>,
    type_seq: u32,
    fields: &'a str,
    rejected: bool,
    problems: Option<&'a str>,
}

/// Judged lines handed to the writer at a time.
const HANDED_ROWS: usize = 4096;

/// A judged line as the store writes it, made on the checking thread.
struct JudgedLine {
    line: u64,
    verdict: Verdict,
    /// The fields as the store keeps them ([`join_fields`]).
    fields: String,
    problems: Option<String>,
    issues: Vec<Issue>,
    /// The key index's hashes.
    keys: Vec<u64>,
}

impl From<&Checked<'_, '_>> for JudgedLine {
    fn from(c: &Checked<'_, '_>) -> Self {
        let record = matches!(c.verdict, Verdict::Record { .. });
        Self {
            line: c.line.line,
            verdict: c.verdict,
            fields: if record {
                join_fields(c.line.fields.iter())
            } else {
                String::new()
            },
            problems: problems_to_text(c.line.problems),
            issues: c.issues.to_vec(),
            keys: c.keys.iter().map(crate::validate::LineKey::hash).collect(),
        }
    }
}

/// Judged lines on their way to the writer, with how far the reading has got.
struct Handed {
    rows: Vec<JudgedLine>,
    progress: Option<(u64, u64)>,
}
use std::sync::atomic::AtomicBool;

/// Options for an import.
#[derive(Default)]
pub struct ImportOptions<'a> {
    /// Import even when the same file (same SHA-256) was imported before.
    pub force: bool,
    /// Set to stop; nothing is stored.
    pub cancel: Option<&'a AtomicBool>,
    /// Called about every 16k lines with (bytes read, total bytes, lines read).
    pub progress: Option<&'a mut dyn FnMut(u64, u64, u64)>,
    /// Stored batches that reference rules check against (the officer's choice); with none,
    /// reference rules are reported as unchecked.
    pub against: Vec<i64>,
    /// The file was not recognised and the officer said "import anyway as this interface":
    /// what the program had said, kept with the batch (with who and when).
    pub chosen_anyway: Option<String>,
    /// The file is a table (a workbook sheet, a foreign CSV) converted to the layout's shape:
    /// the converted file is what is judged and stored; the batch keeps what it was made from.
    pub made: Option<Made>,
}

/// A table converted for import: the file made and how it was made.
#[derive(Debug, Clone)]
pub struct Made {
    /// The converted file, with the table row of each line.
    pub converted: crate::mapping::Converted,
    /// What it was made from, in words ("sheet "Pay" of Roster.xlsx, columns mapped by ...").
    pub from: String,
}

/// What an import stored.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The new batch.
    pub batch_id: i64,
    /// Records stored.
    pub records: u64,
    /// Records with a record-rejecting error.
    pub rejected: u64,
    /// File-level errors (they reject the batch until put right or accepted).
    pub file_errors: u64,
    /// Issue counts by rule.
    pub by_rule: Vec<(crate::rules::Rule, u64)>,
    /// Issues stored.
    pub issues: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// The batch's status: clean only when no error was found at any level.
    pub status: BatchStatus,
    /// Reference rules not checked (nothing chosen to check them against).
    pub unchecked: Vec<crate::validate::Unchecked>,
}

impl ImportOutcome {
    /// True when the pipeline found no error at any level (the same verdict `validate` gives).
    pub fn is_clean(&self) -> bool {
        self.status == BatchStatus::Clean
    }
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

impl Store {
    /// The values a layout's reference rules need, from a stored batch of the other
    /// interface: the officer's explicit choice of reference.
    pub fn reference_source(&mut self, batch: i64, layout: &Layout) -> Result<RefSource> {
        let info = self.batch(batch)?;
        let other = self.batch_layout(batch)?;
        let wanted: Vec<(String, String)> = reference_rules(layout)
            .into_iter()
            .filter(|r| r.interface == info.interface)
            .map(|r| (r.target_record, r.target_field))
            .collect();
        let mut src = RefSource {
            interface: info.interface.clone(),
            label: format!("batch {batch} ({}, {})", info.interface, info.source_name),
            values: HashMap::new(),
        };
        for (record, field) in wanted {
            let Some(fi) = other
                .record_index(&record)
                .and_then(|ri| other.records[ri].field_index(&field))
            else {
                continue;
            };
            let mut values = HashSet::new();
            let mut stmt = self.conn.prepare_cached(
                "SELECT fields FROM record WHERE batch_id = ?1 AND record_type = ?2 AND excluded = 0",
            )?;
            let rows = stmt.query_map(params![batch, record], |r| r.get::<_, String>(0))?;
            for row in rows {
                if let Some(v) = super::split_fields(&row?).into_iter().nth(fi) {
                    values.insert(v);
                }
            }
            src.values.insert((record, field), values);
        }
        Ok(src)
    }

    /// References built from stored batches of the other interfaces.
    pub fn references_from(&mut self, layout: &Layout, against: &[i64]) -> Result<References> {
        let mut sources = Vec::new();
        for &b in against {
            sources.push(self.reference_source(b, layout)?);
        }
        Ok(References::build(layout, &sources)?)
    }

    /// Deletes a batch nothing has been done to yet: no edit, acceptance or export (the
    /// officer cancelled its import too late and does not want it). Anything else is refused:
    /// the logs are append-only and a batch with history stays.
    pub fn delete_batch(&mut self, batch: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let history: i64 = tx.query_row(
            "SELECT (SELECT COUNT(*) FROM edit WHERE batch_id = ?1)
                  + (SELECT COUNT(*) FROM acceptance WHERE batch_id = ?1)
                  + (SELECT COUNT(*) FROM export_run WHERE batch_id = ?1)",
            [batch],
            |r| r.get(0),
        )?;
        if history > 0 {
            return Err(StoreError::Invalid(format!(
                "batch {batch} has changes, acceptances or exports in its log, so it is kept"
            )));
        }
        tx.execute("DELETE FROM issue WHERE batch_id = ?1", [batch])?;
        tx.execute("DELETE FROM record_key WHERE batch_id = ?1", [batch])?;
        tx.execute("DELETE FROM record WHERE batch_id = ?1", [batch])?;
        if tx.execute("DELETE FROM batch WHERE id = ?1", [batch])? == 0 {
            return Err(StoreError::NoBatch(batch));
        }
        tx.commit()?;
        tracing::info!(batch, "batch deleted at the officer's request");
        Ok(())
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
        let file = crate::validate::open_file(path)?.into_inner();
        let mut made = opts.made.take();
        // A converted table is judged and stored from the file made; the batch's SHA-256 is
        // still the received file's own.
        let (inner, total, made_sha): (Box<dyn Read + Send>, u64, Option<String>) = match &mut made
        {
            None => {
                let total = file.metadata().map(|m| m.len()).unwrap_or(0);
                (Box::new(file), total, None)
            }
            Some(m) => {
                let mut h = HashingReader {
                    inner: file,
                    hasher: sha2::Sha256::new(),
                };
                std::io::copy(&mut h, &mut std::io::sink()).map_err(|e| {
                    crate::validate::ValidateError::Read {
                        file: name.clone(),
                        source: crate::reader::ReadError::Io(e),
                    }
                })?;
                // The bytes are read once, here; the lines stay for numbering.
                let bytes = std::mem::take(&mut m.converted.bytes);
                let total = bytes.len() as u64;
                (
                    Box::new(std::io::Cursor::new(bytes)),
                    total,
                    Some(hex(&h.hasher.finalize())),
                )
            }
        };
        let src = std::io::BufReader::with_capacity(
            256 * 1024,
            HashingReader {
                inner,
                hasher: sha2::Sha256::new(),
            },
        );
        let references = self.references_from(layout, &opts.against)?;
        let against = opts
            .against
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let layout_sha = super::sha256_hex(layout.text.as_bytes());
        let who = current_user();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO layout(sha256, id, version, text) VALUES (?1, ?2, ?3, ?4)",
            params![layout_sha, layout.id, layout.version, layout.text],
        )?;
        tx.execute(
            "INSERT INTO batch(interface, layout_id, layout_version, layout_sha256, source_name, source_path, source_sha256, source_bytes, imported_at, imported_by, status, reference, reference_batches, interface_choice, made_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![layout.interface, layout.id, layout.version, layout_sha, name, path.display().to_string(), total as i64, now_text(), who, BatchStatus::Importing, references.describe(), (!against.is_empty()).then_some(against), opts.chosen_anyway.as_ref().map(|why| format!("imported as {} by {who} at {}, although the file was not recognised: {why}", layout.id, now_text())), made.as_ref().map(|m| m.from.clone())],
        )?;
        let batch = tx.last_insert_rowid();
        let mut seq: u32 = 0;
        let mut type_seq = vec![0u32; layout.records.len()];
        let mut unknown_seq = 0u32;
        let mut last: Option<(u32, u64)> = None;
        let (mut issue_count, mut file_errors) = (0u64, 0u64);
        let mut by_rule: HashMap<crate::rules::Rule, u64> = HashMap::new();
        // The unique keys of the detail records (hash, record), written in order at the end.
        let mut keys: Vec<(u64, u32)> = Vec::new();
        let progress = opts.progress.take();
        let mut progress = progress;
        let finished = {
            let mut ins_issue = tx.prepare_cached(
                "INSERT INTO issue(batch_id, seq, line, record_type, field, field_index, rule, severity, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut put = |i: &Issue, seq: Option<u32>| -> rusqlite::Result<()> {
                *by_rule.entry(i.rule).or_default() += 1;
                issue_count += 1;
                if i.blocks_batch() {
                    file_errors += 1;
                }
                ins_issue.execute(params![
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
            };
            // Records go in RECORDS_A_STATEMENT at a time: far fewer statement steps.
            let mut ins_recs = tx.prepare_cached(&insert_records(RECORDS_A_STATEMENT))?;
            let mut write_lines = |lines: &[JudgedLine]| -> rusqlite::Result<()> {
                let mut recs: Vec<RecordRow<'_>> = Vec::with_capacity(lines.len());
                for l in lines {
                    let Verdict::Record {
                        record_type,
                        rejected,
                    } = l.verdict
                    else {
                        for i in &l.issues {
                            put(i, None)?;
                        }
                        continue;
                    };
                    let type_seq = match record_type {
                        Some(ri) => {
                            type_seq[ri] += 1;
                            type_seq[ri] - 1
                        }
                        None => {
                            unknown_seq += 1;
                            unknown_seq - 1
                        }
                    };
                    recs.push(RecordRow {
                        seq,
                        line: l.line as i64,
                        code: record_type.map(|ri| layout.records[ri].code.as_str()),
                        type_seq,
                        fields: &l.fields,
                        rejected,
                        problems: l.problems.as_deref(),
                    });
                    for i in &l.issues {
                        put(i, Some(seq))?;
                    }
                    keys.extend(l.keys.iter().map(|&h| (h, seq)));
                    if keys.len() >= KEY_BATCH {
                        // Sorted batches, so memory stays bounded on a long file.
                        super::edit::write_keys(&tx, batch, std::mem::take(&mut keys))?;
                    }
                    last = Some((seq, l.line));
                    seq += 1;
                }
                for group in recs.chunks(RECORDS_A_STATEMENT) {
                    let mut p: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(group.len() * 8);
                    for r in group {
                        p.extend([
                            &batch as &dyn rusqlite::ToSql,
                            &r.seq,
                            &r.line,
                            &r.code,
                            &r.type_seq,
                            &r.fields,
                            &r.rejected,
                            &r.problems,
                        ]);
                    }
                    if group.len() == RECORDS_A_STATEMENT {
                        ins_recs.execute(&p[..])?;
                    } else {
                        tx.prepare(&insert_records(group.len()))?.execute(&p[..])?;
                    }
                }
                Ok(())
            };
            // The checks run on their own threads (the pipeline's), handing judged lines over
            // in batches; this thread is the one writer.
            let made_from = made.as_ref().map(|m| m.converted.lines.as_slice());
            let cancel = opts.cancel;
            let (fin, src) = std::thread::scope(|scope| -> Result<_> {
                let (to_writer, judged) = std::sync::mpsc::sync_channel::<Handed>(4);
                let checker = scope.spawn(move || {
                    let mut rows = Vec::with_capacity(HANDED_ROWS);
                    let at = std::cell::Cell::new(None);
                    let mut on_progress = |bytes: u64, lines: u64| at.set(Some((bytes, lines)));
                    let run = crate::validate::run(
                        src,
                        &name,
                        layout,
                        &references,
                        Options {
                            cancel,
                            progress: Some(&mut on_progress),
                            made_from,
                            split: None,
                        },
                        |c| -> std::result::Result<bool, ()> {
                            rows.push(JudgedLine::from(&c));
                            if rows.len() == HANDED_ROWS {
                                let handed = Handed {
                                    rows: std::mem::replace(
                                        &mut rows,
                                        Vec::with_capacity(HANDED_ROWS),
                                    ),
                                    progress: at.take(),
                                };
                                // The writer stopped: it says why.
                                return Ok(to_writer.send(handed).is_ok());
                            }
                            Ok(true)
                        },
                    );
                    let _ = to_writer.send(Handed {
                        rows,
                        progress: None,
                    });
                    run
                });
                let mut written: Result<()> = Ok(());
                let mut lines_read = 0;
                for handed in &judged {
                    if written.is_ok() {
                        written = write_lines(&handed.rows).map_err(StoreError::from);
                    }
                    lines_read += handed.rows.len() as u64;
                    if let (Some((bytes, lines)), Some(p)) = (handed.progress, progress.as_mut()) {
                        p(bytes, total, lines);
                    }
                    if written.is_err() {
                        break;
                    }
                }
                drop(judged);
                // Everything is read: what is left is saving (the key index, the commit), and
                // the window says so rather than resting at the last chunk's share.
                if let (true, Some(p)) = (written.is_ok(), progress.as_mut()) {
                    p(total, total, lines_read);
                }
                let run = checker.join().unwrap_or(Err(RunError::Validate(
                    crate::validate::ValidateError::Cancelled,
                )));
                written?;
                match run {
                    Ok(x) => Ok(x),
                    Err(RunError::Sink(())) => Err(StoreError::Cancelled),
                    Err(RunError::Validate(crate::validate::ValidateError::Cancelled)) => {
                        Err(StoreError::Cancelled)
                    }
                    Err(RunError::Validate(e)) => Err(e.into()),
                }
            })?;
            for i in &fin.end_issues {
                let s = last.filter(|(_, l)| *l == i.line).map(|(s, _)| s);
                put(i, s)?;
            }
            (fin, src)
        };
        let (fin, src) = finished;
        // Everything was read through the hashing reader (to the end of the file).
        let read_sha = hex(&src.into_inner().hasher.finalize());
        let sha = made_sha.unwrap_or(read_sha);
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM batch WHERE source_sha256 = ?1 AND id != ?2 AND status != 'importing' AND NOT EXISTS (SELECT 1 FROM purge p WHERE p.batch_id = batch.id) ORDER BY id LIMIT 1",
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
        super::edit::write_keys(&tx, batch, keys)?;
        let status = BatchStatus::judged(BatchStatus::Importing, fin.rejected, file_errors);
        tx.execute(
            "UPDATE batch SET record_count = ?2, rejected_count = ?3, issue_count = ?4, status = ?5, had_bom = ?6, source_sha256 = ?7, file_error_count = ?8, keys_indexed = 1, read_as = ?9, final_eol = ?10 WHERE id = ?1",
            params![batch, i64::from(seq), fin.rejected as i64, issue_count as i64, status, fin.summary.had_bom, sha, file_errors as i64, crate::validate::read_as_words(layout, &fin.read_as), !fin.summary.no_final_eol],
        )?;
        tx.commit()?;
        tracing::info!(
            batch,
            records = u64::from(seq),
            rejected = fin.rejected,
            file_errors,
            issues = issue_count,
            status = %status,
            "imported"
        );
        let mut by_rule: Vec<(crate::rules::Rule, u64)> = by_rule.into_iter().collect();
        by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(b.0.code())));
        Ok(ImportOutcome {
            batch_id: batch,
            records: u64::from(seq),
            rejected: fin.rejected,
            file_errors,
            by_rule,
            issues: issue_count,
            sha256: sha,
            status,
            unchecked: fin.unchecked,
        })
    }
}

//! ESR's answers: a confirmation or reject file (a layout with an `[answer]` section) matched
//! to the batch it answers, and each row of that batch given ESR's status and message; then
//! the rows ESR rejected re-sent as a new batch holding only them.
//!
//! The batch answered is found by the file name the answer names (its `file` field) among
//! the files exported or received, else the latest batch delivered to the hub in a layout it
//! answers. Rows are matched by the answer's key fields (fields of the same name in the batch
//! sent), or by the line in the file sent (read back from the file the export wrote).

use crate::layout::{Layout, RowStatus};
use crate::store::hub::{AnswerInfo, AnswerRow};
use crate::store::{Store, StoreError};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Errors matching an answer.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The batch is not an answer.
    #[error("batch {0} is not one of ESR's answer files (its layout has no [answer] section)")]
    NotAnAnswer(i64),
    /// No batch sent could be found for it.
    #[error("no batch sent was found that this answer is for{0}")]
    NoBatch(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
}

/// What matching did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The answer and what it says.
    pub info: AnswerInfo,
}

impl Matched {
    /// One line for logs, notes and the command line.
    pub fn summary(&self) -> String {
        let i = &self.info;
        match i.answered_batch {
            Some(b) => format!(
                "answers batch {b} ({}): {} accepted, {} with warnings, {} rejected{}",
                i.matched_by,
                i.accepted,
                i.warnings,
                i.rejected,
                if i.unmatched > 0 {
                    format!("; {} answer rows matched no row sent", i.unmatched)
                } else {
                    String::new()
                }
            ),
            None => "answers no batch found here".into(),
        }
    }
}

/// One answer row as read.
struct Said {
    status: RowStatus,
    message: Option<String>,
    keys: Vec<String>,
    line: Option<u64>,
}

fn norm(v: &str) -> String {
    v.trim().to_ascii_uppercase()
}

fn file_name_of(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The batch a file name was sent or received as, and the path of that file here.
fn batch_named(store: &Store, name: &str) -> Result<Option<(i64, Option<PathBuf>)>, StoreError> {
    let want = norm(name);
    if want.is_empty() {
        return Ok(None);
    }
    let runs = store.export_runs(None, None)?;
    if let Some(r) = runs.iter().rev().find(|r| {
        r.outcome == crate::store::ExportRunOutcome::Ok
            && r.path
                .as_deref()
                .is_some_and(|p| norm(&file_name_of(p)) == want)
    }) {
        return Ok(Some((r.batch, r.path.as_ref().map(PathBuf::from))));
    }
    Ok(store
        .batch_named(name)?
        .map(|(b, path)| (b, Some(PathBuf::from(path)))))
}

/// Matches an answer batch to the batch it answers and stores each row's status.
pub fn match_answer(store: &mut Store, answer_batch: i64) -> Result<Matched, AnswerError> {
    let layout = store.batch_layout(answer_batch)?;
    let a = layout
        .answer
        .clone()
        .ok_or(AnswerError::NotAnAnswer(answer_batch))?;
    let mut named: Option<String> = None;
    let mut said = Vec::new();
    store.for_each_record(answer_batch, false, |rec| -> Result<bool, StoreError> {
        let ri = layout.stored_type(rec.record_type.as_deref());
        if let (Some((fr, ff)), Some(ri)) = (a.file, ri)
            && fr == ri
            && named.is_none()
        {
            named = rec
                .fields
                .get(ff)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
        }
        if ri == Some(a.record) {
            let get = |i: usize| {
                rec.fields
                    .get(i)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            let code = get(a.status);
            // A code the layout does not list is taken as rejected: doubt is never "accepted".
            let status = a.status_of(&code).unwrap_or(RowStatus::Rejected);
            said.push(Said {
                status,
                message: a.message.map(get).filter(|m| !m.is_empty()),
                keys: a.keys.iter().map(|(i, _)| norm(&get(*i))).collect(),
                line: a.line.and_then(|i| get(i).parse().ok()),
            });
        }
        Ok(true)
    })?;
    // The batch answered: by the file name it names, else the latest delivered in a layout it
    // answers.
    let answers_any = a.answers.iter().any(|x| x == "*");
    let fits = |l: &Layout| answers_any || a.answers.iter().any(|x| x.eq_ignore_ascii_case(&l.id));
    let mut found: Option<(i64, Option<PathBuf>, String)> = None;
    if let Some(n) = &named
        && let Some((b, p)) = batch_named(store, n)?
    {
        found = Some((b, p, format!("by the file name it names, {n}")));
    }
    if found.is_none() {
        for t in store.transfers(500)? {
            if t.way != crate::store::hub::Way::Push || t.state != "done" {
                continue;
            }
            let Some(b) = t.batch_id else { continue };
            if b == answer_batch {
                continue;
            }
            let Ok(l) = store.batch_layout(b) else {
                continue;
            };
            if fits(&l) {
                found = Some((
                    b,
                    t.local_path.map(PathBuf::from),
                    format!(
                        "as the latest file delivered in a layout it answers, {}",
                        t.remote_name
                    ),
                ));
                break;
            }
        }
    }
    let Some((answered, sent_path, how)) = found else {
        return Err(AnswerError::NoBatch(
            named.map_or_else(String::new, |n| format!(" (it names {n})")),
        ));
    };
    let sent_layout = store.batch_layout(answered)?;
    // Index the rows sent: by key values, and by line in the file sent.
    let key_fields: Vec<&str> = a.keys.iter().map(|(_, n)| n.as_str()).collect();
    let mut by_key: HashMap<Vec<String>, u32> = HashMap::new();
    let mut by_fields: HashMap<Vec<String>, Vec<u32>> = HashMap::new();
    store.for_each_record(answered, false, |rec| -> Result<bool, StoreError> {
        let ri = sent_layout.stored_type(rec.record_type.as_deref());
        let Some(ri) = ri else { return Ok(true) };
        let rt = &sent_layout.records[ri];
        if rt.role != crate::layout::Role::Detail {
            return Ok(true);
        }
        if !key_fields.is_empty() {
            let vals: Option<Vec<String>> = key_fields
                .iter()
                .map(|k| {
                    rt.field_index(k)
                        .map(|i| norm(rec.fields.get(i).map_or("", String::as_str)))
                })
                .collect();
            if let Some(v) = vals {
                by_key.entry(v).or_insert(rec.seq);
            }
        }
        if a.line.is_some() {
            by_fields
                .entry(rec.fields.clone())
                .or_default()
                .push(rec.seq);
        }
        Ok(true)
    })?;
    let by_line = match (a.line, &sent_path) {
        (Some(_), Some(p)) => lines_of(p, &sent_layout, &mut by_fields)?,
        _ => HashMap::new(),
    };
    // One status a row; two answers for one row: the worse stands.
    let mut rows: std::collections::BTreeMap<u32, AnswerRow> = std::collections::BTreeMap::new();
    let mut unmatched = 0u64;
    for s in said {
        let seq = (!s.keys.is_empty())
            .then(|| by_key.get(&s.keys).copied())
            .flatten()
            .or_else(|| s.line.and_then(|l| by_line.get(&l).copied()));
        let Some(seq) = seq else {
            unmatched += 1;
            continue;
        };
        if rows.get(&seq).is_none_or(|r| s.status > r.status) {
            rows.insert(
                seq,
                AnswerRow {
                    seq,
                    line: 0,
                    status: s.status,
                    message: s.message,
                    answer_batch,
                },
            );
        }
    }
    let count = |st: RowStatus| rows.values().filter(|r| r.status == st).count() as u64;
    let (acc, warn, rej) = (
        count(RowStatus::Accepted),
        count(RowStatus::Warning),
        count(RowStatus::Rejected),
    );
    let rows: Vec<AnswerRow> = rows.into_values().collect();
    let info = AnswerInfo {
        answer_batch,
        answered_batch: Some(answered),
        matched_by: how,
        accepted: acc,
        warnings: warn,
        rejected: rej,
        unmatched,
        at: crate::store::now_text(),
    };
    store.save_answer(&info, &rows)?;
    tracing::info!(answer_batch, answered, rejected = rej, "answer matched");
    Ok(Matched { info })
}

/// Line in the file sent → the row sent there (records matched by their fields).
fn lines_of(
    path: &Path,
    layout: &Layout,
    by_fields: &mut HashMap<Vec<String>, Vec<u32>>,
) -> Result<HashMap<u64, u32>, AnswerError> {
    let f = crate::reader::open(path).map_err(|e| {
        AnswerError::Io(format!(
            "the file sent, {}, cannot be read: {e}",
            path.display()
        ))
    })?;
    let mut r = crate::reader::Reader::new(f, layout.dialect);
    let mut out = HashMap::new();
    while let Some(line) = r.next_line().map_err(|e| {
        AnswerError::Io(format!(
            "the file sent, {}, cannot be read: {e}",
            path.display()
        ))
    })? {
        let fields = line.fields.to_vec();
        if let Some(seqs) = by_fields.get_mut(&fields)
            && !seqs.is_empty()
        {
            out.insert(line.line, seqs.remove(0));
        }
    }
    Ok(out)
}

/// The rows of a batch ESR rejected (its latest answer per row).
pub fn rejected_rows(store: &Store, batch: i64) -> Result<BTreeSet<u32>, StoreError> {
    Ok(store
        .answer_rows(batch, false)?
        .into_iter()
        .filter(|r| r.status == RowStatus::Rejected)
        .map(|r| r.seq)
        .collect())
}

/// Makes a new batch holding only the rows of `batch` that ESR rejected, as they stand now
/// (with the officer's edits), for fixing and sending again. The file is written in the
/// batch's layout under the name its next export would have (nothing is used up: the export
/// of the new batch numbers it), imported through the one pipeline, and marked as the re-send
/// of `batch`. Returns the new batch.
pub fn resend_rejected(
    store: &mut Store,
    batch: i64,
    org: Option<&str>,
) -> Result<i64, AnswerError> {
    if let Some(existing) = store.resend_batch_of(batch)? {
        return Ok(existing);
    }
    let only = rejected_rows(store, batch)?;
    if only.is_empty() {
        return Err(AnswerError::Io(format!(
            "ESR rejected no row of batch {batch}: there is nothing to re-send"
        )));
    }
    let layout = store.batch_layout(batch)?;
    let info = store.batch(batch)?;
    // Named as the next export of the same organisation would be (nothing is used up).
    let crate::export::Identity { vpd, seq: next, .. } = crate::export::batch_identity(
        store,
        batch,
        &crate::export::Want {
            org,
            ..Default::default()
        },
    )
    .map_err(|e| AnswerError::Io(e.to_string()))?;
    let now = crate::export::uk_now();
    let name = layout
        .file_name
        .render(&crate::layout::NameValues {
            vpd: &vpd,
            when: now,
            seq: next,
            choices: layout.file_name.choices_in(&info.source_name),
            header: layout.name_header(None),
        })
        .map_err(AnswerError::Io)?;
    let dir = store.dir().join("resend").join(batch.to_string());
    crate::paths::private_dir(&dir)
        .map_err(|e| AnswerError::Io(format!("could not make {}: {e}", dir.display())))?;
    let path = dir.join(&name);
    let mut bytes = Vec::new();
    let fill = crate::export::Fill {
        name: name.clone(),
        now,
        vpd,
        seq: next,
    };
    crate::export::write_batch(
        store,
        batch,
        &layout,
        &fill,
        crate::export::Rows::Only(&only),
        &path,
        &mut bytes,
    )
    .map_err(|e| AnswerError::Io(e.to_string()))?;
    crate::paths::atomic_write(&path, &bytes)
        .map_err(|e| AnswerError::Io(format!("could not write {}: {e}", path.display())))?;
    let o = store.import(
        &path,
        &layout,
        crate::store::ImportOptions {
            force: true,
            ..crate::store::ImportOptions::default()
        },
    )?;
    store.set_resend_of(o.batch_id, batch)?;
    tracing::info!(
        batch,
        resend = o.batch_id,
        rows = only.len(),
        "re-send batch made"
    );
    Ok(o.batch_id)
}

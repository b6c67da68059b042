//! Exports: a batch written back out in its layout's exact format, a rejects report for
//! Excel, and joiners/movers/leavers between two batches of a staff feed.
//!
//! An export writes the records with every edit applied and excluded rows left out, in the
//! layout's delimiter, quoting (only where needed), encoding and line ending, with the header's
//! generated fields refilled (file name, extract time, VPD, sequence) and the trailer's counts
//! and totals recomputed from what was written. It writes to a temporary file in the target
//! folder, syncs it and renames it into place, so a killed export never leaves a partial file
//! under the final name, and an existing file is kept unless the caller says to overwrite it.
//! Every run, refused or not, is recorded in the store. No UI code here.

use crate::layout::{Control, Generate, Layout, NameValues, Role, safe_file_name};
use crate::notation::{Format, SCALE, format_scaled};
use crate::store::{Store, StoreError, hex, now_text};
use crate::validate::summed_fields;
use crate::writer::{WriteError, encode_record};
use chrono::{NaiveDateTime, Timelike};
use sha2::Digest;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::store::kinds::{ExportRunOutcome, Trigger};

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Folder to write into.
    pub out_dir: PathBuf,
    /// Replace a file of the same name.
    pub overwrite: bool,
    /// Write the valid rows and hold the rejected ones back, instead of refusing.
    pub valid_rows_only: bool,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// The extract time written in headers and file names (injected: tests pass a fixed one).
    pub now: NaiveDateTime,
    /// VPD code; default the store's `vpd` setting, else the batch header's.
    pub vpd: Option<String>,
    /// Sequence number; default the store's next number for the interface (the
    /// organisation's own, with `org`).
    pub seq: Option<u64>,
    /// The organisation the file is for (its VPD code): its VPD goes in the file, and its own
    /// sequence numbers (`seq.<VPD>.<interface>`) count it.
    pub org: Option<String>,
}

impl ExportOptions {
    /// Manual export into `dir` at the current local time.
    pub fn new(dir: &Path) -> Self {
        Self {
            out_dir: dir.to_path_buf(),
            overwrite: false,
            valid_rows_only: false,
            trigger: Trigger::Manual,
            now: uk_now(),
            vpd: None,
            seq: None,
            org: None,
        }
    }
}

/// Now in UK time (Europe/London), to the second: what generated header fields and file
/// names show, whichever machine or face runs the export.
pub fn uk_now() -> NaiveDateTime {
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::London);
    now.naive_local()
        .with_nanosecond(0)
        .unwrap_or_else(|| now.naive_local())
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportOutcome {
    /// The file written.
    pub path: PathBuf,
    /// Records written (header and trailer included).
    pub records_written: u64,
    /// Rejected records held back (valid-rows-only exports): (record seq, line).
    pub held_back: Vec<(u32, u64)>,
    /// SHA-256 of the file.
    pub sha256: String,
    /// The export run's id in the store.
    pub run_id: i64,
    /// What the export recomputed and why, as the history records it (empty when the file
    /// went out as received).
    pub note: String,
}

/// Why an export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SQLite failed.
    #[error("the store could not be read: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Rejected records remain (other than header/trailer problems the export puts right).
    #[error(
        "batch {batch} still has {rejected} rejected records: fix or exclude them first, or export the valid rows only"
    )]
    HasRejects {
        /// Batch.
        batch: i64,
        /// How many.
        rejected: u64,
    },
    /// File-level problems not accepted: the file as received is in doubt.
    #[error(
        "batch {batch} has {count} file-level problem{}, which block every export until put right or accepted with a reason: {lines}",
        if *count == 1 { "" } else { "s" }
    )]
    FileProblems {
        /// Batch.
        batch: i64,
        /// How many.
        count: usize,
        /// Each (the first 20), as "line N: message", joined with "; ".
        lines: String,
    },
    /// The header or trailer record has an error: it cannot be held back.
    #[error("batch {batch}: the {what} record (line {line}) has errors; fix them before exporting")]
    HeaderTrailer {
        /// Batch.
        batch: i64,
        /// "header" or "trailer".
        what: &'static str,
        /// Its line.
        line: u64,
    },
    /// The file exists and overwriting was not asked for.
    #[error("{} already exists; it was left as it is (choose to overwrite it, or another folder)", .0.display())]
    Exists(PathBuf),
    /// The file-name pattern would write outside the folder, or cannot be filled.
    #[error("cannot name the export: {0}")]
    Name(String),
    /// No VPD code to put in the name or header.
    #[error(
        "the trust's VPD code is not set: set it once with `esr-desk settings vpd ABC` (or --vpd)"
    )]
    NoVpd,
    /// A value cannot be written in the layout's format.
    #[error("record at line {line}: {source}")]
    Value {
        /// Line of the record.
        line: u64,
        /// Cause.
        source: WriteError,
    },
    /// Writing the file failed.
    #[error("could not write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Formats a scaled number for a numeric field.
fn numeric_text(f: &Format, n: i128) -> String {
    match f {
        Format::Numeric { decimals, .. } => format_scaled(n, *decimals),
        Format::Padded { digits, decimals } => {
            let s = format_scaled(n, *decimals);
            let width = digits + usize::from(*decimals > 0);
            format!("{s:0>width$}")
        }
        _ => format_scaled(n, 0),
    }
}

fn generated(
    f: &Format,
    g: Generate,
    name: &str,
    now: NaiveDateTime,
    vpd: &str,
    seq: u64,
) -> String {
    let secs = now.time().num_seconds_from_midnight();
    match g {
        Generate::FileName => name.to_string(),
        Generate::Vpd => vpd.to_string(),
        Generate::Sequence => numeric_text(f, i128::from(seq) * SCALE),
        Generate::Now => match f {
            Format::Date(p) | Format::Timestamp(p) | Format::Time(p) => p.format(now.date(), secs),
            _ => now.format("%Y%m%d%H%M%S").to_string(),
        },
    }
}

/// The VPD code written in a batch's header, if the layout has one.
fn header_vpd(store: &Store, batch: i64, layout: &Layout) -> Result<Option<String>, ExportError> {
    let Some(fi) = layout.header().and_then(|h| {
        layout.records[h]
            .fields
            .iter()
            .position(|f| f.generate == Some(Generate::Vpd))
    }) else {
        return Ok(None);
    };
    Ok(store
        .header_fields(batch, layout)?
        .and_then(|f| f.get(fi).cloned())
        .filter(|v| !v.is_empty()))
}

pub use crate::store::exports::ExportRun;
use crate::store::exports::NewExportRun as RunRecord;

fn record_run(store: &Store, r: &RunRecord<'_>) -> Result<i64, ExportError> {
    Ok(store.record_export_run(r)?)
}

/// Exports a batch. Every attempt is recorded in the store's export history.
///
/// One export runs at a time on a store (an operating-system lock, let go at once by a
/// process that dies), and each is a short series of recorded steps: its intent (name, VPD,
/// sequence number) is in the history before anything is written; its file's SHA-256 before
/// the file is put in place; its completion (and the number used up) after. An export that
/// stopped in between is finished or undone by the next one on the store ([`recover`]); when
/// that export is of the same batch into the same folder, what was finished is the answer.
pub fn export_batch(
    store: &mut Store,
    batch: i64,
    opts: &ExportOptions,
) -> Result<ExportOutcome, ExportError> {
    let started = now_text();
    // What a killed export left in this folder goes first, whatever becomes of this one (a
    // temporary file still held by a running export is left alone).
    if opts.out_dir.is_dir() {
        clean_orphans(&opts.out_dir);
    }
    let info = store.batch(batch)?;
    let _lock = export_lock(store)?;
    let recovered = recover(store)?;
    if let Some(r) = recovered
        .into_iter()
        .find(|r| r.batch == batch && r.outcome.path.parent() == Some(opts.out_dir.as_path()))
    {
        tracing::info!(
            batch,
            "an export a stopped run left was finished; not made again"
        );
        return Ok(r.outcome);
    }
    let plan = match plan(store, batch, opts) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(batch, "export refused or failed");
            // The refusal is what the officer must hear about: a store too busy to record it
            // does not hide it.
            let _ = record_run(
                store,
                &RunRecord {
                    batch,
                    interface: &info.interface,
                    started: &started,
                    outcome: outcome_of(&e),
                    message: &e.to_string(),
                    path: None,
                    written: 0,
                    sha: None,
                    held: 0,
                    trigger: opts.trigger,
                    vpd: None,
                    seq: None,
                },
            );
            return Err(e);
        }
    };
    // The intent: in the history before a byte is written.
    let run = record_run(
        store,
        &RunRecord {
            batch,
            interface: &info.interface,
            started: &started,
            outcome: ExportRunOutcome::Pending,
            message: "under way",
            path: Some(&plan.path),
            written: 0,
            sha: None,
            held: 0,
            trigger: opts.trigger,
            vpd: Some(&plan.id.vpd),
            seq: plan.id.counted.then_some(plan.id.seq),
        },
    )?;
    crate::failpoint::hit("export.intent");
    let result = write(store, batch, opts, plan).and_then(|p| {
        store.export_written(
            run,
            &p.outcome.sha256,
            p.outcome.records_written,
            p.outcome.held_back.len(),
            &p.message,
        )?;
        crate::failpoint::hit("export.written");
        commit_export(store, run, batch, opts, p)
    });
    if let Err(e) = &result {
        tracing::warn!(batch, "export failed");
        let _ = store.end_export(run, outcome_of(e), Some(&e.to_string()));
    }
    if let Ok(o) = &result {
        // Who sent what: in the access log too (the export history has the details).
        let name = o
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Err(e) = store.log_access(
            Some(batch),
            crate::store::AccessAction::Export,
            Some(o.records_written),
            &format!("{name} ({})", opts.trigger.as_str()),
        ) {
            tracing::warn!(batch, error = %e, "the export was not written to the access log");
        }
    }
    result
}

/// A refusal (the batch, the name, an existing file) or a failure, for the history.
fn outcome_of(e: &ExportError) -> ExportRunOutcome {
    if matches!(
        e,
        ExportError::HasRejects { .. }
            | ExportError::Exists(_)
            | ExportError::FileProblems { .. }
            | ExportError::HeaderTrailer { .. }
            | ExportError::NoVpd
            | ExportError::Name(_)
    ) {
        ExportRunOutcome::Refused
    } else {
        ExportRunOutcome::Failed
    }
}

/// Holds the store's export lock: one export at a time on a store, whichever process (the
/// window, a schedule, the command line, a hub delivery). The operating system lets go of it
/// when the process ends, however it ends.
fn export_lock(store: &Store) -> Result<std::fs::File, ExportError> {
    let dir = store.dir().join("locks");
    let path = dir.join("exports.lock");
    let io_err = |source| ExportError::Io {
        path: path.clone(),
        source,
    };
    crate::paths::private_dir(&dir).map_err(io_err)?;
    let f = crate::paths::private_file(&path).map_err(io_err)?;
    f.lock().map_err(io_err)?;
    crate::paths::hold_note(&f, "an export");
    Ok(f)
}

/// An export a stopped run left, finished by [`recover`].
#[derive(Debug, Clone)]
pub struct Recovered {
    /// Its batch.
    pub batch: i64,
    /// What it wrote.
    pub outcome: ExportOutcome,
}

/// Finishes or undoes what exports that stopped between their steps left (call with the
/// export lock held, so none of them is still running). An export whose file is in place
/// with the SHA-256 it recorded is finished: its history row says so, its sequence number is
/// used up and its batch is exported. Any other is undone: nothing under its name is its
/// file, so it is recorded as failed and its number is given to the next export. Its
/// temporary file is removed. Nothing is ever delivered twice, and no number is given twice.
pub fn recover(store: &mut Store) -> Result<Vec<Recovered>, ExportError> {
    let mut done = Vec::new();
    for r in store.pending_exports()? {
        let path = r.path.as_deref().map(PathBuf::from);
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            clean_orphans(dir);
        }
        let in_place = match (&path, &r.sha256) {
            (Some(p), Some(sha)) if p.is_file() => sha256_of(p).is_ok_and(|s| s == *sha),
            _ => false,
        };
        if !in_place {
            store.end_export(
                r.id,
                ExportRunOutcome::Failed,
                Some("stopped before its file was put in place: nothing was delivered, and its sequence number goes to the next export"),
            )?;
            tracing::warn!(
                run = r.id,
                batch = r.batch,
                "an export a stopped run left was undone"
            );
            continue;
        }
        let tx = store.write_tx()?;
        let said = format!(
            "{}finished by a later run: its file was in place with the SHA-256 recorded",
            r.message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!("{m}; "))
                .unwrap_or_default()
        );
        store.end_export(r.id, ExportRunOutcome::Ok, Some(&said))?;
        if let (Some(vpd), Some(seq)) = (&r.vpd, r.seq) {
            store.use_seq(&crate::store::seq_key(Some(vpd), &r.interface), seq, None)?;
        }
        if r.held_back == 0 {
            store.set_status(r.batch, crate::store::kinds::BatchStatus::Exported)?;
        }
        tx.commit()?;
        tracing::warn!(
            run = r.id,
            batch = r.batch,
            "an export a stopped run left was finished"
        );
        done.push(Recovered {
            batch: r.batch,
            outcome: ExportOutcome {
                path: path.unwrap_or_default(),
                records_written: r.records_written,
                held_back: Vec::new(),
                sha256: r.sha256.clone().unwrap_or_default(),
                run_id: r.id,
                note: said,
            },
        });
    }
    Ok(done)
}

/// The SHA-256 of a file, read in blocks.
fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = crate::reader::regular(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

/// What an export will write, decided before anything is recorded or written: every
/// refusal happens here.
struct Plan {
    layout: std::sync::Arc<Layout>,
    id: Identity,
    name: String,
    path: PathBuf,
    blocking: std::collections::BTreeSet<u32>,
}

/// An export written to its temporary file, ready to be put in place.
struct Prepared {
    outcome: ExportOutcome,
    tmp: tempfile::NamedTempFile,
    id: Identity,
    /// What the history says of it (held back, trailer recomputed).
    message: String,
}

/// What a caller asks of a file's identity; anything not given is found by [`identity`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Want<'a> {
    /// The organisation the file is for (its VPD code).
    pub org: Option<&'a str>,
    /// A VPD code given for this export (`--vpd`, the Export dialog).
    pub vpd: Option<&'a str>,
    /// A sequence number given for this export (`--seq`).
    pub seq: Option<u64>,
}

/// Who a file is for and its number. ESR keeps one sequence per organisation and interface,
/// so one counter, `seq.<VPD>.<interface>`, numbers every file of that organisation and
/// interface, whichever path makes it (the window, the command line, a schedule, a delivery to
/// the hub, a re-send, a workbook's header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The VPD code written in the name and header.
    pub vpd: String,
    /// The sequence number: the next of the counter, or the one given.
    pub seq: u64,
    /// The counter's setting.
    pub key: String,
    /// A counter of an older version that numbered the interface without an organisation:
    /// read as a floor, and folded into `key` when the number is used up.
    pub legacy: Option<String>,
    /// The number was given: the counter moves only if it is past it.
    pub given: bool,
    /// The number is the counter's (false: an ESR file passed on under the name it came
    /// with, [`keeps_received`]: no number of ours is used).
    pub counted: bool,
}

/// Resolves a file's identity: the VPD code is the organisation's, else the one given, else
/// the trust's setting (`vpd`), else the one the batch's header or file name carries; the
/// sequence number is the one given, else the next of that organisation's counter. The one
/// place either is decided.
pub fn identity(
    store: &Store,
    interface: &str,
    want: &Want<'_>,
    found: Option<String>,
) -> Result<Identity, ExportError> {
    let vpd = want
        .org
        .or(want.vpd)
        .map(str::to_string)
        .or(store.setting("vpd")?)
        .or(found)
        .ok_or(ExportError::NoVpd)?;
    crate::store::check_vpd(&vpd).map_err(ExportError::Name)?;
    let key = crate::store::seq_key(Some(&vpd), interface);
    let legacy_key = crate::store::seq_key(None, interface);
    let read = |k: &str| -> Result<Option<u64>, ExportError> {
        match store.setting(k)? {
            None => Ok(None),
            Some(v) => crate::store::parse_seq(k, &v)
                .map(Some)
                .map_err(ExportError::Name),
        }
    };
    let legacy = read(&legacy_key)?;
    let last = read(&key)?.max(legacy);
    let seq = match want.seq {
        Some(s) => s,
        None => match last {
            None => 1,
            Some(n) => n.checked_add(1).ok_or_else(|| {
                ExportError::Name(format!(
                    "{key} has reached the largest sequence number: set it again with `esr-desk settings {key} N`"
                ))
            })?,
        },
    };
    Ok(Identity {
        vpd,
        seq,
        key,
        legacy: legacy.map(|_| legacy_key),
        given: want.seq.is_some(),
        counted: true,
    })
}

/// True when an export of a batch passes on ESR's own file as it was received: a file out of
/// ESR ([`Layout::out_of_esr`]) whose name fits its layout keeps that name and its header's
/// values (ESR's file name, times, VPD and sequence are evidence, principle 8), and only
/// what the officer changed is written differently (the trailer's figures recomputed when
/// records were excluded or held back). The trust's own files into ESR are new files, named
/// and numbered by the export. The one place this is decided.
pub fn keeps_received(layout: &Layout, source_name: &str) -> bool {
    layout.out_of_esr() && layout.file_name.matches(source_name)
}

/// [`identity`] for a stored batch: what its header and file name carry are the last resort
/// for the VPD code.
pub fn batch_identity(
    store: &mut Store,
    batch: i64,
    want: &Want<'_>,
) -> Result<Identity, ExportError> {
    let info = store.batch(batch)?;
    let found = if want.org.or(want.vpd).is_none() && store.setting("vpd")?.is_none() {
        let layout = store.batch_layout(batch)?;
        header_vpd(store, batch, &layout)?
            .filter(|v| crate::store::check_vpd(v).is_ok())
            .or_else(|| layout.file_name.vpd_in(&info.source_name))
    } else {
        None
    };
    identity(store, &info.interface, want, found)
}

fn plan(store: &mut Store, batch: i64, opts: &ExportOptions) -> Result<Plan, ExportError> {
    let info = store.batch(batch)?;
    let layout = store.batch_layout(batch)?;
    let ready = readiness(store, batch)?;
    if let Some(e) = refusal(batch, &ready, opts.valid_rows_only) {
        return Err(e);
    }
    let id = batch_identity(
        store,
        batch,
        &Want {
            org: opts.org.as_deref(),
            vpd: opts.vpd.as_deref(),
            seq: opts.seq,
        },
    )?;
    let mut id = id;
    let name = if keeps_received(&layout, &info.source_name) {
        id.counted = false;
        id.seq = layout.file_name.seq_in(&info.source_name).unwrap_or(0);
        info.source_name.clone()
    } else {
        let choices = layout.file_name.choices_in(&info.source_name);
        let head = store.header_fields(batch, &layout)?;
        layout
            .file_name
            .render(&NameValues {
                vpd: &id.vpd,
                when: opts.now,
                seq: id.seq,
                choices,
                header: layout.name_header(head.as_deref()),
            })
            .map_err(ExportError::Name)?
    };
    safe_file_name(&name).map_err(ExportError::Name)?;
    let path = opts.out_dir.join(&name);
    if path.exists() && !opts.overwrite {
        return Err(ExportError::Exists(path));
    }
    Ok(Plan {
        layout,
        id,
        name,
        path,
        blocking: ready.blocking,
    })
}

/// Writes a planned export to a temporary file in its folder, synced: nothing is under its
/// name yet.
fn write(
    store: &mut Store,
    batch: i64,
    opts: &ExportOptions,
    plan: Plan,
) -> Result<Prepared, ExportError> {
    let Plan {
        layout,
        id,
        name,
        path: final_path,
        blocking,
    } = plan;
    let (vpd, seq) = (id.vpd.clone(), id.seq);
    let io_err = |source| ExportError::Io {
        path: final_path.clone(),
        source,
    };
    crate::paths::make_dirs(&opts.out_dir).map_err(io_err)?;
    clean_orphans(&opts.out_dir);
    let tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(&opts.out_dir)
        .map_err(io_err)?;
    // Held until the file is renamed or dropped: a later export knows it is not an orphan.
    tmp.as_file().lock().map_err(io_err)?;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, tmp.as_file());
    let fill = Fill {
        name: name.clone(),
        now: opts.now,
        vpd: vpd.clone(),
        seq,
    };
    let hold = if opts.valid_rows_only {
        blocking.clone()
    } else {
        std::collections::BTreeSet::new()
    };
    let w = write_batch(
        store,
        batch,
        &layout,
        &fill,
        Rows::HoldBack(&hold),
        &final_path,
        &mut out,
    )?;
    let (written, held_back, excluded_n, recomputed) =
        (w.records, w.held_back, w.excluded, w.recomputed);
    let note = if recomputed.is_empty() {
        String::new()
    } else {
        let mut why = Vec::new();
        if excluded_n > 0 {
            why.push(format!("{excluded_n} excluded"));
        }
        if !held_back.is_empty() {
            why.push(format!("{} held back", held_back.len()));
        }
        let edits = store.edit_count(batch)?;
        if edits > 0 {
            why.push(format!("{edits} edit-log entries"));
        }
        format!(
            "trailer recomputed: {}{}",
            recomputed.join(", "),
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join(", "))
            }
        )
    };
    out.flush().map_err(io_err)?;
    drop(out);
    tmp.as_file().sync_all().map_err(io_err)?;
    let mut parts = Vec::new();
    if !held_back.is_empty() {
        parts.push(format!("{} rejected records held back", held_back.len()));
    }
    if !note.is_empty() {
        parts.push(note.clone());
    }
    Ok(Prepared {
        outcome: ExportOutcome {
            path: final_path,
            records_written: written,
            held_back,
            sha256: w.sha256,
            run_id: 0,
            note,
        },
        tmp,
        id,
        message: parts.join("; "),
    })
}

/// Why a batch may not be exported as it stands (None: it may): file-level problems, a
/// header or trailer with errors, rejected records (unless only the valid rows go). The one
/// place this is decided, for the export and for the hub's push.
pub fn refusal(batch: i64, ready: &Readiness, valid_rows_only: bool) -> Option<ExportError> {
    if !ready.file_problems.is_empty() {
        const LISTED: usize = 20;
        let mut lines: Vec<String> = ready
            .file_problems
            .iter()
            .take(LISTED)
            .map(|i| format!("line {}: {}", i.line, i.message))
            .collect();
        if ready.file_problems.len() > LISTED {
            lines.push(format!("and {} more", ready.file_problems.len() - LISTED));
        }
        return Some(ExportError::FileProblems {
            batch,
            count: ready.file_problems.len(),
            lines: lines.join("; "),
        });
    }
    if let Some((what, line)) = ready.header_trailer {
        return Some(ExportError::HeaderTrailer { batch, what, line });
    }
    if !ready.blocking.is_empty() && !valid_rows_only {
        return Some(ExportError::HasRejects {
            batch,
            rejected: ready.blocking.len() as u64,
        });
    }
    None
}

/// A file holding only a layout's header, as a full-refresh request, written as the layout's
/// `[refresh]` says: named by its pattern with the refresh's word and sequence number, holding
/// the refresh's header fields (and the header's VPD field too when `with_vpd`, the
/// organisation's setting), the extract time set to `time` when given (the end of the last
/// change file received, as ESR's documentation asks) and else to `now`; a line ending only
/// when the layout's refresh has one.
pub fn header_only(
    layout: &Layout,
    vpd: &str,
    now: NaiveDateTime,
    time: Option<&str>,
    with_vpd: bool,
) -> Result<(String, Vec<u8>), String> {
    let h = layout
        .header()
        .ok_or_else(|| format!("layout {} has no header record", layout.id))?;
    let r = &layout.refresh;
    let name = layout.file_name.render(&NameValues {
        vpd,
        when: now,
        seq: r.sequence,
        choices: r.kind.iter().cloned().collect(),
        header: layout.name_header(None),
    })?;
    safe_file_name(&name)?;
    let fill = Fill {
        name: name.clone(),
        now,
        vpd: vpd.to_string(),
        seq: r.sequence,
    };
    let rt = &layout.records[h];
    let mut vals = header_values(layout, h, vec![rt.code.clone()], &fill);
    if let Some(t) = time {
        for (fi, f) in rt.fields.iter().enumerate() {
            if f.generate == Some(Generate::Now) {
                vals[fi] = t.to_string();
            }
        }
    }
    let mut keep: Vec<usize> = r.fields.clone();
    if with_vpd
        && let Some(v) = rt
            .fields
            .iter()
            .position(|f| f.generate == Some(Generate::Vpd))
        && !keep.contains(&v)
    {
        keep.push(v);
    }
    let mut out: Vec<String> = keep.iter().map(|&i| vals[i].clone()).collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    let mut buf = Vec::new();
    encode_record(&layout.dialect, &out, &mut buf).map_err(|e| e.to_string())?;
    if r.final_newline {
        buf.extend_from_slice(layout.dialect.line_ending.as_str().as_bytes());
    }
    Ok((name, buf))
}

/// Puts a prepared export in place exactly once: renamed to its name (never over another
/// file unless asked), the rename made durable, then its history row completed, its sequence
/// number used up and the batch's status set, in one transaction. If that transaction fails
/// the file is removed again; if the process stops between the rename and the commit, the
/// next export on the store finds the file with its recorded SHA-256 and finishes the step
/// ([`recover`]). So a name and a sequence number are never used twice, and a file is never
/// delivered without its history.
fn commit_export(
    store: &Store,
    run: i64,
    batch: i64,
    opts: &ExportOptions,
    p: Prepared,
) -> Result<ExportOutcome, ExportError> {
    let mut o = p.outcome;
    o.run_id = run;
    let held = o.held_back.len();
    let persisted = if opts.overwrite {
        p.tmp.persist(&o.path).map(|_| ())
    } else {
        p.tmp.persist_noclobber(&o.path).map(|_| ())
    };
    if let Err(e) = persisted {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(ExportError::Exists(o.path));
        }
        return Err(ExportError::Io {
            path: o.path,
            source: e.error,
        });
    }
    crate::failpoint::hit("export.renamed");
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(&opts.out_dir) {
        let _ = d.sync_all();
    }
    let committed = (|| -> Result<(), ExportError> {
        let tx = store.write_tx()?;
        store.end_export(run, ExportRunOutcome::Ok, None)?;
        if p.id.counted {
            store.use_seq(&p.id.key, p.id.seq, p.id.legacy.as_deref())?;
        }
        if held == 0 {
            store.set_status(batch, crate::store::kinds::BatchStatus::Exported)?;
        }
        tx.commit()?;
        Ok(())
    })();
    if let Err(e) = committed {
        let _ = std::fs::remove_file(&o.path);
        tracing::error!(batch, "export not recorded; its file was removed");
        return Err(e);
    }
    crate::failpoint::hit("export.committed");
    tracing::info!(
        batch,
        run = o.run_id,
        records = o.records_written,
        held = held,
        "exported"
    );
    Ok(o)
}

/// Removes temporary files of this program's own naming (an export's, an [`atomic_write`]'s)
/// that no running process holds (each locks its temporary file while it writes): what a
/// killed process left behind. Called as a command starts to use a folder.
///
/// [`atomic_write`]: crate::paths::atomic_write
pub fn clean_orphans(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = (name.starts_with(TMP_PREFIX) && name.ends_with(".tmp"))
            || name.starts_with(crate::paths::WRITE_PREFIX);
        if !ours {
            continue;
        }
        let Ok(f) = std::fs::File::open(e.path()) else {
            continue;
        };
        if f.try_lock().is_ok() {
            drop(f);
            if std::fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// How this program names its temporary export files.
const TMP_PREFIX: &str = ".esr-desk-export-";

/// The values an export fills into the header's generated fields.
#[derive(Debug, Clone)]
pub struct Fill {
    /// The file name.
    pub name: String,
    /// The extract time (UK time).
    pub now: NaiveDateTime,
    /// The VPD code.
    pub vpd: String,
    /// The sequence number.
    pub seq: u64,
}

/// Which records [`write_batch`] writes (header and trailer always go).
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Every record not excluded, but the rejected records listed here, held back.
    HoldBack(&'a std::collections::BTreeSet<u32>),
    /// Only these records (a re-send of the rows ESR rejected).
    Only(&'a std::collections::BTreeSet<u32>),
}

/// What [`write_batch`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Records written (header and trailer included).
    pub records: u64,
    /// Records held back: (seq, line).
    pub held_back: Vec<(u32, u64)>,
    /// Records left out because excluded.
    pub excluded: u64,
    /// Trailer control fields recomputed: "Field: received X, exported Y".
    pub recomputed: Vec<String>,
    /// SHA-256 of the bytes written.
    pub sha256: String,
}

/// Writes a batch in its layout's exact format to `out`: the column-name row, the header with
/// its generated fields filled from `fill`, every record not excluded and not in `hold`, and
/// the trailer with its control fields recomputed from what was written (and noted where that
/// differs from the trailer received). Only generated and control fields are ever rewritten;
/// everything else goes out as received or as the officer edited it. This is the one writer:
/// [`export_batch`] calls it after deciding what may go; the property tests call it with
/// nothing held back to hold the store's verdict against a fresh validation of the bytes.
/// `path` names the file in error messages.
pub fn write_batch<W: Write + Send>(
    store: &Store,
    batch: i64,
    layout: &Layout,
    fill: &Fill,
    rows: Rows<'_>,
    path: &Path,
    out: &mut W,
) -> Result<Written, ExportError> {
    let had_bom = info_had_bom(store, batch)?;
    let final_eol = store.final_eol(batch)?;
    let received_header = keeps_received(layout, &store.batch(batch)?.source_name);
    let (written, sha) = on_file_thread(out, |to_file| -> Result<Written, ExportError> {
        let io_err = |source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
        let mut dialect = layout.dialect;
        if had_bom {
            dialect.encoding = crate::layout::Encoding::Utf8;
            buf.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        }
        let eol = dialect.line_ending.as_str().as_bytes();
        // Hands the gathered lines on to the file's thread.
        let hand_on = |buf: &mut Vec<u8>| -> std::io::Result<()> {
            let block = std::mem::replace(buf, Vec::with_capacity(BLOCK + 4096));
            to_file
                .send(block)
                .map_err(|_| std::io::Error::other("the file could not be written"))
        };
        // Starts a line: ends the one before it (the last line's ending is written at the
        // end, only when the file received had one), handing the block on once it is full.
        let started = std::cell::Cell::new(false);
        let emit = |buf: &mut Vec<u8>| -> std::io::Result<()> {
            if started.replace(true) {
                buf.extend_from_slice(eol);
            }
            if buf.len() >= BLOCK {
                hand_on(buf)?;
            }
            Ok(())
        };
        if layout.column_names {
            emit(&mut buf).map_err(io_err)?;
            encode_record(&dialect, layout.column_row(), &mut buf)
                .map_err(|source| ExportError::Value { line: 1, source })?;
        }
        let header = layout.header();
        let trailer = layout.trailer();
        let mut tally = Tally::new(layout);
        let mut written = 0u64;
        let mut held_back = Vec::new();
        let mut excluded_n = 0u64;
        let mut header_written = false;
        let mut stored_trailer: Option<(u64, Vec<String>)> = None;

        let write_header =
            |fields: Option<Vec<String>>, buf: &mut Vec<u8>| -> Result<(), ExportError> {
                let Some(h) = header else { return Ok(()) };
                let vals = match fields {
                    // ESR's header, as it came.
                    Some(f) if received_header => f,
                    f => header_values(layout, h, f.unwrap_or_default(), fill),
                };
                encode_record(&dialect, &vals, buf)
                    .map_err(|source| ExportError::Value { line: 1, source })
            };

        let owned = |fields: &[std::borrow::Cow<'_, str>]| -> Vec<String> {
            fields.iter().map(|f| f.to_string()).collect()
        };
        store.for_each_record_ref(batch, true, |rec| -> Result<bool, ExportError> {
            let (seq_no, line, code, rejected, excluded) = (
                rec.seq,
                rec.line,
                rec.record_type,
                rec.rejected,
                rec.excluded,
            );
            let fields = || rec.fields();
            let ri = layout.stored_type(code);
            let role = ri.map(|i| layout.records[i].role);
            if role == Some(Role::Header) {
                if !header_written {
                    emit(&mut buf).map_err(io_err)?;
                    write_header(Some(owned(&fields())), &mut buf)?;
                    written += 1;
                    header_written = true;
                }
                return Ok(true);
            }
            if !header_written && header.is_some() {
                emit(&mut buf).map_err(io_err)?;
                write_header(None, &mut buf)?;
                written += 1;
                header_written = true;
            }
            if role == Some(Role::Trailer) {
                stored_trailer = Some((line, owned(&fields())));
                return Ok(true);
            }
            if excluded {
                excluded_n += 1;
                return Ok(true);
            }
            match rows {
                Rows::HoldBack(hold) if rejected && hold.contains(&seq_no) => {
                    held_back.push((seq_no, line));
                    return Ok(true);
                }
                Rows::Only(only) if !only.contains(&seq_no) => return Ok(true),
                _ => {}
            }
            emit(&mut buf).map_err(io_err)?;
            if !crate::store::encode_plain(&dialect, rec.stored, &mut buf) {
                encode_record(
                    &dialect,
                    crate::store::split_fields_ref(rec.stored),
                    &mut buf,
                )
                .map_err(|source| ExportError::Value { line, source })?;
            }
            written += 1;
            if tally.reads(ri) {
                tally.add(layout, ri, &fields());
            } else {
                tally.add::<&str>(layout, ri, &[]);
            }
            Ok(true)
        })?;
        if !header_written && header.is_some() {
            emit(&mut buf).map_err(io_err)?;
            write_header(None, &mut buf)?;
            written += 1;
        }
        let mut recomputed = Vec::new();
        if let Some(t) = trailer {
            let (line, vals) = stored_trailer.unwrap_or((0, Vec::new()));
            let vals = tally.trailer(layout, t, vals, line > 0, &mut recomputed)?;
            emit(&mut buf).map_err(io_err)?;
            encode_record(&dialect, &vals, &mut buf)
                .map_err(|source| ExportError::Value { line, source })?;
            written += 1;
        }
        // The last line ends as the file received did (a file made here always ends one).
        if final_eol && started.get() {
            buf.extend_from_slice(eol);
        }
        hand_on(&mut buf).map_err(io_err)?;
        Ok(Written {
            records: written,
            held_back,
            excluded: excluded_n,
            recomputed,
            sha256: String::new(),
        })
    });
    // The file's own error says more than the records' "could not hand on".
    let sha = sha.map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut w = written?;
    w.sha256 = sha;
    Ok(w)
}

/// Bytes gathered before they are handed to the thread writing the file.
const BLOCK: usize = 256 * 1024;

/// Runs `make` with a sender of blocks of bytes, which a second thread hashes (SHA-256) and
/// writes to `out` as they come; returns what `make` returned, and the hash or the write's
/// error.
fn on_file_thread<W: Write + Send, T>(
    out: &mut W,
    make: impl FnOnce(&std::sync::mpsc::SyncSender<Vec<u8>>) -> T,
) -> (T, std::io::Result<String>) {
    std::thread::scope(|scope| {
        let (to_file, blocks) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let file = scope.spawn(move || -> std::io::Result<String> {
            let mut hasher = sha2::Sha256::new();
            for block in blocks {
                hasher.update(&block);
                out.write_all(&block)?;
            }
            out.flush()?;
            Ok(hex(&hasher.finalize()))
        });
        let made = make(&to_file);
        drop(to_file);
        let sha = file
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread writing the file stopped")));
        (made, sha)
    })
}

/// A header record's fields as an export writes them: the generated fields filled from
/// `fill`, empty fields with a constant value given it, the rest as received (or edited).
pub fn header_values(layout: &Layout, h: usize, mut vals: Vec<String>, fill: &Fill) -> Vec<String> {
    let rt = &layout.records[h];
    vals.resize(rt.fields.len().max(vals.len()), String::new());
    for (fi, f) in rt.fields.iter().enumerate() {
        if let Some(g) = f.generate {
            vals[fi] = generated(&f.format, g, &fill.name, fill.now, &fill.vpd, fill.seq);
        } else if vals[fi].is_empty()
            && let Some(v) = &f.value
        {
            vals[fi] = v.clone();
        }
    }
    vals
}

/// The counts and sums a trailer's control fields are made from, added up record by record
/// as they are written (by the export, and by a workbook's conversion).
pub struct Tally {
    summed: Vec<(usize, usize)>,
    body: u64,
    by_type: Vec<u64>,
    sums: HashMap<(usize, usize), Option<i128>>,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new(layout: &Layout) -> Self {
        Tally {
            summed: summed_fields(layout),
            body: 0,
            by_type: vec![0; layout.records.len()],
            sums: HashMap::new(),
        }
    }

    /// True when [`Tally::add`] reads the fields of a record of type `ri` (it sums some).
    pub fn reads(&self, ri: Option<usize>) -> bool {
        ri.is_some_and(|ri| self.summed.iter().any(|&(r, _)| r == ri))
    }

    /// Counts one record written between header and trailer (of type `ri`, when known), and
    /// adds its summed fields.
    pub fn add<S: AsRef<str>>(&mut self, layout: &Layout, ri: Option<usize>, fields: &[S]) {
        self.body += 1;
        let Some(ri) = ri else { return };
        self.by_type[ri] += 1;
        for &(sr, sf) in &self.summed {
            if sr == ri
                && let Ok(v) = layout.records[ri].fields[sf]
                    .format
                    .check(fields.get(sf).map_or("", AsRef::as_ref))
            {
                let s = self.sums.entry((sr, sf)).or_insert(Some(0));
                *s = s.and_then(|s| s.checked_add(v));
            }
        }
    }

    /// The trailer's fields: control fields computed from what was counted, the rest as
    /// received (empty ones given their constant value). Each control figure is noted in
    /// `notes`: "Field: received X, exported Y" where a `received` trailer's figure changed,
    /// "no trailer received" where there was none.
    pub fn trailer(
        &self,
        layout: &Layout,
        t: usize,
        mut vals: Vec<String>,
        received: bool,
        notes: &mut Vec<String>,
    ) -> Result<Vec<String>, ExportError> {
        let rt = &layout.records[t];
        vals.resize(rt.fields.len().max(vals.len()), String::new());
        for (fi, f) in rt.fields.iter().enumerate() {
            let new = match &f.control {
                Some(Control::Count(which)) => {
                    let n = which.map_or(self.body, |w| self.by_type[w]);
                    numeric_text(&f.format, i128::from(n) * SCALE)
                }
                Some(Control::Lines) => {
                    let n = self.body + layout.frame_lines();
                    numeric_text(&f.format, i128::from(n) * SCALE)
                }
                Some(Control::Sum(targets)) => {
                    let n = targets.iter().try_fold(0i128, |acc, k| {
                        acc.checked_add(self.sums.get(k).copied().unwrap_or(Some(0))?)
                    });
                    match n {
                        Some(n) => numeric_text(&f.format, n),
                        None => {
                            return Err(ExportError::Name(format!(
                                "the amounts summed into {} are too large to add up",
                                f.name
                            )));
                        }
                    }
                }
                None => {
                    if vals[fi].is_empty()
                        && let Some(v) = &f.value
                    {
                        vals[fi] = v.clone();
                    }
                    continue;
                }
            };
            if received && vals[fi] != new {
                notes.push(format!("{}: received {}, exported {new}", f.name, vals[fi]));
            } else if !received {
                notes.push(format!("{}: no trailer received, exported {new}", f.name));
            }
            vals[fi] = new;
        }
        Ok(vals)
    }
}

/// What stands between a batch and an export, decided in one place for the window, the
/// command line and the scheduler.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// Records (not excluded) with a record-rejecting error: they block an export, or are
    /// held back from a valid-rows-only one.
    pub blocking: std::collections::BTreeSet<u32>,
    /// File-level errors not accepted: they block every export.
    pub file_problems: Vec<crate::validate::Issue>,
    /// A rejected header or trailer ("header"/"trailer", line): it cannot be held back.
    pub header_trailer: Option<(&'static str, u64)>,
}

impl Readiness {
    /// Everything that stops an export now, in plain words, one line each: every problem
    /// with the file with its line, a header or trailer with errors, and the rejected
    /// records (unless only the valid rows go). Empty when the export may go ahead. The one
    /// list the Export dialog shows before its button and the refusal names.
    pub fn problems(&self, valid_rows_only: bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .file_problems
            .iter()
            .map(|i| {
                format!(
                    "Line {}: {} ({}; a problem with the file itself: put it right, or accept it in the Issues panel with a reason)",
                    i.line,
                    i.message,
                    i.rule.title().to_lowercase()
                )
            })
            .collect();
        if let Some((what, line)) = self.header_trailer {
            out.push(format!(
                "The {what} record on line {line} has errors: fix them first (it cannot be held back)"
            ));
        }
        if !self.blocking.is_empty() && !valid_rows_only {
            out.push(format!(
                "{} rejected record(s) remain: fix or exclude them, or choose to write the valid rows and hold the rejected ones back",
                self.blocking.len()
            ));
        }
        out
    }

    /// True when a full export may go ahead.
    pub fn is_ready(&self) -> bool {
        self.blocking.is_empty() && self.file_problems.is_empty() && self.header_trailer.is_none()
    }

    /// True when a valid-rows-only export may go ahead (rejected detail rows held back).
    pub fn valid_rows_may_go(&self) -> bool {
        self.file_problems.is_empty() && self.header_trailer.is_none()
    }
}

/// What stands between a batch and an export.
pub fn readiness(store: &mut Store, batch: i64) -> Result<Readiness, ExportError> {
    let layout = store.batch_layout(batch)?;
    let blocking = blocking_records(store, batch)?;
    let mut header_trailer = None;
    if layout.discriminator.is_some() {
        for (role, what) in [(Role::Trailer, "trailer"), (Role::Header, "header")] {
            let codes: Vec<&str> = layout
                .records
                .iter()
                .filter(|r| r.role == role)
                .map(|r| r.code.as_str())
                .collect();
            if let Some(line) = store.first_rejected_of_types(batch, &codes)? {
                header_trailer = Some((what, line));
            }
        }
    }
    Ok(Readiness {
        blocking,
        file_problems: store.file_problems(batch)?,
        header_trailer,
    })
}

/// Records (not excluded) with a record-rejecting error.
pub fn blocking_records(
    store: &Store,
    batch: i64,
) -> Result<std::collections::BTreeSet<u32>, ExportError> {
    Ok(store.rejected_seqs(batch)?)
}

fn info_had_bom(store: &Store, batch: i64) -> Result<bool, ExportError> {
    Ok(store.had_bom(batch)?)
}

/// Export history, newest first, of a batch or an interface (or all).
pub fn export_runs(
    store: &Store,
    batch: Option<i64>,
    interface: Option<&str>,
) -> Result<Vec<ExportRun>, ExportError> {
    Ok(store.export_runs(batch, interface)?)
}

/// Neutralises a cell for spreadsheets (OWASP CSV injection): a value starting with `=`, `+`,
/// `-`, `@`, tab or carriage return gets a leading apostrophe so Excel shows it as text.
pub fn neutralise(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

/// Writes rows as a CSV that opens cleanly in Excel: UTF-8 with a byte order mark, CRLF, every
/// cell neutralised against formula injection, written to a temporary file and renamed into
/// place. Returns the number of rows written (the header not counted).
pub fn write_excel_csv<I>(path: &Path, header: &[&str], rows: I) -> Result<u64, ExportError>
where
    I: IntoIterator<Item = Vec<String>>,
{
    let io_err = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let csv_err = |e: csv::Error| ExportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".esr-desk-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err)?;
    let mut n = 0u64;
    {
        let mut file = std::io::BufWriter::new(tmp.as_file());
        file.write_all(&[0xEF, 0xBB, 0xBF]).map_err(io_err)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(file);
        w.write_record(header).map_err(csv_err)?;
        for row in rows {
            w.write_record(row.iter().map(|c| neutralise(c)))
                .map_err(csv_err)?;
            n += 1;
        }
        w.flush().map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| ExportError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(n)
}

/// The name of a batch's rejects report written beside an export (UK time of the export), the
/// same from every face.
pub fn rejects_report_name(batch: i64, now: NaiveDateTime) -> String {
    format!("batch-{batch}-rejects-{}.csv", now.format("%Y%m%d-%H%M%S"))
}

/// Writes the rejected records of a batch and their issues as a CSV that opens cleanly in
/// Excel (UTF-8 with BOM, one row an issue). By default it holds the minimum an officer needs
/// to find and fix each record: line, record type, the record's key (employee or assignment
/// number), field, rule and message (which masks sensitive values). With `full`, each row
/// also holds the cell's value and the whole record: that is logged as such. Every report
/// written is in the access log. Returns the number of issue rows; with none, nothing is
/// written.
pub fn rejects_report(
    store: &mut Store,
    batch: i64,
    path: &Path,
    full: bool,
) -> Result<u64, ExportError> {
    let layout = store.batch_layout(batch)?;
    let delimiter = (layout.dialect.delimiter as char).to_string();
    let issues = store.issues(batch, None, u64::MAX >> 1)?;
    let mut cache: HashMap<u32, crate::store::StoredRecord> = HashMap::new();
    let mut rows = Vec::new();
    for (seq, i) in issues {
        if i.severity != crate::validate::Severity::Error {
            continue;
        }
        let rec = match seq {
            Some(s) => {
                if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(s) {
                    e.insert(store.record(batch, s)?);
                }
                cache.get(&s)
            }
            None => None,
        };
        let key = rec
            .and_then(|r| {
                let ri = layout.stored_type(r.record_type.as_deref())?;
                let rt = &layout.records[ri];
                let vals: Vec<String> = rt
                    .key_fields()
                    .iter()
                    .filter(|k| rt.fields[**k].sensitive.is_none())
                    .filter_map(|k| r.fields.get(*k).cloned())
                    .collect();
                Some(vals.join(" / "))
            })
            .unwrap_or_default();
        let mut row = vec![
            i.line.to_string(),
            i.record_type.clone().unwrap_or_default(),
            key,
            i.field.clone().unwrap_or_default(),
            i.rule.code().to_string(),
            i.message.clone(),
        ];
        if full {
            let value = match (rec, i.field_index) {
                (Some(r), Some(fi)) => {
                    crate::text::display(&r.fields.get(fi).cloned().unwrap_or_default())
                        .into_owned()
                }
                _ => String::new(),
            };
            row.push(value);
            row.push(
                rec.map_or("", |r| if r.excluded { "yes" } else { "no" })
                    .to_string(),
            );
            row.push(
                rec.map(|r| crate::text::display(&r.fields.join(&delimiter)).into_owned())
                    .unwrap_or_default(),
            );
        }
        rows.push(row);
    }
    if rows.is_empty() {
        // Nothing was rejected: no empty report is left for someone to open.
        return Ok(0);
    }
    let mut header = vec!["Line", "Record type", "Key", "Field", "Rule", "Message"];
    if full {
        header.extend(["Value", "Excluded", "Record"]);
    }
    let n = write_excel_csv(path, &header, rows)?;
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    store.log_access(
        Some(batch),
        if full {
            crate::store::AccessAction::RejectsReportFull
        } else {
            crate::store::AccessAction::RejectsReport
        },
        Some(n),
        &name,
    )?;
    Ok(n)
}

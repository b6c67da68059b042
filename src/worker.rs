//! Long work off the window's thread: imports, edits, undo/redo, bulk fixes and row queries
//! (search, sort, column filters) run on one worker thread that owns its own [`Store`].
//!
//! The window sends [`Job`]s and drains [`Reply`]s from a bounded channel each frame. Progress
//! is sent with `try_send` (dropped when the channel is full, never blocking the import);
//! results are sent with a blocking send. A shared cancel flag stops an import or a query; a
//! cancelled import stores nothing. All edits go through this one store, so its in-memory
//! re-validation index never goes stale. This module has no egui in it: the window passes a
//! `wake` closure that asks for a repaint.

use crate::layout::Layout;
use crate::store::edit::Change;
use crate::store::search::{ReplaceMode, RowQuery};
use crate::store::{EditOutcome, ImportOptions, ImportOutcome, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// One rule's issues (record, issue) and its counts by field name.
pub type RuleIssues = (
    Vec<(Option<u32>, crate::validate::Issue)>,
    Vec<(String, u64)>,
);

/// Work for the worker.
#[derive(Debug, Clone)]
pub enum Job {
    /// Import a file with a layout.
    Import {
        /// The file.
        path: PathBuf,
        /// Its layout.
        layout: Box<Layout>,
        /// Import even if the same file was imported before.
        force: bool,
        /// Stored batches its reference rules check against (none: reported unchecked).
        against: Vec<i64>,
        /// Not recognised; the officer said "import anyway as this interface" after reading
        /// this reason (kept with the batch).
        chosen_anyway: Option<String>,
        /// A workbook or foreign CSV: the sheet and mapping the officer confirmed.
        table: Option<Box<crate::mapping::TableImport>>,
    },
    /// Read a workbook or foreign CSV for the mapping screen.
    ReadTable {
        /// The file.
        path: PathBuf,
        /// The layout the officer chose (None: found from the columns).
        layout: Option<Box<Layout>>,
        /// Every layout (to find one from the columns).
        layouts: std::sync::Arc<crate::layout::LayoutSet>,
        /// The sheet the officer chose (None: the one chosen before, else the first that fits).
        sheet: Option<String>,
    },
    /// Work out the repairs of a batch (fixes by field and kind).
    Repairs {
        /// Batch.
        batch: i64,
    },
    /// Make a batch of the rows ESR rejected in a batch, to fix and send again.
    Resend {
        /// The batch ESR answered.
        batch: i64,
    },
    /// Record an access in the access log (counts and words, never a field's value).
    LogAccess {
        /// The batch, when it was about one.
        batch: Option<i64>,
        /// What was done.
        action: crate::store::AccessAction,
        /// How many.
        count: Option<u64>,
        /// In words.
        detail: String,
    },
    /// Read what the issues panel shows about a batch as a whole.
    FileState {
        /// Batch.
        batch: i64,
    },
    /// Read what stands between a batch and an export (for the Export dialog).
    Readiness {
        /// Batch.
        batch: i64,
    },
    /// Read the issues of one rule (as many as the panel lists) and their counts by field.
    RuleIssues {
        /// Batch.
        batch: i64,
        /// Rule.
        rule: crate::rules::Rule,
        /// At most this many issues.
        limit: u64,
    },
    /// Work out the suggested fixes of the cells with an issue of a rule.
    SuggestFixes {
        /// Batch.
        batch: i64,
        /// Rule.
        rule: crate::rules::Rule,
    },
    /// Delete a batch nothing has been done to yet (a cancel that came too late).
    DeleteBatch {
        /// Batch.
        batch: i64,
    },
    /// Accept a file-level problem of a batch with the officer's reason.
    Accept {
        /// Batch.
        batch: i64,
        /// The file-level rule.
        rule: crate::rules::Rule,
        /// The reason, as typed.
        reason: String,
    },
    /// Check a batch's reference rules again against the chosen batches.
    Recheck {
        /// Batch.
        batch: i64,
        /// Reference batches (none: unchecked).
        against: Vec<i64>,
    },
    /// Apply changes as one undo step.
    Apply {
        /// Batch.
        batch: i64,
        /// Changes.
        changes: Vec<Change>,
        /// What the user did, for the status bar ("Edited 1 cell").
        label: String,
    },
    /// Find-and-replace in one column, or in every editable column.
    Replace {
        /// Batch.
        batch: i64,
        /// Record type (None: all records).
        record_type: Option<String>,
        /// Field position (None: every editable field).
        field: Option<usize>,
        /// Text to find.
        find: String,
        /// Replacement.
        replace: String,
        /// Match mode.
        mode: ReplaceMode,
        /// Only count what it would change (nothing is changed).
        preview: bool,
    },
    /// Set `value` on every cell with an issue of `rule` in field `field`.
    FixSameIssue {
        /// Batch.
        batch: i64,
        /// Rule code.
        rule: crate::rules::Rule,
        /// Field position.
        field: usize,
        /// Record type.
        record_type: Option<String>,
        /// The wrong value the other cells must still hold.
        was: String,
        /// Value.
        value: String,
    },
    /// Undo the last step.
    Undo {
        /// Batch.
        batch: i64,
    },
    /// Redo the last undone step.
    Redo {
        /// Batch.
        batch: i64,
    },
    /// Export a batch to a folder, and optionally write its rejects report beside it.
    Export {
        /// Batch.
        batch: i64,
        /// Options.
        opts: crate::export::ExportOptions,
        /// Also write the rejects report (CSV) to this file.
        rejects_report: Option<PathBuf>,
        /// The report holds whole records, not just the minimum (logged as such).
        rejects_full: bool,
    },
    /// Build the row list of a search / sort / column filter.
    Rows {
        /// Batch.
        batch: i64,
        /// Token echoed back so stale answers are ignored.
        token: u64,
        /// The query.
        query: RowQuery,
    },
}

/// What the worker sends back.
#[derive(Debug)]
pub enum Reply {
    /// Import progress: bytes read, total bytes, lines read.
    Progress {
        /// Bytes read.
        bytes: u64,
        /// File size.
        total: u64,
        /// Lines read.
        lines: u64,
    },
    /// An import finished.
    /// What a find-and-replace would change: (cells, records).
    ReplacePreview {
        /// Batch.
        batch: i64,
        /// Result.
        result: Result<(usize, usize), StoreError>,
    },
    /// An access recorded (or not).
    Logged {
        /// The batch.
        batch: Option<i64>,
        /// What was done.
        action: crate::store::AccessAction,
        /// Result.
        result: Result<(), StoreError>,
    },
    /// What the issues panel shows about a batch as a whole.
    FileState {
        /// Batch.
        batch: i64,
        /// Result.
        result: Result<Box<crate::store::FileState>, StoreError>,
    },
    /// What stands between a batch and an export.
    Readiness {
        /// Batch.
        batch: i64,
        /// Result.
        result: Result<crate::export::Readiness, String>,
    },
    /// One rule's issues and counts by field.
    RuleIssues {
        /// Batch.
        batch: i64,
        /// Rule.
        rule: crate::rules::Rule,
        /// Result.
        result: Result<RuleIssues, StoreError>,
    },
    /// The mapping screen's view of a table.
    Table {
        /// The file.
        path: PathBuf,
        /// Result.
        result: Result<crate::mapping::TablePreview, String>,
    },
    /// A batch's repairs.
    Repairs {
        /// Batch.
        batch: i64,
        /// Result.
        result: Result<crate::store::search::Repairs, StoreError>,
    },
    /// The re-send batch made (or why not).
    Resent {
        /// The batch ESR answered.
        batch: i64,
        /// The new batch.
        result: Result<i64, String>,
    },
    /// The suggested fixes of a rule's cells.
    Suggestions {
        /// Batch.
        batch: i64,
        /// Rule.
        rule: crate::rules::Rule,
        /// Result.
        result: Result<Vec<crate::store::search::Suggestion>, StoreError>,
    },
    /// A batch deleted (or not).
    Deleted {
        /// Batch.
        batch: i64,
        /// Result.
        result: Result<(), StoreError>,
    },
    Imported {
        /// The file.
        path: PathBuf,
        /// Outcome.
        result: Result<ImportOutcome, StoreError>,
    },
    /// An edit, bulk fix, undo or redo finished.
    Edited {
        /// Batch.
        batch: i64,
        /// What was done.
        label: String,
        /// Outcome (None: nothing to undo/redo, or nothing matched).
        result: Result<Option<EditOutcome>, StoreError>,
    },
    /// An export finished.
    Exported {
        /// Batch.
        batch: i64,
        /// The file written, records written, records held back; or why not.
        result: Result<crate::export::ExportOutcome, String>,
        /// Rejects report written (file, rows), or why not.
        report: Option<Result<(PathBuf, u64), String>>,
    },
    /// A row list is ready.
    Rows {
        /// The token of the request.
        token: u64,
        /// The rows (sequence numbers in display order).
        result: Result<Vec<u32>, StoreError>,
    },
}

/// The worker thread and its channels.
pub struct Worker {
    /// None once the worker is being shut down.
    jobs: Option<SyncSender<(Job, Arc<AtomicBool>)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    replies: Receiver<Reply>,
    /// Cancel flag of the latest import sent.
    import_cancel: Mutex<Arc<AtomicBool>>,
    /// Cancel flag of the latest row query sent.
    rows_cancel: Mutex<Arc<AtomicBool>>,
    pending: Arc<AtomicUsize>,
}

fn run_job(
    store: &mut Store,
    job: Job,
    out: &SyncSender<Reply>,
    cancel: &AtomicBool,
    wake: &dyn Fn(),
) -> Reply {
    match job {
        Job::Import {
            path,
            layout,
            force,
            against,
            chosen_anyway,
            table,
        } => {
            let mut progress = |bytes: u64, total: u64, lines: u64| {
                match out.try_send(Reply::Progress {
                    bytes,
                    total,
                    lines,
                }) {
                    Ok(()) | Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => cancel.store(true, Ordering::Relaxed),
                }
                wake();
            };
            // A workbook is read and converted here, off the window's thread.
            let made = match table.map(|t| store.made_from_table(&path, &layout, &t)) {
                None => Ok(None),
                Some(Ok(m)) => Ok(Some(m)),
                Some(Err(e)) => Err(StoreError::Table(e.to_string())),
            };
            let result = made.and_then(|made| {
                store.import(
                    &path,
                    &layout,
                    ImportOptions {
                        force,
                        cancel: Some(cancel),
                        progress: Some(&mut progress),
                        against,
                        chosen_anyway,
                        made,
                    },
                )
            });
            Reply::Imported { path, result }
        }
        Job::LogAccess {
            batch,
            action,
            count,
            detail,
        } => Reply::Logged {
            batch,
            action,
            result: store.log_access(batch, action, count, &detail),
        },
        Job::FileState { batch } => Reply::FileState {
            batch,
            result: store.file_state(batch).map(Box::new),
        },
        Job::Readiness { batch } => Reply::Readiness {
            batch,
            result: crate::export::readiness(store, batch).map_err(|e| e.to_string()),
        },
        Job::RuleIssues { batch, rule, limit } => Reply::RuleIssues {
            batch,
            rule,
            result: store
                .issues(batch, Some(rule), limit)
                .and_then(|l| Ok((l, store.rule_counts_by_field(batch, rule)?))),
        },
        Job::ReadTable {
            path,
            layout,
            layouts,
            sheet,
        } => Reply::Table {
            result: store
                .preview_table(&path, layout.as_deref(), &layouts, sheet.as_deref())
                .map_err(|e| e.to_string()),
            path,
        },
        Job::Repairs { batch } => Reply::Repairs {
            batch,
            result: store.repairs(batch),
        },
        Job::Resend { batch } => {
            // For the organisation the batch was delivered to, else the store's own VPD.
            let org = store.push_of(batch).ok().flatten().map(|t| t.vpd);
            Reply::Resent {
                batch,
                result: crate::hub::answers::resend_rejected(store, batch, org.as_deref())
                    .map_err(|e| e.to_string()),
            }
        }
        Job::SuggestFixes { batch, rule } => Reply::Suggestions {
            batch,
            rule,
            result: store.suggested_fixes(batch, rule),
        },
        Job::DeleteBatch { batch } => Reply::Deleted {
            batch,
            result: store.delete_batch(batch),
        },
        Job::Accept {
            batch,
            rule,
            reason,
        } => Reply::Edited {
            batch,
            label: format!(
                "Accepted \"{}\" with your reason (kept in the log)",
                rule.title()
            ),
            result: store.accept(batch, rule, None, &reason).and_then(|n| {
                Ok(Some(EditOutcome {
                    changed: Vec::new(),
                    rejected_records: store.batch(batch)?.rejected,
                    entries: n as usize,
                }))
            }),
        },
        Job::Recheck { batch, against } => Reply::Edited {
            batch,
            label: "Checked the references again".into(),
            result: store.recheck_references(batch, &against).map(|rejected| {
                Some(EditOutcome {
                    changed: Vec::new(),
                    rejected_records: rejected,
                    entries: 0,
                })
            }),
        },
        Job::Apply {
            batch,
            changes,
            label,
        } => Reply::Edited {
            batch,
            label,
            result: if changes.is_empty() {
                Ok(None)
            } else {
                store.apply(batch, changes).map(Some)
            },
        },
        Job::Replace {
            batch,
            record_type,
            field,
            find,
            replace,
            mode,
            preview,
        } => {
            let changes =
                store.replace_changes(batch, record_type.as_deref(), field, &find, &replace, mode);
            if preview {
                return Reply::ReplacePreview {
                    batch,
                    result: changes.map(|c| {
                        let mut recs: Vec<u32> = c
                            .iter()
                            .filter_map(|c| match c {
                                Change::Set { seq, .. } => Some(*seq),
                                _ => None,
                            })
                            .collect();
                        recs.dedup();
                        (c.len(), recs.len())
                    }),
                };
            }
            let result = changes.and_then(|c| {
                if c.is_empty() {
                    Ok(None)
                } else {
                    store.apply(batch, c).map(Some)
                }
            });
            Reply::Edited {
                batch,
                label: format!("Replaced \"{find}\" with \"{replace}\""),
                result,
            }
        }
        Job::FixSameIssue {
            batch,
            rule,
            field,
            record_type,
            was,
            value,
        } => {
            let result = store
                .same_issue_changes(batch, rule, field, record_type.as_deref(), &was, &value)
                .and_then(|c| {
                    if c.is_empty() {
                        Ok(None)
                    } else {
                        store.apply(batch, c).map(Some)
                    }
                });
            Reply::Edited {
                batch,
                label: format!(
                    "Changed \"{was}\" to \"{value}\" wherever it had the issue \"{}\"",
                    rule.title()
                ),
                result,
            }
        }
        Job::Undo { batch } => Reply::Edited {
            batch,
            label: "Undo".into(),
            result: store.undo(batch),
        },
        Job::Redo { batch } => Reply::Edited {
            batch,
            label: "Redo".into(),
            result: store.redo(batch),
        },
        Job::Export {
            batch,
            opts,
            rejects_report,
            rejects_full,
        } => {
            // The VPD code typed is remembered as the trust's, as `esr-desk settings vpd` does.
            if let Some(v) = &opts.vpd
                && let Err(e) = store.set_setting("vpd", v)
            {
                return Reply::Exported {
                    batch,
                    result: Err(e.to_string()),
                    report: None,
                };
            }
            let report = rejects_report.map(|p| {
                crate::export::rejects_report(store, batch, &p, rejects_full)
                    .map(|n| (p, n))
                    .map_err(|e| e.to_string())
            });
            let result =
                crate::export::export_batch(store, batch, &opts).map_err(|e| e.to_string());
            Reply::Exported {
                batch,
                result,
                report,
            }
        }
        Job::Rows {
            batch,
            token,
            query,
        } => Reply::Rows {
            token,
            result: store.select_seqs(batch, &query, Some(cancel)),
        },
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Worker {
    /// Starts a worker over the store at `path`. `wake` is called after each reply (the window
    /// passes a repaint request). Fails when the store cannot be opened.
    pub fn start(path: &Path, wake: impl Fn() + Send + 'static) -> crate::store::Result<Self> {
        let mut store = Store::open(path)?;
        let (jobs, job_rx) = sync_channel::<(Job, Arc<AtomicBool>)>(64);
        let (reply_tx, replies) = sync_channel::<Reply>(256);
        let pending = Arc::new(AtomicUsize::new(0));
        let p = pending.clone();
        let thread = std::thread::Builder::new()
            .name("esr-desk worker".into())
            .spawn(move || {
                while let Ok((job, cancel)) = job_rx.recv() {
                    let reply = run_job(&mut store, job, &reply_tx, &cancel, &wake);
                    let gone = reply_tx.send(reply).is_err();
                    p.fetch_sub(1, Ordering::SeqCst);
                    wake();
                    if gone {
                        break;
                    }
                }
            })
            .map_err(|source| StoreError::Io {
                context: "could not start the worker thread".into(),
                source,
            })?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
            replies,
            import_cancel: Mutex::new(Arc::new(AtomicBool::new(false))),
            rows_cancel: Mutex::new(Arc::new(AtomicBool::new(false))),
            pending,
        })
    }

    /// Queues a job. Fails only if the worker thread has stopped. An import or a row query
    /// gets a fresh cancel flag, so cancelling one never cancels the next.
    pub fn send(&self, job: Job) -> Result<(), String> {
        let flag = Arc::new(AtomicBool::new(false));
        let slot = match &job {
            Job::Import { .. } => Some(&self.import_cancel),
            Job::Rows { .. } => Some(&self.rows_cancel),
            _ => None,
        };
        if let Some(slot) = slot
            && let Ok(mut g) = slot.lock()
        {
            *g = flag.clone();
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        let sent = match &self.jobs {
            Some(j) => j.send((job, flag)).is_ok(),
            None => false,
        };
        sent.then_some(()).ok_or_else(|| {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            "the background worker has stopped; restart the program".to_string()
        })
    }

    /// Asks the latest import to stop (nothing is stored).
    pub fn cancel_import(&self) {
        if let Ok(g) = self.import_cancel.lock() {
            g.store(true, Ordering::Relaxed);
        }
    }

    /// Asks the latest row query to stop (a newer one replaces it).
    pub fn cancel_rows(&self) {
        if let Ok(g) = self.rows_cancel.lock() {
            g.store(true, Ordering::Relaxed);
        }
    }

    /// Finishes the jobs already queued (edits are never dropped half-way), cancelling an
    /// import or a search under way, then stops the thread. Called when the window closes.
    pub fn shutdown(&mut self) {
        self.cancel_import();
        self.cancel_rows();
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() {
                // Keep the reply channel from filling up while the last jobs finish.
                while self.replies.try_recv().is_ok() {}
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = t.join();
        }
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Takes replies waiting, for at most `budget` of time (a flood never freezes a frame).
    pub fn drain(&self, budget: std::time::Duration) -> Vec<Reply> {
        let start = std::time::Instant::now();
        let mut out = Vec::new();
        while let Ok(r) = self.replies.try_recv() {
            out.push(r);
            if start.elapsed() > budget {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_imports_edits_and_undoes_on_its_own_thread() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("s.sqlite");
        let w = Worker::start(&db, || {}).expect("start");
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data/absences");
        let file = root.join("ABS_RX1_20261102_000002.csv");
        let layout = Box::new(set.get("absences").expect("layout").clone());
        w.send(Job::Import {
            path: file,
            layout,
            force: false,
            against: Vec::new(),
            chosen_anyway: None,
            table: None,
        })
        .expect("send");
        let wait = |w: &Worker| loop {
            let r = w.drain(std::time::Duration::from_millis(10));
            if let Some(r) = r.into_iter().find(|r| !matches!(r, Reply::Progress { .. })) {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let Reply::Imported { result, .. } = wait(&w) else {
            panic!("expected an import")
        };
        let out = result.expect("imported");
        assert!(out.rejected > 0);
        w.send(Job::Apply {
            batch: out.batch_id,
            changes: vec![Change::Exclude {
                seq: 1,
                reason: "test".into(),
            }],
            label: "Exclude".into(),
        })
        .expect("send");
        let Reply::Edited { result, .. } = wait(&w) else {
            panic!("expected an edit")
        };
        assert_eq!(result.expect("edit").expect("changed").changed, vec![1]);
        w.send(Job::Undo {
            batch: out.batch_id,
        })
        .expect("send");
        let Reply::Edited { result, .. } = wait(&w) else {
            panic!("expected undo")
        };
        assert!(result.expect("undo").is_some());
        assert_eq!(w.pending(), 0);
    }

    #[test]
    fn a_cancelled_import_stores_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        let layout = set.get("absences").expect("layout").clone();
        let path = dir.path().join("ABS_RX1_20261102_000009.csv");
        let when = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .and_then(|d| d.and_hms_opt(6, 30, 0))
            .expect("date");
        let opts = crate::generate::GenOptions {
            rows: 40_000,
            defect_rate: 0.01,
            seed: 3,
            vpd: "RX1".into(),
            seq: 9,
            when,
            file_name: "ABS_RX1_20261102_000009.csv".into(),
        };
        crate::generate::generate(&layout, &opts, std::fs::File::create(&path).expect("file"))
            .expect("generate");
        let db = dir.path().join("s.sqlite");
        let w = Worker::start(&db, || {}).expect("start");
        w.send(Job::Import {
            path,
            layout: Box::new(layout),
            force: false,
            against: Vec::new(),
            chosen_anyway: None,
            table: None,
        })
        .expect("send");
        w.cancel_import();
        let result = loop {
            let r = w.drain(std::time::Duration::from_millis(10));
            if let Some(Reply::Imported { result, .. }) =
                r.into_iter().find(|r| matches!(r, Reply::Imported { .. }))
            {
                break result;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert!(matches!(result, Err(StoreError::Cancelled)), "{result:?}");
        let store = Store::open(&db).expect("store");
        assert!(store.batches(None).expect("batches").is_empty());
        let n: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM record", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 0, "no records left behind");
    }

    #[test]
    fn closing_finishes_queued_edits() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("s.sqlite");
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        let layout = set.get("absences").expect("layout");
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("sample-data/absences/ABS_RX1_20261102_000002.csv");
        let batch = Store::open(&db)
            .expect("store")
            .import(&file, layout, ImportOptions::default())
            .expect("import")
            .batch_id;
        let w = Worker::start(&db, || {}).expect("start");
        for seq in 0..5 {
            w.send(Job::Apply {
                batch,
                changes: vec![Change::Set {
                    seq,
                    field: 2,
                    value: format!("Name{seq}"),
                }],
                label: "edit".into(),
            })
            .expect("send");
        }
        drop(w);
        let store = Store::open(&db).expect("store");
        assert_eq!(store.edits(batch).expect("log").len(), 5);
        assert_eq!(store.record(batch, 4).expect("rec").fields[2], "Name4");
    }
}

//! Pages of a stored batch for the table, read on a thread of their own so the window's frames
//! never wait on SQLite. The table asks for the pages its visible rows fall in; the reader
//! answers with the records and their issues; a newer generation (after a change, a new
//! filter) makes older requests moot, and they are skipped. No egui here: the window passes a
//! `wake` closure that asks for a repaint.

use crate::store::{PageFilter, Store, StoreError, StoredRecord};
use crate::validate::Issue;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

/// Records read at a time.
pub const PAGE: u64 = 100;

/// Where the rows of a table come from.
#[derive(Debug, Clone)]
pub enum PageSource {
    /// Straight from the store by position, with a filter.
    Paged(PageFilter),
    /// An explicit list of records (search, sort, column filter, rejected rows).
    Listed(Arc<Vec<u32>>),
}

/// A page of records with their issues; values that could not be decoded are shown as U+FFFD
/// (the store keeps the original bytes).
#[derive(Debug, Default, Clone)]
pub struct Page {
    /// Records, in view order.
    pub recs: Vec<StoredRecord>,
    /// Issues by record.
    pub issues: HashMap<u32, Vec<Issue>>,
}

/// A page wanted.
#[derive(Debug, Clone)]
pub struct PageJob {
    /// Batch.
    pub batch: i64,
    /// The table's generation when asked (a later one makes this moot).
    pub generation: u64,
    /// Page number.
    pub page: u64,
    /// Where the rows come from.
    pub source: PageSource,
}

/// A page read (or why not).
#[derive(Debug)]
pub struct PageReply {
    /// Batch.
    pub batch: i64,
    /// Generation it was asked for.
    pub generation: u64,
    /// Page number.
    pub page: u64,
    /// The page.
    pub result: Result<Page, StoreError>,
}

/// Reads page `p` of a table.
pub fn read_page(
    store: &Store,
    batch: i64,
    p: u64,
    source: &PageSource,
) -> Result<Page, StoreError> {
    let mut recs = match source {
        PageSource::Paged(filter) => store.page(batch, p * PAGE, PAGE, filter)?,
        PageSource::Listed(list) => {
            let lo = ((p * PAGE) as usize).min(list.len());
            let hi = (lo + PAGE as usize).min(list.len());
            store.records_by_seqs(batch, &list[lo..hi])?
        }
    };
    for r in &mut recs {
        for f in &mut r.fields {
            if let std::borrow::Cow::Owned(shown) = crate::text::display(f) {
                *f = shown;
            }
        }
    }
    let seqs: Vec<u32> = recs.iter().map(|r| r.seq).collect();
    let issues = store.issues_for_seqs(batch, &seqs)?;
    Ok(Page { recs, issues })
}

/// The reading thread, with its own connection to the store.
pub struct Reader {
    jobs: Option<Sender<PageJob>>,
    replies: Receiver<PageReply>,
    pending: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    /// Starts a reader over the store at `path`; `wake` is called after each page.
    pub fn start(path: &Path, wake: impl Fn() + Send + 'static) -> Result<Self, StoreError> {
        let store = Store::open(path)?;
        let (jobs, job_rx) = channel::<PageJob>();
        let (reply_tx, replies) = channel::<PageReply>();
        let pending = Arc::new(AtomicUsize::new(0));
        let p = pending.clone();
        let thread = std::thread::Builder::new()
            .name("esr-desk pages".into())
            .spawn(move || {
                while let Ok(first) = job_rx.recv() {
                    // Take what else is waiting; only the newest generation of a batch counts.
                    let mut batch = vec![first];
                    batch.extend(job_rx.try_iter());
                    let newest: HashMap<i64, u64> =
                        batch.iter().fold(HashMap::new(), |mut m, j| {
                            let g = m.entry(j.batch).or_insert(j.generation);
                            *g = (*g).max(j.generation);
                            m
                        });
                    for job in batch {
                        let current = newest.get(&job.batch) == Some(&job.generation);
                        let result = if current {
                            read_page(&store, job.batch, job.page, &job.source)
                        } else {
                            Err(StoreError::Cancelled)
                        };
                        let gone = reply_tx
                            .send(PageReply {
                                batch: job.batch,
                                generation: job.generation,
                                page: job.page,
                                result,
                            })
                            .is_err();
                        p.fetch_sub(1, Ordering::SeqCst);
                        if gone {
                            return;
                        }
                    }
                    wake();
                }
            })
            .map_err(|source| StoreError::Io {
                context: "could not start the page reader".into(),
                source,
            })?;
        Ok(Self {
            jobs: Some(jobs),
            replies,
            pending,
            thread: Some(thread),
        })
    }

    /// Asks for a page.
    pub fn send(&self, job: PageJob) {
        if let Some(j) = &self.jobs {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if j.send(job).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Pages asked for and not yet answered.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// The pages read since the last call.
    pub fn drain(&self) -> Vec<PageReply> {
        self.replies.try_iter().collect()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_read_on_their_thread_and_stale_ones_are_skipped() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("s.sqlite");
        let mut store = Store::open(&db).expect("store");
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let b = store
            .import(
                &root.join("sample-data/absences/ABS_RX1_20261102_000002.csv"),
                set.get("absences").expect("layout"),
                crate::store::ImportOptions::default(),
            )
            .expect("import")
            .batch_id;
        let r = Reader::start(&db, || {}).expect("reader");
        let src = PageSource::Paged(PageFilter::default());
        r.send(PageJob {
            batch: b,
            generation: 1,
            page: 0,
            source: src.clone(),
        });
        r.send(PageJob {
            batch: b,
            generation: 2,
            page: 1,
            source: src,
        });
        let mut got = Vec::new();
        let start = std::time::Instant::now();
        while got.len() < 2 {
            got.extend(r.drain());
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(r.pending(), 0);
        let p1 = got.iter().find(|p| p.page == 1).expect("page 1");
        let recs = &p1.result.as_ref().expect("read").recs;
        assert_eq!(recs.first().map(|r| r.seq), Some(PAGE as u32));
        // Page 0 was asked for by an older generation: it is skipped or read, never wrong.
        let p0 = got.iter().find(|p| p.page == 0).expect("page 0");
        if let Ok(p) = &p0.result {
            assert_eq!(p.recs.first().map(|r| r.seq), Some(0));
        }
    }
}

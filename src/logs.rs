//! The log: what the tool did, for the trust's service desk, in a daily file
//! (`esr-desk.log.YYYY-MM-DD`, the date in UTC) in the folder [`crate::paths::logs_dir`]
//! names: the per-user local folder for the default store (on Windows `%LOCALAPPDATA%`),
//! `logs/` beside any other store.
//!
//! Lines carry ids, counts, rule codes, outcomes and durations only — never a field value
//! and never a file's content (least data, DESIGN.md principle 10). `run-due` writes one line
//! per run and per file. Logging never stops the work: when the folder cannot be made, the
//! tool runs without a log. Each day's file is the owner's alone from the moment it is made,
//! whatever the umask.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Starts logging beside the store at `store_path`. Returns false when no log could be opened.
pub fn init(store_path: &Path) -> bool {
    let dir = crate::paths::logs_dir(store_path);
    // The logs hold ids and counts only, but they stay the owner's alone all the same.
    if crate::paths::store_dir(store_path).is_err() || crate::paths::private_dir(&dir).is_err() {
        return false;
    }
    let daily = Daily {
        dir,
        open: Mutex::new(None),
    };
    if daily.file_for_today().is_err() {
        return false;
    }
    tracing_subscriber::fmt()
        .with_writer(daily)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init()
        .is_ok()
}

/// The day's log file, opened (owner-only) when the day changes.
struct Daily {
    dir: PathBuf,
    open: Mutex<Option<(String, std::fs::File)>>,
}

impl Daily {
    fn file_for_today(&self) -> std::io::Result<std::fs::File> {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let mut open = self
            .open
            .lock()
            .map_err(|_| std::io::Error::other("the log is poisoned"))?;
        match open.as_ref() {
            Some((d, f)) if *d == day => f.try_clone(),
            _ => {
                let path = self.dir.join(format!("esr-desk.log.{day}"));
                let f = crate::paths::private_append(&path)?;
                let out = f.try_clone()?;
                *open = Some((day, f));
                Ok(out)
            }
        }
    }
}

/// One log line's writer.
struct Line(Option<std::fs::File>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.0 {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Daily {
    type Writer = Line;

    fn make_writer(&'a self) -> Self::Writer {
        // A log that cannot be written is let be: the work goes on.
        Line(self.file_for_today().ok())
    }
}

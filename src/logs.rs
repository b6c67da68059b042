//! The log: what the tool did, for the trust's service desk, in a daily rolling file in a
//! `logs/` folder beside the store (`esr-desk.log.YYYY-MM-DD`).
//!
//! Lines carry ids, counts, rule codes, outcomes and durations only — never a field value
//! and never a file's content (least data, DESIGN.md principle 10). `run-due` writes one line
//! per run and per file. Logging never stops the work: when the folder cannot be made, the
//! tool runs without a log.

use std::path::Path;

/// Starts logging beside the store at `store_path`. Returns false when no log could be opened.
pub fn init(store_path: &Path) -> bool {
    let dir = store_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("logs");
    // The logs hold ids and counts only, but they stay the owner's alone all the same.
    if crate::paths::store_dir(store_path).is_err() || crate::paths::private_dir(&dir).is_err() {
        return false;
    }
    let Ok(appender) = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("esr-desk.log")
        .build(&dir)
    else {
        return false;
    };
    tracing_subscriber::fmt()
        .with_writer(appender)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init()
        .is_ok()
}

//! The local SQLite store: batches, records, issues, the append-only edit log, export runs and
//! schedules.
//!
//! One SQLite file (bundled SQLite, WAL mode, foreign keys on), schema versioned with
//! `PRAGMA user_version` and upgraded on open (see [`schema`]). Imports run in one transaction,
//! so a killed import leaves nothing behind; every edit is its own committed transaction, so
//! a correction is on disk the moment the call returns. This module is the API the window, the
//! command line and the scheduler share; it has no egui in it.

pub mod access;
pub mod edit;
pub mod exports;
pub mod hub;
pub mod import;
pub mod kinds;
pub mod mappings;
pub mod purge;
pub mod query;
pub mod schedules;
pub mod schema;
pub mod search;

use crate::layout::{Layout, LayoutSource};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use edit::{Acceptance, EditOutcome};
pub use import::{ImportOptions, ImportOutcome, Made};
pub use kinds::{AccessAction, BatchStatus, EditKind, ExportRunOutcome, RunOutcome, Trigger};
pub use query::{BatchInfo, EditEntry, FileState, PageFilter, RecordRef, StoredRecord};

/// Errors from the store. Each says what to do where there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("the store could not be read or written: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or the store's folder made.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The store was written by a newer version of this program.
    #[error(
        "the store at {path} was written by a newer version of ESR Interface Desk (schema {found}; this version knows up to {known}); it was left untouched: use the newer version"
    )]
    TooNew {
        /// Store path.
        path: PathBuf,
        /// Version found.
        found: i64,
        /// Latest version known.
        known: i64,
    },
    /// No such batch.
    #[error("there is no batch {0} in the store")]
    NoBatch(i64),
    /// A workbook or foreign CSV could not be read or converted as confirmed.
    #[error("{0}")]
    Table(String),
    /// No such record.
    #[error("batch {batch} has no record {seq}")]
    NoRecord {
        /// Batch id.
        batch: i64,
        /// Record sequence.
        seq: u32,
    },
    /// The same file was imported before.
    #[error(
        "this file (SHA-256 {sha}) was already imported as batch {existing}; import it again with --force"
    )]
    Duplicate {
        /// The earlier batch.
        existing: i64,
        /// The file's SHA-256.
        sha: String,
    },
    /// The file could not be read or validated.
    #[error(transparent)]
    Validate(#[from] crate::validate::ValidateError),
    /// The stored layout no longer compiles (should not happen: it compiled on import).
    #[error("the layout stored with batch {batch} cannot be used: {message}")]
    Layout {
        /// Batch id.
        batch: i64,
        /// Why.
        message: String,
    },
    /// A request that does not make sense (field out of range, nothing to undo, ...).
    #[error("{0}")]
    Invalid(String),
    /// Cancelled by the user; nothing was stored.
    #[error("cancelled: nothing was stored")]
    Cancelled,
}

/// Result type of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    layouts: HashMap<String, Arc<Layout>>,
    edit_ctx: HashMap<i64, edit::EditContext>,
    /// What opening the store had to say (a file made private): shown to the officer.
    pub notes: Vec<String>,
}

/// How long every command and screen waits for another process's write to finish.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `f` again while SQLite answers "busy" at once (a lock deadlock it will not wait
/// out), for up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = std::time::Instant::now();
    loop {
        match f() {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// The operating-system user, for the edit log.
pub fn current_user() -> String {
    whoami::username()
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Now, as stored (RFC 3339, UTC).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

const SEP: char = '\u{1F}';
const ESC: char = '\u{1E}';

/// Joins field values for storage (unit separator; the separator itself is escaped).
pub fn join_fields<I: IntoIterator<Item = S>, S: AsRef<str>>(fields: I) -> String {
    let mut out = String::with_capacity(256);
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        let f = f.as_ref();
        if f.contains([SEP, ESC]) {
            for c in f.chars() {
                match c {
                    SEP => out.push_str("\u{1E}1"),
                    ESC => out.push_str("\u{1E}0"),
                    c => out.push(c),
                }
            }
        } else {
            out.push_str(f);
        }
    }
    out
}

/// Writes a stored record's fields straight to `out` in the file's format when they need no
/// quoting, escaping or encoding (printable ASCII, no delimiter or quote: nearly every record);
/// returns false, and writes nothing, otherwise (then [`crate::writer::encode_record`] is
/// used). The same bytes `encode_record` writes for them, without splitting the record.
pub fn encode_plain(d: &crate::layout::Dialect, stored: &str, out: &mut Vec<u8>) -> bool {
    let (sep, delim, quote) = (SEP as u8, d.delimiter, d.quote.unwrap_or(d.delimiter));
    let bytes = stored.as_bytes();
    // One branch-free pass (it vectorises), then a copy with the separators replaced.
    let unfit = bytes.iter().fold(0u8, |acc, &b| {
        acc | (u8::from(b.wrapping_sub(0x20) >= 0x5F) & u8::from(b != sep))
            | u8::from(b == delim)
            | u8::from(b == quote)
    });
    if unfit != 0 {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(bytes);
    for b in &mut out[start..] {
        if *b == sep {
            *b = delim;
        }
    }
    true
}

/// Splits stored field values.
pub fn split_fields(s: &str) -> Vec<String> {
    split_fields_ref(s)
        .map(std::borrow::Cow::into_owned)
        .collect()
}

/// Splits stored field values, borrowing each that needs no unescaping (nearly all).
pub fn split_fields_ref(s: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    s.split(SEP).map(|f| {
        if !f.contains(ESC) {
            return std::borrow::Cow::Borrowed(f);
        }
        let mut out = String::with_capacity(f.len());
        let mut it = f.chars();
        while let Some(c) = it.next() {
            if c == ESC {
                match it.next() {
                    Some('1') => out.push(SEP),
                    _ => out.push(ESC),
                }
            } else {
                out.push(c);
            }
        }
        std::borrow::Cow::Owned(out)
    })
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and upgrades its schema.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_at_version(path, schema::VERSION)
    }

    /// Opens a store and upgrades it only to `version` (tests of migrations use this to make a
    /// store "from the previous version"). The one open path: the same folder creation,
    /// private file, busy timeout and pragmas for every command and screen.
    pub fn open_at_version(path: &Path, version: i64) -> Result<Self> {
        let mut notes = Vec::new();
        crate::paths::store_dir(path).map_err(io(format!(
            "could not create the folder of {}",
            path.display()
        )))?;
        let new = !path.exists();
        if new {
            create_private(path)?;
        }
        // A store (or its journal) left open to others by an older version is tightened.
        for f in [
            path.to_path_buf(),
            PathBuf::from(format!("{}-wal", path.display())),
            PathBuf::from(format!("{}-shm", path.display())),
        ] {
            if f.exists()
                && crate::paths::make_private(&f)
                    .map_err(io(format!("could not make {} private", f.display())))?
            {
                tracing::warn!("a store file was readable by others and was made private");
                notes.push(format!(
                    "{} could be read by other users of this computer; it is now readable by you alone",
                    f.display()
                ));
            }
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Switching a new file to WAL takes an exclusive lock, and two processes doing it at
        // once can deadlock, which SQLite answers with "busy" at once rather than waiting:
        // such first-use races are retried for as long as the busy timeout.
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Deleted rows (a purge) are overwritten, not left in free pages.
        conn.pragma_update(None, "secure_delete", true)?;
        if new {
            // Space freed by a purge can be given back a little at a time.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            layouts: HashMap::new(),
            edit_ctx: HashMap::new(),
            notes,
        };
        let mut tries = 0;
        loop {
            match store.migrate(version) {
                Err(StoreError::Sqlite(e)) if is_busy(&e) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other?,
            }
        }
        Ok(store)
    }

    fn migrate(&mut self, target: i64) -> Result<()> {
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > schema::VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known: schema::VERSION,
            });
        }
        if found >= target {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have upgraded the store while this one waited for the lock.
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found >= target {
            return Ok(());
        }
        for (i, sql) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .take(target as usize)
            .skip(found as usize)
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder the store is in, where the program keeps its own files beside it (hub
    /// copies, re-send drafts, the hub password file where no credential store runs).
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// The underlying connection (for queries the API does not cover, and tests).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// A setting's value.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a setting, after checking the key and the value (see [`check_setting`]).
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        check_setting(key, value).map_err(StoreError::Invalid)?;
        self.conn.execute("INSERT INTO setting(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![key, value])?;
        Ok(())
    }

    /// The layout a batch was imported with (compiled once and cached).
    pub fn batch_layout(&mut self, batch: i64) -> Result<Arc<Layout>> {
        let sha: String = self
            .conn
            .query_row(
                "SELECT layout_sha256 FROM batch WHERE id = ?1",
                [batch],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NoBatch(batch))?;
        if let Some(l) = self.layouts.get(&sha) {
            return Ok(l.clone());
        }
        let (id, text): (String, String) = self.conn.query_row(
            "SELECT id, text FROM layout WHERE sha256 = ?1",
            [&sha],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let layout =
            Layout::parse(&text, &id, LayoutSource::Bundled).map_err(|e| StoreError::Layout {
                batch,
                message: e.to_string(),
            })?;
        let layout = Arc::new(layout);
        self.layouts.insert(sha, layout.clone());
        Ok(layout)
    }
}

/// The settings a store keeps, and what each may hold: one place for the policy, whichever
/// face sets them.
///
/// - `vpd`: the trust's VPD code, exactly 3 capital letters or digits (ESR-FACTS.md);
/// - `seq.<VPD>.<interface id>`: the last sequence number an export of that organisation and
///   interface used, a whole number that fits in 64 bits (see [`seq_key`]);
/// - `hub.<VPD>.refresh-vpd`: `yes` when that organisation's full-refresh requests carry its
///   VPD code after the time (the 4-field request), `no` (the default) for the published
///   3-field one.
pub fn check_setting(key: &str, value: &str) -> std::result::Result<(), String> {
    if key == "vpd" {
        return check_vpd(value);
    }
    if key == "retention.batch-days"
        || key == "retention.archive-days"
        || key.starts_with("retention.batch-days.")
    {
        if let Some(iface) = key.strip_prefix("retention.batch-days.")
            && crate::catalogue::Catalogue::bundled().get(iface).is_none()
        {
            return Err(format!(
                "{key}: there is no interface {iface:?} (see `esr-desk catalogue`)"
            ));
        }
        return match value.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!(
                "{key} is a number of days, 1 or more (\"{value}\" is not)"
            )),
        };
    }
    if key == "workbook.max-cells" || key == "workbook.max-mib" {
        return match value.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!(
                "{key} is a whole number, 1 or more (\"{value}\" is not)"
            )),
        };
    }
    if let Some(vpd) = key
        .strip_prefix("hub.")
        .and_then(|r| r.strip_suffix(".refresh-vpd"))
    {
        check_vpd(vpd).map_err(|e| format!("{key}: {e}"))?;
        return match value.trim() {
            "yes" | "no" => Ok(()),
            _ => Err(format!("{key} is yes or no (\"{value}\" is not)")),
        };
    }
    if let Some(rest) = key.strip_prefix("seq.") {
        let Some((vpd, iface)) = rest.split_once('.') else {
            return Err(format!(
                "sequence numbers are kept per organisation and interface: use seq.<VPD>.{rest} (for example seq.RX1.{rest})"
            ));
        };
        check_vpd(vpd).map_err(|e| format!("{key}: {e}"))?;
        if crate::catalogue::Catalogue::bundled().get(iface).is_none()
            && !crate::layout::bundled_interfaces()
                .iter()
                .any(|i| i == iface)
        {
            return Err(format!(
                "{key}: there is no interface {iface:?} (see `esr-desk catalogue`)"
            ));
        }
        return parse_seq(key, value).map(|_| ());
    }
    Err(format!(
        "there is no setting {key:?}: the settings are vpd, seq.<VPD>.<interface id>, retention.batch-days, retention.batch-days.<interface id>, retention.archive-days, workbook.max-cells, workbook.max-mib and hub.<VPD>.refresh-vpd"
    ))
}

/// The setting that counts an interface's export sequence numbers: the store's own, or one
/// organisation's (each organisation numbers its files itself).
pub fn seq_key(org: Option<&str>, interface: &str) -> String {
    match org {
        Some(vpd) => format!("seq.{vpd}.{interface}"),
        None => format!("seq.{interface}"),
    }
}

impl Store {
    /// A number that changes whenever another connection (a worker, a scheduled run, a pull,
    /// another process) commits a change to the store: cheap to ask, for screens that must
    /// show what changed behind them.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Uses up sequence number `seq` of the counter `key`: the counter moves to it unless it
    /// is already past it (a number given by hand never winds it back), and a counter of an
    /// older version folded into it (`legacy`) is removed. Part of the export's transaction.
    pub fn use_seq(&self, key: &str, seq: u64, legacy: Option<&str>) -> Result<()> {
        let now = self
            .setting(key)?
            .and_then(|v| parse_seq(key, &v).ok())
            .unwrap_or(0);
        if seq > now {
            self.set_setting(key, &seq.to_string())?;
        }
        if let Some(old) = legacy {
            self.conn
                .execute("DELETE FROM setting WHERE key = ?1", [old])?;
        }
        Ok(())
    }
}

/// Checks a VPD code: exactly 3 capital letters or digits.
pub fn check_vpd(value: &str) -> std::result::Result<(), String> {
    crate::checks::Check::Vpd
        .check(value)
        .map_err(|_| format!("VPD code {value:?} must be exactly 3 capital letters or digits"))
}

/// Reads a stored sequence number; never silently restarts.
pub fn parse_seq(key: &str, value: &str) -> std::result::Result<u64, String> {
    value.trim().parse::<u64>().map_err(|_| {
        format!("{key} is {value:?}, not a whole number: set it with `esr-desk settings {key} N`")
    })
}

#[cfg(unix)]
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
        .or_else(|e| {
            // Another process created it first: fine, it is the same store.
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(io(format!("could not create the store {}", path.display())))?;
    Ok(())
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(format!("could not create the store {}", path.display())))?;
    Ok(())
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_storage_text() {
        let f = vec![
            "a".to_string(),
            String::new(),
            "x\u{1F}y".into(),
            "z\u{1E}0".into(),
            "é".into(),
        ];
        assert_eq!(split_fields(&join_fields(&f)), f);
        assert_eq!(
            split_fields(&join_fields(Vec::<String>::new())),
            vec![String::new()]
        );
    }
}

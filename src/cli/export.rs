//! `esr-desk export BATCH --out DIR [--valid-rows-only] [--overwrite] [--vpd X] [--seq N]`,
//! `esr-desk rejects BATCH --out FILE`, `esr-desk jml OLD NEW --out FILE` and
//! `esr-desk settings [KEY [VALUE]]`.

use esr_desk::export::{ExportOptions, export_batch, rejects_report};
use esr_desk::store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Batch id.
    pub batch: i64,
    /// Folder to write the file into (named by the layout's pattern).
    #[arg(long)]
    pub out: PathBuf,
    /// Write the valid rows and hold the rejected ones back.
    #[arg(long)]
    pub valid_rows_only: bool,
    /// Replace a file of the same name.
    #[arg(long)]
    pub overwrite: bool,
    /// VPD code (default: the `vpd` setting, else the batch header's).
    #[arg(long)]
    pub vpd: Option<String>,
    /// Sequence number (default: the next for the interface).
    #[arg(long)]
    pub seq: Option<u64>,
    /// Extract time to write, as YYYY-MM-DDTHH:MM:SS (default: now).
    #[arg(long)]
    pub at: Option<String>,
}

fn open(db: Option<&Path>) -> Result<Store, super::CliError> {
    super::open_store(db)
}

/// Runs `export`.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let mut store = open(db)?;
    let mut opts = ExportOptions::new(&a.out);
    opts.overwrite = a.overwrite;
    opts.valid_rows_only = a.valid_rows_only;
    opts.vpd = a.vpd;
    opts.seq = a.seq;
    if let Some(at) = &a.at {
        match chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S") {
            Ok(t) => opts.now = t,
            Err(_) => {
                return super::fail(format!(
                    "--at {at:?} is not a time like 2026-11-02T06:30:00"
                ));
            }
        }
    }
    match export_batch(&mut store, a.batch, &opts) {
        Ok(o) => {
            super::emit(&format!("{}\n", o.path.display()))?;
            eprintln!(
                "wrote {} records to {} (SHA-256 {})",
                o.records_written,
                o.path.display(),
                o.sha256
            );
            if !o.held_back.is_empty() {
                let lines: Vec<String> = o
                    .held_back
                    .iter()
                    .take(20)
                    .map(|(_, l)| l.to_string())
                    .collect();
                eprintln!(
                    "held back {} rejected records (lines {}{})",
                    o.held_back.len(),
                    lines.join(", "),
                    if o.held_back.len() > 20 { ", ..." } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::fail(e),
    }
}

/// Arguments of `rejects`.
#[derive(Debug, clap::Args)]
pub struct RejectsArgs {
    /// Batch id.
    pub batch: i64,
    /// The CSV file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write each cell's value and the whole record (the minimum is line, key, field,
    /// rule and message); the access log says a full report was written.
    #[arg(long)]
    pub full: bool,
}

/// Runs `rejects`.
pub fn run_rejects(a: RejectsArgs, db: Option<&Path>) -> super::Outcome {
    let mut store = open(db)?;
    match rejects_report(&mut store, a.batch, &a.out, a.full) {
        Ok(0) => {
            eprintln!(
                "batch {} has no rejected records: no report was written",
                a.batch
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(n) => {
            eprintln!("wrote {n} rejected-record issues to {}", a.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::fail(e),
    }
}

/// Arguments of `jml`.
#[derive(Debug, clap::Args)]
pub struct JmlArgs {
    /// The earlier batch.
    pub old: i64,
    /// The later batch.
    pub new: i64,
    /// The CSV file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `jml`.
pub fn run_jml(a: JmlArgs, db: Option<&Path>) -> super::Outcome {
    let mut store = open(db)?;
    let rows = match esr_desk::jml::compare(&mut store, a.old, a.new) {
        Ok(r) => r,
        Err(e) => return super::fail(e),
    };
    if let Err(e) = esr_desk::jml::write_csv(&rows, &a.out) {
        return super::fail(e);
    }
    let count = |c| rows.iter().filter(|r| r.change == c).count();
    use esr_desk::jml::Change;
    eprintln!(
        "{} joiners, {} movers, {} leavers written to {}",
        count(Change::Joiner),
        count(Change::Mover),
        count(Change::Leaver),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `settings`.
#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// Setting name (vpd, seq.<interface>); with none, all are listed.
    pub key: Option<String>,
    /// New value.
    pub value: Option<String>,
}

/// Runs `settings`.
pub fn run_settings(a: SettingsArgs, db: Option<&Path>) -> super::Outcome {
    let store = open(db)?;
    match (a.key, a.value) {
        (Some(k), Some(v)) => match store.set_setting(&k, &v) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => super::fail(e),
        },
        (Some(k), None) => match store.setting(&k) {
            Ok(Some(v)) => {
                super::emit(&format!("{v}\n"))?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(None) => super::fail(format!("{k} is not set")),
            Err(e) => super::fail(e),
        },
        (None, _) => {
            let rows = match store.settings() {
                Ok(r) => r,
                Err(e) => return super::fail(e),
            };
            let text: String = rows.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            super::emit(&text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `esr-desk purge`: deletes what the retention rules no longer allow to be kept — batches
//! older than their interface's days and archived source files older than the archive days —
//! keeping a tombstone for each batch. `--dry-run` says what it would do.

use super::Outcome;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `purge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Purge batches (and archived files) older than this many days, instead of the retention
    /// settings (`esr-desk settings retention.batch-days N`, `retention.archive-days N`).
    #[arg(long)]
    pub older_than: Option<u32>,
    /// Say what would be purged; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirms `--older-than 0`: every batch and archived file is purged now.
    #[arg(long)]
    pub yes: bool,
}

/// Runs `purge`.
pub fn run(a: Args, db: Option<&Path>) -> Outcome {
    if a.older_than == Some(0) && !a.yes && !a.dry_run {
        return super::fail(
            "--older-than 0 purges every batch and every archived file now. Add --yes to do that (or --dry-run to see first what it would purge)",
        );
    }
    let mut store = super::open_store(db)?;
    let report = store
        .purge(chrono::Utc::now(), a.older_than, a.dry_run)
        .map_err(super::failed)?;
    let verb = if report.dry_run {
        "would purge"
    } else {
        "purged"
    };
    let mut out = String::new();
    for b in &report.batches {
        out.push_str(&format!(
            "{verb} batch {} ({}, {}, imported {}, {} records)\n",
            b.batch,
            b.interface,
            b.source_name,
            b.imported_at.get(..10).unwrap_or(&b.imported_at),
            b.records
        ));
    }
    for f in &report.files {
        out.push_str(&format!("{verb} archived file {}\n", f.display()));
    }
    if report.batches.is_empty() && report.files.is_empty() {
        out.push_str("nothing is older than the retention rules allow\n");
    }
    super::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

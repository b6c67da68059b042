//! `esr-desk import FILE [--interface ID] [--layout FILE] [--force] [--db PATH]`.

use esr_desk::store::{ImportOptions, StoreError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import.
    pub file: PathBuf,
    /// Interface id; detected from the file when absent.
    #[arg(long)]
    pub interface: Option<String>,
    /// A layout file instead of the bundled one.
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Import even if the same file was imported before.
    #[arg(long)]
    pub force: bool,
    /// What reference rules check against: a stored batch id, or a file of the referenced
    /// interface (stored first). Without it they are reported as unchecked.
    #[arg(long, value_name = "BATCH|FILE")]
    pub against: Vec<String>,
    #[command(flatten)]
    pub table: super::TableArgs,
}

/// Runs the command.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let set = super::layouts()?;
    let layout = match super::resolve_layout(
        &a.file,
        a.interface.as_deref(),
        a.layout.as_deref(),
        &a.table,
        &set,
    ) {
        Ok(l) => l,
        Err(msg) => return super::fail(msg),
    };
    let mut store = super::open_store(db)?;
    let against = match super::reference_batches(&mut store, &layout, &a.against, &set) {
        Ok(v) => v,
        Err(msg) => return super::fail(msg),
    };
    let made = if a.table.applies(&a.file) {
        let p = super::prepare_table(&a.file, &layout, &a.table, db)?;
        Some(esr_desk::store::Made {
            converted: p.converted,
            from: p.from,
        })
    } else {
        None
    };
    // A big file on a terminal shows how far it has got; a pipe or a script sees nothing.
    let bar = super::terminal_progress(&a.file, "importing");
    let mut tick = |bytes: u64, total: u64, lines: u64| {
        if let Some(b) = &bar {
            b.at(bytes, lines);
            if bytes >= total {
                b.saving();
            }
        }
    };
    let imported = store.import(
        &a.file,
        &layout,
        ImportOptions {
            force: a.force,
            against,
            made,
            progress: bar
                .is_some()
                .then_some(&mut tick as &mut dyn FnMut(u64, u64, u64)),
            ..Default::default()
        },
    );
    drop(bar);
    let out = match imported {
        Ok(o) => o,
        Err(StoreError::Duplicate { existing, .. }) => {
            return super::fail(format!(
                "{} was already imported as batch {existing} (same SHA-256); nothing was stored. Use --force to import it again",
                a.file.display()
            ));
        }
        Err(e) => return super::fail(format!("could not import {}: {e}", a.file.display())),
    };
    super::emit(&format!("{}\n", out.batch_id))?;
    eprintln!(
        "batch {}: {} ({}) — {} records, {} rejected, {} file-level errors, {} issues: {}",
        out.batch_id,
        a.file.display(),
        layout.name,
        out.records,
        out.rejected,
        out.file_errors,
        out.issues,
        out.status
    );
    for (rule, n) in &out.by_rule {
        eprintln!("  {n:>7}  {rule}");
    }
    for u in &out.unchecked {
        eprintln!("  not checked: {}", u.message());
    }
    // The same exit code as `validate` on the same file: 0 only when nothing is wrong.
    if out.is_clean() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

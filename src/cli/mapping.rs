//! `esr-desk mapping list|show|export|suggest|save`: the column mappings that turn a workbook
//! sheet (or a CSV with a local system's own columns) into an interface's records.

use super::Outcome;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mapping`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub what: What,
}

/// The `mapping` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// List the saved mappings: key, interface, columns, who saved it and when.
    List,
    /// Show one saved mapping (as its TOML file).
    Show {
        /// The mapping's key (see `mapping list`), or an interface id with one saved mapping.
        key: String,
    },
    /// Write one saved mapping to a file, for `--mapping FILE` or another machine.
    Export {
        /// The mapping's key, or an interface id with one saved mapping.
        key: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Propose a mapping for a workbook or CSV (by names, similar names and what the columns
    /// hold) and print it as a mapping file to check and edit.
    Suggest {
        /// The workbook or CSV.
        file: PathBuf,
        /// Interface id.
        #[arg(long)]
        interface: String,
        /// The sheet to read.
        #[arg(long)]
        sheet: Option<String>,
    },
    /// Save a mapping file for the columns of a workbook or CSV, so imports and scheduled
    /// runs of files with those columns use it.
    Save {
        /// The workbook or CSV whose columns the mapping is for.
        file: PathBuf,
        /// The mapping file.
        #[arg(long)]
        mapping: PathBuf,
        /// The sheet to read.
        #[arg(long)]
        sheet: Option<String>,
    },
}

/// Runs `mapping`.
pub fn run(a: Args, db: Option<&Path>) -> Outcome {
    match a.what {
        What::List => {
            let store = super::open_store(db)?;
            let list = store.mappings().map_err(super::failed)?;
            if list.is_empty() {
                return super::emit("No mappings saved yet: map a workbook's columns in the window, or use `esr-desk mapping save`.\n")
                    .map(|()| ExitCode::SUCCESS);
            }
            let mut out = String::new();
            for m in list {
                out.push_str(&format!(
                    "{}  {} ({})  saved {} by {}{}\n    columns: {}\n",
                    m.key,
                    m.mapping.interface,
                    m.mapping.record_type,
                    m.saved_at.get(..16).unwrap_or(&m.saved_at),
                    m.saved_by,
                    m.used_at
                        .as_deref()
                        .map(|u| format!(", last used {}", u.get(..16).unwrap_or(u)))
                        .unwrap_or_default(),
                    m.columns.join(", ")
                ));
            }
            super::emit(&out).map(|()| ExitCode::SUCCESS)
        }
        What::Show { key } => {
            let m = saved(db, &key)?;
            super::emit(&m.mapping.to_toml()).map(|()| ExitCode::SUCCESS)
        }
        What::Export { key, out } => {
            let m = saved(db, &key)?;
            esr_desk::paths::atomic_write(&out, m.mapping.to_toml().as_bytes())
                .map_err(|e| super::failed(format!("could not write {}: {e}", out.display())))?;
            eprintln!("mapping {key} written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        What::Suggest {
            file,
            interface,
            sheet,
        } => {
            let set = super::layouts()?;
            let layout = set
                .get(&interface)
                .ok_or_else(|| super::failed(format!("unknown interface {interface:?}")))?;
            let t = read(&file, sheet.as_deref(), layout, None)?;
            let p = esr_desk::mapping::propose(layout, &t);
            let mut m = p.to_mapping(layout, &t.columns, t.sheet.clone());
            for name in esr_desk::mapping::header_unfilled(layout, &Default::default()) {
                m.header.insert(name, String::new());
            }
            let unmatched = p.unmatched(layout);
            if !unmatched.is_empty() {
                eprintln!(
                    "esr-desk: note: no column found for: {} (the sheet's columns: {})",
                    unmatched.join(", "),
                    t.columns.join(", ")
                );
            }
            super::emit(&m.to_toml()).map(|()| ExitCode::SUCCESS)
        }
        What::Save {
            file,
            mapping,
            sheet,
        } => {
            let text = std::fs::read_to_string(&mapping).map_err(|e| {
                super::failed(format!(
                    "could not read the mapping {}: {e}",
                    mapping.display()
                ))
            })?;
            let m = esr_desk::mapping::Mapping::from_toml(&text, &mapping.display().to_string())
                .map_err(super::failed)?;
            let set = super::layouts()?;
            let layout = set.get(&m.interface).ok_or_else(|| {
                super::failed(format!(
                    "the mapping is for unknown interface {:?}",
                    m.interface
                ))
            })?;
            let t = read(
                &file,
                sheet.as_deref().or(m.sheet.as_deref()),
                layout,
                Some(&m),
            )?;
            let p = esr_desk::mapping::from_mapping(layout, &t, &m).map_err(super::failed)?;
            let unmatched = p.unmatched(layout);
            if !unmatched.is_empty() {
                return super::fail(format!(
                    "the mapping leaves required fields without a column: {} (the sheet's columns: {})",
                    unmatched.join(", "),
                    t.columns.join(", ")
                ));
            }
            let mut store = super::open_store(db)?;
            let key = store.save_mapping(&t.columns, &m).map_err(super::failed)?;
            super::emit(&format!("{key}\n")).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// A saved mapping by its key, or by its interface when that interface has only one.
fn saved(
    db: Option<&Path>,
    key: &str,
) -> Result<esr_desk::store::mappings::SavedMapping, super::CliError> {
    let store = super::open_store(db)?;
    if let Some(m) = store.mapping_by_key(key).map_err(super::failed)? {
        return Ok(m);
    }
    let mut of: Vec<_> = store
        .mappings()
        .map_err(super::failed)?
        .into_iter()
        .filter(|m| m.mapping.interface == key)
        .collect();
    match of.len() {
        0 => Err(super::failed(format!(
            "no saved mapping {key:?}: see `esr-desk mapping list`"
        ))),
        1 => Ok(of.remove(0)),
        n => Err(super::failed(format!(
            "{key} has {n} saved mappings (one per column set): name one by its key: {}",
            of.iter()
                .map(|m| m.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn read(
    file: &Path,
    sheet: Option<&str>,
    layout: &esr_desk::layout::Layout,
    mapping: Option<&esr_desk::mapping::Mapping>,
) -> Result<esr_desk::workbook::Table, super::CliError> {
    let choice = esr_desk::workbook::Choice {
        sheet,
        ..Default::default()
    };
    // The first sheet whose columns give the layout's required fields (by the mapping, else
    // by name); else the sheet holding the most.
    let fits = |t: &esr_desk::workbook::Table| {
        let p = match mapping {
            Some(m) => match esr_desk::mapping::from_mapping(layout, t, m) {
                Ok(p) => p,
                Err(e) => return Some(e.to_string()),
            },
            None => esr_desk::mapping::by_name(layout, t),
        };
        let u = p.unmatched(layout);
        (!u.is_empty()).then(|| u.join(", "))
    };
    match esr_desk::workbook::read_table(file, &choice, Some(layout), fits) {
        Err(esr_desk::workbook::WorkbookError::NoSheetFits { .. }) => {
            esr_desk::workbook::read_table(file, &choice, Some(layout), |_| None)
        }
        r => r,
    }
    .map_err(|e| super::failed(format!("could not read {}: {e}", file.display())))
}

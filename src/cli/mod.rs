//! The command line: argument parsing and dispatch, one module a command (as xsv does).
//!
//! Each command is a thin call into the core and returns an exit code per DESIGN.md:
//! 0 clean / done, 1 rejects found (or a scheduled job failed), 2 could not run.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub mod catalogue;
pub mod edit;
pub mod export;
pub mod gen_sample;
pub mod import;
pub mod layout;
pub mod schedule;
pub mod validate;

/// ESR Interface Desk: load, validate, fix and export ESR interface files.
#[derive(Debug, Parser)]
#[command(
    name = "esr-desk",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Files to open in the window (with no command).
    pub files: Vec<PathBuf>,
    /// Store file (default: the per-user data folder; or ESR_DESK_DB).
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// What to do; with none, the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every interface of the catalogue.
    Catalogue(catalogue::Args),
    /// Validate one file against its interface's layout.
    Validate(validate::Args),
    /// Write a synthetic sample file (for tests, benchmarks and training).
    GenSample(gen_sample::Args),
    /// Store a file as a batch in the store; prints the batch id.
    Import(import::Args),
    /// Correct a stored batch from a script (each edit logged).
    Edit(edit::Args),
    /// Write a batch's corrected file in its layout's exact format.
    Export(export::Args),
    /// Write the rejected records of a batch and their issues as a CSV for Excel.
    Rejects(export::RejectsArgs),
    /// Joiners, movers and leavers between two batches of a staff feed, as a CSV.
    Jml(export::JmlArgs),
    /// Show or change settings (the trust's VPD code, sequence numbers).
    Settings(export::SettingsArgs),
    /// Create, change and list scheduled runs.
    Schedule(schedule::Args),
    /// Run every scheduled job that is due, then exit (for cron or Windows Task Scheduler).
    RunDue,
    /// Layouts: list, show one as a table, export Frictionless Table Schemas.
    Layout(layout::Args),
}

/// Exit code for "could not run".
pub const EXIT_FAILED: u8 = 2;

/// Prints an error for a person to read and returns exit code 2.
pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("esr-desk: {msg}");
    ExitCode::from(EXIT_FAILED)
}

/// Writes text to standard output; a closed pipe (`esr-desk validate ... | head`) ends the
/// output quietly instead of panicking.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Loads the layouts in use and prints any problem with the trust's own layout files.
pub fn layouts() -> Result<esr_desk::layout::LayoutSet, ExitCode> {
    match esr_desk::paths::layout_set() {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("esr-desk: warning: {w}");
            }
            Ok(s)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Runs a command.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Catalogue(a)) => catalogue::run(a),
        Some(Command::Validate(a)) => validate::run(a),
        Some(Command::GenSample(a)) => gen_sample::run(a),
        Some(Command::Import(a)) => import::run(a, cli.db.as_deref()),
        Some(Command::Edit(a)) => edit::run(a, cli.db.as_deref()),
        Some(Command::Export(a)) => export::run(a, cli.db.as_deref()),
        Some(Command::Rejects(a)) => export::run_rejects(a, cli.db.as_deref()),
        Some(Command::Jml(a)) => export::run_jml(a, cli.db.as_deref()),
        Some(Command::Settings(a)) => export::run_settings(a, cli.db.as_deref()),
        Some(Command::Schedule(a)) => schedule::run(a, cli.db.as_deref()),
        Some(Command::RunDue) => schedule::run_due_cmd(cli.db.as_deref()),
        Some(Command::Layout(a)) => layout::run(a),
        None => unreachable_gui(),
    }
}

fn unreachable_gui() -> ExitCode {
    fail("no command given")
}

/// Resolves the layout for a file: `--layout`, `--interface`, or detection. On failure returns
/// the message to show (exit 2).
pub fn resolve_layout(
    file: &std::path::Path,
    interface: Option<&str>,
    layout_file: Option<&std::path::Path>,
    set: &esr_desk::layout::LayoutSet,
) -> Result<esr_desk::layout::Layout, String> {
    use esr_desk::detect;
    if let Some(p) = layout_file {
        return esr_desk::layout::Layout::from_path(p).map_err(|e| e.to_string());
    }
    if let Some(id) = interface {
        let Some(l) = set.get(id) else {
            let cat = esr_desk::catalogue::Catalogue::bundled();
            return Err(match cat.get(id) {
                Some(i) => format!(
                    "interface {id:?} ({}) has no layout yet; load one with --layout FILE",
                    i.title()
                ),
                None => format!(
                    "unknown interface {id:?}; interfaces with layouts: {}",
                    set.layouts
                        .iter()
                        .map(|l| l.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        if file.is_file()
            && let Ok(Some((other, score))) = detect::looks_like_other(file, l, set)
        {
            return Err(format!(
                "{} does not look like a {} file (only {:.0}% of its first records fit that layout); it looks like a {} file: use --interface {}",
                file.display(),
                l.name,
                score * 100.0,
                other.name,
                other.id
            ));
        }
        return Ok(l.clone());
    }
    match detect::detect(file, set) {
        Ok(d) => d.layout.cloned().ok_or_else(|| {
            format!(
                "could not tell which interface {} is for: {}. Name it with --interface ID",
                file.display(),
                d.explanation
            )
        }),
        Err(e) => Err(format!("could not read {}: {e}", file.display())),
    }
}

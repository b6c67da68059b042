//! The command line: argument parsing and dispatch, one module a command (as xsv does).
//!
//! Each command is a thin call into the core and returns an exit code per DESIGN.md:
//! 0 clean / done, 1 rejects found (or a scheduled job failed), 2 could not run.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub mod accept;
pub mod audit;
pub mod catalogue;
pub mod edit;
pub mod export;
pub mod gen_sample;
pub mod hub;
pub mod import;
pub mod layout;
pub mod mapping;
pub mod purge;
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
    /// Column mappings of workbooks and CSVs: list, show, export, suggest, save.
    Mapping(mapping::Args),
    /// Accept a file-level problem of a batch, with a reason (logged), so it stops blocking.
    Accept(accept::Args),
    /// Check a batch's reference rules again, against other stored batches.
    Recheck(accept::RecheckArgs),
    /// List the rules an issue can break.
    Rules(accept::RulesArgs),
    /// The access log: who opened, revealed, copied, exported and purged what (no values).
    Audit(audit::Args),
    /// Delete batches and archived files older than the retention rules allow (a tombstone
    /// is kept for each batch).
    Purge(purge::Args),
    /// Organisations: VPD code, name and NHS Interface Hub connection (set, list, test).
    Org(hub::OrgArgs),
    /// The NHS Interface Hub: pull from Out, push to In, request a full refresh, re-send the
    /// rows ESR rejected, and the dashboard.
    Hub(hub::HubArgs),
}

/// Exit code for "could not run".
pub const EXIT_FAILED: u8 = 2;

/// Why a command could not do its work: the one error type of the command line, mapped to
/// an exit code in one place ([`CliError::exit`], called by `main`). Commands return
/// [`Outcome`]: `Ok` with 0 (done, clean) or 1 (rejects found, a scheduled job failed).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command could not run: the message says why and what to do (exit 2).
    #[error("{0}")]
    Failed(String),
    /// Standard output could not be written. A closed pipe (`| head`) ends quietly (exit 0),
    /// as xsv does; anything else is a failure.
    #[error("could not write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The store this command works on (set once the arguments are read), to say who holds it
/// when it is busy.
pub static STORE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

impl CliError {
    /// The exit code, printing the message for a person to read. A store another program
    /// holds is said with who holds it.
    pub fn exit(self) -> ExitCode {
        match self {
            CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            e => {
                let text = e.to_string();
                let busy = text.contains("database is locked") || text.contains("database is busy");
                let who = STORE
                    .get()
                    .filter(|_| busy)
                    .map(|s| esr_desk::paths::holders(s))
                    .unwrap_or_default();
                if busy {
                    let held = if who.is_empty() {
                        "another program is writing to it (an import, an export or a scheduled run)"
                            .to_string()
                    } else {
                        format!("held by {}", who.join("; "))
                    };
                    eprintln!(
                        "esr-desk: {text}: the store is in use, {held}. Try again when that has finished."
                    );
                } else {
                    eprintln!("esr-desk: {text}");
                }
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

/// What a command returns.
pub type Outcome = Result<ExitCode, CliError>;

/// Opens the store for a command (`--db`, `ESR_DESK_DB` or the data folder): the one open
/// path of the command line. What opening had to say (a file made private) goes to stderr.
pub fn open_store(db: Option<&std::path::Path>) -> Result<esr_desk::store::Store, CliError> {
    let store = esr_desk::store::Store::open(&esr_desk::paths::store_path(db)).map_err(failed)?;
    for n in &store.notes {
        eprintln!("esr-desk: note: {n}");
    }
    Ok(store)
}

/// A failure with a message (exit 2).
pub fn failed(msg: impl std::fmt::Display) -> CliError {
    CliError::Failed(msg.to_string())
}

/// Ends a command with a failure (exit 2).
pub fn fail(msg: impl std::fmt::Display) -> Outcome {
    Err(failed(msg))
}

/// Writes text to standard output; a closed pipe (`esr-desk validate ... | head`) ends the
/// output quietly instead of panicking.
pub fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())?;
    Ok(())
}

/// Ends a command whose output could not be written: a closed pipe (`| head`) ends quietly
/// with 0, anything else is a failure.
pub fn io_end(e: std::io::Error) -> Outcome {
    Err(CliError::Output(e))
}

/// A `--against` argument: a stored batch id, or a file.
enum Against {
    Batch(i64),
    File(std::path::PathBuf),
}

fn parse_against(a: &str) -> Against {
    let p = std::path::PathBuf::from(a);
    match a.parse::<i64>() {
        Ok(id) if !p.exists() => Against::Batch(id),
        _ => Against::File(p),
    }
}

/// The layout of a file given as a reference: the referenced interface when the layout
/// refers to one only, else detected.
fn reference_layout<'s>(
    layout: &esr_desk::layout::Layout,
    file: &std::path::Path,
    set: &'s esr_desk::layout::LayoutSet,
) -> Result<&'s esr_desk::layout::Layout, String> {
    let mut wanted: Vec<String> = esr_desk::validate::reference_rules(layout)
        .into_iter()
        .map(|r| r.interface)
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(format!(
            "{} has no reference rules: --against is not needed",
            layout.interface
        ));
    }
    if wanted.len() == 1 {
        return set.get(&wanted[0]).ok_or_else(|| {
            format!(
                "{} refers to {}, which has no layout",
                layout.interface, wanted[0]
            )
        });
    }
    match esr_desk::detect::detect(file, set) {
        Ok(d) => d.layout.ok_or_else(|| {
            format!(
                "could not tell which interface the reference {} is for: {}",
                file.display(),
                d.explanation
            )
        }),
        Err(e) => Err(format!("could not read {}: {e}", file.display())),
    }
}

/// The references of `validate --against ...`: stored batches (from the store) or files.
pub fn references_for_validate(
    layout: &esr_desk::layout::Layout,
    against: &[String],
    set: &esr_desk::layout::LayoutSet,
    db: Option<&std::path::Path>,
) -> Result<esr_desk::validate::References, String> {
    let mut sources = Vec::new();
    let mut store: Option<esr_desk::store::Store> = None;
    for a in against {
        match parse_against(a) {
            Against::Batch(id) => {
                if store.is_none() {
                    store = Some(open_store(db).map_err(|e| e.to_string())?);
                }
                if let Some(s) = store.as_mut() {
                    sources.push(s.reference_source(id, layout).map_err(|e| e.to_string())?);
                }
            }
            Against::File(p) => {
                let other = reference_layout(layout, &p, set)?;
                sources.push(
                    esr_desk::validate::reference_file(&p, other)
                        .map_err(|e| format!("could not read the reference {e}"))?,
                );
            }
        }
    }
    esr_desk::validate::References::build(layout, &sources).map_err(|e| e.to_string())
}

/// The batches of `import --against ...`: a file is imported first (or found, when it was
/// imported before), so the batch keeps its reference for later re-checks.
pub fn reference_batches(
    store: &mut esr_desk::store::Store,
    layout: &esr_desk::layout::Layout,
    against: &[String],
    set: &esr_desk::layout::LayoutSet,
) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    for a in against {
        match parse_against(a) {
            Against::Batch(id) => {
                store.batch(id).map_err(|e| e.to_string())?;
                out.push(id);
            }
            Against::File(p) => {
                let other = reference_layout(layout, &p, set)?;
                match store.import(&p, other, esr_desk::store::ImportOptions::default()) {
                    Ok(o) => {
                        eprintln!(
                            "esr-desk: reference {} stored as batch {}",
                            p.display(),
                            o.batch_id
                        );
                        out.push(o.batch_id);
                    }
                    Err(esr_desk::store::StoreError::Duplicate { existing, .. }) => {
                        out.push(existing)
                    }
                    Err(e) => {
                        return Err(format!("could not read the reference {}: {e}", p.display()));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Loads the layouts in use and prints any problem with the trust's own layout files.
pub fn layouts() -> Result<esr_desk::layout::LayoutSet, CliError> {
    match esr_desk::paths::layout_set() {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("esr-desk: warning: {w}");
            }
            Ok(s)
        }
        Err(e) => Err(failed(e)),
    }
}

/// Runs a command.
pub fn run(cli: Cli) -> ExitCode {
    let _ = STORE.set(esr_desk::paths::store_path(cli.db.as_deref()));
    run_command(cli).unwrap_or_else(CliError::exit)
}

fn run_command(cli: Cli) -> Outcome {
    match cli.command {
        Some(Command::Catalogue(a)) => catalogue::run(a),
        Some(Command::Validate(a)) => validate::run(a, cli.db.as_deref()),
        Some(Command::Accept(a)) => accept::run(a, cli.db.as_deref()),
        Some(Command::Recheck(a)) => accept::run_recheck(a, cli.db.as_deref()),
        Some(Command::Rules(a)) => accept::run_rules(a),
        Some(Command::Audit(a)) => audit::run(a, cli.db.as_deref()),
        Some(Command::Purge(a)) => purge::run(a, cli.db.as_deref()),
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
        Some(Command::Mapping(a)) => mapping::run(a, cli.db.as_deref()),
        Some(Command::Org(a)) => hub::run_org(a, cli.db.as_deref()),
        Some(Command::Hub(a)) => hub::run_hub(a, cli.db.as_deref()),
        None => unreachable_gui(),
    }
}

fn unreachable_gui() -> Outcome {
    fail("no command given")
}

/// How a workbook, or a CSV with a local system's own columns, is read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TableArgs {
    /// The sheet of a workbook to read (default: the sheet chosen before for files named like
    /// this one, else the first sheet that fits).
    #[arg(long)]
    pub sheet: Option<String>,
    /// A column mapping file (see `esr-desk mapping export`): which column fills each field.
    /// Without it, a mapping saved in the window for the same columns is used, else columns
    /// named as the layout's fields (case, spaces and punctuation ignored).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

impl TableArgs {
    /// True when the file is to be read as a table: a workbook, or any file given a mapping
    /// or a sheet.
    pub fn applies(&self, file: &std::path::Path) -> bool {
        self.mapping.is_some() || self.sheet.is_some() || esr_desk::workbook::is_workbook(file)
    }

    /// The mapping file, read.
    pub fn load_mapping(&self) -> Result<Option<esr_desk::mapping::Mapping>, CliError> {
        let Some(p) = &self.mapping else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(p)
            .map_err(|e| failed(format!("could not read the mapping {}: {e}", p.display())))?;
        esr_desk::mapping::Mapping::from_toml(&text, &p.display().to_string())
            .map(Some)
            .map_err(failed)
    }
}

/// Reads a workbook or foreign CSV for `layout` and makes the layout's file (the store's
/// saved mappings and sheet choices used when a store is there); notes go to stderr.
pub fn prepare_table(
    file: &std::path::Path,
    layout: &esr_desk::layout::Layout,
    t: &TableArgs,
    db: Option<&std::path::Path>,
) -> Result<esr_desk::mapping::Prepared, CliError> {
    let mapping = t.load_mapping()?;
    let read = esr_desk::mapping::ReadChoice {
        sheet: t.sheet.as_deref(),
        mapping: mapping.as_ref(),
        origin: None,
        limits: Default::default(),
    };
    let store_path = esr_desk::paths::store_path(db);
    let prepared = if db.is_some() || store_path.exists() {
        let store = open_store(db)?;
        store.prepare_table(file, layout, read)
    } else {
        let fill = esr_desk::export::Fill {
            name: esr_desk::validate::file_name(file),
            now: esr_desk::export::uk_now(),
            vpd: String::new(),
            seq: 1,
        };
        esr_desk::mapping::prepare(file, layout, read, &|_, _| None, &fill)
    }
    .map_err(|e| failed(format!("could not read {}: {e}", file.display())))?;
    for n in &prepared.converted.notes {
        eprintln!("esr-desk: note: {n}");
    }
    Ok(prepared)
}

/// Resolves the layout for a file: `--layout`, `--interface`, or detection (a workbook's or
/// mapped CSV's from the mapping's interface or its column names; see [`TableArgs`]). On
/// failure returns the message to show (exit 2).
pub fn resolve_layout(
    file: &std::path::Path,
    interface: Option<&str>,
    layout_file: Option<&std::path::Path>,
    table: &TableArgs,
    set: &esr_desk::layout::LayoutSet,
) -> Result<esr_desk::layout::Layout, String> {
    use esr_desk::detect;
    if let Some(p) = layout_file {
        return esr_desk::layout::Layout::from_path(p).map_err(|e| e.to_string());
    }
    let is_table = table.applies(file);
    let from_mapping = if is_table && interface.is_none() {
        table
            .load_mapping()
            .map_err(|e| e.to_string())?
            .map(|m| m.interface)
    } else {
        None
    };
    let interface = interface.or(from_mapping.as_deref());
    if is_table && interface.is_none() {
        let t = esr_desk::workbook::read_table(
            file,
            &esr_desk::workbook::Choice {
                sheet: table.sheet.as_deref(),
                ..Default::default()
            },
            None,
            |t| {
                esr_desk::mapping::detect_layout(t, set)
                    .is_none()
                    .then(|| "its columns fit no interface".to_string())
            },
        )
        .map_err(|e| format!("could not read {}: {e}", file.display()))?;
        return esr_desk::mapping::detect_layout(&t, set)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "could not tell which interface {} is for from its columns ({}). Name it with --interface ID",
                    esr_desk::mapping::table_label(&t),
                    t.columns.join(", ")
                )
            });
    }
    if let Some(id) = interface {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(l) = set.for_file(id, &name) else {
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
            && !is_table
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

/// A progress bar on standard error for a long read of `path`, shown only when standard error
/// is a terminal and the file is big enough to take a while: a script or a pipe sees nothing.
/// Set its position to the bytes read; it clears itself when dropped.
pub fn terminal_progress(path: &std::path::Path, what: &str) -> Option<Progress> {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total = std::fs::metadata(path).ok()?.len();
    if total < 8 * 1024 * 1024 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    Some(Progress(bar))
}

/// A progress bar on a terminal (see [`terminal_progress`]).
pub struct Progress(indicatif::ProgressBar);

impl Progress {
    /// Bytes and lines read so far.
    pub fn at(&self, bytes: u64, lines: u64) {
        self.0.set_position(bytes);
        self.0.set_message(format!("{lines} lines"));
    }

    /// Everything is read: what is left is saving.
    pub fn saving(&self) {
        self.0.set_message("saving the batch…");
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

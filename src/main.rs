//! The `esr-desk` binary: the window with no command, otherwise a command-line tool.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    esr_desk::logs::init(&esr_desk::paths::store_path(args.db.as_deref()));
    // A damaged workbook that trips its reader is caught and called damaged in words; only
    // the log notes where the reader failed. Every other panic is reported as Rust does.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if esr_desk::workbook::reading_guarded() {
            let at = info.location().map(ToString::to_string).unwrap_or_default();
            tracing::warn!(at = %at, "the workbook reader failed on a damaged file");
        } else {
            report(info);
        }
    }));
    if args.command.is_none() {
        return match esr_desk::ui::run(args.files, args.db) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => cli::failed(format!("could not open the window: {e}")).exit(),
        };
    }
    cli::run(args)
}

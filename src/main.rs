//! The `esr-desk` binary: the window with no command, otherwise a command-line tool.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    esr_desk::logs::init(&esr_desk::paths::store_path(args.db.as_deref()));
    if args.command.is_none() {
        return match esr_desk::ui::run(args.files, args.db) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => cli::failed(format!("could not open the window: {e}")).exit(),
        };
    }
    cli::run(args)
}

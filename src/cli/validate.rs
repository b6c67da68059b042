//! `esr-desk validate FILE [--interface ID] [--layout FILE] [--json]`.

use esr_desk::validate::{Options, Severity, validate_path};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to validate.
    pub file: PathBuf,
    /// Interface id (see `esr-desk catalogue`); detected from the file when absent.
    #[arg(long)]
    pub interface: Option<String>,
    /// A layout file to validate against instead of the bundled one.
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Validate a plain CSV (comma-delimited, UTF-8, column names first) against a
    /// Frictionless Table Schema instead of a layout.
    #[arg(long, conflicts_with_all = ["interface", "layout"])]
    pub schema: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> ExitCode {
    let set = match super::layouts() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let resolved = match &a.schema {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("could not read the Table Schema {}: {e}", p.display()))
            .and_then(|t| {
                esr_desk::tableschema::layout_from_schema(&t, &p.display().to_string())
                    .map_err(|e| e.to_string())
            }),
        None => super::resolve_layout(&a.file, a.interface.as_deref(), a.layout.as_deref(), &set),
    };
    let layout = match resolved {
        Ok(l) => l,
        Err(msg) => return super::fail(msg),
    };
    let report = match validate_path(&a.file, &layout, Options::default()) {
        Ok(r) => r,
        Err(e) => return super::fail(format!("could not validate {e}")),
    };
    if a.json {
        match serde_json::to_string(&report) {
            Ok(s) => super::emit(&(s + "\n")),
            Err(e) => return super::fail(e),
        }
    } else {
        print_text(&report, &layout);
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_text(report: &esr_desk::validate::Report, layout: &esr_desk::layout::Layout) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} ({})", report.file, layout.name, layout.version);
    let errors = report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let warnings = report.issues.len() - errors;
    const SHOW: usize = 200;
    for i in report.issues.iter().take(SHOW) {
        let sev = if i.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        let rt = i
            .record_type
            .as_deref()
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  line {}{rt}: {sev} {}: {}",
            i.line, i.rule, i.message
        );
    }
    if report.issues.len() > SHOW {
        let _ = writeln!(
            out,
            "  ... and {} more (use --json for all)",
            report.issues.len() - SHOW
        );
    }
    if !report.issues.is_empty() {
        let _ = writeln!(out, "Issues by rule:");
        for (rule, n) in report.counts_by_rule() {
            let _ = writeln!(
                out,
                "  {n:>7}  {rule}  ({})",
                esr_desk::rules::describe(&rule)
            );
        }
    }
    let _ = writeln!(
        out,
        "{} records, {} rejected, {errors} errors, {warnings} warnings: {}",
        report.records,
        report.rejected_records,
        if report.is_clean() {
            "CLEAN"
        } else {
            "REJECTS FOUND"
        }
    );
    super::emit(&out);
}

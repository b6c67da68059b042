//! `esr-desk validate FILE [--interface ID] [--layout FILE] [--against BATCH|FILE] [--json]`.

use esr_desk::validate::{Issue, Options, Report, Severity, validate_streaming};
use std::io::Write as _;
use std::path::{Path, PathBuf};
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
    /// What reference rules check against: a stored batch id or a file of the referenced
    /// interface (repeat for several). Without it they are reported as unchecked.
    #[arg(long, value_name = "BATCH|FILE")]
    pub against: Vec<String>,
    /// Print the report as one JSON object (streamed: memory stays flat on any file).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub table: super::TableArgs,
}

/// Runs the command.
pub fn run(a: Args, db: Option<&Path>) -> super::Outcome {
    let set = super::layouts()?;
    let resolved = match &a.schema {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("could not read the Table Schema {}: {e}", p.display()))
            .and_then(|t| {
                esr_desk::tableschema::layout_from_schema(&t, &p.display().to_string())
                    .map_err(|e| e.to_string())
            }),
        None => super::resolve_layout(
            &a.file,
            a.interface.as_deref(),
            a.layout.as_deref(),
            &a.table,
            &set,
        ),
    };
    let layout = match resolved {
        Ok(l) => l,
        Err(msg) => return super::fail(msg),
    };
    let refs = match super::references_for_validate(&layout, &a.against, &set, db) {
        Ok(r) => r,
        Err(msg) => return super::fail(msg),
    };
    let name = a.file.file_name().map_or_else(
        || a.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // A workbook (or a CSV with a mapping) is read as a table and made into the layout's
    // file first; that file is what is judged, each line numbered by its sheet row.
    if a.schema.is_none() && a.table.applies(&a.file) {
        let prepared = super::prepare_table(&a.file, &layout, &a.table, db)?;
        let opts = || Options {
            made_from: Some(&prepared.converted.lines),
            ..Options::default()
        };
        let bytes = &prepared.converted.bytes[..];
        if a.json {
            return json(bytes, &name, &layout, &refs, opts());
        }
        return text(bytes, name, &layout, &refs, opts());
    }
    let src = match esr_desk::validate::open_file(&a.file) {
        Ok(f) => f,
        Err(e) => return super::fail(format!("could not validate {e}")),
    };
    // A big file on a terminal shows how far it has got; a pipe or a script sees nothing.
    let bar = super::terminal_progress(&a.file, "validating");
    let mut tick = |bytes: u64, lines: u64| {
        if let Some(b) = &bar {
            b.at(bytes, lines);
        }
    };
    let opts = Options {
        progress: bar
            .is_some()
            .then_some(&mut tick as &mut dyn FnMut(u64, u64)),
        ..Options::default()
    };
    if a.json {
        return json(src, &name, &layout, &refs, opts);
    }
    text(src, name, &layout, &refs, opts)
}

/// Validates and prints the text report.
fn text<R: std::io::BufRead + Send>(
    src: R,
    name: String,
    layout: &esr_desk::layout::Layout,
    refs: &esr_desk::validate::References,
    opts: Options<'_>,
) -> super::Outcome {
    let mut issues = Vec::new();
    let summary =
        match validate_streaming(src, &name, layout, refs, opts, |i| issues.push(i.clone())) {
            Ok(s) => s,
            Err(e) => return super::fail(format!("could not validate {e}")),
        };
    issues.sort_by_key(|i| i.line);
    let report = Report {
        interface: layout.interface.clone(),
        file: name,
        records: summary.records,
        rejected_records: summary.rejected,
        issues,
        not_listed: summary.not_listed,
        unchecked: summary.unchecked,
        read_as: summary.read_as,
        unlisted: summary.unlisted,
    };
    // A reader that stopped reading (`| head`) does not change the verdict.
    match print_text(&report, layout) {
        Err(super::CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if report.is_clean() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// Streams the `validate --json` object: the issues are written as they are found.
fn json<R: std::io::BufRead + Send>(
    src: R,
    name: &str,
    layout: &esr_desk::layout::Layout,
    refs: &esr_desk::validate::References,
    opts: Options<'_>,
) -> super::Outcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_err: Option<std::io::Error> = None;
    let mut first = true;
    let head = format!(
        "{{\"interface\":{},\"file\":{},\"issues\":[",
        serde_json::Value::from(layout.interface.as_str()),
        serde_json::Value::from(name)
    );
    if let Err(e) = out.write_all(head.as_bytes()) {
        return super::io_end(e);
    }
    let mut put = |i: &Issue| {
        if write_err.is_some() {
            return;
        }
        let sep = if first { "" } else { "," };
        first = false;
        let r = serde_json::to_string(i)
            .map_err(std::io::Error::other)
            .and_then(|s| out.write_all(format!("{sep}{s}").as_bytes()));
        if let Err(e) = r {
            write_err = Some(e);
        }
    };
    let summary = validate_streaming(src, name, layout, refs, opts, &mut put);
    // A reader that stopped reading (`| head`) does not change the verdict: the whole file
    // was still judged, and the exit code says what was found.
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    if let Some(e) = write_err.take().filter(|e| !gone(e)) {
        return super::io_end(e);
    }
    let s = match summary {
        Ok(s) => s,
        Err(e) => {
            let _ = out.flush();
            return super::fail(format!("could not validate {e}"));
        }
    };
    let mut tail = format!(
        "],\"records\":{},\"rejected_records\":{}",
        s.records, s.rejected
    );
    if !s.not_listed.is_empty() {
        let nl = serde_json::to_string(&s.not_listed).unwrap_or_else(|_| "{}".into());
        tail.push_str(&format!(",\"not_listed\":{nl}"));
    }
    if !s.unchecked.is_empty() {
        let u = serde_json::to_string(&s.unchecked).unwrap_or_else(|_| "[]".into());
        tail.push_str(&format!(",\"unchecked\":{u}"));
    }
    if let Some(r) = &s.read_as {
        tail.push_str(&format!(
            ",\"read_as\":{}",
            serde_json::Value::from(r.as_str())
        ));
    }
    tail.push_str("}\n");
    if let Err(e) = out.write_all(tail.as_bytes()).and_then(|()| out.flush())
        && !gone(&e)
    {
        return super::io_end(e);
    }
    if s.has_errors {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn print_text(report: &Report, layout: &esr_desk::layout::Layout) -> Result<(), super::CliError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} ({})", report.file, layout.name, layout.version);
    if let Some(r) = &report.read_as {
        let _ = writeln!(out, "  read as {r}");
    }
    // True totals: the issues listed and those counted but not listed.
    let listed_errors = report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count() as u64;
    let errors = listed_errors + report.unlisted.0;
    let warnings = (report.issues.len() as u64 - listed_errors) + report.unlisted.1;
    const SHOW: usize = 200;
    for i in report.issues.iter().take(SHOW) {
        let rt = i
            .record_type
            .as_deref()
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        let level = if i.rule.is_file_level() {
            " (file)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  line {}{rt}: {}{level} {}: {}",
            i.line,
            i.severity.as_str(),
            i.rule,
            i.message
        );
    }
    if report.issues.len() > SHOW {
        let _ = writeln!(
            out,
            "  ... and {} more (use --json for the list)",
            report.issues.len() - SHOW
        );
    }
    let not_listed: u64 = report.not_listed.values().sum();
    if not_listed > 0 {
        let _ = writeln!(
            out,
            "  ({not_listed} more issues were found but not listed: over {} of one rule)",
            esr_desk::validate::ISSUE_CAP
        );
    }
    for u in &report.unchecked {
        let _ = writeln!(out, "  line {}: not checked: {}", u.line, u.message());
    }
    let counts = report.counts_by_rule();
    if !counts.is_empty() {
        let _ = writeln!(out, "Issues by rule:");
        for (rule, n) in counts {
            let _ = writeln!(out, "  {n:>7}  {rule}  ({})", rule.title());
        }
    }
    let listed = if errors + warnings > report.issues.len() as u64 {
        format!(" ({} listed)", report.issues.len())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} records, {} rejected, {errors} errors, {warnings} warnings{listed}: {}",
        report.records,
        report.rejected_records,
        if report.is_clean() {
            "CLEAN"
        } else {
            "REJECTS FOUND"
        }
    );
    super::emit(&out)
}

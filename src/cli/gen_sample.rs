//! `esr-desk gen-sample --interface ID --rows N --defect-rate R --seed S --out FILE`.

use chrono::NaiveDate;
use esr_desk::generate::{GenOptions, default_file_name, generate};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface id.
    #[arg(long, required_unless_present = "layout")]
    pub interface: Option<String>,
    /// A layout file instead of a bundled layout.
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Number of detail records.
    #[arg(long, default_value_t = 200)]
    pub rows: u64,
    /// Share of records given a seeded defect, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub defect_rate: f64,
    /// Random seed; the same seed writes the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file, or a folder to write a file named by the layout's pattern. A name ending
    /// in .xlsx writes a workbook as a local system exports one (Excel's damage seeded at
    /// the defect rate).
    #[arg(long)]
    pub out: PathBuf,
    /// The trust's VPD code written in headers and file names.
    #[arg(long, default_value = "RX1")]
    pub vpd: String,
    /// File sequence number.
    #[arg(long, default_value_t = 1)]
    pub seq: u64,
    /// Extract date (YYYY-MM-DD) written in headers; records fall before it.
    #[arg(long, default_value = "2026-11-02")]
    pub date: String,
}

/// Runs the command.
pub fn run(a: Args) -> super::Outcome {
    let set = super::layouts()?;
    let layout = match (&a.layout, &a.interface) {
        (Some(p), _) => match esr_desk::layout::Layout::from_path(p) {
            Ok(l) => l,
            Err(e) => return super::fail(e),
        },
        (None, Some(id)) => match set.get(id) {
            Some(l) => l.clone(),
            None => return super::fail(format!("no layout for interface {id:?}")),
        },
        (None, None) => return super::fail("give --interface or --layout"),
    };
    if !(0.0..=1.0).contains(&a.defect_rate) {
        return super::fail("--defect-rate must be between 0 and 1");
    }
    let Ok(date) = NaiveDate::parse_from_str(&a.date, "%Y-%m-%d") else {
        return super::fail(format!("--date {:?} is not a date like 2026-11-02", a.date));
    };
    let when = date.and_hms_opt(6, 30, 0).unwrap_or_default();
    let mut opts = GenOptions {
        rows: a.rows,
        defect_rate: a.defect_rate,
        seed: a.seed,
        vpd: a.vpd.clone(),
        seq: a.seq,
        when,
        file_name: String::new(),
    };
    let path = if a.out.is_dir() {
        match default_file_name(&layout, &opts) {
            Ok(n) => a.out.join(n),
            Err(e) => return super::fail(e),
        }
    } else {
        a.out.clone()
    };
    opts.file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let workbook = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let summary = if workbook {
        // A spreadsheet as a local system exports one, with Excel's damage seeded.
        match esr_desk::sample_workbook::write_sample_workbook(&layout, &opts, &path) {
            Ok(defects) => esr_desk::generate::GenSummary {
                records: opts.rows,
                lines: opts.rows + 3,
                defects,
            },
            Err(e) => return super::fail(format!("could not write {}: {e}", path.display())),
        }
    } else {
        let file = match std::fs::File::create(&path) {
            Ok(f) => f,
            Err(e) => return super::fail(format!("could not create {}: {e}", path.display())),
        };
        match generate(&layout, &opts, file) {
            Ok(s) => s,
            Err(e) => return super::fail(e),
        }
    };
    let defects_path = PathBuf::from(format!("{}.defects.json", path.display()));
    if a.defect_rate > 0.0 || !summary.defects.is_empty() {
        let json = match serde_json::to_string_pretty(&summary.defects) {
            Ok(j) => j,
            Err(e) => return super::fail(e),
        };
        if let Err(e) = std::fs::write(&defects_path, json + "\n") {
            return super::fail(format!("could not write {}: {e}", defects_path.display()));
        }
    } else if defects_path.exists() {
        // A clean file must not keep an old defect list beside it.
        let _ = std::fs::remove_file(&defects_path);
    }
    let kinds: std::collections::BTreeSet<&str> =
        summary.defects.iter().map(|d| d.rule.code()).collect();
    super::emit(&format!(
        "{}: {} records, {} lines, {} seeded defects of {} kinds\n",
        path.display(),
        summary.records,
        summary.lines,
        summary.defects.len(),
        kinds.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

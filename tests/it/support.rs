//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `esr-desk` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_esr-desk"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary with args in an environment that ignores the user's own layouts and store.
pub fn run(args: &[&str]) -> Output {
    run_in(args, None)
}

/// Same, with a layouts folder.
pub fn run_in(args: &[&str], layouts: Option<&Path>) -> Output {
    let none = std::env::temp_dir().join("esr-desk-tests-no-layouts");
    Command::new(bin())
        .args(args)
        .env("ESR_DESK_LAYOUTS", layouts.unwrap_or(&none))
        .env(
            "ESR_DESK_DB",
            std::env::temp_dir().join("esr-desk-tests-unused.sqlite"),
        )
        .output()
        .expect("the binary runs")
}

/// Exit code (None when killed).
pub fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses `validate --json` output.
pub fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {}", stderr(o)))
}

/// (line, rule) pairs of a report.
pub fn line_rules(rep: &serde_json::Value) -> Vec<(u64, String)> {
    let mut v: Vec<(u64, String)> = rep["issues"]
        .as_array()
        .expect("issues array")
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().expect("line"),
                i["rule"].as_str().expect("rule").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A sample interface file of an interface (not a workbook): the defect-seeded one or the
/// clean one.
/// `id` is a layout id: its interface's folder may hold the samples of its other layouts too
/// (one each way, ESR's answers), so the file is the one its file-name pattern fits.
pub fn sample(id: &str, defects: bool) -> PathBuf {
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let layout = set.get(id).expect("layout");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root().join("sample-data").join(&layout.interface))
            .expect("sample dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| !p.to_string_lossy().ends_with(".defects.json"))
            .filter(|p| !esr_desk::workbook::is_workbook(p))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| layout.file_name.matches(&n.to_string_lossy()))
            })
            .collect();
    files.sort();
    files
        .into_iter()
        .find(|p| PathBuf::from(format!("{}.defects.json", p.display())).exists() == defects)
        .expect("sample file")
}

/// The sample workbook of an interface (sample-data/<id>/*.xlsx).
pub fn sample_workbook(id: &str) -> PathBuf {
    std::fs::read_dir(root().join("sample-data").join(id))
        .expect("sample dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .expect("sample workbook")
}

/// Runs `esr-desk export BATCH --out OUT --vpd VPD --db DB`.
pub fn export_cli(batch: &str, out: &Path, vpd: &str, db: &Path) -> Output {
    let (out, db) = (out.display().to_string(), db.display().to_string());
    run(&["export", batch, "--out", &out, "--vpd", vpd, "--db", &db])
}

/// Sets a file's modification time (to make an inbox file "settled").
pub fn backdate(path: &Path, at: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(at)
        .expect("mtime");
}

/// A small absences file in `dir`: the column-name row and the first five records of the
/// clean sample, changed by `edit` (given the rows, and a column's position by name).
pub fn absences_variant(
    dir: &Path,
    edit: impl FnOnce(&mut Vec<Vec<String>>, &dyn Fn(&str) -> usize),
) -> PathBuf {
    let text =
        std::fs::read_to_string(root().join("sample-data/absences/ABS_RX1_20261102_000001.csv"))
            .expect("sample");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = rdr
        .records()
        .take(6)
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    let header = rows[0].clone();
    let col = move |n: &str| header.iter().position(|c| c == n).expect("column");
    edit(&mut rows, &col);
    let p = dir.join("ABS_RX1_20261103_000001.csv");
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(&p)
        .expect("write");
    for r in rows {
        w.write_record(r).expect("row");
    }
    w.flush().expect("flush");
    p
}

//! Exports against real files and a real store: round-trip byte identity for every bundled
//! layout, edits and exclusions, header and trailer regeneration, naming, no overwrite, a
//! killed export, the rejects report and joiners/movers/leavers.

use esr_desk::rules::Rule;

use crate::support::*;
use esr_desk::export::{ExportError, ExportOptions, export_batch, export_runs, rejects_report};
use esr_desk::layout::{Layout, LayoutSet, LayoutSource};
use esr_desk::store::{ImportOptions, PageFilter, Store};
use std::path::Path;

fn at_sample_time(dir: &Path) -> ExportOptions {
    let mut o = ExportOptions::new(dir);
    o.now = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .and_then(|d| d.and_hms_opt(6, 30, 0))
        .expect("time");
    o.vpd = Some("RX1".into());
    o.seq = Some(1);
    o
}

fn import_file(store: &mut Store, layout: &Layout, path: &Path) -> i64 {
    store
        .import(
            path,
            layout,
            ImportOptions {
                force: true,
                ..Default::default()
            },
        )
        .expect("import")
        .batch_id
}

#[test]
fn every_layout_round_trips_byte_for_byte() {
    let set = LayoutSet::bundled().expect("layouts");
    let tmp = tempfile::tempdir().expect("tmp");
    for layout in &set.layouts {
        // A fresh store each time, so cross-file references are unchecked warnings only.
        let dir = tmp.path().join(&layout.id);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut store = Store::open(&dir.join("s.sqlite")).expect("open");
        let src = sample(&layout.id, false);
        let b = import_file(&mut store, layout, &src);
        let out = export_batch(&mut store, b, &at_sample_time(&dir))
            .unwrap_or_else(|e| panic!("{}: {e}", layout.id));
        assert_eq!(
            out.path.file_name(),
            src.file_name(),
            "{}: the export is named as the original",
            layout.id
        );
        assert!(
            std::fs::read(&out.path).expect("out") == std::fs::read(&src).expect("src"),
            "{}: export differs from the original",
            layout.id
        );
        assert_eq!(store.batch(b).expect("b").status, "exported");
    }
}

#[test]
fn edits_and_exclusions_are_exported_with_header_and_trailer_regenerated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("rostering-pay-variations").expect("layout");
    let mut store = Store::open(&tmp.path().join("s.sqlite")).expect("open");
    let b = import_file(
        &mut store,
        layout,
        &sample("rostering-pay-variations", false),
    );
    let dtl = PageFilter {
        rejected_only: false,
        record_type: Some("DTL".into()),
    };
    let rows = store.page(b, 0, 3, &dtl).expect("page");
    let amount = layout.records[1].field_index("Amount").expect("amount");
    store
        .set_value(b, rows[0].seq, amount, "1234.56")
        .expect("edit");
    store
        .exclude(b, &[rows[1].seq], "Paid twice")
        .expect("exclude");
    store.set_setting("vpd", "RX9").expect("vpd");
    let mut opts = ExportOptions::new(tmp.path());
    opts.now = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(9, 15, 30))
        .expect("t");
    let out = export_batch(&mut store, b, &opts).expect("export");
    assert_eq!(
        out.path.file_name().and_then(|n| n.to_str()),
        Some("RX9_PAYVAR_20261201_00001.txt"),
        "VPD setting, date and first sequence number"
    );
    // The export itself validates clean, and carries the edit but not the excluded row.
    let v = run(&["validate", out.path.to_str().expect("p"), "--json"]);
    assert_eq!(code(&v), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
    let text = String::from_utf8_lossy(&std::fs::read(&out.path).expect("read")).into_owned();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "HDR|PAYVAR|RX9|20261201 091530|1|".to_string()
            + lines[0].rsplit('|').next().expect("source system")
    );
    assert!(lines.iter().any(|l| l.contains("|1234.56|")));
    let excluded_ref = rows[1].fields.last().expect("roster ref");
    assert!(
        !text.contains(excluded_ref.as_str()),
        "excluded row left out"
    );
    let total_records = store.count(b, &PageFilter::default()).expect("count");
    assert_eq!(lines.len() as u64, total_records - 1);
    let trailer: Vec<&str> = lines.last().expect("trailer").split('|').collect();
    assert_eq!(
        trailer[1],
        (total_records - 3).to_string(),
        "count of detail records written"
    );
    // The next export takes the next sequence number; history has both runs.
    let again = export_batch(&mut store, b, &opts).expect("second export");
    assert!(again.path.to_string_lossy().ends_with("_00002.txt"));
    let runs = export_runs(&store, Some(b), None).expect("runs");
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.outcome == "ok" && r.trigger == "manual")
    );
    assert_eq!(
        runs[1].sha256.as_deref(),
        Some(esr_desk::store::sha256_hex(&std::fs::read(&out.path).expect("read")).as_str())
    );
}

#[test]
fn rejects_block_export_unless_valid_rows_only_and_existing_files_are_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("professional-registrations-nmc").expect("layout");
    let mut store = Store::open(&tmp.path().join("s.sqlite")).expect("open");
    let b = import_file(
        &mut store,
        layout,
        &sample("professional-registrations-nmc", true),
    );
    // File-level problems (the received trailer's count, blank lines) block every export,
    // even of the valid rows, until the officer accepts them with a reason.
    let opts = at_sample_time(tmp.path());
    let mut valid = opts.clone();
    valid.valid_rows_only = true;
    assert!(matches!(
        export_batch(&mut store, b, &valid),
        Err(ExportError::FileProblems { .. })
    ));
    let problems = store.file_problems(b).expect("problems");
    assert!(problems.iter().any(|i| i.rule == "trailer-count"));
    let rules: std::collections::BTreeSet<Rule> = problems.iter().map(|i| i.rule).collect();
    for r in rules {
        store
            .accept(b, r, None, "test: the officer checked the file")
            .expect("accept");
    }
    assert!(store.file_problems(b).expect("p").is_empty());
    let rejected = store
        .page(
            b,
            0,
            10_000,
            &PageFilter {
                rejected_only: true,
                record_type: None,
            },
        )
        .expect("p")
        .iter()
        .filter(|r| r.record_type.as_deref() != Some("TRL"))
        .count() as u64;
    let refused = export_batch(&mut store, b, &opts);
    assert!(matches!(refused, Err(ExportError::HasRejects { rejected: r, .. }) if r == rejected));
    assert_eq!(
        std::fs::read_dir(tmp.path())
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("NMC_"))
            .count(),
        0
    );
    let out = export_batch(&mut store, b, &valid).expect("valid rows only");
    assert_eq!(out.held_back.len() as u64, rejected);
    let v = run(&["validate", out.path.to_str().expect("p"), "--json"]);
    assert_eq!(
        code(&v),
        Some(0),
        "the valid rows make a clean file: {}",
        String::from_utf8_lossy(&v.stdout)
    );
    // The same name again is refused, and the file is untouched.
    let before = std::fs::read(&out.path).expect("read");
    let again = export_batch(&mut store, b, &valid);
    assert!(matches!(again, Err(ExportError::Exists(_))), "{again:?}");
    assert_eq!(std::fs::read(&out.path).expect("read"), before);
    let mut over = valid.clone();
    over.overwrite = true;
    export_batch(&mut store, b, &over).expect("overwrite when asked");
    let outcomes: Vec<String> = export_runs(&store, Some(b), None)
        .expect("runs")
        .into_iter()
        .map(|r| r.outcome.as_str().to_string())
        .collect();
    assert_eq!(outcomes, vec!["ok", "refused", "ok", "refused", "refused"]);
    // No temporary files are left behind.
    assert!(
        std::fs::read_dir(tmp.path())
            .expect("dir")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
    );
}

#[test]
fn a_pattern_that_leaves_the_folder_is_refused() {
    let text = std::fs::read_to_string(root().join("assets/layouts/absences.toml")).expect("read");
    let sneaky = text.replace(
        "file_name = \"ABS_{VPD}_{YYYYMMDD}_{SEQ:6}.csv\"",
        "file_name = \"../{VPD}_{YYYYMMDD}.csv\"",
    );
    assert_ne!(sneaky, text);
    // Refused when the layout loads, before any export is tried.
    let err = Layout::parse(&sneaky, "sneaky", LayoutSource::Bundled).expect_err("refused");
    assert!(
        err.to_string().contains("outside the chosen folder"),
        "{err}"
    );
    // And the exporter checks every name it makes all the same.
    assert!(esr_desk::layout::safe_file_name("../RX1_20261102.csv").is_err());
}

#[test]
fn the_rejects_report_opens_in_excel_and_neutralises_formulas() {
    let tmp = tempfile::tempdir().expect("tmp");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("absences").expect("layout");
    let mut store = Store::open(&tmp.path().join("s.sqlite")).expect("open");
    let b = import_file(&mut store, layout, &sample("absences", true));
    // A rejected record whose Last Name someone typed as a formula.
    // Someone types a formula into a coded field: still not a code, so still rejected.
    let (seq, issue) = store
        .issues(b, Some(Rule::from_code("code-error").expect("rule")), 1)
        .expect("issues")
        .into_iter()
        .next()
        .expect("a code error");
    store
        .set_value(
            b,
            seq.expect("record"),
            issue.field_index.expect("field"),
            "=HYPERLINK(\"http://x\")",
        )
        .expect("edit");
    // The minimum by default: no values, no whole records.
    let minimal = tmp.path().join("rejects-min.csv");
    let m = rejects_report(&mut store, b, &minimal, false).expect("report");
    let bytes = std::fs::read(&minimal).expect("read");
    let mut rdr = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    assert_eq!(
        rdr.headers().expect("headers").iter().collect::<Vec<_>>(),
        vec!["Line", "Record type", "Key", "Field", "Rule", "Message"]
    );
    assert_eq!(rdr.records().count() as u64, m);
    // Whole records only when asked, and the access log says which was written.
    let report = tmp.path().join("rejects.csv");
    let n = rejects_report(&mut store, b, &report, true).expect("report");
    assert!(n > 0);
    let log: Vec<String> = store
        .access_log(None)
        .expect("log")
        .iter()
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(log, vec!["rejects-report", "rejects-report-full"]);
    let bytes = std::fs::read(&report).expect("read");
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "UTF-8 BOM for Excel"
    );
    let mut rdr = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let headers = rdr.headers().expect("headers").clone();
    assert_eq!(&headers[0], "Line");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len() as u64, n);
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unneutralised cell {cell:?}"
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| r.iter().any(|c| c.contains("'=HYPERLINK")))
    );
}

#[cfg(unix)]
#[test]
fn a_killed_export_leaves_no_file_under_the_final_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let big = tmp.path().join("GO_RX1_GDW_GDR_20261102_00000009.DAT");
    let out = run(&[
        "gen-sample",
        "--interface",
        "local-data-warehouse",
        "--rows",
        "40000",
        "--seed",
        "3",
        "--seq",
        "9",
        "--out",
        big.to_str().expect("p"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let db = tmp.path().join("s.sqlite");
    let set = LayoutSet::bundled().expect("layouts");
    let b = {
        let mut store = Store::open(&db).expect("open");
        import_file(
            &mut store,
            set.get("local-data-warehouse").expect("l"),
            &big,
        )
    };
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("dir");
    let final_name = out_dir.join("GO_RX1_GDW_GDR_20261102_00000009.DAT");
    let mut child = std::process::Command::new(bin())
        .args([
            "export",
            &b.to_string(),
            "--out",
            out_dir.to_str().expect("o"),
            "--db",
            db.to_str().expect("db"),
            "--vpd",
            "RX1",
            "--seq",
            "9",
            "--at",
            "2026-11-02T06:30:00",
        ])
        .env("ESR_DESK_LAYOUTS", tmp.path().join("none"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill it while the temporary file is being written.
    let start = std::time::Instant::now();
    loop {
        let writing = std::fs::read_dir(&out_dir)
            .expect("dir")
            .flatten()
            .any(|e| {
                e.file_name().to_string_lossy().ends_with(".tmp")
                    && e.metadata().map(|m| m.len() > 64 * 1024).unwrap_or(false)
            });
        if writing || final_name.exists() {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the export never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(
        status.code().is_none(),
        "killed before it finished (make the file bigger if this fails)"
    );
    assert!(!final_name.exists(), "no partial file under the final name");
    // The next export succeeds under the final name and matches the source.
    let ok = run(&[
        "export",
        &b.to_string(),
        "--out",
        out_dir.to_str().expect("o"),
        "--db",
        db.to_str().expect("db"),
        "--vpd",
        "RX1",
        "--seq",
        "9",
        "--at",
        "2026-11-02T06:30:00",
    ]);
    assert_eq!(code(&ok), Some(0), "{}", stderr(&ok));
    assert!(std::fs::read(&final_name).expect("read") == std::fs::read(&big).expect("src"));
    // And the temporary file the killed export left is gone.
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "orphans left: {left:?}");
}

#[test]
fn joiners_movers_and_leavers_between_two_staff_feeds() {
    let tmp = tempfile::tempdir().expect("tmp");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("local-data-warehouse").expect("layout");
    let old_path = sample("local-data-warehouse", false);
    let old_text = String::from_utf8(
        std::fs::read(&old_path)
            .expect("read")
            .iter()
            .map(|&b| if b < 128 { b as char } else { '?' })
            .collect::<String>()
            .into_bytes(),
    )
    .expect("ascii");
    let mut lines: Vec<String> = old_text.lines().map(str::to_string).collect();
    // Assignments of one row each (the ASA record is date-tracked: an assignment may have a
    // row for each period), so that each change below is the assignment's whole story.
    let asa_id = |l: &str| l.split('~').nth(2).unwrap_or_default().to_string();
    let asa: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("ASA~"))
        .filter(|&i| {
            lines
                .iter()
                .filter(|l| l.starts_with("ASA~") && asa_id(l) == asa_id(&lines[i]))
                .count()
                == 1
        })
        .collect();
    let set_field = |line: &mut String, idx: usize, v: &str| {
        let mut f: Vec<String> = line.split('~').map(str::to_string).collect();
        f[idx] = v.to_string();
        *line = f.join("~");
    };
    let asa_layout = &layout.records[layout.record_index("ASA").expect("ASA")];
    let pos = asa_layout.field_index("Position Name").expect("position");
    let end = asa_layout.field_index("Effective End Date").expect("end");
    let id = asa_layout.field_index("Assignment ID").expect("id");
    let num = asa_layout.field_index("Assignment Number").expect("number");
    // A mover, a leaver by end date, a leaver by absence, and a joiner.
    let mover_key = lines[asa[0]].split('~').nth(id).expect("id").to_string();
    set_field(&mut lines[asa[0]], pos, "99999|Ward Manager|Surgery|");
    let mut ender = asa[1];
    if !lines[ender].split('~').nth(end).expect("end").is_empty() {
        ender = asa[3];
    }
    let ender_key = lines[ender].split('~').nth(id).expect("id").to_string();
    set_field(&mut lines[ender], end, "20261130");
    let gone_key = lines[asa[2]].split('~').nth(id).expect("id").to_string();
    let mut joiner = lines[asa[2]].clone();
    set_field(&mut joiner, id, "999999999");
    set_field(&mut joiner, num, "19999999");
    lines[asa[2]] = joiner;
    let new_text = lines.join("\n") + "\n";
    let new_path = tmp.path().join("GO_RX1_GDW_GOC_20261103_00000002.DAT");
    std::fs::write(&new_path, new_text.as_bytes()).expect("write");
    let old_copy = tmp.path().join(old_path.file_name().expect("name"));
    std::fs::write(&old_copy, old_text.as_bytes()).expect("write");
    let db = tmp.path().join("s.sqlite");
    let (a, b) = {
        let mut store = Store::open(&db).expect("open");
        (
            import_file(&mut store, layout, &old_copy),
            import_file(&mut store, layout, &new_path),
        )
    };
    let csv_path = tmp.path().join("jml.csv");
    let out = run(&[
        "jml",
        &a.to_string(),
        &b.to_string(),
        "--out",
        csv_path.to_str().expect("p"),
        "--db",
        db.to_str().expect("db"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&csv_path).expect("read");
    let mut rdr = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<(String, String, String)> = rdr
        .records()
        .map(|r| r.expect("row"))
        .map(|r| (r[0].to_string(), r[1].to_string(), r[3].to_string()))
        .collect();
    let asa_rows: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.1 == "ASA")
        .map(|r| (r.0.clone(), r.2.clone()))
        .collect();
    let mut want = vec![
        ("Joiner".to_string(), "999999999".to_string()),
        ("Leaver".to_string(), ender_key),
        ("Leaver".to_string(), gone_key),
        ("Mover".to_string(), mover_key),
    ];
    want.sort();
    let mut got = asa_rows.clone();
    got.sort();
    assert_eq!(got, want, "all rows: {rows:?}");
    assert!(
        stderr(&out).contains("1 joiners, 1 movers, 2 leavers"),
        "{}",
        stderr(&out)
    );
}

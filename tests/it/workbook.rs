//! Workbooks and foreign CSVs: real .xlsx files written here with rust_xlsxwriter, read with
//! calamine, mapped to a layout, judged by the one pipeline, stored in a real SQLite store,
//! repaired and exported in the layout's own format.

use crate::support::*;
use esr_desk::export::{ExportOptions, Fill, export_batch, uk_now};
use esr_desk::layout::LayoutSet;
use esr_desk::mapping::{ReadChoice, by_name, convert};
use esr_desk::store::{ImportOptions, Store};
use esr_desk::workbook::{Choice, read_table};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};

/// The absences columns, by their own names, with a title row above them.
const ABS: [&str; 14] = [
    "Employee Number",
    "Assignment Number",
    "Last Name",
    "First Name",
    "Action",
    "Absence Type",
    "Sickness Reason",
    "Start Date",
    "End Date",
    "Start Time",
    "End Time",
    "Hours Lost",
    "Days Lost",
    "Date Notified",
];

/// A cell to write.
enum C {
    T(&'static str),
    N(f64),
    D(u16, u8, u8),
}

/// A clean absence row: (Employee Number as text, then the rest).
fn row(emp: C, start: C) -> Vec<C> {
    vec![
        emp,
        C::T("10120001-1"),
        C::T("Smith"),
        C::T("Ann"),
        C::T("A"),
        C::T("Annual Leave"),
        C::T(""),
        start,
        C::D(2026, 11, 30),
        C::T(""),
        C::T(""),
        C::N(37.5),
        C::N(5.0),
        C::D(2026, 10, 1),
    ]
}

/// Writes a workbook: a "Notes" sheet, then a data sheet with a title row, the given column
/// names and rows.
fn workbook(dir: &Path, name: &str, columns: &[&str], rows: Vec<Vec<C>>) -> PathBuf {
    let path = dir.join(name);
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    wb.add_worksheet()
        .set_name("Notes")
        .expect("name")
        .write_string(0, 0, "Exported from the absence system")
        .expect("write");
    let s = wb.add_worksheet();
    s.set_name("Absences").expect("name");
    s.write_string(0, 0, "Absences, November 2026")
        .expect("title");
    for (c, n) in columns.iter().enumerate() {
        s.write_string(1, c as u16, *n).expect("header");
    }
    for (r, cells) in rows.into_iter().enumerate() {
        for (c, cell) in cells.into_iter().enumerate() {
            let (r, c) = (r as u32 + 2, c as u16);
            match cell {
                C::T("") => {}
                C::T(t) => {
                    s.write_string(r, c, t).expect("t");
                }
                C::N(x) => {
                    s.write_number(r, c, x).expect("n");
                }
                C::D(y, m, d) => {
                    let x = ExcelDateTime::from_ymd(y, m, d).expect("date");
                    s.write_datetime_with_format(r, c, &x, &date).expect("d");
                }
            }
        }
    }
    wb.save(&path).expect("save");
    path
}

fn absences() -> esr_desk::layout::Layout {
    LayoutSet::bundled()
        .expect("layouts")
        .get("absences")
        .expect("absences")
        .clone()
}

/// The converted file's records (after the column-name row), as fields.
fn converted_rows(path: &Path) -> Vec<Vec<String>> {
    let layout = absences();
    let fits = |t: &esr_desk::workbook::Table| {
        let u = by_name(&layout, t).unmatched(&layout);
        (!u.is_empty()).then(|| u.join(", "))
    };
    let t = read_table(path, &Choice::default(), Some(&layout), fits).expect("read");
    let p = by_name(&layout, &t);
    let fill = Fill {
        name: "x.xlsx".into(),
        now: uk_now(),
        vpd: String::new(),
        seq: 1,
    };
    let c = convert(&layout, &t, &p, &Default::default(), &fill).expect("convert");
    let text = String::from_utf8(c.bytes).expect("utf8");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn cells_are_read_as_typed() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut rows = vec![
        // Text keeps its leading zero; a date cell is written in the layout's form.
        row(C::T("01012001"), C::D(2026, 11, 2)),
        // A number loses it (as Excel does); 0.1 + 0.2 is read as 0.3, not float noise.
        row(C::N(1012002.0), C::D(2026, 11, 3)),
        // A date typed as text in ISO form, and an Excel serial left as a number.
        row(C::T("01012003"), C::T("2026-11-04")),
        row(C::T("01012004"), C::N(46330.0)),
    ];
    rows[1][11] = C::N(0.1 + 0.2);
    rows[3][11] = C::N(123456789012345.0);
    let path = workbook(dir.path(), "abs.xlsx", &ABS, rows);
    let recs = converted_rows(&path);
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0][0], "01012001", "text keeps its zeros");
    assert_eq!(recs[0][7], "02/11/2026", "a date cell in the layout's form");
    assert_eq!(recs[0][8], "30/11/2026");
    assert_eq!(recs[1][0], "1012002", "a number has no zeros to keep");
    assert_eq!(recs[1][11], "0.3", "no float noise");
    assert_eq!(recs[2][7], "2026-11-04", "text stays as typed");
    assert_eq!(recs[3][7], "46330", "a serial number stays a number");
    assert_eq!(recs[3][11], "123456789012345", "never scientific notation");
    assert_eq!(recs[0][11], "37.5");

    // The same workbook through `validate`: issues numbered by sheet row (data from row 3).
    let out = run(&[
        "validate",
        path.to_str().expect("p"),
        "--interface",
        "absences",
        "--json",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let rep = report(&out);
    let got = line_rules(&rep);
    assert!(got.contains(&(4, "length-error".into())), "{got:?}");
    assert!(got.contains(&(5, "type-error".into())), "{got:?}");
    assert!(got.contains(&(6, "type-error".into())), "{got:?}");
    assert_eq!(got.iter().filter(|g| g.0 == 6).count(), 2, "{got:?}");
    assert!(!got.iter().any(|(l, _)| *l == 3), "row 3 is clean: {got:?}");
    assert!(
        stderr(&out).contains("Read sheet \"Absences\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_kind_of_date_cell_converts_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    // Date and time cells against a DD/MM/YYYY date, an HH:MM time, and (in rostering) a
    // YYYYMMDD date and an HHMM time.
    let mut wb = Workbook::new();
    let s = wb.add_worksheet();
    let fmt = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let dates = [(1999, 12, 31), (2000, 2, 29), (2026, 11, 2), (1960, 1, 1)];
    s.write_string(0, 0, "Start Date").expect("h");
    s.write_string(0, 1, "Start Time").expect("h");
    for (i, (y, m, d)) in dates.iter().enumerate() {
        let x = ExcelDateTime::from_ymd(*y, *m, *d)
            .expect("d")
            .and_hms(9, 30, 0)
            .expect("t");
        s.write_datetime_with_format(i as u32 + 1, 0, &x, &fmt)
            .expect("w");
        let t = ExcelDateTime::from_hms(17, 45, 0).expect("t");
        s.write_datetime_with_format(i as u32 + 1, 1, &t, &Format::new().set_num_format("hh:mm"))
            .expect("w");
    }
    let path = dir.path().join("dates.xlsx");
    wb.save(&path).expect("save");
    let layout = absences();
    let t = read_table(&path, &Choice::default(), Some(&layout), |_| None).expect("read");
    let start = &layout.records[0].fields[7];
    let time = &layout.records[0].fields[9];
    let got: Vec<(String, String)> = t
        .rows()
        .map(|r| {
            (
                esr_desk::workbook::cell_text(r.cell(0), Some(&start.format)),
                esr_desk::workbook::cell_text(r.cell(1), Some(&time.format)),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("31/12/1999".into(), "17:45".into()),
            ("29/02/2000".into(), "17:45".into()),
            ("02/11/2026".into(), "17:45".into()),
            ("01/01/1960".into(), "17:45".into()),
        ]
    );
    let set = LayoutSet::bundled().expect("layouts");
    let roster = set.get("rostering-pay-variations").expect("roster");
    let dtl = &roster.records[roster.record_index("DTL").expect("dtl")];
    let shift = dtl
        .fields
        .iter()
        .find(|f| f.name == "Shift Date")
        .expect("f");
    let first = t.rows().next().expect("row");
    assert_eq!(
        esr_desk::workbook::cell_text(first.cell(0), Some(&shift.format)),
        "19991231"
    );
}

#[test]
fn repairs_are_previewed_applied_as_one_step_and_undone() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut rows = vec![
        row(C::N(1012001.0), C::D(2026, 11, 2)),     // zeros lost
        row(C::T("01012002"), C::T("2026-11-03")),   // ISO text
        row(C::T("01012003"), C::N(46330.0)),        // serial
        row(C::T("01012004"), C::T("05/11/26")),     // two-digit year
        row(C::T("1.012005E+6"), C::D(2026, 11, 6)), // every digit there
        row(C::T("1.2E+7"), C::D(2026, 11, 7)),      // digits lost
        row(C::T("01012007"), C::D(2026, 11, 8)),
    ];
    rows[6][5] = C::T("annual leave "); // case and a space
    let path = workbook(dir.path(), "abs.xlsx", &ABS, rows);
    let db = dir.path().join("store.sqlite");
    let mut store = Store::open(&db).expect("store");
    let layout = absences();
    let made = store
        .prepare_table(&path, &layout, ReadChoice::default())
        .expect("prepare");
    let out = store
        .import(
            &path,
            &layout,
            ImportOptions {
                made: Some(esr_desk::store::Made {
                    converted: made.converted,
                    from: made.from,
                }),
                ..Default::default()
            },
        )
        .expect("import");
    assert_eq!(out.records, 7);
    assert_eq!(out.rejected, 7);
    let batch = out.batch_id;
    let r = store.repairs(batch).expect("repairs");
    let kinds: Vec<(String, String, usize)> = r
        .groups
        .iter()
        .map(|g| (g.field_name.clone(), format!("{:?}", g.kind), g.cells.len()))
        .collect();
    use esr_desk::fixes::FixKind::*;
    let find = |field: &str, kind: esr_desk::fixes::FixKind| {
        r.groups
            .iter()
            .find(|g| g.field_name == field && g.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} of {field}: {kinds:?}"))
    };
    let zeros = find("Employee Number", ZeroPad);
    assert_eq!(zeros.cells[0].was, "1012001");
    assert_eq!(zeros.cells[0].fix.value, "01012001");
    assert_eq!(zeros.cells[0].line, 3, "numbered by sheet row");
    assert_eq!(
        find("Start Date", DateFormat).cells[0].fix.value,
        "03/11/2026"
    );
    assert_eq!(
        find("Start Date", ExcelSerial).cells[0].fix.value,
        "04/11/2026"
    );
    assert_eq!(
        find("Start Date", TwoDigitYear).cells[0].fix.value,
        "05/11/2026"
    );
    assert_eq!(
        find("Employee Number", Expand).cells[0].fix.value,
        "01012005"
    );
    assert!(
        r.groups
            .iter()
            .any(|g| g.field_name == "Absence Type" && g.cells[0].fix.value == "Annual Leave"),
        "{kinds:?}"
    );
    assert_eq!(r.unmendable.len(), 1, "{:?}", r.unmendable);
    assert_eq!(r.unmendable[0].first_line, 8);
    assert!(r.unmendable[0].why.contains("only 2 of its 8 digits"));
    // Each repair is one step; undo puts every cell back.
    let groups = r.groups.clone();
    for g in &groups {
        store.apply(batch, g.changes()).expect("apply");
    }
    let info = store.batch(batch).expect("info");
    let left = store.issues(batch, None, 50).expect("issues");
    assert_eq!(
        info.rejected, 1,
        "only the unmendable row is left: {left:?}"
    );
    for _ in &groups {
        store.undo(batch).expect("undo").expect("a step to undo");
    }
    assert_eq!(store.batch(batch).expect("info").rejected, 7);
    assert_eq!(store.repairs(batch).expect("again").groups, groups);
}

#[test]
fn a_workbook_goes_to_an_esr_format_export() {
    // The sample pay variations workbook: a mapping file gives the header's Source System;
    // the repairs are applied; the export is an ESR file that validates clean.
    let dir = tempfile::tempdir().expect("tmp");
    let wb = sample_workbook("rostering-pay-variations");
    let wbs = wb.to_str().expect("p");
    let suggest = run(&[
        "mapping",
        "suggest",
        wbs,
        "--interface",
        "rostering-pay-variations",
    ]);
    assert_eq!(code(&suggest), Some(0), "{}", stderr(&suggest));
    let toml = String::from_utf8(suggest.stdout).expect("utf8");
    assert!(toml.contains("column = \"Staff Number\""), "{toml}");
    let toml = toml.replace(
        "\"Source System\" = \"\"",
        "\"Source System\" = \"HealthRoster\"",
    );
    let mapping = dir.path().join("roster.toml");
    std::fs::write(&mapping, toml).expect("write");
    let ms = mapping.to_str().expect("p");
    let db = dir.path().join("store.sqlite");
    let dbs = db.to_str().expect("p");
    let out = run(&["validate", wbs, "--mapping", ms, "--json", "--db", dbs]);
    assert_eq!(code(&out), Some(1));
    let with_mapping = line_rules(&report(&out));
    let key: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.defects.json", wb.display())).expect("key"),
    )
    .expect("json");
    // The key lists the header's Source System (no mapping gives it); the mapping does.
    assert_eq!(with_mapping.len() + 1, key.len(), "{with_mapping:?}");
    let imp = run(&["import", wbs, "--mapping", ms, "--db", dbs]);
    assert_eq!(
        code(&imp),
        Some(1),
        "import exits as validate: {}",
        stderr(&imp)
    );
    let batch: i64 = String::from_utf8_lossy(&imp.stdout)
        .trim()
        .parse()
        .expect("id");
    let mut store = Store::open(&db).expect("store");
    let r = store.repairs(batch).expect("repairs");
    for g in &r.groups {
        store.apply(batch, g.changes()).expect("apply");
    }
    assert!(r.unmendable.is_empty());
    let info = store.batch(batch).expect("info");
    assert_eq!(info.rejected, 0, "every seeded damage is mendable");
    let outdir = dir.path().join("out");
    std::fs::create_dir(&outdir).expect("dir");
    let mut o = ExportOptions::new(&outdir);
    o.vpd = Some("RX1".into());
    let e = export_batch(&mut store, batch, &o).expect("export");
    let name = e
        .path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("RX1_PAYVAR_"), "{name}");
    let v = run(&[
        "validate",
        e.path.to_str().expect("p"),
        "--interface",
        "rostering-pay-variations",
        "--json",
    ]);
    assert_eq!(code(&v), Some(0), "{:?}", report(&v));
    let text = String::from_utf8_lossy(&std::fs::read(&e.path).expect("read")).into_owned();
    assert!(text.starts_with("HDR|"), "a header is made");
    assert!(
        text.contains("|HealthRoster"),
        "with the mapping's Source System"
    );
    assert!(text.lines().last().expect("last").starts_with("TRL|"));
}

#[test]
fn a_mapping_is_saved_and_reused() {
    let dir = tempfile::tempdir().expect("tmp");
    // A local system's own names, none of them known to the layout.
    let local = [
        "Pers No", "Post", "Family", "Given", "Act", "Kind", "Why", "From", "To", "T1", "T2",
        "Hrs", "Dys", "Told",
    ];
    let path = workbook(
        dir.path(),
        "Absence extract 2026-11.xlsx",
        &local,
        vec![row(C::T("01012001"), C::D(2026, 11, 2))],
    );
    let ps = path.to_str().expect("p");
    let db = dir.path().join("store.sqlite");
    let dbs = db.to_str().expect("p");
    // Without a mapping: exit 2, naming the fields without a column and the sheet's columns.
    let out = run(&["validate", ps, "--interface", "absences", "--db", dbs]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(err.contains("Employee Number"), "{err}");
    assert!(err.contains("Pers No"), "{err}");
    let imp = run(&["import", ps, "--interface", "absences", "--db", dbs]);
    assert_eq!(code(&imp), Some(2));
    // Map it, save it for these columns.
    let body: String = ABS
        .iter()
        .zip(local)
        .map(|(f, c)| format!("[[column]]\nfield = \"{f}\"\ncolumn = \"{c}\"\n"))
        .collect();
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        format!("interface = \"absences\"\nrecord_type = \"ABS\"\n{body}"),
    )
    .expect("write");
    let saved = run(&[
        "mapping",
        "save",
        ps,
        "--mapping",
        mapping.to_str().expect("p"),
        "--db",
        dbs,
    ]);
    assert_eq!(code(&saved), Some(0), "{}", stderr(&saved));
    let key = String::from_utf8_lossy(&saved.stdout).trim().to_string();
    // Reused with no --mapping, and said so.
    let out = run(&[
        "validate",
        ps,
        "--interface",
        "absences",
        "--db",
        dbs,
        "--json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("mapping {key} saved on")),
        "{}",
        stderr(&out)
    );
    let list = run(&["mapping", "list", "--db", dbs]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&key));
    // Shown by its key, or by its interface when that has only one.
    let by_id = run(&["mapping", "show", "absences", "--db", dbs]);
    assert_eq!(code(&by_id), Some(0), "{}", stderr(&by_id));
    assert!(String::from_utf8_lossy(&by_id.stdout).contains("column = \"Pers No\""));
    assert_eq!(
        code(&run(&["mapping", "show", "nope", "--db", dbs])),
        Some(2)
    );
    let exported = dir.path().join("again.toml");
    let e = run(&[
        "mapping",
        "export",
        &key,
        "--out",
        exported.to_str().expect("p"),
        "--db",
        dbs,
    ]);
    assert_eq!(code(&e), Some(0));
    let back = esr_desk::mapping::Mapping::from_toml(
        &std::fs::read_to_string(&exported).expect("read"),
        "again",
    )
    .expect("parses");
    assert_eq!(back.column_of("Employee Number"), Some("Pers No"));
    // The exported file works anywhere with --mapping (here without a store).
    let out = run(&["validate", ps, "--mapping", exported.to_str().expect("p")]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // A CSV with the same local columns is mapped the same way (saved for its column set).
    let csv = dir.path().join("abs.csv");
    std::fs::write(
        &csv,
        format!(
            "{}\r\n01012001,10120001-1,Smith,Ann,A,Annual Leave,,02/11/2026,30/11/2026,,,37.5,5,01/10/2026\r\n",
            local.join(",")
        ),
    )
    .expect("csv");
    let out = run(&[
        "validate",
        csv.to_str().expect("p"),
        "--mapping",
        exported.to_str().expect("p"),
        "--json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["records"], 1);
}

#[test]
fn bad_workbooks_get_a_clear_message_exit_2_and_nothing_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let dbs = db.to_str().expect("p").to_string();
    let good = workbook(
        dir.path(),
        "good.xlsx",
        &ABS,
        vec![row(C::T("01012001"), C::D(2026, 11, 2))],
    );
    // A corrupt zip: the workbook cut short.
    let bytes = std::fs::read(&good).expect("read");
    let cut = dir.path().join("cut.xlsx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    // An encrypted workbook: an OLE container holding an EncryptedPackage, as Excel writes.
    let enc = dir.path().join("locked.xlsx");
    {
        let mut c = cfb::create(&enc).expect("cfb");
        let mut s = c.create_stream("/EncryptedPackage").expect("stream");
        std::io::Write::write_all(&mut s, &[0u8; 4096]).expect("write");
        let mut s = c.create_stream("/EncryptionInfo").expect("stream");
        std::io::Write::write_all(&mut s, &[4, 0, 4, 0, 0x40, 0, 0, 0]).expect("write");
    }
    // Merged header cells.
    let merged = dir.path().join("merged.xlsx");
    {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.merge_range(0, 0, 0, 1, "Employee Number", &Format::new())
            .expect("merge");
        for (c, n) in ABS.iter().enumerate().skip(2) {
            s.write_string(0, c as u16, *n).expect("h");
        }
        s.write_string(1, 0, "01012001").expect("v");
        wb.save(&merged).expect("save");
    }
    // No sheet that fits, and an empty sheet named.
    let nofit = dir.path().join("nofit.xlsx");
    {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.set_name("Rota").expect("n");
        s.write_string(0, 0, "Ward").expect("h");
        s.write_string(0, 1, "Shift").expect("h");
        s.write_string(1, 0, "Ward 7").expect("v");
        let s = wb.add_worksheet();
        s.set_name("Costs").expect("n");
        s.write_string(0, 0, "Cost Centre").expect("h");
        s.write_string(0, 1, "Budget").expect("h");
        wb.add_worksheet().set_name("Blank").expect("n");
        wb.save(&nofit).expect("save");
    }
    let cases: Vec<(PathBuf, Vec<&str>, &str)> = vec![
        (cut, vec![], "not a readable workbook"),
        (enc, vec![], "protected with a password"),
        (merged, vec![], "merged cells (A1:B1)"),
        (nofit.clone(), vec![], "no sheet of nofit.xlsx fits"),
        (nofit.clone(), vec!["--sheet", "Blank"], "is empty"),
        (
            nofit,
            vec!["--sheet", "Nope"],
            "has no sheet named \"Nope\"",
        ),
    ];
    for (path, extra, want) in cases {
        let ps = path.to_str().expect("p");
        for cmd in ["validate", "import"] {
            let mut args = vec![cmd, ps, "--interface", "absences", "--db", &dbs];
            args.extend(&extra);
            let out = run(&args);
            assert_eq!(code(&out), Some(2), "{cmd} {ps}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(want),
                "{cmd} {ps}: want {want:?} in {}",
                stderr(&out)
            );
            assert!(!stderr(&out).contains("panicked"));
        }
    }
    let store = Store::open(&db).expect("store");
    assert!(
        store.batches(None).expect("list").is_empty(),
        "nothing stored"
    );
}

/// On the mapping screen: types the header's Source System (below the fields, so scrolled
/// into view first) and confirms the import.
fn fill_source_system_and_import(
    h: &mut egui_kittest::Harness<'static, esr_desk::ui::app::App>,
    value: &str,
) {
    use egui_kittest::kittest::Queryable as _;
    h.get_by_label("Source System *").scroll_to_me();
    h.run();
    h.get_by_label("Source System *").click();
    h.run();
    h.get_by_label("Source System *").type_text(value);
    h.run();
    let d = h
        .state()
        .import
        .mapping
        .as_ref()
        .expect("the mapping screen");
    assert_eq!(
        d.header.get("Source System").map(String::as_str),
        Some(value)
    );
    h.get_by_label("Import 60 rows").click();
    crate::window::settle(h);
}

/// The window: a workbook opens on the mapping screen; the officer fills the header's Source
/// System and confirms; the batch is imported with the repairs offered; the next workbook
/// with the same columns is shown with the saved mapping and a banner saying so.
#[test]
fn the_window_confirms_a_mapping() {
    use crate::window::{harness_sized, settle};
    use egui_kittest::kittest::{NodeT as _, Queryable as _};
    use esr_desk::ui::app::{App, Command, Data, Screen};
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let wb = sample_workbook("rostering-pay-variations");
    let app = App::headless(vec![wb.clone()], Some(db.clone()));
    let mut h = harness_sized(app, 1024.0, 700.0);
    settle(&mut h);
    let d = h
        .state()
        .import
        .mapping
        .as_ref()
        .expect("the mapping screen");
    let p = d.preview.as_ref().expect("read");
    assert_eq!(
        p.interface, "rostering-pay-variations",
        "found from its columns"
    );
    assert_eq!(p.rows, 60);
    assert!(p.saved.is_none());
    // Each field is shown with its column (found by the names local systems use); a
    // required header value is asked for first.
    let staff = p
        .columns
        .iter()
        .position(|c| c == "Staff Number")
        .expect("column");
    assert_eq!(d.picks[1], Some(staff), "Employee Number from Staff Number");
    h.get_by_label_contains("Columns not used (ignored): Ward, Notes");
    h.get_by_label_contains("Source System (header)");
    assert!(
        h.get_by_label("Import 60 rows")
            .accesskit_node()
            .is_disabled(),
        "not until the header's Source System is filled"
    );
    fill_source_system_and_import(&mut h, "HealthRoster");
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().screen, Screen::Batch);
    let v = h.state().view.as_ref().expect("batch");
    assert_eq!(v.info.records, 62, "header, 60 rows, trailer");
    assert!(v.info.rejected > 0, "the seeded damage is found");
    h.get_by_label_contains("Repairs:");
    let store = Store::open(&db).expect("store");
    let saved = store.mappings().expect("mappings");
    assert_eq!(saved.len(), 1, "the mapping is remembered");
    assert_eq!(
        saved[0]
            .mapping
            .header
            .get("Source System")
            .map(String::as_str),
        Some("HealthRoster")
    );
    drop(store);
    // The same columns again: the saved mapping, said so.
    let again = dir.path().join("Roster pay export 2026-12.xlsx");
    std::fs::copy(&wb, &again).expect("copy");
    h.state_mut()
        .queue(Command::Data(Data::OpenFiles(vec![again])));
    settle(&mut h);
    let d = h
        .state()
        .import
        .mapping
        .as_ref()
        .expect("the mapping screen");
    let banner = d
        .preview
        .as_ref()
        .and_then(|p| p.saved.clone())
        .expect("banner");
    assert!(banner.contains("saved on"), "{banner}");
    h.get_by_label(&banner);
    assert!(
        !h.get_by_label("Import 60 rows")
            .accesskit_node()
            .is_disabled(),
        "the header value is kept"
    );
    h.get_by_label("Cancel").click();
    settle(&mut h);
    assert!(h.state().import.mapping.is_none());
}

#[test]
fn a_formula_gives_its_saved_value_and_says_when_it_has_none() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("formulas.xlsx");
    let mut wb = Workbook::new();
    let s = wb.add_worksheet();
    for (c, n) in ABS.iter().enumerate() {
        s.write_string(0, c as u16, *n).expect("h");
    }
    for r in 1..=2u32 {
        s.write_string(r, 0, "01012001").expect("v");
    }
    // Days Lost: a formula with its saved value, and one saved without calculating.
    s.write_formula(1, 12, rust_xlsxwriter::Formula::new("=2+3").set_result("5"))
        .expect("f");
    s.write_formula(2, 12, rust_xlsxwriter::Formula::new("=2+3").set_result("7"))
        .expect("f");
    wb.save(&path).expect("save");
    // Saved without calculating: the second formula's value taken out of the file.
    without_value(&path, "<f>2+3</f><v>7</v>", "<f>2+3</f>");
    let layout = absences();
    let t = read_table(&path, &Choice::default(), Some(&layout), |_| None).expect("read");
    let days: Vec<String> = t
        .rows()
        .map(|r| esr_desk::workbook::cell_text(r.cell(12), None))
        .collect();
    assert_eq!(days, vec!["5".to_string(), String::new()]);
    assert_eq!(t.no_value, vec![(3, 12)]);
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("1 formula cell(s) have no saved value") && n.contains("M3")),
        "{:?}",
        t.notes
    );
}

/// Rewrites a workbook's sheets with `from` replaced by `to` (to make what Excel can write and
/// the writer here cannot).
fn without_value(path: &Path, from: &str, to: &str) {
    use std::io::{Read as _, Write as _};
    let mut zin = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("zip");
    let out = path.with_extension("tmp");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(&out).expect("create"));
    let mut changed = false;
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).expect("entry");
        let name = f.name().expect("name").to_string();
        let mut body = Vec::new();
        f.read_to_end(&mut body).expect("read");
        if name.starts_with("xl/worksheets/") {
            let text = String::from_utf8(body).expect("xml");
            changed |= text.contains(from);
            body = text.replace(from, to).into_bytes();
        }
        zout.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        zout.write_all(&body).expect("write");
    }
    zout.finish().expect("finish");
    assert!(changed, "{from} not found");
    std::fs::rename(out, path).expect("rename");
}

/// Least data: the repairs of a sensitive field (a date of birth typed in another form) are
/// listed masked until the batch's personal data is revealed.
#[test]
fn repairs_of_personal_data_are_shown_masked() {
    use crate::window::{harness_sized, settle};
    use egui_kittest::kittest::Queryable as _;
    use esr_desk::ui::app::App;
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let wb = sample_workbook("occupational-health-immunisations");
    let app = App::headless(vec![wb], Some(db.clone()));
    let mut h = harness_sized(app, 1400.0, 900.0);
    settle(&mut h);
    fill_source_system_and_import(&mut h, "Cohort");
    let v = h.state().view.as_ref().expect("batch");
    let repairs = match &v.repairs.value {
        Some(Ok(r)) => r.clone(),
        other => panic!("repairs not read: {other:?}"),
    };
    let dob: Vec<_> = repairs
        .groups
        .iter()
        .filter(|g| g.field_name == "Date of Birth")
        .flat_map(|g| g.cells.iter().take(3))
        .collect();
    assert!(!dob.is_empty(), "the sample has a date of birth to repair");
    // The rule's own list of suggested fixes too, opened.
    h.get_by_label_contains("Wrong type of value —").click();
    settle(&mut h);
    let n = h.query_all_by_label_contains("Suggested fix:").count();
    for i in 0..n {
        h.query_all_by_label_contains("Suggested fix:")
            .nth(i)
            .expect("header")
            .click();
        h.run();
    }
    settle(&mut h);
    assert!(n > 0, "suggested fixes are listed");
    for s in dob {
        assert!(
            h.query_by_label_contains(&s.was).is_none(),
            "{} shown unmasked",
            s.was
        );
        assert!(h.query_by_label_contains(&s.fix.value).is_none());
        h.get_by_label_contains(&format!("line {}: ", s.line));
        assert!(
            h.query_all_by_label_contains(&format!("Line {} · Date of Birth", s.line))
                .count()
                > 0
        );
    }
}

/// .xls and .ods are read as .xlsx is: the same absences in each (written by
/// scripts/make-workbook-fixtures.py) give the same records and the same issues.
#[test]
fn xls_and_ods_read_alike() {
    let layout = absences();
    for name in ["absences.xls", "absences.ods"] {
        let path = root().join("tests/fixtures").join(name);
        let t = read_table(&path, &Choice::default(), Some(&layout), |_| None).expect("read");
        assert_eq!(t.header_row, 2, "{name}: title row skipped");
        let start = &layout.records[0].fields[7];
        let got: Vec<(String, String)> = t
            .rows()
            .map(|r| {
                (
                    esr_desk::workbook::cell_text(r.cell(0), None),
                    esr_desk::workbook::cell_text(r.cell(7), Some(&start.format)),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("01012001".into(), "02/11/2026".into()),
                ("1012002".into(), "03/11/2026".into()),
                ("01012003".into(), "2026-11-04".into()),
            ],
            "{name}"
        );
        let out = run(&[
            "validate",
            path.to_str().expect("p"),
            "--interface",
            "absences",
            "--json",
        ]);
        assert_eq!(code(&out), Some(1), "{name}: {}", stderr(&out));
        assert_eq!(
            line_rules(&report(&out)),
            vec![(4, "length-error".into()), (5, "type-error".into())],
            "{name}"
        );
    }
}

/// The window: a CSV recognised as an interface's file but headed with a local system's own
/// column names opens on the mapping screen (it is not read as received, which would reject
/// its column-name row), and imports as an ordinary batch.
#[test]
fn the_window_maps_a_csv_with_local_column_names() {
    use crate::window::{harness_sized, settle};
    use egui_kittest::kittest::Queryable as _;
    use esr_desk::ui::app::{App, Screen};
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("ABS_RX1_20261102_000009.csv");
    std::fs::write(
        &csv,
        "Staff Number,Surname,Assignment No,Action Code,Leave Type,Absence Start,Notes\r\n\
         01012001,Smith,10120001-1,A,Annual Leave,02/11/2026,ok\r\n\
         01012002,Jones,10120002-1,A,Annual Leave,03/11/2026,\r\n",
    )
    .expect("write");
    let app = App::headless(vec![csv], Some(dir.path().join("store.sqlite")));
    let mut h = harness_sized(app, 1024.0, 700.0);
    settle(&mut h);
    let d = h
        .state()
        .import
        .mapping
        .as_ref()
        .expect("the mapping screen");
    let p = d.preview.as_ref().expect("read");
    assert_eq!(p.interface, "absences");
    assert!(p.sheets.is_empty(), "a CSV has no sheets");
    h.get_by_label_contains("Columns not used (ignored): Notes");
    h.get_by_label("Import 2 rows").click();
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().screen, Screen::Batch);
    let v = h.state().view.as_ref().expect("batch");
    assert_eq!((v.info.records, v.info.rejected), (2, 0));
    assert!(
        v.info
            .made_from
            .as_deref()
            .is_some_and(|f| f.contains("ABS_RX1_20261102_000009.csv"))
    );
}

/// Hostile workbooks (made by scripts/make-workbook-bombs.py) are refused in plain words, or
/// read within bounds, never an abort: a cell at XFD1048576, a sheet of whitespace, one huge
/// cell, more cells than the limit, an ODS of repeated rows.
#[test]
fn workbook_bombs_are_refused_in_plain_words_and_never_abort() {
    let dir = tempfile::tempdir().expect("tmp");
    let made = std::process::Command::new("python3")
        .arg(root().join("scripts/make-workbook-bombs.py"))
        .arg(dir.path())
        .status()
        .expect("python3 runs");
    assert!(made.success());
    let db = dir.path().join("s.sqlite");
    let dbs = db.display().to_string();
    let o = run(&["settings", "workbook.max-cells", "50000", "--db", &dbs]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    for (file, said) in [
        // Two cells, far apart: read at once (the columns are not the layout's).
        ("far-cell.xlsx", "no column for"),
        ("whitespace.xlsx", "holds a run of more than 4 MiB"),
        ("big-cell.xlsx", "xl/sharedStrings.xml holds a run"),
        ("many-rows.xlsx", "more than 50000 cells"),
        ("repeated.ods", "spread it over 17179869184 cells"),
    ] {
        let f = dir.path().join(file).display().to_string();
        for cmd in ["validate", "import"] {
            let start = std::time::Instant::now();
            let o = run(&[cmd, &f, "--interface", "absences", "--db", &dbs]);
            assert_eq!(code(&o), Some(2), "{cmd} {file}: {}", stderr(&o));
            assert!(stderr(&o).contains(said), "{cmd} {file}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{cmd} {file}");
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "{cmd} {file} took {:?}",
                start.elapsed()
            );
        }
    }
    // The many rows are read when the limit allows them.
    let o = run(&["settings", "workbook.max-cells", "200000", "--db", &dbs]);
    assert_eq!(code(&o), Some(0));
    let f = dir.path().join("many-rows.xlsx").display().to_string();
    let o = run(&["validate", &f, "--interface", "absences", "--db", &dbs]);
    assert!(stderr(&o).contains("no column for"), "{}", stderr(&o));
}

/// Found by the workbook fuzz target: an OLE container whose sector table is cut short (it
/// tripped an assertion inside the .xls reader), and one of 6 KB whose chain of sectors loops
/// (the reader followed it until it was killed at 24 GB). Each is called damaged in words,
/// with exit 2, at once, and no panic text reaches the officer.
#[test]
fn a_workbook_that_trips_its_reader_is_called_damaged_without_panic_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite").display().to_string();
    for (name, cmd) in [
        ("damaged-ole.xls", "validate"),
        ("damaged-ole.xls", "import"),
        ("looping-ole.xls", "validate"),
        ("looping-ole.xls", "import"),
    ] {
        let f = root().join("tests/fixtures").join(name);
        let f = f.display().to_string();
        let o = run(&[cmd, &f, "--interface", "absences", "--db", &db]);
        assert_eq!(code(&o), Some(2), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is not a readable workbook (the file is damaged"),
            "{cmd}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{cmd}: {}", stderr(&o));
    }
}

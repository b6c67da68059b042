//! Files written by hand in the shape of the public record (tests/fixtures/esr-public: the
//! lines of esr_api's and Storybook's test data, with synthetic values): a change file of
//! every record type, a full extract named GOF, a file of defects, the expenses feed and the
//! claims file into ESR. Their verdicts are asserted exactly, and they pass through the store
//! as received.

use crate::support::*;
use esr_desk::layout::LayoutSet;
use esr_desk::store::{ImportOptions, Store};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/esr-public").join(name)
}

const CHANGES: &str = "GO_999_GDW_GOC_20250416_00000102.DAT";
const FULL: &str = "GO_999_GDW_GOF_20250415_00000101.DAT";
const DEFECTS: &str = "GO_999_GDW_GOC_20250417_00000103.DAT";
const EXPENSES: &str = "GO_999_EXP_GOC_20250416_00000051.DAT";
const CLAIMS: &str = "TA_999_SEL_MN2601_00000001.DAT";

/// (line, rule, severity) of every issue a report lists.
fn verdict(rep: &serde_json::Value) -> Vec<(u64, String, String)> {
    rep["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().expect("line"),
                i["rule"].as_str().expect("rule").to_string(),
                i["severity"].as_str().expect("severity").to_string(),
            )
        })
        .collect()
}

#[test]
fn files_in_the_public_shape_get_the_verdict_the_record_gives() {
    // Recognised by their names alone, and clean: no issue at all.
    for (file, interface) in [
        (CHANGES, "local-data-warehouse"),
        (FULL, "local-data-warehouse"),
        (EXPENSES, "expenses-staff-lists"),
        (CLAIMS, "expenses-expense-claims"),
    ] {
        let o = run(&["validate", fixture(file).to_str().expect("p"), "--json"]);
        let rep = report(&o);
        assert_eq!(code(&o), Some(0), "{file}: {rep}");
        assert_eq!(rep["interface"], interface, "{file}");
        assert_eq!(verdict(&rep), vec![], "{file}");
    }
    // The change file has an assignment of 50 fields, as ESR wrote them before October 2020.
    let rep = report(&run(&[
        "validate",
        fixture(CHANGES).to_str().expect("p"),
        "--json",
    ]));
    assert_eq!(rep["records"], 40);
    assert!(
        rep["read_as"]
            .as_str()
            .is_some_and(|r| r.contains("ESR before October 2020")),
        "{rep}"
    );
    // Each defect once, on its own line; tolerated additions are warnings.
    let o = run(&["validate", fixture(DEFECTS).to_str().expect("p"), "--json"]);
    assert_eq!(code(&o), Some(1));
    let want: Vec<(u64, &str, &str)> = vec![
        (3, "overlap-error", "error"),
        (5, "unique-error", "error"),
        (6, "order-error", "error"),
        (7, "type-error", "error"),
        (8, "missing-cell", "error"),
        (9, "extra-cell", "warning"),
        (10, "extra-cell", "error"),
        (11, "unknown-record-type", "warning"),
        (12, "extra-cell", "error"),
        (13, "trailer-count", "error"),
    ];
    let want: Vec<(u64, String, String)> = want
        .into_iter()
        .map(|(l, r, s)| (l, r.to_string(), s.to_string()))
        .collect();
    let rep = report(&o);
    assert_eq!(verdict(&rep), want, "{rep}");
    assert_eq!(rep["rejected_records"], 7);
    let messages: Vec<&str> = rep["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["message"].as_str().expect("message"))
        .collect();
    assert!(
        messages[0].contains("overlaps the row at line 2"),
        "{messages:?}"
    );
    assert!(messages[1].contains("the same period"), "{messages:?}");
    assert!(messages[9].contains("13"), "{messages:?}");
}

/// Imports a file into a new store and exports it again into `out`.
fn round_trip(dir: &Path, file: &Path, out: &Path) -> (String, i64) {
    let db = dir.join("s.sqlite").display().to_string();
    let o = run(&["import", file.to_str().expect("p"), "--db", &db, "--force"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let batch = String::from_utf8_lossy(&o.stdout)
        .trim()
        .lines()
        .next()
        .expect("id")
        .to_string();
    let o = run(&[
        "export",
        &batch,
        "--out",
        out.to_str().expect("p"),
        "--db",
        &db,
        "--overwrite",
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    (db, batch.parse().expect("number"))
}

#[test]
fn esr_s_own_files_are_passed_on_byte_for_byte_and_an_edit_changes_only_its_value() {
    let dir = tempfile::tempdir().expect("tmp");
    for file in [CHANGES, FULL, EXPENSES] {
        let out = dir.path().join(format!("out-{file}"));
        let (db, batch) = round_trip(dir.path(), &fixture(file), &out);
        // The same name (ESR's: no number of ours), the same bytes: ESR's header, the spare
        // and unread fields, the accented ISO-8859-1 name, the LOV lines, the final line feed.
        let sent = std::fs::read(out.join(file)).expect("exported under its own name");
        assert_eq!(
            sent,
            std::fs::read(fixture(file)).expect("source"),
            "{file}"
        );
        assert_eq!(std::fs::read_dir(&out).expect("dir").count(), 1);
        // An edit changes that value and nothing else.
        let o = run(&[
            "edit",
            &batch.to_string(),
            "--line",
            "5",
            "--field",
            "Last Name",
            "--value",
            "Corrected",
            "--db",
            &db,
        ]);
        assert_eq!(code(&o), Some(0), "{file}: {}", stderr(&o));
        let o = run(&[
            "export",
            &batch.to_string(),
            "--out",
            out.to_str().expect("p"),
            "--db",
            &db,
            "--overwrite",
        ]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
        let after = std::fs::read(out.join(file)).expect("exported");
        let before = std::fs::read(fixture(file)).expect("source");
        let (a, b) = (
            String::from_utf8_lossy(&after).into_owned(),
            String::from_utf8_lossy(&before).into_owned(),
        );
        let changed: Vec<(&str, &str)> = a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(changed.len(), 1, "{file}: {changed:?}");
        assert_eq!(
            changed[0].0,
            changed[0].1.replacen("~Testperson~", "~Corrected~", 1),
            "{file}"
        );
    }
}

#[test]
fn a_claims_file_keeps_its_carriage_returns_and_unended_footer_through_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    round_trip(dir.path(), &fixture(CLAIMS), &out);
    let made: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(made.len(), 1);
    let name = made[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    // A file into ESR is the export's own: named by the pattern with the header's period
    // type, run and tax period, and the trust's next run sequence.
    assert!(
        name.starts_with("TA_999_SEL_MN") && name.ends_with("01_00000001.DAT"),
        "{name}"
    );
    let sent = std::fs::read(&made[0]).expect("file");
    let source = std::fs::read(fixture(CLAIMS)).expect("source");
    assert!(
        !sent.contains(&b'\n'),
        "lines end with a carriage return alone"
    );
    assert!(
        sent.ends_with(b"FTR,2,0"),
        "no line ending after the footer"
    );
    // Everything after the header is as received (the names' quotes are written where a
    // value needs them: none of these do).
    let body = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .split('\r')
            .skip(1)
            .map(|l| l.replace('"', ""))
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&sent), body(&source));
    let o = run(&["validate", made[0].to_str().expect("p"), "--json"]);
    assert_eq!(code(&o), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}

fn store_with(dir: &Path, file: &str) -> (Store, i64) {
    let mut store = Store::open(&dir.join("s.sqlite")).expect("open");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("local-data-warehouse").expect("layout");
    let batch = store
        .import(&fixture(file), layout, ImportOptions::default())
        .expect("import")
        .batch_id;
    (store, batch)
}

fn rules_at(store: &Store, batch: i64) -> Vec<(u64, String)> {
    store
        .issues(batch, None, 1000)
        .expect("issues")
        .into_iter()
        .map(|(_, i)| (i.line, i.rule.code().to_string()))
        .collect()
}

#[test]
fn date_tracked_rows_are_judged_across_rows_by_import_and_every_edit() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, batch) = store_with(dir.path(), DEFECTS);
    let issues = rules_at(&store, batch);
    assert!(issues.contains(&(3, "overlap-error".into())), "{issues:?}");
    assert!(issues.contains(&(5, "unique-error".into())), "{issues:?}");
    assert!(issues.contains(&(6, "order-error".into())), "{issues:?}");
    let layout = store.batch_layout(batch).expect("layout");
    let pra = layout.record_index("PRA").expect("PRA");
    let start = layout.records[pra]
        .field_index("Effective Start Date")
        .expect("field");
    let end = layout.records[pra]
        .field_index("Effective End Date")
        .expect("field");
    let seq =
        |store: &Store, line: u64| store.seq_for_line(batch, line).expect("q").expect("record");
    // The later row starts the day after the earlier ends: no overlap.
    let s3 = seq(&store, 3);
    store.set_value(batch, s3, start, "20250401").expect("edit");
    let issues = rules_at(&store, batch);
    assert!(!issues.iter().any(|(l, _)| *l == 3), "{issues:?}");
    // The earlier row made to run on into the later one: the later overlaps again.
    let s2 = seq(&store, 2);
    store.set_value(batch, s2, end, "20250415").expect("edit");
    let issues = rules_at(&store, batch);
    assert!(issues.contains(&(3, "overlap-error".into())), "{issues:?}");
    // An end made earlier than its start, and put right.
    let s6 = seq(&store, 6);
    store.set_value(batch, s6, end, "20250630").expect("edit");
    assert!(!rules_at(&store, batch).iter().any(|(l, _)| *l == 6));
    // Undo brings each back as it was.
    store.undo(batch).expect("undo");
    assert!(rules_at(&store, batch).contains(&(6, "order-error".into())));
    // The store's verdict after the edits is the verdict of a fresh validation of the file the
    // export would write (DESIGN.md principle 7).
    let out = dir.path().join("out");
    let o = esr_desk::export::export_batch(
        &mut store,
        batch,
        &esr_desk::export::ExportOptions {
            out_dir: out.clone(),
            overwrite: true,
            valid_rows_only: true,
            trigger: esr_desk::export::Trigger::Manual,
            now: chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .expect("time"),
            vpd: None,
            seq: None,
            org: None,
        },
    );
    // File-level problems (the trailer's count) wait for an acceptance: the export says so.
    assert!(o.is_err());
    let mut stored: Vec<(u64, String)> = rules_at(&store, batch)
        .into_iter()
        .filter(|(_, r)| r != "trailer-count")
        .collect();
    stored.sort();
    let mut fresh = Vec::new();
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("local-data-warehouse").expect("layout");
    let mut bytes = Vec::new();
    esr_desk::export::write_batch(
        &store,
        batch,
        layout,
        &esr_desk::export::Fill {
            name: DEFECTS.into(),
            now: chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .expect("time"),
            vpd: "999".into(),
            seq: 103,
        },
        esr_desk::export::Rows::HoldBack(&Default::default()),
        Path::new(DEFECTS),
        &mut bytes,
    )
    .expect("write");
    let rep = esr_desk::validate::validate_reader(
        &bytes[..],
        DEFECTS,
        layout,
        &Default::default(),
        Default::default(),
    )
    .expect("validate");
    for i in rep.issues {
        if i.rule.code() != "trailer-count" {
            fresh.push((i.line, i.rule.code().to_string()));
        }
    }
    fresh.sort();
    assert_eq!(stored, fresh);
}

#[test]
fn a_trust_layout_names_its_release_in_the_header() {
    // A trust's layout whose header's version field names the release a file was written
    // by: the whole file is read as that release.
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("v.toml");
    std::fs::write(
        &layout,
        r#"
id = "trust-feed"
name = "Trust feed"
version = "V2"
evidence = "specification"
delimiter = "|"
discriminator = 1
file_name = "TF_{VPD}_{SEQ:4}.txt"
release_field = "Version"

[[release]]
name = "version 1"
header = "V1"
fields = { PER = 3 }

[[record]]
type = "HDR"
role = "header"
name = "Header"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "Version", format = "X(2)", required = true },
]

[[record]]
type = "PER"
name = "Person"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "Person ID", format = "N(8)", required = true },
  { name = "Name", format = "X(20)" },
  { name = "Grade", format = "X(10)", required = true },
]
"#,
    )
    .expect("write");
    let file = dir.path().join("TF_RX1_0001.txt");
    let l = layout.to_str().expect("p");
    // Written as version 1: three fields a person, read as such.
    std::fs::write(&file, "HDR|V1\nPER|1|Ann\nPER|2|Bo\n").expect("write");
    let rep = report(&run(&[
        "validate",
        file.to_str().expect("p"),
        "--layout",
        l,
        "--json",
    ]));
    assert_eq!(verdict(&rep), vec![], "{rep}");
    assert_eq!(rep["read_as"], "version 1");
    // The header says version 2: the same lines lack their grade.
    std::fs::write(&file, "HDR|V2\nPER|1|Ann\nPER|2|Bo\n").expect("write");
    let rep = report(&run(&[
        "validate",
        file.to_str().expect("p"),
        "--layout",
        l,
        "--json",
    ]));
    let rules: Vec<String> = verdict(&rep).into_iter().map(|v| v.1).collect();
    assert_eq!(rules, vec!["missing-cell", "missing-cell"], "{rep}");
}

#[test]
fn the_sequence_watch_follows_the_public_rule() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let set = LayoutSet::bundled().expect("layouts");
    let l = set.get("local-data-warehouse").expect("layout");
    let watch = |name: &str| {
        esr_desk::hub::sequence::observe(&store, l, name, None, None).expect("observe")
    };
    // The first starts the series; full and change files share one sequence.
    assert_eq!(watch("GO_999_GDW_GOF_20250415_00000101.DAT"), None);
    assert_eq!(watch("GO_999_GDW_GOC_20250416_00000102.DAT"), None);
    // The same number again is a re-send: said, but in step.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again = watch("GO_999_GDW_GOC_20250417_00000102.DAT").expect("a finding");
    assert!(esr_desk::hub::sequence::is_resend(&again), "{again}");
    let series = store
        .seen_in_series("local-data-warehouse/999")
        .expect("series");
    let st = esr_desk::hub::sequence::state(Some(l), &series).expect("state");
    assert!(
        !st.out_of_step(),
        "a re-send keeps the series in step: {st:?}"
    );
    // Anything else is out of sequence.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let gap = watch("GO_999_GDW_GOC_20250418_00000104.DAT").expect("a finding");
    assert!(
        gap.contains("00000103 expected") && gap.contains("out of sequence"),
        "{gap}"
    );
    let series = store
        .seen_in_series("local-data-warehouse/999")
        .expect("series");
    let st = esr_desk::hub::sequence::state(Some(l), &series).expect("state");
    assert_eq!(st.missing, vec![103]);
    // A full extract (GDR or GOF) starts the series again.
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(watch("GO_999_GDW_GDR_20250419_00000105.DAT"), None);
    let series = store
        .seen_in_series("local-data-warehouse/999")
        .expect("series");
    let st = esr_desk::hub::sequence::state(Some(l), &series).expect("state");
    assert!(!st.out_of_step(), "{st:?}");
}

//! One verdict: each observation of the "One verdict" issue, on real files through the real
//! binary and a real store. The same bytes get the same exit code from `validate` and
//! `import`; file-level problems reject the batch and block export until accepted; the
//! received trailer is evidence; bytes that could not be read are kept; edits are checked
//! like files; references are explicit; memory stays bounded; and the sharper checks.

use crate::support::*;
use esr_desk::layout::LayoutSet;
use esr_desk::rules::Rule;
use esr_desk::store::{ImportOptions, Store};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// validate's and import's exit codes on one file (each import into a fresh store).
fn codes(dir: &Path, file: &Path, extra: &[&str]) -> (Option<i32>, Option<i32>) {
    let mut v = vec!["validate", s(file)];
    v.extend_from_slice(extra);
    let val = run(&v);
    let db = dir.join(format!(
        "s{}.sqlite",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let mut i = vec!["import", s(file), "--db", s(&db)];
    i.extend_from_slice(extra);
    let imp = run(&i);
    (code(&val), code(&imp))
}

fn lines(p: &Path) -> Vec<Vec<u8>> {
    std::fs::read(p)
        .expect("read")
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.join(&b'\n')
}

/// The truncated pay-variations file of the issue: `sed '10,20d'`.
fn truncated_payvar(dir: &Path) -> PathBuf {
    let mut l = lines(&sample("rostering-pay-variations", false));
    l.drain(9..20);
    write(dir, "RX1_PAYVAR_20261102_00004.txt", &join(&l))
}

#[test]
fn validate_and_import_give_the_same_exit_code_on_every_sample_and_bad_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let abs = sample("absences", false);
    let mut corpus: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for entry in std::fs::read_dir(root().join("sample-data")).expect("samples") {
        for f in std::fs::read_dir(entry.expect("e").path()).expect("dir") {
            let p = f.expect("f").path();
            if !p.to_string_lossy().ends_with(".json") {
                corpus.push((p, Vec::new()));
            }
        }
    }
    // CR-only line endings (the issue's `tr '\n' '\r' | tr -s '\r'`).
    let cr: Vec<u8> = std::fs::read(&abs)
        .expect("read")
        .iter()
        .map(|&b| if b == b'\n' { b'\r' } else { b })
        .collect::<Vec<u8>>()
        .split(|&b| b == b'\r')
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(&b'\r');
    corpus.push((write(d, "ABS_RX1_20261102_000003.csv", &cr), Vec::new()));
    // A wrong column-name row, blank rows, a missing trailer, a truncated file.
    let mut l = lines(&abs);
    l[0] = b"Employee No,Assignment,Surname".to_vec();
    corpus.push((
        write(d, "ABS_RX1_20261102_000004.csv", &join(&l)),
        Vec::new(),
    ));
    let mut l = lines(&abs);
    l.insert(5, Vec::new());
    l.insert(9, b",,,".to_vec());
    corpus.push((
        write(d, "ABS_RX1_20261102_000005.csv", &join(&l)),
        Vec::new(),
    ));
    let mut l = lines(&sample("rostering-pay-variations", false));
    while l.last().is_some_and(|x| x.is_empty()) {
        l.pop();
    }
    l.pop();
    l.push(Vec::new());
    corpus.push((
        write(d, "RX1_PAYVAR_20261102_00005.txt", &join(&l)),
        Vec::new(),
    ));
    corpus.push((truncated_payvar(d), Vec::new()));
    // Empty, binary (with and without NUL), wrong interface, plainly another file.
    corpus.push((write(d, "ABS_RX1_20261102_000006.csv", b""), Vec::new()));
    corpus.push((
        write(
            d,
            "ABS_RX1_20261102_000007.csv",
            b"PK\x03\x04\x14\x06xl/workbook",
        ),
        Vec::new(),
    ));
    corpus.push((
        write(
            d,
            "ABS_RX1_20261102_000008.csv",
            &std::fs::read(sample("rostering-pay-variations", false)).expect("read"),
        ),
        Vec::new(),
    ));
    corpus.push((
        sample("rostering-pay-variations", true),
        vec!["--interface", "absences"],
    ));
    corpus.push((write(d, "fruit.csv", b"apple,pear\n1,2\n"), Vec::new()));
    assert!(corpus.len() > 80);
    for (file, extra) in &corpus {
        let (v, i) = codes(d, file, extra);
        assert_eq!(v, i, "{}: validate {v:?} vs import {i:?}", file.display());
        assert!(v.is_some_and(|c| c <= 2), "{}", file.display());
    }
}

#[test]
fn file_level_problems_reject_the_batch_and_block_every_export() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let db = d.join("s.sqlite");
    let cr: Vec<u8> = std::fs::read(sample("absences", false))
        .expect("read")
        .iter()
        .filter(|&&b| b != b'\r')
        .map(|&b| if b == b'\n' { b'\r' } else { b })
        .collect();
    let file = write(d, "ABS_RX1_20261102_000003.csv", &cr);
    let v = run(&["validate", s(&file), "--json"]);
    assert_eq!(code(&v), Some(1));
    assert!(
        line_rules(&report(&v))
            .iter()
            .any(|(_, r)| r == "line-ending"),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let imp = run(&["import", s(&file), "--db", s(&db)]);
    assert_eq!(code(&imp), Some(1), "{}", stderr(&imp));
    let out = d.join("out");
    for extra in [&[][..], &["--valid-rows-only"][..]] {
        let mut args = vec![
            "export",
            "1",
            "--out",
            s(&out),
            "--db",
            s(&db),
            "--vpd",
            "RX1",
        ];
        args.extend_from_slice(extra);
        let e = run(&args);
        assert_eq!(code(&e), Some(2), "{}", stderr(&e));
        assert!(stderr(&e).contains("file-level problem"), "{}", stderr(&e));
    }
    assert!(
        std::fs::read_dir(&out).map_or(0, |r| r.count()) == 0,
        "no header-only file was written"
    );
    let store = Store::open(&db).expect("open");
    assert_eq!(store.batch(1).expect("b").status, "rejects");
}

#[test]
fn the_received_trailer_is_evidence_until_accepted_and_the_export_says_what_it_recomputed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let db = d.join("s.sqlite");
    let file = truncated_payvar(d);
    let v = report(&run(&["validate", s(&file), "--json"]));
    let rules: Vec<String> = line_rules(&v).into_iter().map(|x| x.1).collect();
    assert!(rules.contains(&"trailer-count".to_string()));
    assert!(rules.contains(&"trailer-total".to_string()));
    assert_eq!(code(&run(&["import", s(&file), "--db", s(&db)])), Some(1));
    let out = d.join("out");
    let e = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&e), Some(2));
    assert!(
        stderr(&e).contains("Record Count") || stderr(&e).contains("says"),
        "{}",
        stderr(&e)
    );
    // A reason is required; an unknown or record-level rule is refused.
    assert_eq!(
        code(&run(&[
            "accept",
            "1",
            "trailer-count",
            "--reason",
            " ",
            "--db",
            s(&db)
        ])),
        Some(2)
    );
    assert_eq!(
        code(&run(&[
            "accept",
            "1",
            "type-error",
            "--reason",
            "x",
            "--db",
            s(&db)
        ])),
        Some(2)
    );
    for rule in ["trailer-count", "trailer-total"] {
        let a = run(&[
            "accept",
            "1",
            rule,
            "--reason",
            "the trailer said 240, the file holds 229; the missing records are intended",
            "--db",
            s(&db),
        ]);
        assert_eq!(code(&a), Some(0), "{}", stderr(&a));
    }
    let e = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&e), Some(0), "{}", stderr(&e));
    let written = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("RX1_PAYVAR"))
        })
        .expect("a file");
    let text = String::from_utf8_lossy(&std::fs::read(&written).expect("read")).into_owned();
    let trl = text.lines().last().expect("trailer");
    assert!(trl.starts_with("TRL|229|"), "{trl}");
    let store = Store::open(&db).expect("open");
    let runs = esr_desk::export::export_runs(&store, Some(1), None).expect("runs");
    let note = runs[0].message.clone().unwrap_or_default();
    assert!(note.contains("received 240, exported 229"), "{note}");
    let accepted = store.acceptances(1).expect("log");
    assert_eq!(accepted.len(), 2);
    assert!(accepted[0].reason.contains("intended"));
}

#[test]
fn a_scheduled_run_holds_a_file_whose_trailer_disagrees_whatever_its_policy() {
    use esr_desk::schedule::{FixedClock, OnRejects, ScheduleSettings, run_due, save_schedule};
    for policy in [OnRejects::Hold, OnRejects::ValidRowsOnly] {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let mut store = Store::open(&d.join("s.sqlite")).expect("open");
        store.set_setting("vpd", "RX1").expect("vpd");
        let set = LayoutSet::bundled().expect("layouts");
        let (inbox, outbox) = (d.join("in"), d.join("out"));
        std::fs::create_dir_all(&inbox).expect("in");
        let made = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .expect("t")
            .with_timezone(&chrono::Utc);
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-10T12:00:00Z")
            .expect("t")
            .with_timezone(&chrono::Utc);
        save_schedule(
            &store,
            &ScheduleSettings {
                interface: "rostering-pay-variations".into(),
                enabled: true,
                cadence: "every 15 min".parse().expect("cadence"),
                inbox: Some(inbox.clone()),
                outbox: Some(outbox.clone()),
                on_rejects: policy,
                check_references: false,
                hub_from: None,
                hub_to: None,
            },
            &FixedClock(made),
        )
        .expect("save");
        let f = truncated_payvar(&inbox);
        backdate(&f, made.into());
        let reports = run_due(&mut store, &set, &FixedClock(now), "t").expect("run");
        assert_eq!(reports[0].outcome, "held", "{}", reports[0].message);
        assert!(
            reports[0].message.contains("file-level problem"),
            "{}",
            reports[0].message
        );
        assert_eq!(std::fs::read_dir(&outbox).map_or(0, |r| r.count()), 0);
    }
}

#[test]
fn an_undecodable_byte_stays_until_its_cell_is_retyped() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let set = LayoutSet::bundled().expect("layouts");
    let b = store
        .import(
            &sample("absences", true),
            set.get("absences").expect("l"),
            ImportOptions::default(),
        )
        .expect("import")
        .batch_id;
    let (seq, issue) = store
        .issues(b, Some(Rule::EncodingError), 1)
        .expect("issues")
        .into_iter()
        .next()
        .expect("an encoding error in the sample");
    let seq = seq.expect("on a record");
    let bad_field = issue.field_index.expect("a field");
    let verdict = |store: &Store| {
        let mut v: Vec<(String, Option<usize>)> = store
            .record_issues(b, seq)
            .expect("i")
            .into_iter()
            .map(|i| (i.rule.code().to_string(), i.field_index))
            .collect();
        v.sort();
        v
    };
    let before = verdict(&store);
    assert!(before.contains(&("encoding-error".into(), Some(bad_field))));
    // An unrelated edit on the same record: the byte is still there, so is its issue.
    let other = if bad_field == 3 { 2 } else { 3 };
    store.set_value(b, seq, other, "Leon").expect("edit");
    let after = verdict(&store);
    assert!(
        after.contains(&("encoding-error".into(), Some(bad_field))),
        "{after:?}"
    );
    assert!(store.record(b, seq).expect("r").rejected);
    store.undo(b).expect("undo");
    assert_eq!(
        verdict(&store),
        before,
        "undo gives the verdict of the same content"
    );
    store.redo(b).expect("redo");
    assert_eq!(verdict(&store), after, "redo too");
    // The export of the valid rows holds it back and writes no U+FFFD.
    store.set_setting("vpd", "RX1").expect("vpd");
    for r in store
        .file_problems(b)
        .expect("p")
        .iter()
        .map(|i| i.rule)
        .collect::<std::collections::BTreeSet<_>>()
    {
        store.accept(b, r, None, "test").expect("accept");
    }
    let out = dir.path().join("out");
    let mut o = esr_desk::export::ExportOptions::new(&out);
    o.valid_rows_only = true;
    let e = esr_desk::export::export_batch(&mut store, b, &o).expect("export");
    assert!(e.held_back.iter().any(|(s, _)| *s == seq));
    let bytes = std::fs::read(&e.path).expect("read");
    assert!(!bytes.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD]));
    // Retyping the cell clears it; undo brings the kept byte (and its issue) back.
    store.set_value(b, seq, bad_field, "Hall").expect("retype");
    assert!(!verdict(&store).iter().any(|(r, _)| r == "encoding-error"));
    store.undo(b).expect("undo");
    assert!(verdict(&store).contains(&("encoding-error".into(), Some(bad_field))));
}

#[test]
fn edits_with_line_breaks_controls_or_a_bare_delimiter_are_refused_in_plain_words() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    run(&["import", s(&sample("absences", false)), "--db", s(&db)]);
    run(&[
        "import",
        s(&sample("rostering-pay-variations", false)),
        "--db",
        s(&db),
    ]);
    for (batch, field, value, said) in [
        ("1", "First Name", "Ann\nMarie", "line break"),
        ("1", "First Name", "Ann\u{1}", "control character"),
        ("2", "Last Name", "Smith|Jones", "separates the fields"),
    ] {
        let e = run(&[
            "edit",
            batch,
            "--line",
            "3",
            "--field",
            field,
            "--value",
            value,
            "--db",
            s(&db),
        ]);
        assert_eq!(code(&e), Some(2), "{value:?}");
        assert!(stderr(&e).contains(said), "{}", stderr(&e));
    }
    let store = Store::open(&db).expect("open");
    assert!(store.edits(1).expect("log").is_empty() && store.edits(2).expect("log").is_empty());
}

#[test]
fn references_are_checked_only_against_what_was_chosen_on_every_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let db = d.join("s.sqlite");
    let abs = sample("absences", false);
    let ldw = sample("local-data-warehouse", false);
    // Nothing chosen: clean, with the unchecked reference said beside the issues.
    let v = run(&["validate", s(&abs), "--json"]);
    assert_eq!(code(&v), Some(0));
    let rep = report(&v);
    assert!(rep["issues"].as_array().expect("a").is_empty());
    assert_eq!(rep["unchecked"][0]["interface"], "local-data-warehouse");
    // A warehouse batch in the store changes nothing for import.
    run(&["import", s(&ldw), "--db", s(&db)]);
    assert_eq!(code(&run(&["import", s(&abs), "--db", s(&db)])), Some(0));
    // Chosen: validate against the file and import against it find the same numbers.
    let v = run(&["validate", s(&abs), "--json", "--against", s(&ldw)]);
    let fk = line_rules(&report(&v))
        .into_iter()
        .filter(|(_, r)| r == "foreign-key")
        .count();
    assert!(fk > 0);
    let i = run(&[
        "import",
        s(&abs),
        "--db",
        s(&db),
        "--force",
        "--against",
        "1",
    ]);
    assert_eq!(code(&i), code(&v));
    let store = Store::open(&db).expect("open");
    let stored = store
        .issues(3, Some(Rule::ForeignKey), 100_000)
        .expect("issues")
        .len();
    assert_eq!(stored, fk);
}

#[test]
fn numbers_rules_and_sums_are_exact() {
    // balance-error is in the rule list, with its title: a ledger file whose trailer's
    // debits and credits differ.
    let dir = tempfile::tempdir().expect("tmp");
    let mut l = lines(&sample("gl-finance-pay-costs", false));
    while l.last().is_some_and(|x| x.is_empty()) {
        l.pop();
    }
    let last = l.len() - 1;
    let mut t: Vec<Vec<u8>> = l[last].split(|&b| b == b'|').map(<[u8]>::to_vec).collect();
    let credits = t.len() - 1;
    t[credits] = b"1.00".to_vec();
    l[last] = t.join(&b'|');
    let f = write(dir.path(), "GL_RX1_PAYCOST_20261102_000003.txt", &join(&l));
    let v = run(&["validate", s(&f)]);
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(
        out.contains("balance-error  (Totals do not balance)"),
        "{out}"
    );
    let rules = String::from_utf8_lossy(&run(&["rules"]).stdout).into_owned();
    assert!(rules.contains("balance-error") && rules.contains("debits and credits"));
    // A sum too large to count is reported, never wrapped.
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("rostering-pay-variations").expect("l");
    let mut t = esr_desk::validate::Totals::new(layout);
    t.add(1, 10, i128::MAX - 5, 1);
    t.add(1, 10, 10, 1);
    assert_eq!(t.sums[1][10], None);
}

#[test]
fn memory_stays_bounded_on_floods_of_issues_and_endless_lines() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let mut bytes = std::fs::read(sample("absences", false)).expect("read");
    bytes.extend(std::iter::repeat_n(b'\n', 30_000));
    let f = write(d, "ABS_RX1_20261102_000009.csv", &bytes);
    let v = run(&["validate", s(&f), "--json"]);
    assert_eq!(code(&v), Some(1));
    let rep = report(&v);
    let listed = rep["issues"]
        .as_array()
        .expect("a")
        .iter()
        .filter(|i| i["rule"] == "blank-row")
        .count() as u64;
    assert_eq!(listed, esr_desk::validate::ISSUE_CAP);
    assert_eq!(
        rep["not_listed"]["blank-row"].as_u64(),
        Some(30_000 - esr_desk::validate::ISSUE_CAP)
    );
    let text = run(&["validate", s(&f)]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("found but not listed"));
    // A 3 MiB line with no line end is one issue, not a 3 MiB record.
    let mut long = std::fs::read(sample("absences", false)).expect("read");
    long.extend(std::iter::repeat_n(b'x', 3 << 20));
    let f = write(d, "ABS_RX1_20261102_000010.csv", &long);
    let rep = report(&run(&["validate", s(&f), "--json"]));
    assert!(line_rules(&rep).iter().any(|(_, r)| r == "line-too-long"));
}

#[test]
fn sharper_checks_catch_what_used_to_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let rules_at = |f: &Path, line: u64| -> Vec<String> {
        line_rules(&report(&run(&["validate", s(f), "--json"])))
            .into_iter()
            .filter(|(l, _)| *l == line)
            .map(|(_, r)| r)
            .collect()
    };
    // Pay variations: Last Name of spaces; a control byte; a bare CR inside a field.
    let mut l = lines(&sample("rostering-pay-variations", false));
    let mut f3: Vec<Vec<u8>> = l[2].split(|&b| b == b'|').map(<[u8]>::to_vec).collect();
    f3[3] = b"   ".to_vec();
    l[2] = f3.join(&b'|');
    let mut f4: Vec<Vec<u8>> = l[3].split(|&b| b == b'|').map(<[u8]>::to_vec).collect();
    f4[3] = b"Smi\x01th".to_vec();
    l[3] = f4.join(&b'|');
    let mut f5: Vec<Vec<u8>> = l[4].split(|&b| b == b'|').map(<[u8]>::to_vec).collect();
    f5[3] = b"Smi\rth".to_vec();
    l[4] = f5.join(&b'|');
    let f = write(d, "RX1_PAYVAR_20261102_00006.txt", &join(&l));
    assert!(rules_at(&f, 3).contains(&"required-error".to_string()));
    assert!(rules_at(&f, 4).contains(&"control-character".to_string()));
    assert!(rules_at(&f, 5).contains(&"control-character".to_string()));
    // Absences (quoted CSV): a quote inside an unquoted field.
    let mut l = lines(&sample("absences", false));
    let mut f2: Vec<Vec<u8>> = l[1].split(|&b| b == b',').map(<[u8]>::to_vec).collect();
    f2[2] = b" \"Smith\"".to_vec();
    l[1] = f2.join(&b',');
    let f = write(d, "ABS_RX1_20261102_000011.csv", &join(&l));
    assert!(rules_at(&f, 2).contains(&"broken-quote".to_string()));
    // Local Data Warehouse (ISO-8859-1): 0x85 is a control code there.
    let mut l = lines(&sample("local-data-warehouse", false));
    let at = l[1].iter().position(|&b| b == b'~').expect("a field") + 2;
    l[1].insert(at, 0x85);
    let f = write(d, "GO_RX1_GDW_GDR_20261102_00000003.DAT", &join(&l));
    assert!(rules_at(&f, 2).contains(&"control-character".to_string()));
    // With a UTF-8 byte order mark, every line holding UTF-8 text is named.
    let mut l = lines(&sample("local-data-warehouse", false));
    l[0].splice(0..0, [0xEF, 0xBB, 0xBF]);
    let at = l[2].iter().position(|&b| b == b'~').expect("a field") + 3;
    l[2].splice(at..at, "é".bytes());
    let at = l[4].iter().position(|&b| b == b'~').expect("a field") + 3;
    l[4].splice(at..at, "é".bytes());
    let f = write(d, "GO_RX1_GDW_GDR_20261102_00000004.DAT", &join(&l));
    let warned: Vec<u64> = line_rules(&report(&run(&["validate", s(&f), "--json"])))
        .into_iter()
        .filter(|(_, r)| r == "encoding-mismatch")
        .map(|(l, _)| l)
        .collect();
    assert!(warned.contains(&3) && warned.contains(&5), "{warned:?}");
    // Binary with no NUL, and content plainly another interface's under a matching name.
    let f = write(
        d,
        "ABS_RX1_20261102_000012.csv",
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n",
    );
    let o = run(&["validate", s(&f)]);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("not a text file"), "{}", stderr(&o));
    let f = write(
        d,
        "ABS_RX1_20261102_000013.csv",
        &std::fs::read(sample("rostering-pay-variations", false)).expect("read"),
    );
    let o = run(&["validate", s(&f)]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("choose the interface"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_schedule_checks_references_only_when_its_settings_say_so() {
    use esr_desk::schedule::{FixedClock, OnRejects, ScheduleSettings, run_due, save_schedule};
    let made = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-10T12:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    let mut foreign = Vec::new();
    for check in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let mut store = Store::open(&d.join("s.sqlite")).expect("open");
        let set = LayoutSet::bundled().expect("layouts");
        store
            .import(
                &sample("local-data-warehouse", false),
                set.get("local-data-warehouse").expect("l"),
                ImportOptions::default(),
            )
            .expect("warehouse");
        let inbox = d.join("in");
        std::fs::create_dir_all(&inbox).expect("in");
        save_schedule(
            &store,
            &ScheduleSettings {
                interface: "absences".into(),
                enabled: true,
                cadence: "every 15 min".parse().expect("cadence"),
                inbox: Some(inbox.clone()),
                outbox: None,
                on_rejects: OnRejects::Hold,
                check_references: check,
                hub_from: None,
                hub_to: None,
            },
            &FixedClock(made),
        )
        .expect("save");
        let to = inbox.join("ABS_RX1_20261102_000001.csv");
        std::fs::copy(sample("absences", false), &to).expect("copy");
        backdate(&to, made.into());
        let reports = run_due(&mut store, &set, &FixedClock(now), "t").expect("run");
        let b = store.latest_batch("absences").expect("q").expect("a batch");
        let info = store.batch(b).expect("batch");
        if check {
            assert!(info.reference.is_some_and(|r| r.contains("batch 1")));
        } else {
            assert!(info.reference.is_none());
            assert!(
                reports[0].message.contains("was not checked"),
                "{}",
                reports[0].message
            );
        }
        foreign.push(
            store
                .issues(b, Some(Rule::ForeignKey), 100_000)
                .expect("issues")
                .len(),
        );
    }
    assert_eq!(foreign[0], 0, "unchecked: no foreign-key issue");
    assert!(foreign[1] > 0, "checked against the warehouse batch");
}

//! The SQLite store against real files in temporary folders: import, pages, edits, undo/redo,
//! exclusions, references, migrations and crash safety.

use esr_desk::rules::Rule;

use crate::support::*;
use esr_desk::layout::LayoutSet;
use esr_desk::store::edit::Change;
use esr_desk::store::{ImportOptions, PageFilter, Store, StoreError};
use std::path::{Path, PathBuf};

fn layouts() -> LayoutSet {
    LayoutSet::bundled().expect("layouts")
}

fn import(store: &mut Store, id: &str, defects: bool) -> i64 {
    let set = layouts();
    let layout = set.get(id).expect("layout");
    store
        .import(&sample(id, defects), layout, ImportOptions::default())
        .expect("import")
        .batch_id
}

fn seq_at(store: &Store, batch: i64, line: u64) -> u32 {
    store
        .seq_for_line(batch, line)
        .expect("query")
        .expect("a record at that line")
}

fn field_of(store: &mut Store, batch: i64, seq: u32, name: &str) -> usize {
    let layout = store.batch_layout(batch).expect("layout");
    let rec = store.record(batch, seq).expect("record");
    let ri = match layout.discriminator {
        None => 0,
        Some(_) => layout
            .record_index(rec.record_type.as_deref().expect("type"))
            .expect("known"),
    };
    layout.records[ri].field_index(name).expect("field")
}

#[test]
fn import_stores_what_validate_reports() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    assert_eq!(
        store.schema_version().expect("v"),
        esr_desk::store::schema::VERSION
    );
    let file = sample("rostering-pay-variations", true);
    let rep = report(&run(&["validate", file.to_str().expect("p"), "--json"]));
    let b = import(&mut store, "rostering-pay-variations", true);
    let info = store.batch(b).expect("batch");
    assert_eq!(info.records, rep["records"].as_u64().expect("n"));
    assert_eq!(info.rejected, rep["rejected_records"].as_u64().expect("n"));
    assert_eq!(info.status, "rejects");
    assert_eq!(info.interface, "rostering-pay-variations");
    assert_eq!(info.sha256.len(), 64);
    // Issues by rule match the report (plus the one reference warning the store adds).
    let mut from_store: Vec<(String, u64)> = store
        .issues_by_rule(b)
        .expect("by rule")
        .into_iter()
        .map(|(r, _, n)| (r.code().to_string(), n))
        .filter(|(r, _)| r != "reference-unchecked")
        .collect();
    from_store.sort();
    let mut from_report: Vec<(String, u64)> = esr_desk::validate::count_by_rule(
        &serde_json::from_value::<esr_desk::validate::Report>(rep.clone())
            .expect("report")
            .issues,
    )
    .into_iter()
    .map(|(r, n)| (r.code().to_string(), n))
    .collect();
    from_report.sort();
    assert_eq!(from_store, from_report);
    // Pages: any offset, filters.
    let all = store.count(b, &PageFilter::default()).expect("count");
    let page = store
        .page(b, 100, 10, &PageFilter::default())
        .expect("page");
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].seq, 100);
    assert!(page.windows(2).all(|w| w[0].line < w[1].line));
    let last = store
        .page(b, all - 3, 10, &PageFilter::default())
        .expect("page");
    assert_eq!(last.len(), 3);
    assert_eq!(last[2].record_type.as_deref(), Some("TRL"));
    let rejected = store
        .page(
            b,
            0,
            1000,
            &PageFilter {
                rejected_only: true,
                record_type: None,
            },
        )
        .expect("page");
    assert_eq!(rejected.len() as u64, info.rejected);
    assert!(rejected.iter().all(|r| r.rejected));
    let dtl = PageFilter {
        rejected_only: false,
        record_type: Some("DTL".into()),
    };
    let n_dtl = store.count(b, &dtl).expect("count");
    let dtl_page = store.page(b, n_dtl - 5, 100, &dtl).expect("page");
    assert_eq!(dtl_page.len(), 5);
    assert!(
        dtl_page
            .iter()
            .all(|r| r.record_type.as_deref() == Some("DTL"))
    );
    // The same file again is refused unless forced.
    let set = layouts();
    let again = store.import(
        &file,
        set.get("rostering-pay-variations").expect("l"),
        ImportOptions::default(),
    );
    assert!(matches!(again, Err(StoreError::Duplicate { existing, .. }) if existing == b));
    assert_eq!(
        store.batches(None).expect("list").len(),
        1,
        "a refused import leaves nothing"
    );
    let forced = store
        .import(
            &file,
            set.get("rostering-pay-variations").expect("l"),
            ImportOptions {
                force: true,
                ..Default::default()
            },
        )
        .expect("forced");
    assert_ne!(forced.batch_id, b);
}

#[cfg(unix)]
#[test]
fn the_store_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("sub/folder/s.sqlite");
    Store::open(&p).expect("open");
    assert_eq!(
        std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn an_edit_fixes_a_cell_and_undo_and_redo_are_logged_entries() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let b = import(&mut store, "rostering-pay-variations", true);
    let before = store.batch(b).expect("b").rejected;
    // Find a type-error and fix it.
    let (seq, issue) = store
        .issues(b, Some(Rule::from_code("type-error").expect("rule")), 1)
        .expect("issues")
        .into_iter()
        .next()
        .expect("a type error");
    let seq = seq.expect("on a record");
    let fi = issue.field_index.expect("field");
    let rec = store.record(b, seq).expect("rec");
    let bad = rec.fields[fi].clone();
    let good = if issue.field.as_deref().is_some_and(|f| f.contains("Date")) {
        "20260105".to_string()
    } else {
        "12.50".to_string()
    };
    let out = store.set_value(b, seq, fi, &good).expect("edit");
    assert_eq!(out.rejected_records, before - 1);
    assert!(
        store
            .record_issues(b, seq)
            .expect("issues")
            .iter()
            .all(|i| i.rule != "type-error")
    );
    assert!(!store.record(b, seq).expect("rec").rejected);
    assert_eq!(store.record(b, seq).expect("rec").fields[fi], good);
    // Undo brings the bad value and its issue back; redo fixes it again.
    store.undo(b).expect("undo").expect("something to undo");
    assert_eq!(store.record(b, seq).expect("rec").fields[fi], bad);
    assert_eq!(store.batch(b).expect("b").rejected, before);
    assert!(
        store
            .record_issues(b, seq)
            .expect("i")
            .iter()
            .any(|i| i.rule == "type-error")
    );
    store.redo(b).expect("redo").expect("something to redo");
    assert_eq!(store.record(b, seq).expect("rec").fields[fi], good);
    assert_eq!(store.batch(b).expect("b").rejected, before - 1);
    assert!(
        store.redo(b).expect("redo").is_none(),
        "nothing left to redo"
    );
    let log = store.edits(b).expect("log");
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["set", "undo", "redo"]);
    assert_eq!(log[0].old_value.as_deref(), Some(bad.as_str()));
    assert_eq!(log[0].new_value.as_deref(), Some(good.as_str()));
    assert_eq!(log[1].undoes, Some(log[0].id));
    assert!(!log[0].who.is_empty() && log[0].at.contains('T'));
    // A new edit after an undo clears the redo stack.
    store.undo(b).expect("undo");
    store.set_value(b, seq, fi, &good).expect("edit");
    assert!(store.redo_target(b).expect("t").is_none());
    // The log cannot be rewritten.
    assert!(
        store
            .conn()
            .execute("UPDATE edit SET new_value = 'x'", [])
            .is_err()
    );
    assert!(store.conn().execute("DELETE FROM edit", []).is_err());
    // Reopening finds every edit.
    drop(store);
    let store = Store::open(&dir.path().join("s.sqlite")).expect("reopen");
    assert_eq!(store.edits(b).expect("log").len(), 5);
    assert_eq!(store.integrity_check().expect("check"), "ok");
}

#[test]
fn unique_keys_are_rejudged_after_an_edit() {
    unique_keys_case(false);
}

#[test]
fn a_batch_from_before_the_key_index_builds_it_on_its_first_edit() {
    unique_keys_case(true);
}

fn unique_keys_case(from_older_version: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let b = import(&mut store, "rostering-pay-variations", true);
    let kept: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM record_key WHERE batch_id = ?1",
            [b],
            |r| r.get(0),
        )
        .expect("count");
    assert!(kept > 0, "the import keeps the keys");
    if from_older_version {
        store
            .conn()
            .execute("DELETE FROM record_key", [])
            .expect("wipe");
        store
            .conn()
            .execute("UPDATE batch SET keys_indexed = 0", [])
            .expect("mark");
    }
    let (seq, issue) = store
        .issues(b, Some(Rule::from_code("unique-error").expect("rule")), 1)
        .expect("issues")
        .into_iter()
        .next()
        .expect("a duplicate");
    let seq = seq.expect("record");
    let fi = issue.field_index.expect("field");
    store.set_value(b, seq, fi, "RST7777777").expect("edit");
    assert!(
        store
            .record_issues(b, seq)
            .expect("i")
            .iter()
            .all(|i| i.rule != "unique-error")
    );
    // Copy that new reference onto a later clean record: the later one is now the duplicate.
    let later = store
        .page(b, u64::from(seq) + 5, 50, &PageFilter::default())
        .expect("page")
        .into_iter()
        .find(|r| !r.rejected && r.record_type.as_deref() == Some("DTL"))
        .expect("clean later record");
    store
        .set_value(b, later.seq, fi, "RST7777777")
        .expect("edit");
    let dup = store.record_issues(b, later.seq).expect("i");
    assert!(
        dup.iter().any(
            |i| i.rule == "unique-error" && i.message.contains(&format!("line {}", issue.line))
        ),
        "{dup:?}"
    );
    assert!(
        store
            .record_issues(b, seq)
            .expect("i")
            .iter()
            .all(|i| i.rule != "unique-error"),
        "the first occurrence stays clean"
    );
    // Undo the second edit: no duplicate any more.
    store.undo(b).expect("undo");
    assert!(
        store
            .record_issues(b, later.seq)
            .expect("i")
            .iter()
            .all(|i| i.rule != "unique-error")
    );
    // The kept keys are those the records hold now (one row per key per kept record).
    let now: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM record_key WHERE batch_id = ?1",
            [b],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(now, kept);
}

#[test]
fn excluding_a_rejected_record_takes_it_out_of_the_count_and_is_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let b = import(&mut store, "absences", true);
    let before = store.batch(b).expect("b").rejected;
    let bad = store
        .page(
            b,
            0,
            1,
            &PageFilter {
                rejected_only: true,
                record_type: None,
            },
        )
        .expect("page")[0]
        .seq;
    let out = store
        .exclude(b, &[bad], "Duplicate of a manual entry")
        .expect("exclude");
    assert_eq!(out.rejected_records, before - 1);
    let rec = store.record(b, bad).expect("rec");
    assert!(rec.excluded);
    assert_eq!(
        rec.exclude_reason.as_deref(),
        Some("Duplicate of a manual entry")
    );
    store.include(b, &[bad]).expect("include");
    assert_eq!(store.batch(b).expect("b").rejected, before);
    store.undo(b).expect("undo include");
    assert!(store.record(b, bad).expect("rec").excluded);
    let kinds: Vec<String> = store
        .edits(b)
        .expect("log")
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(kinds, vec!["exclude", "include", "undo"]);
    // A bulk change is one undo step.
    let rows: Vec<u32> = store
        .page(b, 10, 3, &PageFilter::default())
        .expect("p")
        .iter()
        .map(|r| r.seq)
        .collect();
    let fi = field_of(&mut store, b, rows[0], "Last Name");
    store
        .apply(
            b,
            rows.iter()
                .map(|&seq| Change::Set {
                    seq,
                    field: fi,
                    value: "Bulk".into(),
                })
                .collect(),
        )
        .expect("bulk");
    assert!(
        rows.iter()
            .all(|&s| store.record(b, s).expect("r").fields[fi] == "Bulk")
    );
    store.undo(b).expect("undo bulk");
    assert!(
        rows.iter()
            .all(|&s| store.record(b, s).expect("r").fields[fi] != "Bulk")
    );
}

#[test]
fn references_are_checked_against_the_batch_the_officer_chose() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let set = layouts();
    let abs = set.get("absences").expect("l");
    // Nothing chosen: the rule is reported as unchecked beside the issues, not as one.
    let out = store
        .import(&sample("absences", false), abs, ImportOptions::default())
        .expect("import");
    let a1 = out.batch_id;
    assert!(store.issues_by_rule(a1).expect("rules").is_empty());
    assert_eq!(out.unchecked.len(), 1);
    assert_eq!(out.unchecked[0].interface, "local-data-warehouse");
    assert_eq!(store.batch(a1).expect("b").status, "clean");
    assert_eq!(store.batch(a1).expect("b").reference, None);
    // A warehouse batch in the store changes nothing until it is chosen: the same bytes get
    // the same verdict on every path.
    let ldw = import(&mut store, "local-data-warehouse", false);
    let again = store
        .import(
            &sample("absences", false),
            abs,
            ImportOptions {
                force: true,
                ..Default::default()
            },
        )
        .expect("import");
    assert_eq!(again.status, "clean");
    assert!(store.issues_by_rule(again.batch_id).expect("r").is_empty());
    let ldw_layout = store.batch_layout(ldw).expect("layout");
    let number = ldw_layout.records[ldw_layout.record_index("ASA").expect("ASA")]
        .field_index("Assignment Number")
        .expect("field");
    let known: std::collections::HashSet<String> = store
        .page(
            ldw,
            0,
            100_000,
            &PageFilter {
                rejected_only: false,
                record_type: Some("ASA".into()),
            },
        )
        .expect("page")
        .into_iter()
        .map(|r| r.fields[number].clone())
        .collect();
    let a2 = store
        .import(
            &sample("absences", false),
            abs,
            ImportOptions {
                force: true,
                against: vec![ldw],
                ..Default::default()
            },
        )
        .expect("import")
        .batch_id;
    assert!(
        store
            .batch(a2)
            .expect("b")
            .reference
            .is_some_and(|r| r.contains(&format!("batch {ldw}")))
    );
    let records = store
        .page(a2, 0, 100_000, &PageFilter::default())
        .expect("page");
    let missing: Vec<u32> = records
        .iter()
        .filter(|r| !known.contains(&r.fields[1]))
        .map(|r| r.seq)
        .collect();
    let flagged: Vec<u32> = store
        .issues(
            a2,
            Some(Rule::from_code("foreign-key").expect("rule")),
            100_000,
        )
        .expect("issues")
        .into_iter()
        .filter_map(|(s, _)| s)
        .collect();
    assert!(
        !missing.is_empty() && missing.len() < records.len(),
        "some numbers are known, some not"
    );
    assert_eq!(flagged, missing);
    // The older batch is checked again on request, against the batch chosen now.
    let rejected = store.recheck_references(a1, &[ldw]).expect("recheck");
    assert_eq!(rejected as usize, missing.len());
    assert_eq!(store.batch(a1).expect("b").status, "rejects");
    // Fixing one to a known number clears it.
    let known_one = known.iter().next().expect("a known number").clone();
    store
        .set_value(a2, missing[0], 1, &known_one)
        .expect("edit");
    assert!(
        store
            .record_issues(a2, missing[0])
            .expect("i")
            .iter()
            .all(|i| i.rule != "foreign-key")
    );
}

#[test]
fn migrations_upgrade_an_older_store_and_refuse_a_newer_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("old.sqlite");
    {
        // A version 5 store holding a batch imported the old way: a trailer-count issue on
        // the trailer record made the record "rejected", and file-level problems left the
        // batch "clean".
        let old = Store::open_at_version(&p, 5).expect("v5");
        assert_eq!(old.schema_version().expect("v"), 5);
        old.conn()
            .execute_batch(
                "INSERT INTO layout VALUES ('x', 'absences', '1', '');
                 INSERT INTO batch(id, interface, layout_id, layout_version, layout_sha256, source_name, source_path, source_sha256, source_bytes, imported_at, imported_by, record_count, rejected_count, issue_count, status)
                   VALUES (1, 'absences', 'absences', '1', 'x', 'a.csv', '/a.csv', 'h', 1, 't', 'me', 2, 1, 2, 'clean');
                 INSERT INTO record(batch_id, seq, line, record_type, type_seq, fields, rejected) VALUES (1, 0, 2, 'ABS', 0, 'a', 0);
                 INSERT INTO record(batch_id, seq, line, record_type, type_seq, fields, rejected) VALUES (1, 1, 3, 'TRL', 0, '9', 1);
                 INSERT INTO issue(batch_id, seq, line, record_type, field, field_index, rule, severity, message) VALUES (1, 1, 3, 'TRL', 'Count', 0, 'trailer-count', 'error', 'says 9');
                 INSERT INTO issue(batch_id, seq, line, record_type, field, field_index, rule, severity, message) VALUES (1, NULL, 4, NULL, NULL, NULL, 'blank-row', 'error', 'blank');",
            )
            .expect("old rows");
        assert!(
            old.setting("vpd").is_ok(),
            "version 5 has the settings table"
        );
    }
    let store = Store::open(&p).expect("upgrade");
    assert_eq!(
        store.schema_version().expect("v"),
        esr_desk::store::schema::VERSION
    );
    let b = store.batch(1).expect("data kept");
    assert_eq!(
        b.status, "rejects",
        "file-level errors now reject the batch"
    );
    assert_eq!(b.file_errors, 2);
    assert_eq!(b.rejected, 0, "and no longer reject a record");
    assert!(!store.record(1, 1).expect("trailer").rejected);
    store.set_setting("vpd", "RX1").expect("set");
    assert_eq!(store.setting("vpd").expect("get").as_deref(), Some("RX1"));
    drop(store);
    // Two processes opening a new store at once both succeed.
    let fresh = dir.path().join("new").join("s.sqlite");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let f = fresh.clone();
            std::thread::spawn(move || Store::open(&f).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("open a new store at once");
    }
    // A store from the future is refused and left untouched.
    let conn = rusqlite::Connection::open(&p).expect("conn");
    conn.pragma_update(None, "user_version", 99).expect("set");
    drop(conn);
    let before = std::fs::read(&p).expect("read");
    let err = Store::open(&p).err().expect("refused");
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }));
    assert!(err.to_string().contains("newer version"));
    assert_eq!(std::fs::read(&p).expect("read"), before);
}

fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(unix)]
#[test]
fn a_killed_import_leaves_no_batch_and_the_store_sound() {
    let dir = tempfile::tempdir().expect("tmp");
    let big = dir.path().join("ABS_RX1_20261102_000077.csv");
    let out = run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "60000",
        "--seed",
        "5",
        "--out",
        big.to_str().expect("p"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let db = dir.path().join("s.sqlite");
    Store::open(&db).expect("create");
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let mut child = std::process::Command::new(bin())
        .args([
            "import",
            big.to_str().expect("p"),
            "--db",
            db.to_str().expect("db"),
        ])
        .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill it once it is writing records.
    wait_for(
        || {
            std::fs::metadata(&wal)
                .map(|m| m.len() > 512 * 1024)
                .unwrap_or(false)
        },
        "the import to write",
    );
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(
        status.code().is_none(),
        "the import was killed, not finished"
    );
    let mut store = Store::open(&db).expect("reopen");
    assert_eq!(store.integrity_check().expect("check"), "ok");
    assert!(
        store.batches(None).expect("b").is_empty(),
        "no partial batch is visible"
    );
    let n: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM record", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0, "no records of the killed import remain");
    let set = layouts();
    let done = store
        .import(
            &big,
            set.get("absences").expect("l"),
            ImportOptions::default(),
        )
        .expect("the same import succeeds");
    assert_eq!(done.records, 60_000);
}

#[cfg(unix)]
#[test]
fn an_edit_written_just_before_a_kill_is_kept() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    let b = {
        let mut store = Store::open(&db).expect("open");
        import(&mut store, "absences", true)
    };
    let mut child = std::process::Command::new(bin())
        .args([
            "edit",
            &b.to_string(),
            "--stdin",
            "--db",
            db.to_str().expect("db"),
        ])
        .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let line_no = {
        let store = Store::open(&db).expect("open");
        store.page(b, 3, 1, &PageFilter::default()).expect("page")[0].line
    };
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{line_no}\tLast Name\tKilled-After-Save").expect("write");
    stdin.flush().expect("flush");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ack");
    assert_eq!(line.trim(), "saved 1");
    child.kill().expect("SIGKILL while it waits for more");
    child.wait().expect("wait");
    drop(stdin);
    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.integrity_check().expect("check"), "ok");
    let seq = seq_at(&store, b, line_no);
    assert!(
        store
            .record(b, seq)
            .expect("rec")
            .fields
            .contains(&"Killed-After-Save".to_string())
    );
    assert_eq!(store.edits(b).expect("log").len(), 1);
}

#[test]
fn import_on_the_command_line_prints_the_batch_id_and_exit_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("cli.sqlite");
    let db_s = db.to_str().expect("db");
    let clean = sample("professional-registrations-nmc", false);
    let out = run(&["import", clean.to_str().expect("p"), "--db", db_s]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let bad = sample("professional-registrations-nmc", true);
    let out = run(&["import", bad.to_str().expect("p"), "--db", db_s]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    let again = run(&["import", bad.to_str().expect("p"), "--db", db_s]);
    assert_eq!(code(&again), Some(2));
    assert!(
        stderr(&again).contains("already imported as batch 2"),
        "{}",
        stderr(&again)
    );
    // ESR_DESK_DB is honoured when --db is absent.
    let env_db = dir.path().join("env.sqlite");
    let out = std::process::Command::new(bin())
        .args(["import", clean.to_str().expect("p")])
        .env("ESR_DESK_DB", &env_db)
        .env("ESR_DESK_LAYOUTS", dir.path())
        .output()
        .expect("run");
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(Path::new(&env_db).exists());
}

//! Nothing lost (progress on the "Nothing lost" issue): script input is never dropped
//! silently, a closed pipe ends output quietly, what is not a regular file is refused at once,
//! and a new store can be opened by two processes at the same moment.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn edit_stdin_reports_each_bad_line_by_number_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    run(&["import", s(&sample("absences", false)), "--db", s(&db)]);
    let mut child = Command::new(bin())
        .args(["edit", "1", "--stdin", "--db", s(&db)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"2\tFirst Name\tA\n3\tFirst Name\tRen\xe9e\n4\tFirst Name\tC\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("saved 1"), "{said}");
    assert!(
        said.contains("failed 2: input line 2 is not UTF-8"),
        "{said}"
    );
    assert!(said.contains("saved 3"), "{said}");
    let store = esr_desk::store::Store::open(&db).expect("open");
    assert_eq!(store.edits(1).expect("log").len(), 2);
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    for args in [
        vec!["import", s(&sample("absences", true)), "--db", s(&db)],
        vec!["validate", s(&sample("absences", true)), "--json"],
        vec!["validate", s(&sample("absences", true))],
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let status = child.wait().expect("wait");
        assert_ne!(status.code(), Some(101), "{args:?} panicked");
        assert!(status.code().is_some(), "{args:?} was killed by a signal");
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_folder_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("ABS_RX1_20261102_000001.csv");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this machine
    }
    let db = dir.path().join("s.sqlite");
    for args in [
        vec!["validate", s(&fifo), "--interface", "absences"],
        vec![
            "import",
            s(&fifo),
            "--interface",
            "absences",
            "--db",
            s(&db),
        ],
        vec!["validate", s(dir.path()), "--interface", "absences"],
    ] {
        let start = std::time::Instant::now();
        let o = run(&args);
        assert_eq!(code(&o), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("not a regular file") || stderr(&o).contains("a folder"),
            "{}",
            stderr(&o)
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}

#[test]
fn two_processes_can_make_a_new_store_at_once() {
    for round in 0..4 {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("new").join("s.sqlite");
        let kids: Vec<_> = [("absences", false), ("rostering-pay-variations", false)]
            .iter()
            .map(|(id, d)| {
                Command::new(bin())
                    .args(["import", s(&sample(id, *d)), "--db", s(&db)])
                    .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for k in kids {
            let o = k.wait_with_output().expect("wait");
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "round {round}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let store = esr_desk::store::Store::open(&db).expect("open");
        assert_eq!(store.batches(None).expect("b").len(), 2, "round {round}");
    }
}

#[test]
fn settings_and_export_share_one_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    let out = dir.path().join("out");
    for (args, said) in [
        (vec!["settings", "vdp", "RX1"], "there is no setting"),
        (vec!["settings", "vpd", "toolongvpd"], "exactly 3"),
        (
            vec!["settings", "seq.RX1.absences", "abc"],
            "not a whole number",
        ),
        (vec!["settings", "seq.RX1.nonsense", "1"], "no interface"),
        (vec!["settings", "seq.absences", "5"], "per organisation"),
    ] {
        let mut a = args.clone();
        a.extend(["--db", s(&db)]);
        let o = run(&a);
        assert_eq!(code(&o), Some(2), "{args:?}");
        assert!(stderr(&o).contains(said), "{args:?}: {}", stderr(&o));
    }
    run(&[
        "import",
        s(&sample("rostering-pay-variations", false)),
        "--db",
        s(&db),
    ]);
    let o = export_cli("1", &out, "toolongvpd", &db);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("VPD code"), "{}", stderr(&o));
    // A sequence that cannot be read, or cannot go on, stops the export: it never restarts at 1.
    let store = esr_desk::store::Store::open(&db).expect("open");
    store
        .conn()
        .execute(
            "INSERT INTO setting(key, value) VALUES ('seq.RX1.rostering-pay-variations', 'x')",
            [],
        )
        .expect("raw");
    let o = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a whole number"), "{}", stderr(&o));
    store
        .set_setting("seq.RX1.rostering-pay-variations", &u64::MAX.to_string())
        .expect("max");
    let o = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("largest sequence"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&out).map_or(0, |r| r.count()), 0);
}

#[test]
fn incoherent_layouts_are_refused_when_they_load() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(root().join("assets/layouts/rostering-pay-variations.toml"))
        .expect("layout");
    let file = sample("rostering-pay-variations", false);
    for (from, to, said) in [
        ("delimiter = \"|\"", "delimiter = \" \"", "delimiter"),
        ("  max = \"168\"", "  max = \"-1\"", "above max"),
        (
            "file_name = \"{VPD}_PAYVAR_{YYYYMMDD}_{SEQ:5}.txt\"",
            "file_name = \"CON.txt\"",
            "device name",
        ),
        (
            "file_name = \"{VPD}_PAYVAR_{YYYYMMDD}_{SEQ:5}.txt\"",
            "file_name = \"{VPD}_PAYVAR_{YYYYMMDD}_{SEQ:5}.\"",
            "ends with a dot",
        ),
        (
            "  aliases = [\"Value\", \"Payment\"]\n  format = \"N(9,2)\"",
            "  aliases = [\"Value\", \"Payment\"]\n  format = \"N(9,3)\"",
            "more decimal places than the total",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, text.replacen(from, to, 1)).expect("write");
        let o = run(&["validate", s(&file), "--layout", s(&p)]);
        assert_eq!(code(&o), Some(2), "{to}");
        assert!(stderr(&o).contains(said), "{to}: {}", stderr(&o));
    }
}

#[test]
fn one_unreadable_schedule_is_named_and_the_others_still_run() {
    use esr_desk::schedule::{FixedClock, OnRejects, ScheduleSettings, run_due, save_schedule};
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = esr_desk::store::Store::open(&dir.path().join("s.sqlite")).expect("open");
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let made = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    for iface in ["absences", "attendance"] {
        let inbox = dir.path().join(iface);
        std::fs::create_dir_all(&inbox).expect("in");
        save_schedule(
            &store,
            &ScheduleSettings {
                interface: iface.into(),
                enabled: true,
                cadence: "every 15 min".parse().expect("c"),
                inbox: Some(inbox),
                outbox: None,
                on_rejects: OnRejects::Hold,
                check_references: false,
                hub_from: None,
                hub_to: None,
            },
            &FixedClock(made),
        )
        .expect("save");
    }
    store
        .conn()
        .execute(
            "UPDATE schedule SET cadence = 'every blue moon' WHERE interface = 'attendance'",
            [],
        )
        .expect("spoil");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-10T12:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    let reports = run_due(&mut store, &set, &FixedClock(now), "t").expect("run-due still runs");
    let bad = reports
        .iter()
        .find(|r| r.interface == "attendance")
        .expect("named");
    assert_eq!(bad.outcome, "failed");
    assert!(bad.message.contains("every blue moon"), "{}", bad.message);
    let good = reports
        .iter()
        .find(|r| r.interface == "absences")
        .expect("ran");
    assert_eq!(good.outcome, "nothing to do");
}

#[test]
fn an_export_is_exactly_once_and_cleans_up_after_a_killed_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    run(&[
        "import",
        s(&sample("rostering-pay-variations", false)),
        "--db",
        s(&db),
    ]);
    // What a killed export left behind, and one a running export still holds.
    let orphan = out.join(".esr-desk-export-killed.tmp");
    std::fs::write(&orphan, b"half a file").expect("orphan");
    let live = out.join(".esr-desk-export-live.tmp");
    std::fs::write(&live, b"being written").expect("live");
    let held = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&live)
        .expect("open");
    held.lock().expect("lock");
    // The store is busy for longer than an export waits: nothing is put in place.
    let blocker = rusqlite::Connection::open(&db).expect("conn");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("lock the store");
    let o = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    blocker.execute_batch("ROLLBACK").expect("unlock");
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(
        !names(&out).iter().any(|n| n.starts_with("RX1_PAYVAR")),
        "no file without its history row: {:?}",
        names(&out)
    );
    assert!(!orphan.exists(), "the orphan is cleaned up");
    assert!(live.exists(), "a temporary file still held is left alone");
    // Once the store is free the export goes through with sequence 1, recorded once.
    let o = export_cli("1", &out, "RX1", &db);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let store = esr_desk::store::Store::open(&db).expect("open");
    assert_eq!(
        store
            .setting("seq.RX1.rostering-pay-variations")
            .expect("s")
            .as_deref(),
        Some("1")
    );
    let ok: Vec<_> = esr_desk::export::export_runs(&store, Some(1), None)
        .expect("runs")
        .into_iter()
        .filter(|r| r.outcome == "ok")
        .collect();
    assert_eq!(ok.len(), 1);
    let written = ok[0].path.clone().expect("path");
    assert!(std::path::Path::new(&written).exists());
    drop(held);
}

#[test]
fn the_edit_index_notices_another_process_edits() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let mut a = esr_desk::store::Store::open(&db).expect("open a");
    let b = a
        .import(
            &sample("rostering-pay-variations", false),
            set.get("rostering-pay-variations").expect("l"),
            esr_desk::store::ImportOptions::default(),
        )
        .expect("import")
        .batch_id;
    let key = 13; // Roster Reference
    let (s1, s2) = (
        a.seq_for_line(b, 2).expect("q").expect("line 2"),
        a.seq_for_line(b, 3).expect("q").expect("line 3"),
    );
    let k1 = a.record(b, s1).expect("r").fields[key].clone();
    // A builds its edit index.
    a.set_value(b, s1, 3, "Smyth").expect("a edits");
    // Another process makes line 3 repeat line 2's key.
    let mut other = esr_desk::store::Store::open(&db).expect("open b");
    other.set_value(b, s2, key, &k1).expect("b edits");
    assert!(
        other
            .record_issues(b, s2)
            .expect("i")
            .iter()
            .any(|i| i.rule == "unique-error")
    );
    // A moves line 2 to a new key: line 3 is unique again, which A can only know from the log.
    a.set_value(b, s1, key, "RST9999999")
        .expect("a edits again");
    assert!(
        !a.record_issues(b, s2)
            .expect("i")
            .iter()
            .any(|i| i.rule == "unique-error"),
        "the stale index kept a duplicate that no longer exists"
    );
}

#[test]
fn schedule_run_runs_now_and_run_due_resumes_interrupted_work_when_not_due() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let db = d.join("s.sqlite");
    let (inbox, outbox) = (d.join("in"), d.join("out"));
    std::fs::create_dir_all(&inbox).expect("in");
    let drop_file = |name: &str, surname: &str| {
        let to = inbox.join(name);
        // Each file its own bytes (the same bytes twice would be one delivery).
        let text = std::fs::read_to_string(sample("absences", false)).expect("read");
        std::fs::write(&to, text.replacen("Jones", surname, 1)).expect("write");
        backdate(
            &to,
            std::time::SystemTime::now() - std::time::Duration::from_secs(600),
        );
    };
    for args in [
        vec!["settings", "vpd", "RX1", "--db", s(&db)],
        vec![
            "schedule",
            "set",
            "absences",
            "--cadence",
            "daily at 23:59",
            "--inbox",
            s(&inbox),
            "--outbox",
            s(&outbox),
            "--db",
            s(&db),
        ],
    ] {
        assert_eq!(code(&run(&args)), Some(0));
    }
    // Not due: run-due leaves it; `schedule run 1` runs it now.
    drop_file("ABS_RX1_20261102_000001.csv", "Jones");
    let o = run(&["run-due", "--db", s(&db)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing is due"));
    let o = run(&["schedule", "run", "1", "--db", s(&db)]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("absences: ok"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A run that was killed (still "running", its lease run out) is resumed by run-due,
    // although the schedule is not due.
    let store = esr_desk::store::Store::open(&db).expect("open");
    store
        .conn()
        .execute(
            "INSERT INTO schedule_run(schedule_id, started_at, outcome) VALUES (1, '2026-11-10T12:00:00.000Z', 'running')",
            [],
        )
        .expect("a killed run");
    drop_file("ABS_RX1_20261102_000002.csv", "Jonas");
    let o = run(&["run-due", "--db", s(&db)]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let runs = esr_desk::schedule::run_history(&store, 10).expect("history");
    assert!(runs.iter().any(|r| r.outcome == "interrupted"), "{runs:?}");
    assert_eq!(
        std::fs::read_dir(&outbox).map_or(0, |r| r.count()),
        2,
        "both files delivered"
    );
    // The log beside the store: a line per run and per file, ids and counts only.
    let log: String = std::fs::read_dir(d.join("logs"))
        .expect("a logs folder beside the store")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        log.contains("scheduled run") && log.contains("file taken on"),
        "{log}"
    );
    assert!(
        log.contains("imported") && log.contains("exported"),
        "{log}"
    );
    for value in ["Jones", "Jonas", "10120001", "ABS_RX1"] {
        assert!(!log.contains(value), "the log holds {value:?}: {log}");
    }
}

#[test]
fn every_command_waits_for_a_busy_store_and_edits_read_an_index_not_the_whole_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    run(&["import", s(&sample("absences", false)), "--db", s(&db)]);
    // `edit` waits for another process's write like every other command.
    let blocker = rusqlite::Connection::open(&db).expect("conn");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        blocker.execute_batch("COMMIT").expect("unlock");
    });
    let o = run(&[
        "edit",
        "1",
        "--line",
        "2",
        "--field",
        "First Name",
        "--value",
        "Ann",
        "--db",
        s(&db),
    ]);
    release.join().expect("thread");
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // The next edit group comes from an index, whatever the size of the log.
    let store = esr_desk::store::Store::open(&db).expect("open");
    let plan: String = store
        .conn()
        .prepare("EXPLAIN QUERY PLAN SELECT COALESCE(MAX(grp), 0) + 1 FROM edit")
        .expect("plan")
        .query_map([], |r| r.get::<_, String>(3))
        .expect("rows")
        .flatten()
        .collect();
    assert!(plan.contains("edit_grp"), "{plan}");
}

#[test]
fn lease_owners_are_unique_per_engine_and_exports_stamp_uk_time() {
    use esr_desk::schedule::{acquire_lease, lease_owner};
    // Two engines in one process (the window's scheduler and Run now) never share an owner,
    // so they cannot both hold one schedule.
    let (a, b) = (lease_owner("window"), lease_owner("window"));
    assert_ne!(a, b);
    let dir = tempfile::tempdir().expect("tmp");
    let store = esr_desk::store::Store::open(&dir.path().join("s.sqlite")).expect("open");
    let now = chrono::Utc::now();
    esr_desk::schedule::save_schedule(
        &store,
        &esr_desk::schedule::ScheduleSettings {
            interface: "absences".into(),
            enabled: true,
            cadence: "every 15 min".parse().expect("c"),
            inbox: None,
            outbox: None,
            on_rejects: esr_desk::schedule::OnRejects::Hold,
            check_references: false,
            hub_from: None,
            hub_to: None,
        },
        &esr_desk::schedule::FixedClock(now),
    )
    .expect("save");
    assert!(acquire_lease(&store, 1, &a, now).expect("a"));
    assert!(!acquire_lease(&store, 1, &b, now).expect("b"));
    // Export times are UK time whatever the machine's zone.
    let uk = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .naive_local();
    let stamped = esr_desk::export::uk_now();
    assert!((stamped - uk).num_seconds().abs() <= 2, "{stamped} vs {uk}");
}

#[test]
fn a_file_delivered_with_rows_held_back_is_never_delivered_again_after_a_kill() {
    use esr_desk::schedule::{FixedClock, OnRejects, ScheduleSettings, run_due, save_schedule};
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let mut store = esr_desk::store::Store::open(&d.join("s.sqlite")).expect("open");
    store.set_setting("vpd", "RX1").expect("vpd");
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let (inbox, outbox) = (d.join("in"), d.join("out"));
    std::fs::create_dir_all(&inbox).expect("in");
    // A pay-variations file whose only problem is one record (a shift date in month 13).
    let clean = std::fs::read(sample("rostering-pay-variations", false)).expect("read");
    let at = clean
        .windows(10)
        .position(|w| w == b"|20240315|")
        .expect("a date");
    let mut bad = clean.clone();
    bad[at + 5..at + 7].copy_from_slice(b"13");
    let file = inbox.join("RX1_PAYVAR_20261102_00003.txt");
    std::fs::write(&file, &bad).expect("write");
    let made = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    backdate(&file, made.into());
    save_schedule(
        &store,
        &ScheduleSettings {
            interface: "rostering-pay-variations".into(),
            enabled: true,
            cadence: "every 15 min".parse().expect("c"),
            inbox: Some(inbox.clone()),
            outbox: Some(outbox.clone()),
            on_rejects: OnRejects::ValidRowsOnly,
            check_references: false,
            hub_from: None,
            hub_to: None,
        },
        &FixedClock(made),
    )
    .expect("save");
    // What a run killed after its export and before archiving leaves: the batch imported
    // from the inbox, its valid rows delivered, the file still in the inbox.
    let b = store
        .import(
            &file,
            set.get("rostering-pay-variations").expect("l"),
            esr_desk::store::ImportOptions::default(),
        )
        .expect("import")
        .batch_id;
    let mut o = esr_desk::export::ExportOptions::new(&outbox);
    o.valid_rows_only = true;
    esr_desk::export::export_batch(&mut store, b, &o).expect("export");
    store
        .conn()
        .execute(
            "INSERT INTO schedule_run(schedule_id, started_at, outcome) VALUES (1, '2026-11-10T11:00:00.000Z', 'running')",
            [],
        )
        .expect("a killed run");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-10T12:00:00Z")
        .expect("t")
        .with_timezone(&chrono::Utc);
    let reports = run_due(&mut store, &set, &FixedClock(now), "t").expect("run");
    assert_eq!(reports[0].exports, 0, "{}", reports[0].message);
    assert!(!file.exists(), "archived");
    assert_eq!(std::fs::read_dir(&outbox).map_or(0, |r| r.count()), 1);
}

/// A store another program holds: the command waits, then says who holds it, in words.
#[test]
fn a_busy_store_says_who_holds_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let abs = sample("absences", false).display().to_string();
    let o = run(&["import", &abs, "--db", &db.display().to_string()]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // A window holds the store, in the middle of writing.
    let window = esr_desk::paths::private_file(&db.with_extension("window-lock")).expect("lock");
    window.lock().expect("locked");
    esr_desk::paths::hold_note(&window, "the ESR Interface Desk window");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch("BEGIN EXCLUSIVE").expect("exclusive");
    let o = run(&[
        "import",
        &sample("absences", true).display().to_string(),
        "--db",
        &db.display().to_string(),
    ]);
    assert_eq!(code(&o), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("the store is in use, held by the ESR Interface Desk window (process"),
        "{e}"
    );
    conn.execute_batch("ROLLBACK").expect("rollback");
}

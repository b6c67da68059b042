//! Scheduled runs with real folders and a real store; the clock is injected, nothing sleeps.

use crate::support::*;
use chrono::{DateTime, Duration, Utc};
use esr_desk::layout::LayoutSet;
use esr_desk::schedule::{
    Cadence, FixedClock, OnRejects, ScheduleSettings, acquire_lease, held_batches, run_due,
    run_history, save_schedule, schedules,
};
use esr_desk::store::Store;
use std::path::{Path, PathBuf};

/// Copies a sample into the inbox with its modification time set to `modified`.
fn drop_in(inbox: &Path, src: &Path, modified: DateTime<Utc>) -> PathBuf {
    std::fs::create_dir_all(inbox).expect("inbox");
    let to = inbox.join(src.file_name().expect("name"));
    std::fs::copy(src, &to).expect("copy");
    let f = std::fs::File::options()
        .write(true)
        .open(&to)
        .expect("open");
    f.set_modified(modified.into()).expect("set mtime");
    to
}

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: Store,
    layouts: LayoutSet,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().to_path_buf();
    let store = Store::open(&root.join("s.sqlite")).expect("store");
    store.set_setting("vpd", "RX1").expect("vpd");
    Env {
        _tmp: tmp,
        root,
        store,
        layouts: LayoutSet::bundled().expect("layouts"),
    }
}

fn settings(
    interface: &str,
    cadence: &str,
    inbox: &Path,
    outbox: &Path,
    on_rejects: OnRejects,
) -> ScheduleSettings {
    ScheduleSettings {
        interface: interface.into(),
        enabled: true,
        cadence: cadence.parse::<Cadence>().expect("cadence"),
        inbox: Some(inbox.to_path_buf()),
        outbox: Some(outbox.to_path_buf()),
        on_rejects,
        check_references: false,
        hub_from: None,
        hub_to: None,
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("t")
        .with_timezone(&Utc)
}

#[test]
fn a_due_run_imports_exports_and_archives_and_catches_up_once() {
    let mut e = env();
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    let made = utc("2026-11-01T08:00:00Z");
    save_schedule(
        &e.store,
        &settings(
            "professional-registrations-nmc",
            "daily at 06:00",
            &inbox,
            &outbox,
            OnRejects::Hold,
        ),
        &FixedClock(made),
    )
    .expect("save");
    let src = sample("professional-registrations-nmc", false);
    let file = drop_in(&inbox, &src, made);
    // Not due before 06:00 the next day.
    let early = FixedClock(utc("2026-11-02T05:59:00Z"));
    assert!(
        run_due(&mut e.store, &e.layouts, &early, "test")
            .expect("run")
            .is_empty()
    );
    // The machine was off for five days: one run, not five.
    let later = FixedClock(utc("2026-11-07T09:00:00Z"));
    let reports = run_due(&mut e.store, &e.layouts, &later, "test").expect("run");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].outcome, "ok", "{}", reports[0].message);
    assert_eq!(
        (reports[0].files, reports[0].batches, reports[0].exports),
        (1, 1, 1)
    );
    assert!(
        run_due(&mut e.store, &e.layouts, &later, "test")
            .expect("again")
            .is_empty(),
        "caught up once"
    );
    // The source is archived, never deleted; the export is in the outbox.
    assert!(!file.exists());
    assert_eq!(
        std::fs::read(inbox.join("archive").join(src.file_name().expect("n"))).expect("archived"),
        std::fs::read(&src).expect("src")
    );
    let exported: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(
        code(&run(&["validate", exported[0].to_str().expect("p")])),
        Some(0)
    );
    let s = &schedules(&e.store).expect("list")[0];
    assert_eq!(s.last_run_at, Some(later.0));
    assert_eq!(s.next_due(), utc("2026-11-08T06:00:00Z"));
    let history = run_history(&e.store, 10).expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].exports, 1);
}

#[test]
fn rejects_are_held_or_exported_as_valid_rows_per_policy() {
    let mut e = env();
    let now = utc("2026-11-10T12:00:00Z");
    let old = now - Duration::hours(2);
    let made = now - Duration::days(2);
    let (in_a, out_a, in_b, out_b) = (
        e.root.join("a_in"),
        e.root.join("a_out"),
        e.root.join("b_in"),
        e.root.join("b_out"),
    );
    save_schedule(
        &e.store,
        &settings(
            "professional-registrations-nmc",
            "every 15 min",
            &in_a,
            &out_a,
            OnRejects::Hold,
        ),
        &FixedClock(made),
    )
    .expect("a");
    save_schedule(
        &e.store,
        &settings(
            "rostering-pay-variations",
            "hourly at :00",
            &in_b,
            &out_b,
            OnRejects::ValidRowsOnly,
        ),
        &FixedClock(made),
    )
    .expect("b");
    drop_in(&in_a, &sample("professional-registrations-nmc", true), old);
    // A file whose only problems are records (a shift date in month 13): valid rows go.
    let clean = std::fs::read(sample("rostering-pay-variations", false)).expect("read");
    let at = clean
        .windows(10)
        .position(|w| w == b"|20240315|")
        .expect("a shift date");
    let mut bad = clean.clone();
    bad[at + 5..at + 7].copy_from_slice(b"13");
    let src_dir = e.root.join("made");
    std::fs::create_dir_all(&src_dir).expect("dir");
    let made_file = src_dir.join("RX1_PAYVAR_20261102_00003.txt");
    std::fs::write(&made_file, &bad).expect("write");
    drop_in(&in_b, &made_file, old);
    let reports = run_due(&mut e.store, &e.layouts, &FixedClock(now), "test").expect("run");
    let by: std::collections::HashMap<String, _> = reports
        .into_iter()
        .map(|r| (r.interface.clone(), r))
        .collect();
    let held = &by["professional-registrations-nmc"];
    assert_eq!(held.outcome, "held", "{}", held.message);
    assert_eq!(held.exports, 0);
    assert!(held.message.contains("held for review"), "{}", held.message);
    assert!(
        held.message.contains("file-level problem"),
        "the seeded trailer count and blank lines are named: {}",
        held.message
    );
    assert!(
        std::fs::read_dir(&out_a).map(|d| d.count()).unwrap_or(0) == 0,
        "nothing exported while held"
    );
    assert_eq!(held_batches(&e.store).expect("held").len(), 1);
    let valid = &by["rostering-pay-variations"];
    assert_eq!(valid.exports, 1, "{}", valid.message);
    assert!(
        valid.message.contains("rejected rows held back"),
        "{}",
        valid.message
    );
    assert!(in_a.join("archive").is_dir() && in_b.join("archive").is_dir());
}

#[test]
fn a_file_still_being_written_is_left_for_the_next_run() {
    let mut e = env();
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    let now = utc("2026-11-10T12:00:00Z");
    save_schedule(
        &e.store,
        &settings("absences", "every 15 min", &inbox, &outbox, OnRejects::Hold),
        &FixedClock(now - Duration::hours(1)),
    )
    .expect("save");
    let file = drop_in(
        &inbox,
        &sample("absences", false),
        now - Duration::seconds(5),
    );
    let first = run_due(&mut e.store, &e.layouts, &FixedClock(now), "test").expect("run");
    assert_eq!(first[0].files, 0);
    // Never "nothing to do": the run says what waits, why, and when it will be taken.
    assert_eq!(first[0].outcome, esr_desk::store::RunOutcome::Waiting);
    let name = file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        first[0].message,
        format!(
            "1 file is waiting 1 minute in case it is still being written ({name}); it is taken by the first run from 12:00:55"
        ),
    );
    assert!(file.exists());
    let next = run_due(
        &mut e.store,
        &e.layouts,
        &FixedClock(now + Duration::minutes(15)),
        "test",
    )
    .expect("run");
    assert_eq!(next[0].files, 1, "{}", next[0].message);
    assert!(!file.exists());
}

#[test]
fn a_held_lease_means_the_schedule_runs_elsewhere_and_a_failure_does_not_stop_others() {
    let mut e = env();
    let now = utc("2026-11-10T12:00:00Z");
    let made = now - Duration::days(1);
    let (in_a, out_a) = (e.root.join("a_in"), e.root.join("a_out"));
    save_schedule(
        &e.store,
        &settings("absences", "every 15 min", &in_a, &out_a, OnRejects::Hold),
        &FixedClock(made),
    )
    .expect("a");
    // An inbox that does not exist: this schedule fails.
    save_schedule(
        &e.store,
        &settings(
            "attendance",
            "every 15 min",
            &e.root.join("missing"),
            &out_a,
            OnRejects::Hold,
        ),
        &FixedClock(made),
    )
    .expect("b");
    // A third schedule whose lease another engine holds.
    save_schedule(
        &e.store,
        &settings("dbs", "every 15 min", &in_a, &out_a, OnRejects::Hold),
        &FixedClock(made),
    )
    .expect("c");
    let dbs = schedules(&e.store)
        .expect("list")
        .into_iter()
        .find(|s| s.interface == "dbs")
        .expect("dbs");
    // The other engine holds the lease and, as every live run does, the schedule's run lock.
    assert!(acquire_lease(&e.store, dbs.id, "the-app", now).expect("lease"));
    let locks = e.store.dir().join("locks");
    std::fs::create_dir_all(&locks).expect("locks");
    let running = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(locks.join(format!("schedule-{}.lock", dbs.id)))
        .expect("lock file");
    running.lock().expect("lock");
    drop_in(&in_a, &sample("absences", false), now - Duration::hours(1));
    let reports = run_due(&mut e.store, &e.layouts, &FixedClock(now), "run-due").expect("run");
    let outcome = |i: &str| {
        reports
            .iter()
            .find(|r| r.interface == i)
            .map(|r| r.outcome)
            .expect(i)
    };
    assert_eq!(outcome("attendance"), "failed");
    assert_eq!(outcome("absences"), "ok");
    assert_eq!(outcome("dbs"), "skipped");
    // Once that engine stops (here it lets its lock go, as a killed process does), the
    // schedule runs at once: its stale lease is taken over, not waited out.
    drop(running);
    let reports = run_due(&mut e.store, &e.layouts, &FixedClock(now), "run-due").expect("run");
    assert!(
        reports
            .iter()
            .any(|r| r.interface == "dbs" && r.outcome != "skipped"),
        "{reports:?}"
    );
}

#[test]
fn two_run_due_processes_at_once_run_a_schedule_exactly_once() {
    let e = env();
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    let now = Utc::now();
    save_schedule(
        &e.store,
        &settings(
            "local-data-warehouse",
            "every 15 min",
            &inbox,
            &outbox,
            OnRejects::Hold,
        ),
        &FixedClock(now - Duration::hours(1)),
    )
    .expect("save");
    drop_in(
        &inbox,
        &sample("local-data-warehouse", false),
        now - Duration::hours(1),
    );
    let db = e.root.join("s.sqlite");
    let spawn = || {
        std::process::Command::new(bin())
            .args(["run-due", "--db", db.to_str().expect("db")])
            .env("ESR_DESK_LAYOUTS", e.root.join("none"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (oa, ob) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert_eq!(code(&oa), Some(0), "{}", stderr(&oa));
    assert_eq!(code(&ob), Some(0), "{}", stderr(&ob));
    let runs = run_history(&e.store, 10).expect("history");
    assert_eq!(runs.len(), 1, "exactly one run: {runs:?}");
    assert_eq!(runs[0].batches, 1);
    assert_eq!(e.store.batches(None).expect("batches").len(), 1);
    assert_eq!(std::fs::read_dir(&outbox).expect("outbox").count(), 1);
}

#[test]
fn a_check_that_finds_nothing_leaves_no_history_row_only_a_last_checked_time() {
    let mut e = env();
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    std::fs::create_dir_all(&inbox).expect("inbox");
    let made = utc("2026-11-01T08:00:00Z");
    let s = settings(
        "professional-registrations-nmc",
        "every 15 min",
        &inbox,
        &outbox,
        OnRejects::Hold,
    );
    // The outbox does not exist yet: saying so is a warning, not a refusal.
    let warnings = s.folder_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("outbox"), "{warnings:?}");
    save_schedule(&e.store, &s, &FixedClock(made)).expect("save");
    // Three checks a quarter of an hour apart with nothing in the inbox.
    for k in 1..=3 {
        let at = FixedClock(made + Duration::minutes(15 * k));
        let r = run_due(&mut e.store, &e.layouts, &at, "test").expect("run");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, "nothing to do");
    }
    assert!(run_history(&e.store, 10).expect("history").is_empty());
    let last = made + Duration::minutes(45);
    let sch = &schedules(&e.store).expect("list")[0];
    assert_eq!(sch.last_checked_at, Some(last));
    assert_eq!(sch.last_run_at, Some(last), "the slot was taken");
    // A file arrives: that run is in the history, with every file's fate.
    let src = sample("professional-registrations-nmc", false);
    drop_in(&inbox, &src, made);
    let at = FixedClock(made + Duration::minutes(60));
    let r = run_due(&mut e.store, &e.layouts, &at, "test").expect("run");
    assert_eq!(r[0].files, 1);
    let history = run_history(&e.store, 10).expect("history");
    assert_eq!(history.len(), 1);
    assert!(
        history[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains(src.file_name().and_then(|n| n.to_str()).expect("n"))),
        "{:?}",
        history[0].message
    );
}

/// A workbook dropped in an interface's inbox is read with the mapping saved for its columns
/// (the header's Source System included): its valid rows go out as an ESR file. Without a
/// saved mapping that gives the header, the run says why and leaves the workbook in the inbox.
#[test]
fn a_workbook_in_the_inbox_is_read_with_its_saved_mapping() {
    let mut e = env();
    let now = utc("2026-11-10T12:00:00Z");
    let made = now - Duration::days(2);
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    save_schedule(
        &e.store,
        &settings(
            "rostering-pay-variations",
            "hourly at :00",
            &inbox,
            &outbox,
            OnRejects::ValidRowsOnly,
        ),
        &FixedClock(made),
    )
    .expect("save");
    let wb = sample_workbook("rostering-pay-variations");
    let layout = e
        .layouts
        .get("rostering-pay-variations")
        .expect("l")
        .clone();
    let file = drop_in(&inbox, &wb, now - Duration::hours(2));
    // No mapping saved: the columns are matched by name, but nothing gives the header's
    // Source System, so the batch is held (a header problem holds the whole file).
    let reports = run_due(&mut e.store, &e.layouts, &FixedClock(now), "test").expect("run");
    assert_eq!(reports[0].exports, 0, "{}", reports[0].message);
    assert_eq!(reports[0].outcome, "held", "{}", reports[0].message);
    // The officer saves the mapping once (here as the window would), with the header value.
    let t = esr_desk::workbook::read_table(
        &wb,
        &esr_desk::workbook::Choice::default(),
        Some(&layout),
        |t| {
            let u = esr_desk::mapping::by_name(&layout, t).unmatched(&layout);
            (!u.is_empty()).then(|| u.join(", "))
        },
    )
    .expect("read");
    let mut m =
        esr_desk::mapping::by_name(&layout, &t).to_mapping(&layout, &t.columns, t.sheet.clone());
    m.header
        .insert("Source System".into(), "HealthRoster".into());
    e.store.save_mapping(&t.columns, &m).expect("save mapping");
    // Next month's workbook, same columns.
    let next = e.root.join("Roster pay export 2026-12.xlsx");
    std::fs::copy(&wb, &next).expect("copy");
    // Another file (not the same bytes, or it would be a repeat): a byte after the zip's
    // end, which readers ignore.
    let mut bytes = std::fs::read(&next).expect("read");
    bytes.push(0);
    std::fs::write(&next, bytes).expect("write");
    drop_in(&inbox, &next, now - Duration::hours(1));
    let later = FixedClock(now + Duration::hours(1));
    let reports = run_due(&mut e.store, &e.layouts, &later, "test").expect("run");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].exports, 1, "{}", reports[0].message);
    let out: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(out.len(), 1);
    let text = String::from_utf8_lossy(&std::fs::read(&out[0]).expect("read")).into_owned();
    assert!(text.starts_with("HDR|"), "{text}");
    assert!(text.contains("|HealthRoster"));
    assert_eq!(
        code(&run(&["validate", out[0].to_str().expect("p")])),
        Some(0),
        "the valid rows make a clean ESR file"
    );
    // The held workbook was archived, never deleted.
    assert!(!file.exists());
    assert!(
        inbox
            .join("archive")
            .join(file.file_name().expect("n"))
            .exists()
    );
}

#[test]
fn a_file_imported_before_is_archived_as_its_own_outcome_and_never_called_ok() {
    let mut e = env();
    let (inbox, outbox) = (e.root.join("in"), e.root.join("out"));
    let now = utc("2026-11-10T12:00:00Z");
    save_schedule(
        &e.store,
        &settings("absences", "every 15 min", &inbox, &outbox, OnRejects::Hold),
        &FixedClock(now - Duration::hours(1)),
    )
    .expect("save");
    drop_in(
        &inbox,
        &sample("absences", false),
        now - Duration::minutes(5),
    );
    let first = run_due(&mut e.store, &e.layouts, &FixedClock(now), "test").expect("run");
    assert_eq!(
        first[0].outcome,
        esr_desk::store::RunOutcome::Ok,
        "{}",
        first[0].message
    );
    assert_eq!(first[0].exports, 1);
    // The same bytes again, later.
    let later = now + Duration::minutes(30);
    let again = drop_in(
        &inbox,
        &sample("absences", false),
        later - Duration::minutes(5),
    );
    let second = run_due(&mut e.store, &e.layouts, &FixedClock(later), "test").expect("run");
    assert_eq!(
        second[0].outcome,
        esr_desk::store::RunOutcome::AlreadyImported,
        "{}",
        second[0].message
    );
    assert_eq!(second[0].exports, 0);
    assert!(
        second[0].message.contains("imported before as batch 1")
            && second[0].message.contains("not exported again"),
        "{}",
        second[0].message
    );
    assert!(!again.exists(), "archived");
    // And the history says so.
    let runs = e.store.run_history(10).expect("runs");
    assert!(
        runs.iter()
            .any(|r| r.outcome == esr_desk::store::RunOutcome::AlreadyImported),
        "{runs:?}"
    );
}

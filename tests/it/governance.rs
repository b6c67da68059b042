//! Information governance: sensitive values are not echoed in messages, the access log
//! records who saw and sent what, and the store's files are the owner's alone.

use crate::support::*;

#[test]
fn validate_messages_never_echo_a_sensitive_value_whole() {
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    // Every issue about a sensitive field, in two samples with seeded defects there: the
    // value the record holds in that field (read through the layout) is never in the message.
    let mut checked = 0;
    for (interface, file) in [
        (
            "active-directory",
            "sample-data/active-directory/AD_RX1_20261102_000002.csv",
        ),
        (
            "absences",
            "sample-data/absences/ABS_RX1_20261102_000002.csv",
        ),
        (
            "nhs-pension-year-end",
            "sample-data/nhs-pension-year-end/NHSPYE_RX1_20261102_0002.txt",
        ),
    ] {
        let layout = set.get(interface).expect("layout");
        let path = root().join(file);
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("sample")).into_owned();
        let out = run(&["validate", path.to_str().expect("path"), "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        for i in report["issues"].as_array().expect("issues") {
            let (Some(line), Some(name)) = (i["line"].as_u64(), i["field"].as_str()) else {
                continue;
            };
            let rec = text.lines().nth(line as usize - 1).expect("line");
            let cells: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(rec.as_bytes())
                .records()
                .next()
                .and_then(Result::ok)
                .map(|r| r.iter().map(str::to_string).collect())
                .unwrap_or_default();
            let ri = match layout.discriminator {
                None => 0,
                Some(d) => match cells.get(d).and_then(|c| layout.record_index(c)) {
                    Some(ri) => ri,
                    None => continue,
                },
            };
            let Some(fi) = layout.records[ri].field_index(name) else {
                continue;
            };
            let field = &layout.records[ri].fields[fi];
            let Some(value) = cells.get(fi).filter(|v| v.chars().count() > 2) else {
                continue;
            };
            if field.sensitive.is_none() {
                continue;
            }
            let msg = i["message"].as_str().expect("message");
            assert!(!msg.contains(value.as_str()), "{msg} echoes {value}");
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "the samples' sensitive issues were checked ({checked})"
    );
}

/// Runs the binary under `sh` with `umask 000` (as on a badly set-up machine).
#[cfg(unix)]
fn run_umask0(args: &[&str]) -> std::process::Output {
    let mut cmd = String::from("umask 000; exec \"$0\"");
    for (i, _) in args.iter().enumerate() {
        cmd.push_str(&format!(" \"${}\"", i + 1));
    }
    std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(bin())
        .args(args)
        .env("ESR_DESK_LAYOUTS", "/nonexistent-esr-desk-layouts")
        .output()
        .expect("run")
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn the_store_exports_and_reports_are_the_owners_alone_whatever_the_umask() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = tmp.path().join("data").join("esr-desk");
    let db = folder.join("store.sqlite");
    let dbs = db.display().to_string();
    let clean = sample("absences", false);
    let out = run_umask0(&["import", clean.to_str().expect("p"), "--db", &dbs]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&folder), 0o700, "the folder made for the store");
    assert_eq!(mode(&db), 0o600);
    let wal = std::path::PathBuf::from(format!("{dbs}-wal"));
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let exports = tmp.path().join("out");
    std::fs::create_dir(&exports).expect("out");
    let ex = exports.display().to_string();
    let out = run_umask0(&["export", "1", "--out", &ex, "--vpd", "RX1", "--db", &dbs]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // A batch with rejected records (a clean one has no report to write).
    let defects = sample("absences", true);
    let out = run_umask0(&["import", defects.to_str().expect("p"), "--db", &dbs]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let report = tmp.path().join("rejects.csv");
    let out = run_umask0(&[
        "rejects",
        "2",
        "--out",
        report.to_str().expect("p"),
        "--db",
        &dbs,
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    for f in std::fs::read_dir(&exports).expect("read").flatten() {
        assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
    }
    assert_eq!(mode(&report), 0o600);
    // An existing store left open to others is tightened, with a note.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = run_umask0(&["audit", "--db", &dbs]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("readable by you alone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&db), 0o600);
    // The access log saw the export and the report, with counts and no values.
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        log.contains("export") && log.contains("rejects-report"),
        "{log}"
    );
}

#[test]
fn a_purge_deletes_old_batches_and_archives_and_keeps_a_tombstone() {
    use esr_desk::schedule::{Cadence, FixedClock, OnRejects, ScheduleSettings, save_schedule};
    use esr_desk::store::Store;
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("s.sqlite");
    let dbs = db.display().to_string();
    // Batch 1 came through the schedule's inbox: its source file is now in the archive.
    let inbox = tmp.path().join("in");
    let archive = inbox.join("archive");
    std::fs::create_dir_all(&archive).expect("archive");
    let src = sample("absences", true);
    let name = src.file_name().expect("name").to_owned();
    std::fs::copy(&src, inbox.join(&name)).expect("copy");
    let out = run(&[
        "import",
        inbox.join(&name).to_str().expect("p"),
        "--db",
        &dbs,
    ]);
    assert!(matches!(code(&out), Some(0) | Some(1)), "{}", stderr(&out));
    std::fs::rename(inbox.join(&name), archive.join(&name)).expect("archive it");
    let f = sample("absences", false);
    let out = run(&["import", f.to_str().expect("p"), "--db", &dbs]);
    assert!(matches!(code(&out), Some(0) | Some(1)), "{}", stderr(&out));
    let mut store = Store::open(&db).expect("store");
    // A correction in batch 1's edit log, and batch 1 made 100 days old.
    let page = store
        .page(1, 0, 1, &esr_desk::store::PageFilter::default())
        .expect("page");
    store
        .set_value(1, page[0].seq, 2, "Purgeable")
        .expect("edit");
    let old = (chrono::Utc::now() - chrono::Duration::days(100)).to_rfc3339();
    store
        .conn()
        .execute("UPDATE batch SET imported_at = ?1 WHERE id = 1", [&old])
        .expect("backdate");
    // A schedule's archive with one file past the 30 days and one recent.
    save_schedule(
        &store,
        &ScheduleSettings {
            interface: "absences".into(),
            enabled: false,
            cadence: "daily at 06:00".parse::<Cadence>().expect("cadence"),
            inbox: Some(inbox.clone()),
            outbox: None,
            on_rejects: OnRejects::Hold,
            check_references: false,
            hub_from: None,
            hub_to: None,
        },
        &FixedClock(chrono::Utc::now()),
    )
    .expect("schedule");
    let stale = archive.join("ABS_RX1_20260101_000001.csv");
    let fresh = archive.join("ABS_RX1_20261120_000001.csv");
    std::fs::write(&stale, "old").expect("write");
    std::fs::write(&fresh, "new").expect("write");
    backdate(
        &stale,
        std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400),
    );
    let count = |s: &Store, table: &str| -> i64 {
        s.conn()
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE batch_id = 1"),
                [],
                |r| r.get(0),
            )
            .expect("count")
    };
    let before = count(&store, "record");
    assert!(before > 0);
    // A dry run says what it would do and changes nothing.
    let out = run(&["purge", "--dry-run", "--db", &dbs]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("would purge batch 1") && !said.contains("batch 2"),
        "{said}"
    );
    assert!(said.contains("ABS_RX1_20260101_000001.csv"), "{said}");
    assert_eq!(count(&store, "record"), before);
    assert!(stale.exists());
    // The purge.
    let out = run(&["purge", "--db", &dbs]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    for table in ["record", "issue", "record_key"] {
        assert_eq!(count(&store, table), 0, "{table} rows of batch 1 are gone");
    }
    let kept: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM record WHERE batch_id = 2", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert!(kept > 0, "the recent batch is kept");
    let values: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM edit WHERE batch_id = 1 AND (old_value IS NOT NULL OR new_value IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(values, 0, "the edit log keeps who and when, not the values");
    assert_eq!(count(&store, "edit"), 1, "the log entry itself stays");
    let t = store.tombstones().expect("tombstones");
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].batch, t[0].records), (1, before as u64));
    assert_eq!(t[0].sha256.len(), 64);
    assert!(t[0].reason.contains("90 days"), "{}", t[0].reason);
    assert!(
        store.batch(1).is_err(),
        "a purged batch is gone from the lists"
    );
    let secure: i64 = store
        .conn()
        .query_row("PRAGMA secure_delete", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(secure, 1);
    assert!(!stale.exists() && fresh.exists());
    assert!(
        !archive.join(&name).exists(),
        "the purged batch's own archived source file is gone too"
    );
    // The edit log stays append-only for batches that were not purged.
    store.set_value(2, 0, 2, "Kept").expect("edit 2");
    assert!(
        store
            .conn()
            .execute("UPDATE edit SET new_value = 'x' WHERE batch_id = 2", [])
            .is_err()
    );
    // The access log has the purge.
    let log = store.access_log(None).expect("log");
    assert!(
        log.iter()
            .any(|e| e.action == "purge" && e.count == Some(1))
    );
    // A second purge finds nothing to do.
    let out = run(&["purge", "--db", &dbs]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing is older"));
}

/// The whole flow under `umask 000`, with the store in its default place under a new home:
/// every folder and file the program makes is the owner's alone from the start, the folders
/// it makes on the way to its data folder included.
#[cfg(unix)]
#[test]
fn every_folder_and_file_the_program_makes_is_private_under_umask_000() {
    let home = tempfile::tempdir().expect("home");
    let run0 = |args: &[&str]| {
        let mut cmd = String::from("umask 000; exec \"$0\"");
        for (i, _) in args.iter().enumerate() {
            cmd.push_str(&format!(" \"${}\"", i + 1));
        }
        std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .arg(bin())
            .args(args)
            .env("HOME", home.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("ESR_DESK_DB")
            .env("ESR_DESK_LAYOUTS", "/nonexistent-esr-desk-layouts")
            .output()
            .expect("run")
    };
    let abs = sample("absences", false).display().to_string();
    let o = run0(&["import", &abs]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = run0(&["settings", "vpd", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let out = home.path().join("exports").join("absences");
    let o = run0(&["export", "1", "--out", &out.display().to_string()]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = run0(&["mapping", "list"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // Everything under the new home: folders 0700, files 0600.
    let mut seen = 0;
    let mut stack = vec![home.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            let m = mode(&p);
            if p.is_dir() {
                assert_eq!(m, 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(m, 0o600, "{}", p.display());
            }
            seen += 1;
        }
    }
    // The folders on the way to the data folder, the store, its logs and locks, the export.
    for must in [".local", ".local/share", "exports", "exports/absences"] {
        assert!(home.path().join(must).is_dir(), "{must} was made");
    }
    assert!(seen >= 8, "{seen} paths checked");
    let logs: Vec<_> = walk(home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("esr-desk.log."))
        .collect();
    assert!(!logs.is_empty(), "a log was written");
    assert!(
        walk(home.path())
            .iter()
            .any(|p| p.ends_with("locks/exports.lock")),
        "the export lock was made"
    );
}

#[cfg(unix)]
fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

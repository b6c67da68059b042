//! Faults injected at each step boundary, in turn, through the failpoint hook
//! (`ESR_DESK_FAILPOINT`, see src/failpoint.rs): the process stops there as `kill -9` would,
//! and a rerun must finish or undo the step, deliver exactly once, and never give a sequence
//! number twice. Export, scheduled delivery, hub push and hub pull.

use crate::support::{bin, code, sample, stderr};
use std::path::Path;
use std::process::{Command, Output};

/// The binary on a store, stopped at `failpoint` when given.
pub fn run_at(db: &Path, failpoint: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .env("ESR_DESK_DB", db)
        .env(
            "ESR_DESK_LAYOUTS",
            std::env::temp_dir().join("esr-desk-tests-no-layouts"),
        )
        .env("ESR_DESK_NO_KEYRING", "1")
        .env_remove("ESR_DESK_FAILPOINT");
    if let Some(f) = failpoint {
        c.env("ESR_DESK_FAILPOINT", f);
    }
    c.output().expect("runs")
}

/// The files of a folder (not the hidden ones), sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The invariant after any stop and rerun: every file under an export's name has its `ok`
/// history row with the same SHA-256, no export is left pending, no temporary file is left,
/// and no sequence number was given twice.
pub fn exactly_recorded(db: &Path, dirs: &[&Path]) -> Vec<esr_desk::export::ExportRun> {
    let store = esr_desk::store::Store::open(db).expect("store");
    let runs = store.export_runs(None, None).expect("runs");
    assert!(
        !runs
            .iter()
            .any(|r| r.outcome == esr_desk::store::ExportRunOutcome::Pending),
        "an export left pending: {runs:?}"
    );
    let ok: Vec<_> = runs
        .into_iter()
        .filter(|r| r.outcome == esr_desk::store::ExportRunOutcome::Ok)
        .collect();
    let mut seqs: Vec<(String, String, u64)> = ok
        .iter()
        .filter_map(|r| Some((r.interface.clone(), r.vpd.clone()?, r.seq?)))
        .collect();
    let n = seqs.len();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "a sequence number used twice: {ok:?}");
    for d in dirs {
        for f in std::fs::read_dir(d).expect("dir").flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".esr-desk-export-"),
                "a temporary file was left: {name}"
            );
            if !f.path().is_file() {
                continue;
            }
            let bytes = std::fs::read(f.path()).expect("read");
            let sha = esr_desk::store::sha256_hex(&bytes);
            let p = f.path().display().to_string();
            assert!(
                ok.iter().any(|r| r.path.as_deref() == Some(p.as_str())
                    && r.sha256.as_deref() == Some(sha.as_str())),
                "{name} is under an export's name with no history row of its bytes"
            );
        }
    }
    ok
}

#[test]
fn an_export_stopped_at_any_step_is_finished_or_undone_by_the_next() {
    for point in [
        "export.intent",
        "export.written",
        "export.renamed",
        "export.committed",
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("store.sqlite");
        let out = dir.path().join("out");
        let abs = sample("absences", false).display().to_string();
        let o = run_at(&db, None, &["import", &abs]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
        let o_dir = out.display().to_string();
        let args = ["export", "1", "--out", &o_dir, "--vpd", "RX1"];
        let stopped = run_at(&db, Some(point), &args);
        assert_eq!(code(&stopped), Some(137), "{point}: {}", stderr(&stopped));
        let again = run_at(&db, None, &args);
        assert_eq!(code(&again), Some(0), "{point}: {}", stderr(&again));
        let ok = exactly_recorded(&db, &[&out]);
        let made = files(&out);
        // Stopped before its commit: the rerun finishes or redoes it, one file in all.
        // Stopped after: that export was whole, and the rerun is a second one, numbered next.
        let want = if point == "export.committed" { 2 } else { 1 };
        assert_eq!(made.len(), want, "{point}: {made:?}");
        assert_eq!(ok.len(), want, "{point}: {ok:?}");
        let mut nums: Vec<u64> = ok.iter().filter_map(|r| r.seq).collect();
        nums.sort_unstable();
        assert_eq!(nums, (1..=want as u64).collect::<Vec<_>>(), "{point}");
        let store = esr_desk::store::Store::open(&db).expect("store");
        assert_eq!(
            store.setting("seq.RX1.absences").expect("s").as_deref(),
            Some(want.to_string().as_str()),
            "{point}"
        );
    }
}

/// A schedule of the absences interface, its inbox holding one settled clean file.
fn scheduled(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let db = dir.join("store.sqlite");
    let (inbox, outbox) = (dir.join("in"), dir.join("out"));
    for d in [&inbox, &outbox] {
        std::fs::create_dir_all(d).expect("dir");
    }
    let o = run_at(
        &db,
        None,
        &[
            "schedule",
            "set",
            "absences",
            "--cadence",
            "daily at 06:00",
            "--inbox",
            &inbox.display().to_string(),
            "--outbox",
            &outbox.display().to_string(),
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = run_at(&db, None, &["settings", "vpd", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let src = sample("absences", false);
    let to = inbox.join(src.file_name().expect("name"));
    std::fs::copy(&src, &to).expect("copy");
    std::fs::File::options()
        .write(true)
        .open(&to)
        .expect("open")
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .expect("age");
    (db, inbox, outbox)
}

#[test]
fn a_scheduled_run_stopped_at_any_step_delivers_once_on_the_next() {
    for point in [
        "schedule.imported",
        "schedule.due",
        "export.intent",
        "export.written",
        "export.renamed",
        "export.committed",
        "schedule.delivered",
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let (db, inbox, outbox) = scheduled(dir.path());
        let stopped = run_at(&db, Some(point), &["schedule", "run", "1"]);
        assert_eq!(code(&stopped), Some(137), "{point}: {}", stderr(&stopped));
        let again = run_at(&db, None, &["schedule", "run", "1"]);
        let said = String::from_utf8_lossy(&again.stdout).into_owned();
        assert_eq!(code(&again), Some(0), "{point}: {said}{}", stderr(&again));
        exactly_recorded(&db, &[&outbox]);
        assert_eq!(
            files(&outbox).len(),
            1,
            "{point}: {:?} {said}",
            files(&outbox)
        );
        assert!(files(&inbox).is_empty(), "{point}: the source was archived");
        let store = esr_desk::store::Store::open(&db).expect("store");
        assert_eq!(
            store.batches(None).expect("b").len(),
            1,
            "{point}: imported once"
        );
        assert!(
            store.due_batches(1).expect("due").is_empty(),
            "{point}: {said}"
        );
        // And a third run has nothing left to do.
        drop(store);
        let third = run_at(&db, None, &["schedule", "run", "1"]);
        assert_eq!(code(&third), Some(0), "{point}");
        assert_eq!(files(&outbox).len(), 1, "{point}");
    }
}

/// A 20 MiB tmpfs, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounted, or None for a developer who is not root (said on stderr). As root (CI) a
    /// failed mount fails the test.
    fn mount() -> Option<Self> {
        let d = tempfile::tempdir().expect("tmp");
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=20m", "tmpfs"])
            .arg(d.path())
            .output()
            .expect("mount runs");
        if !o.status.success() && !is_root() {
            eprintln!("skipped: mounting a 20 MiB tmpfs needs root (CI runs as root)");
            return None;
        }
        assert!(
            o.status.success(),
            "this test mounts a 20 MiB tmpfs: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Some(Tmpfs(d))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn free(&self) -> u64 {
        let o = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(self.path())
            .output()
            .expect("df");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("free bytes")
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_never_hides_a_batch_the_next_run_delivers_it() {
    // Free space left for the run, from almost none to plenty.
    let mut findings = Vec::new();
    for step in 0..23u64 {
        let Some(fs) = Tmpfs::mount() else { return };
        let (db, inbox, outbox) = scheduled(fs.path());
        let left = 16 * 1024 + step * 12 * 1024;
        let filler = fs.path().join("filler");
        let fill = fs.free().saturating_sub(left);
        std::fs::write(&filler, vec![0u8; fill as usize]).ok();
        let first = run_at(&db, None, &["schedule", "run", "1"]);
        let said = String::from_utf8_lossy(&first.stdout).into_owned();
        assert!(
            !String::from_utf8_lossy(&first.stderr).contains("panicked"),
            "{}",
            stderr(&first)
        );
        // Space comes back; the next run finishes whatever the first could not.
        std::fs::remove_file(&filler).ok();
        let second = run_at(&db, None, &["schedule", "run", "1"]);
        let said2 = String::from_utf8_lossy(&second.stdout).into_owned();
        assert_eq!(
            code(&second),
            Some(0),
            "{left} bytes free: first run said {said}; second {said2}{}",
            stderr(&second)
        );
        exactly_recorded(&db, &[&outbox]);
        assert_eq!(
            files(&outbox).len(),
            1,
            "{left} bytes free: exported exactly once: first {said}; second {said2}"
        );
        assert!(files(&inbox).is_empty(), "{left} bytes free");
        let store = esr_desk::store::Store::open(&db).expect("store");
        assert!(store.due_batches(1).expect("due").is_empty());
        assert_eq!(store.batches(None).expect("b").len(), 1);
        findings.push((
            left,
            code(&first),
            said.lines().next().unwrap_or("").to_string(),
        ));
    }
    // The sweep reached both ends: runs that failed for want of space, and runs that did not.
    eprintln!("{findings:#?}");
    assert!(findings.iter().any(|f| f.1 != Some(0)), "{findings:#?}");
    assert!(findings.iter().any(|f| f.1 == Some(0)), "{findings:#?}");
}

/// A store with organisation RX1 on `hub` (its password from the environment) and a clean
/// absences batch 1.
fn with_hub(dir: &Path, hub: &crate::ftps_server::Hub) -> std::path::PathBuf {
    let db = dir.join("store.sqlite");
    let o = run_at(
        &db,
        None,
        &[
            "org",
            "set",
            "RX1",
            "--name",
            "Synthetic Trust",
            "--hub",
            &hub.url(),
            "--ca-file",
            &hub.ca.display().to_string(),
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    db
}

fn hub_run(db: &Path, failpoint: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .env("ESR_DESK_DB", db)
        .env(
            "ESR_DESK_LAYOUTS",
            std::env::temp_dir().join("esr-desk-tests-no-layouts"),
        )
        .env("ESR_DESK_NO_KEYRING", "1")
        .env("ESR_DESK_HUB_PASSWORD", crate::ftps_server::PASSWORD)
        .env_remove("ESR_DESK_FAILPOINT");
    if let Some(f) = failpoint {
        c.env("ESR_DESK_FAILPOINT", f);
    }
    c.output().expect("runs")
}

#[test]
fn a_hub_push_stopped_at_any_step_is_delivered_once_by_the_next() {
    for point in [
        "export.intent",
        "export.written",
        "export.renamed",
        "export.committed",
        "push.exported",
        "push.uploaded",
        "push.renamed",
    ] {
        let hub = crate::ftps_server::Hub::start();
        let dir = tempfile::tempdir().expect("tmp");
        let db = with_hub(dir.path(), &hub);
        let abs = sample("absences", false).display().to_string();
        let o = run_at(&db, None, &["import", &abs]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
        let args = ["hub", "push", "1", "--org", "RX1"];
        let stopped = hub_run(&db, Some(point), &args);
        assert_eq!(code(&stopped), Some(137), "{point}: {}", stderr(&stopped));
        let again = hub_run(&db, None, &args);
        assert_eq!(code(&again), Some(0), "{point}: {}", stderr(&again));
        let sent = dir.path().join("hub").join("RX1").join("sent");
        exactly_recorded(&db, &[&sent]);
        let local = files(&sent);
        assert_eq!(local.len(), 1, "{point}: {local:?}");
        let remote = hub.names("In");
        assert_eq!(remote, local, "{point}: delivered once, under its own name");
        assert_eq!(
            std::fs::read(hub.dir("In").join(&remote[0])).expect("in"),
            std::fs::read(sent.join(&local[0])).expect("sent"),
            "{point}: the bytes exported"
        );
        // Pushing again sends nothing.
        let third = hub_run(&db, None, &args);
        assert_eq!(code(&third), Some(0), "{point}: {}", stderr(&third));
        assert_eq!(hub.names("In").len(), 1, "{point}");
    }
}

#[test]
fn a_hub_pull_stopped_at_any_step_imports_once_on_the_next() {
    for point in ["pull.downloaded", "pull.imported"] {
        let hub = crate::ftps_server::Hub::start();
        let dir = tempfile::tempdir().expect("tmp");
        let db = with_hub(dir.path(), &hub);
        let src = sample("local-data-warehouse", false);
        std::fs::copy(&src, hub.dir("Out").join(src.file_name().expect("name"))).expect("out");
        let stopped = hub_run(&db, Some(point), &["hub", "pull", "RX1"]);
        assert_eq!(code(&stopped), Some(137), "{point}: {}", stderr(&stopped));
        let again = hub_run(&db, None, &["hub", "pull", "RX1"]);
        let said = String::from_utf8_lossy(&again.stdout).into_owned();
        assert_eq!(code(&again), Some(0), "{point}: {said}{}", stderr(&again));
        let store = esr_desk::store::Store::open(&db).expect("store");
        assert_eq!(
            store.batches(None).expect("b").len(),
            1,
            "{point}: imported once"
        );
        assert!(
            store
                .unfinished_transfers("RX1", esr_desk::store::hub::Way::Pull)
                .expect("t")
                .is_empty(),
            "{point}: finished"
        );
        assert!(
            !said.contains("missing"),
            "{point}: no gap is reported: {said}"
        );
        let third = hub_run(&db, None, &["hub", "pull", "RX1"]);
        assert_eq!(code(&third), Some(0), "{point}");
        assert_eq!(store.batches(None).expect("b").len(), 1, "{point}");
    }
}

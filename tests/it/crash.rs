//! Crash tests: the binary is killed (SIGKILL) at random moments of a scheduled run, and the
//! next run finishes the work exactly once. A few trials in `cargo test`; set
//! `ESR_DESK_CRASH_TRIALS` for more.

use crate::support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn trials() -> u32 {
    std::env::var("ESR_DESK_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[test]
fn a_killed_scheduled_run_is_finished_by_the_next_one_exactly_once() {
    let mut rng = fastrand::Rng::with_seed(11);
    for t in 0..trials() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let db = d.join("s.sqlite");
        let (inbox, outbox) = (d.join("in"), d.join("out"));
        std::fs::create_dir_all(&inbox).expect("in");
        let file = inbox.join("ABS_RX1_20261102_000001.csv");
        let g = run(&[
            "gen-sample",
            "--interface",
            "absences",
            "--rows",
            "40000",
            "--out",
            s(&file),
        ]);
        assert_eq!(code(&g), Some(0), "{}", stderr(&g));
        let _ = std::fs::remove_file(inbox.join("ABS_RX1_20261102_000001.csv.defects.json"));
        backdate(
            &file,
            std::time::SystemTime::now() - Duration::from_secs(600),
        );
        for args in [
            vec!["settings", "vpd", "RX1", "--db", s(&db)],
            vec![
                "schedule",
                "set",
                "absences",
                "--cadence",
                "every 15 min",
                "--inbox",
                s(&inbox),
                "--outbox",
                s(&outbox),
                "--db",
                s(&db),
            ],
        ] {
            let o = run(&args);
            assert_eq!(code(&o), Some(0), "{}", stderr(&o));
        }
        let store = esr_desk::store::Store::open(&db).expect("open");
        store
            .conn()
            .execute(
                "UPDATE schedule SET created_at = '2000-01-01T00:00:00.000Z'",
                [],
            )
            .expect("due");
        // Kill the run at a random moment.
        let mut child = Command::new(bin())
            .args(["run-due", "--db", s(&db)])
            .env("ESR_DESK_LAYOUTS", d.join("none"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(rng.u64(0..2500)));
        let _ = child.kill();
        let _ = child.wait();
        // Time passes: the dead run's lease runs out (no heartbeat renews it).
        store
            .conn()
            .execute(
                "UPDATE schedule SET lease_until = '2000-01-01T00:00:00.000Z' WHERE lease_owner IS NOT NULL",
                [],
            )
            .expect("expire");
        for _ in 0..2 {
            let o = run(&["run-due", "--db", s(&db)]);
            assert!(matches!(code(&o), Some(0 | 1)), "trial {t}: {}", stderr(&o));
        }
        // Exactly one file delivered, no temporary file left, the inbox file archived.
        let out: Vec<String> = std::fs::read_dir(&outbox)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            out.iter().filter(|n| n.starts_with("ABS_")).count(),
            1,
            "trial {t}: {out:?}"
        );
        assert!(
            !out.iter().any(|n| n.ends_with(".tmp")),
            "trial {t}: {out:?}"
        );
        assert!(!file.exists(), "trial {t}: the file is archived");
        assert!(
            inbox
                .join("archive")
                .join("ABS_RX1_20261102_000001.csv")
                .exists()
        );
        let runs = esr_desk::export::export_runs(&store, None, Some("absences")).expect("runs");
        assert_eq!(
            runs.iter().filter(|r| r.outcome == "ok").count(),
            1,
            "trial {t}"
        );
        assert_eq!(store.batches(Some("absences")).expect("b").len(), 1);
        let running: i64 = store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM schedule_run WHERE outcome = 'running'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(running, 0, "trial {t}: a killed run is marked interrupted");
    }
}

//! The NHS Interface Hub against a real FTPS server on 127.0.0.1 (tests/it/ftps_server.rs):
//! organisations and "test connection" naming each failure, credentials kept out of the
//! store, pulls and pushes that survive a dropped connection with nothing lost or sent twice,
//! the sequence watch, ESR's answers matched to the rows sent, the re-send of rejected rows,
//! and runs killed at random moments finished by a rerun with no duplicate upload.

use crate::ftps_server::{Hub, PASSWORD, free_port};
use crate::support::{code, sample, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

/// Runs the binary on a store, with a hub password given (or not) in the environment and
/// the system credential store out of the way.
fn cli(db: &Path, password: Option<&str>, args: &[&str]) -> Output {
    cmd(db, password, args).output().expect("runs")
}

fn cmd(db: &Path, password: Option<&str>, args: &[&str]) -> Command {
    let mut c = Command::new(crate::support::bin());
    c.args(args)
        .env("ESR_DESK_DB", db)
        .env(
            "ESR_DESK_LAYOUTS",
            std::env::temp_dir().join("esr-desk-tests-no-layouts"),
        )
        .env("ESR_DESK_NO_KEYRING", "1")
        .env_remove("ESR_DESK_HUB_PASSWORD");
    if let Some(p) = password {
        c.env("ESR_DESK_HUB_PASSWORD", p);
    }
    c
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A store in a fresh folder with organisation RX1 on `hub`.
fn setup(hub: &Hub) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let ca = hub.ca.display().to_string();
    let o = cli(
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
            &ca,
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    (dir, db)
}

/// A local data warehouse extract named as ESR names them, of kind GDR or GOC and number n.
pub fn extract(dir: &Path, kind: &str, n: u64) -> PathBuf {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = crate::support::run(&[
        "gen-sample",
        "--interface",
        "local-data-warehouse",
        "--rows",
        "30",
        "--seed",
        &n.to_string(),
        "--seq",
        &n.to_string(),
        "--out",
        &tmp.path().display().to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let made = std::fs::read_dir(tmp.path())
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.to_string_lossy().ends_with(".json"))
        .expect("made");
    let from = made
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let to = from.replace("_GOF_", &format!("_{kind}_"));
    let text = std::fs::read(&made).expect("read");
    let text = String::from_utf8_lossy(&text).replacen(&from, &to, 1);
    let path = dir.join(&to);
    std::fs::write(&path, text.as_bytes()).expect("write");
    path
}

#[test]
fn test_connection_says_in_plain_words_what_failed() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    let ok = cli(&db, Some(PASSWORD), &["org", "test", "RX1"]);
    assert_eq!(code(&ok), Some(0), "{}", stderr(&ok));
    assert!(
        out(&ok).contains("logged in as rx1hub") && out(&ok).contains("Out and In"),
        "{}",
        out(&ok)
    );

    let wrong = cli(&db, Some("not the password"), &["org", "test", "RX1"]);
    assert_eq!(code(&wrong), Some(2));
    assert!(
        stderr(&wrong).contains("did not accept the account name or password"),
        "{}",
        stderr(&wrong)
    );
    assert!(
        !stderr(&wrong).contains("not the password"),
        "a password is never echoed"
    );

    // No CA given: the test hub's certificate is not trusted.
    let o = cli(
        &db,
        None,
        &["org", "set", "RX2", "--name", "No CA", "--hub", &hub.url()],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let tls = cli(&db, Some(PASSWORD), &["org", "test", "RX2"]);
    assert_eq!(code(&tls), Some(2));
    assert!(
        stderr(&tls).contains("secure (TLS) connection failed"),
        "{}",
        stderr(&tls)
    );

    let closed = format!("ftps://rx1hub@127.0.0.1:{}/", free_port());
    let o = cli(
        &db,
        None,
        &[
            "org",
            "set",
            "RX3",
            "--name",
            "Nothing there",
            "--hub",
            &closed,
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let refused = cli(&db, Some(PASSWORD), &["org", "test", "RX3"]);
    assert_eq!(code(&refused), Some(2));
    assert!(
        stderr(&refused).contains("refused the connection"),
        "{}",
        stderr(&refused)
    );

    let o = cli(
        &db,
        None,
        &[
            "org",
            "set",
            "RX4",
            "--name",
            "No such host",
            "--hub",
            "ftps://a@hub.example.invalid:21/",
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let dns = cli(&db, Some(PASSWORD), &["org", "test", "RX4"]);
    assert_eq!(code(&dns), Some(2));
    assert!(
        stderr(&dns).contains("name could not be found"),
        "{}",
        stderr(&dns)
    );

    let half = Hub::start_with(&["Out"]);
    let ca = half.ca.display().to_string();
    let o = cli(
        &db,
        None,
        &[
            "org",
            "set",
            "RX5",
            "--name",
            "No In",
            "--hub",
            &half.url(),
            "--ca-file",
            &ca,
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let missing = cli(&db, Some(PASSWORD), &["org", "test", "RX5"]);
    assert_eq!(code(&missing), Some(2));
    assert!(
        stderr(&missing).contains("has no folder In"),
        "{}",
        stderr(&missing)
    );

    let list = cli(&db, None, &["org", "list"]);
    assert_eq!(code(&list), Some(0));
    for vpd in ["RX1", "RX2", "RX3", "RX4", "RX5"] {
        assert!(out(&list).contains(vpd), "{}", out(&list));
    }
    drop(dir);
}

#[test]
fn a_password_is_kept_out_of_the_store_and_the_logs() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    let mut c = cmd(
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
            "--password-stdin",
        ],
    );
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(out(&o).contains("readable by you only"), "{}", out(&o));
    let file = dir.path().join("hub-passwords.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // With no password in the environment, the saved one is used.
    let ok = cli(&db, None, &["org", "test", "RX1"]);
    assert_eq!(code(&ok), Some(0), "{}", stderr(&ok));
    for f in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let p = f.path();
        if p.is_file() && p != file {
            let bytes = std::fs::read(&p).expect("read");
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                !hay.contains(PASSWORD),
                "{} holds the password",
                p.display()
            );
        }
    }
}

#[test]
fn a_pull_survives_a_dropped_download_and_takes_each_file_once() {
    let hub = Hub::start();
    let (_dir, db) = setup(&hub);
    let gdr = extract(&hub.dir("Out"), "GDR", 1);
    std::fs::write(hub.dir("Out").join("README.txt"), b"not an interface file").expect("write");
    hub.faults.cut_downloads.store(1, Ordering::SeqCst);
    let o = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    let name = gdr
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        out(&o).contains(&format!("{name}\tbatch 1\tclean")),
        "{}",
        out(&o)
    );
    assert_eq!(
        hub.faults.cut_downloads.load(Ordering::SeqCst),
        0,
        "the cut happened"
    );
    // What was imported is exactly what the hub held.
    let local = db.parent().expect("dir").join("hub/RX1/in").join(&name);
    assert_eq!(
        std::fs::read(&local).expect("local"),
        std::fs::read(&gdr).expect("remote")
    );
    let again = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&again), Some(0));
    assert!(out(&again).contains("nothing new"), "{}", out(&again));
}

#[test]
fn a_push_survives_a_dropped_upload_and_is_never_sent_twice() {
    let hub = Hub::start();
    let (_dir, db) = setup(&hub);
    let abs = sample("absences", false).display().to_string();
    let o = cli(&db, None, &["import", &abs]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    hub.faults.cut_uploads.store(1, Ordering::SeqCst);
    let o = cli(&db, Some(PASSWORD), &["hub", "push", "1", "--org", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    let names = hub.names("In");
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with("ABS_RX1_") && names[0].ends_with(".csv"),
        "{names:?}"
    );
    assert_eq!(
        hub.faults.stores.load(Ordering::SeqCst),
        2,
        "one cut off, one whole, both under the temporary name"
    );
    assert_eq!(hub.faults.renames.load(Ordering::SeqCst), 1);
    let sent = db
        .parent()
        .expect("dir")
        .join("hub/RX1/sent")
        .join(&names[0]);
    assert_eq!(
        std::fs::read(hub.dir("In").join(&names[0])).expect("in"),
        std::fs::read(&sent).expect("sent")
    );
    let again = cli(&db, Some(PASSWORD), &["hub", "push", "1", "--org", "RX1"]);
    assert_eq!(code(&again), Some(0), "{}", stderr(&again));
    assert!(out(&again).contains("never sent twice"), "{}", out(&again));
    assert_eq!(hub.faults.stores.load(Ordering::SeqCst), 2);

    // A batch with rejects is refused before anything is recorded or sent.
    let bad = sample("absences", true).display().to_string();
    let o = cli(&db, None, &["import", &bad]);
    assert_eq!(code(&o), Some(1));
    let o = cli(&db, Some(PASSWORD), &["hub", "push", "2", "--org", "RX1"]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("nothing was sent: batch 2 has"),
        "{}",
        stderr(&o)
    );
    assert_eq!(hub.faults.stores.load(Ordering::SeqCst), 2);
}

#[test]
fn a_hub_that_cannot_be_reached_loses_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let closed = format!("ftps://rx1hub@127.0.0.1:{}/", free_port());
    assert_eq!(
        code(&cli(
            &db,
            None,
            &["org", "set", "RX1", "--name", "T", "--hub", &closed]
        )),
        Some(0)
    );
    let abs = sample("absences", false).display().to_string();
    assert_eq!(code(&cli(&db, None, &["import", &abs])), Some(0));
    let o = cli(&db, Some(PASSWORD), &["hub", "push", "1", "--org", "RX1"]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("refused the connection"),
        "{}",
        stderr(&o)
    );
    let pull = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&pull), Some(2));
    assert!(
        out(&pull).contains("the Out folder of RX1\tnot finished\tthe hub refused the connection"),
        "{}",
        out(&pull)
    );
    let status = cli(&db, None, &["hub", "status"]);
    assert_eq!(code(&status), Some(0));
    assert!(
        out(&status).contains("stopped at 'exported'")
            && out(&status).contains("refused the connection"),
        "{}",
        out(&status)
    );
}

/// The end-to-end loop: extracts pulled by a scheduled run (with a sequence gap),
/// an absences file delivered, ESR's answer matched, the rejected rows re-sent.
#[test]
fn the_loop_with_esr_end_to_end() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    extract(&hub.dir("Out"), "GDR", 1943);
    extract(&hub.dir("Out"), "GOC", 1945);
    let outbox = dir.path().join("outbox");
    schedule_pull(&db, &outbox);
    let run = cli(&db, Some(PASSWORD), &["schedule", "run", "1"]);
    assert_eq!(code(&run), Some(0), "{}\n{}", out(&run), stderr(&run));
    let exported: Vec<String> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(exported.len(), 2, "{exported:?}");
    assert!(
        out(&run)
            .contains("GOC 00001944 expected, 00001945 received: out of sequence, 1 file missing"),
        "{}",
        out(&run)
    );
    let status = cli(&db, None, &["hub", "status"]);
    assert!(
        out(&status).contains("sequence out of step, 1 file missing (00001944)"),
        "{}",
        out(&status)
    );

    // A local absences file, validated and delivered under a temporary name then renamed.
    let abs = sample("absences", false).display().to_string();
    let o = cli(&db, None, &["import", &abs]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let batch = out(&o).trim().lines().next().expect("id").to_string();
    let o = cli(
        &db,
        Some(PASSWORD),
        &["hub", "push", &batch, "--org", "RX1"],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert_eq!(hub.faults.renames.load(Ordering::SeqCst), 1);
    let sent_name = hub.names("In").into_iter().next().expect("sent");
    assert!(!sent_name.ends_with(".part"));

    // ESR's answer: every data line accepted but two.
    let sent = std::fs::read_to_string(hub.dir("In").join(&sent_name)).expect("sent");
    let lines: Vec<&str> = sent.lines().collect();
    let rejected_lines = [3usize, 6];
    let mut resp = format!("HDR~{sent_name}~20261126 101500~RX1\n");
    let mut n = 0;
    for (i, _) in lines.iter().enumerate().skip(1) {
        let line = i + 1;
        n += 1;
        if rejected_lines.contains(&line) {
            resp.push_str(&format!(
                "RES~{line}~REJECTED~Assignment number not found in ESR\n"
            ));
        } else {
            resp.push_str(&format!("RES~{line}~ACCEPTED~Record loaded\n"));
        }
    }
    resp.push_str(&format!("TRL~{n:08}\n"));
    let answer = hub.dir("Out").join("RESP_RX1_20261126101500_000001.DAT");
    std::fs::write(&answer, &resp).expect("answer");
    let check = cli(&db, None, &["validate", &answer.display().to_string()]);
    assert_eq!(
        code(&check),
        Some(0),
        "the answer file itself is clean: {}",
        out(&check)
    );
    let o = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    assert!(
        out(&o).contains(&format!("answers batch {batch}")) && out(&o).contains("2 rejected"),
        "{}",
        out(&o)
    );
    let ans = cli(&db, None, &["hub", "answers", &batch]);
    assert_eq!(code(&ans), Some(1), "rejected rows outstanding");
    assert_eq!(
        out(&ans).matches("\trejected\t").count(),
        2,
        "{}",
        out(&ans)
    );

    // The re-send holds exactly those two rows.
    let o = cli(&db, None, &["hub", "resend", &batch, "--org", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let resend = out(&o).lines().next().expect("id").trim().to_string();
    let draft = std::fs::read_dir(dir.path().join("resend").join(&batch))
        .expect("resend dir")
        .flatten()
        .next()
        .expect("file")
        .path();
    let text = std::fs::read_to_string(&draft).expect("draft");
    let body: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        body,
        vec![lines[2], lines[5]],
        "exactly the rejected rows, as sent"
    );
    let status = cli(&db, None, &["hub", "status"]);
    assert!(
        !out(&status).contains("ESR rejected 2 rows"),
        "a re-send answers the rejections: {}",
        out(&status)
    );
    assert_ne!(resend, batch);
}

/// Schedules the local data warehouse to pull from RX1's hub and export to `outbox`.
fn schedule_pull(db: &Path, outbox: &Path) {
    let outbox = outbox.display().to_string();
    let args = [
        "schedule",
        "set",
        "local-data-warehouse",
        "--cadence",
        "daily at 06:00",
        "--from-hub",
        "RX1",
        "--outbox",
        &outbox,
    ];
    let o = cli(db, None, &args);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
}

/// Imports a 40,000-row absences file as batch 1: large enough for a kill or a second run to
/// land in the middle of its upload.
fn import_big_absences(dir: &Path, db: &Path, seed: u64) {
    let big = dir.join("big");
    std::fs::create_dir_all(&big).expect("dir");
    let o = crate::support::run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "40000",
        "--seed",
        &seed.to_string(),
        "--out",
        &big.join("ABS_RX1_20261102_000001.csv")
            .display()
            .to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let file = big
        .join("ABS_RX1_20261102_000001.csv")
        .display()
        .to_string();
    let o = cli(db, None, &["import", &file]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
}

/// Kills `args` at a random moment, `times` times (after each kill, time passes: a dead
/// run's schedule lease runs out), then lets it finish.
fn kill_then_finish(db: &Path, args: &[&str], times: usize, seed: u64) -> Output {
    let mut rng = seed;
    for _ in 0..times {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait = std::time::Duration::from_millis((rng >> 33) % 400);
        let mut child = cmd(db, Some(PASSWORD), args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(wait);
        let _ = child.kill();
        let _ = child.wait();
        let store = esr_desk::store::Store::open(db).expect("open");
        store
            .conn()
            .execute(
                "UPDATE schedule SET lease_until = '2000-01-01T00:00:00.000Z' WHERE lease_owner IS NOT NULL",
                [],
            )
            .expect("expire");
    }
    cli(db, Some(PASSWORD), args)
}

#[test]
fn runs_killed_at_random_moments_finish_with_no_duplicate_upload() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    // A larger absences file, so a kill can land in the middle of its upload.
    import_big_absences(dir.path(), &db, 5);
    let o = kill_then_finish(&db, &["hub", "push", "1", "--org", "RX1"], 6, 7);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    let names: Vec<String> = hub.names("In");
    assert_eq!(names.len(), 1, "one file, no temporary left: {names:?}");
    assert_eq!(
        hub.faults.renames.load(Ordering::SeqCst),
        1,
        "renamed into place once"
    );
    let sent = std::fs::read_dir(dir.path().join("hub/RX1/sent"))
        .expect("sent")
        .flatten()
        .count();
    assert_eq!(sent, 1, "exported once");
    assert_eq!(
        std::fs::read(hub.dir("In").join(&names[0])).expect("in"),
        std::fs::read(dir.path().join("hub/RX1/sent").join(&names[0])).expect("sent")
    );

    // A scheduled pull killed at random moments imports and exports each extract once.
    for n in [11, 12, 14] {
        extract(&hub.dir("Out"), if n == 11 { "GDR" } else { "GOC" }, n);
    }
    let outbox = dir.path().join("outbox");
    schedule_pull(&db, &outbox);
    let o = kill_then_finish(&db, &["schedule", "run", "1"], 6, 11);
    assert!(
        matches!(code(&o), Some(0 | 1)),
        "{}\n{}",
        out(&o),
        stderr(&o)
    );
    let o = cli(&db, Some(PASSWORD), &["schedule", "run", "1"]);
    assert!(matches!(code(&o), Some(0 | 1)), "{}", stderr(&o));
    let exported = std::fs::read_dir(&outbox)
        .expect("outbox")
        .flatten()
        .count();
    assert_eq!(exported, 3, "each extract exported once");
    let batches = cli(&db, None, &["hub", "status"]);
    assert!(
        out(&batches).contains("1 file missing (00000013)"),
        "{}",
        out(&batches)
    );
}

#[test]
fn a_full_refresh_request_is_the_header_alone_sent_once() {
    let hub = Hub::start();
    let (_dir, db) = setup(&hub);
    let o = cli(
        &db,
        Some(PASSWORD),
        &[
            "hub",
            "refresh",
            "RX1",
            "--interface",
            "local-data-warehouse",
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let names = hub.names("In");
    assert_eq!(names.len(), 1, "{names:?}");
    // As the public record describes it: named GDR with sequence 00000001, one line of the
    // header's first three fields, no line ending.
    assert!(
        names[0].starts_with("GO_RX1_GDW_GDR_") && names[0].ends_with("_00000001.DAT"),
        "{names:?}"
    );
    let text = std::fs::read_to_string(hub.dir("In").join(&names[0])).expect("read");
    let fields: Vec<&str> = text.split('~').collect();
    assert_eq!(fields.len(), 3, "{text}");
    assert_eq!(fields[..2], ["HDR", names[0].as_str()], "{text}");
    assert_eq!(fields[2].len(), 15, "YYYYMMDD HHMMSS: {text}");
    assert!(!text.contains('\n'), "{text:?}");
    let again = cli(
        &db,
        Some(PASSWORD),
        &[
            "hub",
            "refresh",
            "RX1",
            "--interface",
            "local-data-warehouse",
        ],
    );
    assert_eq!(code(&again), Some(0), "{}", stderr(&again));
    assert_eq!(
        hub.faults.stores.load(Ordering::SeqCst),
        1,
        "asked once a day"
    );
    let no = cli(
        &db,
        Some(PASSWORD),
        &["hub", "refresh", "RX1", "--interface", "absences"],
    );
    assert_eq!(code(&no), Some(2));
    assert!(stderr(&no).contains("full_refresh"), "{}", stderr(&no));
}

/// The request's time is the end of the last change file received (so the full extract starts
/// where the change files stopped), and an organisation whose hub takes the 4-field request
/// says so in its setting.
#[test]
fn a_refresh_request_carries_the_last_change_file_s_end_and_the_organisation_s_form() {
    let hub = Hub::start();
    let (_dir, db) = setup(&hub);
    let goc = extract(&hub.dir("Out"), "GOC", 21);
    let this_run = std::fs::read_to_string(&goc)
        .expect("read")
        .lines()
        .next()
        .expect("header")
        .split('~')
        .nth(5)
        .expect("This Run")
        .to_string();
    let o = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert!(matches!(code(&o), Some(0 | 1)), "{}", stderr(&o));
    let o = cli(&db, None, &["settings", "hub.RX1.refresh-vpd", "yes"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = cli(
        &db,
        Some(PASSWORD),
        &[
            "hub",
            "refresh",
            "RX1",
            "--interface",
            "local-data-warehouse",
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let names = hub.names("In");
    assert_eq!(names.len(), 1, "{names:?}");
    let text = std::fs::read_to_string(hub.dir("In").join(&names[0])).expect("read");
    assert_eq!(text, format!("HDR~{}~{this_run}~RX1", names[0]));
    let bad = cli(&db, None, &["settings", "hub.RX1.refresh-vpd", "maybe"]);
    assert_eq!(code(&bad), Some(2));
}

/// The Hub screen, driven through egui_kittest against the real test hub: an organisation
/// added from the form, "Test connection" and "Pull now", and the dashboard's sequence watch.
#[test]
fn the_hub_screen_adds_an_organisation_tests_it_and_pulls() {
    use egui_kittest::{Harness, kittest::Queryable as _};
    use esr_desk::ui::hub::HubScreen;
    fn wait(h: &mut Harness<'static, HubScreen>) {
        let start = std::time::Instant::now();
        h.step();
        while h.state().busy() {
            h.state_mut().poll();
            assert!(start.elapsed() < std::time::Duration::from_secs(60));
            std::thread::sleep(std::time::Duration::from_millis(10));
            h.step();
        }
        h.run();
    }
    let hub = Hub::start();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    // The password as kept where no credential store runs (the file beside the store).
    std::fs::write(
        dir.path().join("hub-passwords.toml"),
        format!("\"RX1/rx1hub\" = \"{PASSWORD}\"\n"),
    )
    .expect("pw");
    extract(&hub.dir("Out"), "GDR", 21);
    extract(&hub.dir("Out"), "GOC", 23);
    let screen = HubScreen::new(db.clone());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(|ui, s: &mut HubScreen| s.ui(ui, &mut Vec::new()), screen);
    wait(&mut h);
    h.get_by_label("Add organisation…").click();
    h.run();
    {
        let f = h.state_mut().form.as_mut().expect("form");
        f.vpd = "rx1".into();
        f.name = "Synthetic Trust".into();
        f.hub = hub.url();
        f.ca_file = hub.ca.display().to_string();
    }
    h.run();
    h.get_by_label("Save").click();
    wait(&mut h);
    assert!(h.state().form.is_none(), "{:?}", h.state().message);
    assert_eq!(h.state().loaded.orgs.len(), 1);
    assert!(h.state().loaded.orgs[0].1, "the password is found");
    h.get_by_label("Test connection").click();
    wait(&mut h);
    let (bad, m) = h.state().message.clone().expect("message");
    assert!(!bad && m.contains("logged in as rx1hub"), "{m}");
    h.get_by_label("Pull now").click();
    wait(&mut h);
    let (bad, m) = h.state().message.clone().expect("message");
    assert!(
        !bad && m.contains("as batch 1") && m.contains("as batch 2"),
        "{m}"
    );
    let d = &h.state().loaded.dashboard;
    let line = d
        .lines
        .iter()
        .find(|l| l.interface == "local-data-warehouse")
        .expect("line");
    assert!(line.sequence_problem, "{line:?}");
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("1 file missing (00000022)")),
        "{:?}",
        d.warnings
    );
    assert!(h.get_all_by_label("Request full refresh (RX1)").count() == 1);
    h.get_by_label("Request full refresh (RX1)").click();
    wait(&mut h);
    let (bad, m) = h.state().message.clone().expect("message");
    assert!(!bad && m.contains("Full refresh requested"), "{m}");
    assert_eq!(hub.names("In").len(), 1);
}

/// ESR's answer in the window: the batch answered shows it, and "Re-send rejected rows"
/// opens a new batch of exactly those rows.
#[test]
fn the_window_shows_esr_s_answer_and_re_sends_the_rejected_rows() {
    use crate::window::{harness_sized, settle, view};
    use egui_kittest::kittest::Queryable as _;
    use esr_desk::store::{ImportOptions, Store};
    use esr_desk::ui::app::{App, Command, View};
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let sent = sample("absences", false);
    let name = sent
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let lines = std::fs::read_to_string(&sent).expect("read");
    let data_lines = lines.lines().count() - 1;
    let mut resp = format!("HDR~{name}~20261126 101500~RX1\n");
    for line in 2..=data_lines + 1 {
        let status = if line == 4 || line == 8 {
            "REJECTED~Assignment number not found in ESR"
        } else {
            "ACCEPTED~Record loaded"
        };
        resp.push_str(&format!("RES~{line}~{status}\n"));
    }
    resp.push_str(&format!("TRL~{data_lines:08}\n"));
    let answer = dir.path().join("RESP_RX1_20261126101500_000001.DAT");
    std::fs::write(&answer, resp).expect("answer");
    {
        let mut store = Store::open(&db).expect("store");
        let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
        store
            .import(
                &sent,
                set.get("absences").expect("layout"),
                ImportOptions::default(),
            )
            .expect("sent");
        let a = store
            .import(
                &answer,
                set.get("generic-response").expect("layout"),
                ImportOptions::default(),
            )
            .expect("answer");
        assert!(a.is_clean());
        let m = esr_desk::hub::answers::match_answer(&mut store, a.batch_id).expect("match");
        assert_eq!(
            (m.info.answered_batch, m.info.rejected, m.info.unmatched),
            (Some(1), 2, 0),
            "{}",
            m.summary()
        );
    }
    let mut h = harness_sized(App::headless(Vec::new(), Some(db.clone())), 1024.0, 700.0);
    h.state_mut().queue(Command::View(View::OpenBatch(1)));
    settle(&mut h);
    settle(&mut h);
    let hub = &view(&h).file_state.get().expect("panel read").hub;
    let rejected: Vec<u64> = hub
        .rows
        .values()
        .filter(|r| r.status == esr_desk::layout::RowStatus::Rejected)
        .map(|r| r.line)
        .collect();
    assert_eq!(rejected, vec![4, 8], "the rows at lines 4 and 8");
    assert!(
        h.query_by_label_contains("Line 4 rejected: Assignment number not found in ESR")
            .is_some()
    );
    h.get_by_label("Re-send 2 rejected rows…").click();
    settle(&mut h);
    settle(&mut h);
    let v = view(&h);
    assert_eq!(
        (v.info.id, v.info.records),
        (3, 2),
        "the re-send is open, with the 2 rows"
    );
    let store = Store::open(&db).expect("store");
    let want: Vec<Vec<String>> = [4u64, 8]
        .iter()
        .map(|l| {
            store
                .page(1, 0, 10_000, &Default::default())
                .expect("page")
                .into_iter()
                .find(|r| r.line == *l)
                .expect("row")
                .fields
        })
        .collect();
    let got: Vec<Vec<String>> = store
        .page(3, 0, 10, &Default::default())
        .expect("page")
        .into_iter()
        .map(|r| r.fields)
        .collect();
    assert_eq!(got, want, "exactly the rejected rows, as they stand");
    assert_eq!(store.resend_batch_of(1).expect("resend"), Some(3));
}

/// Two runs delivering the same batch at once (the window and a schedule, say): one sends it,
/// the other leaves it be; the hub gets it once.
#[test]
fn two_pushes_at_once_deliver_the_batch_once() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    import_big_absences(dir.path(), &db, 9);
    let spawn = || {
        cmd(&db, Some(PASSWORD), &["hub", "push", "1", "--org", "RX1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    let codes = [code(&a), code(&b)];
    assert!(
        codes.contains(&Some(0)),
        "one delivers: {}\n{}",
        stderr(&a),
        stderr(&b)
    );
    for o in [&a, &b] {
        if code(o) != Some(0) {
            assert!(
                stderr(o).contains("is transferring")
                    || stderr(o).contains("database is locked")
                    || stderr(o).contains("busy"),
                "{}",
                stderr(o)
            );
        }
    }
    let again = cli(&db, Some(PASSWORD), &["hub", "push", "1", "--org", "RX1"]);
    assert_eq!(code(&again), Some(0), "{}", stderr(&again));
    assert_eq!(hub.names("In").len(), 1, "{:?}", hub.names("In"));
    assert_eq!(
        hub.faults.renames.load(Ordering::SeqCst),
        1,
        "renamed into place once"
    );
    assert_eq!(hub.faults.stores.load(Ordering::SeqCst), 1, "uploaded once");
}

/// A clean absences file of `rows` rows, made from `seed`, named as a local system names it.
fn clean_absences(dir: &Path, seed: u64) -> PathBuf {
    let path = dir.join(format!("ABS_RX1_20261102_{seed:06}.csv"));
    let o = crate::support::run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "12",
        "--defect-rate",
        "0",
        "--seed",
        &seed.to_string(),
        "--out",
        &path.display().to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    path
}

fn import_id(db: &Path, file: &Path) -> String {
    let o = cli(db, None, &["import", &file.display().to_string()]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    out(&o).trim().lines().next().expect("id").to_string()
}

#[test]
fn one_sequence_per_organisation_and_interface_whichever_path_makes_the_file() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    let o = cli(&db, None, &["settings", "vpd", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let folder = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).expect("dir");
        d
    };
    // 1. The command line.
    let b = import_id(&db, &clean_absences(&files, 1));
    let out1 = folder("out-cli");
    let o = cli(
        &db,
        None,
        &["export", &b, "--out", &out1.display().to_string()],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // 2. The window's Export dialog.
    let b: i64 = import_id(&db, &clean_absences(&files, 2))
        .parse()
        .expect("id");
    let out2 = folder("out-window");
    {
        let app = esr_desk::ui::app::App::headless(vec![], Some(db.clone()));
        let mut h = crate::window::harness_sized(app, 1024.0, 700.0);
        crate::window::settle(&mut h);
        h.state_mut().queue(esr_desk::ui::app::Command::View(
            esr_desk::ui::app::View::OpenBatch(b),
        ));
        crate::window::settle(&mut h);
        h.state_mut().queue(esr_desk::ui::app::Command::View(
            esr_desk::ui::app::View::ExportDialog,
        ));
        crate::window::settle(&mut h);
        let mut form = h.state().export.clone().expect("the dialog");
        assert_eq!(form.vpd, "RX1", "the dialog offers the organisation's VPD");
        form.folder = out2.display().to_string();
        h.state_mut().queue(esr_desk::ui::app::Command::Data(
            esr_desk::ui::app::Data::Export(form),
        ));
        crate::window::settle(&mut h);
        assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    }
    // 3. A schedule.
    let inbox = folder("inbox");
    let out3 = folder("out-schedule");
    let o = cli(
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
            &out3.display().to_string(),
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let f = clean_absences(&files, 3);
    let taken = inbox.join(f.file_name().expect("name"));
    std::fs::copy(&f, &taken).expect("copy");
    // Files are taken once they have settled: let the copy age past the settling time.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&taken)
        .expect("open")
        .set_modified(old)
        .expect("age");
    let o = cli(&db, None, &["schedule", "run", "1"]);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    // 4. A delivery to the hub.
    let b = import_id(&db, &clean_absences(&files, 4));
    let o = cli(&db, Some(PASSWORD), &["hub", "push", &b, "--org", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let store = esr_desk::store::Store::open(&db).expect("store");
    assert_eq!(
        store
            .batch(b.parse().expect("id"))
            .expect("batch")
            .status_words(),
        "Delivered to RX1",
        "the lists say where it went"
    );
    drop(store);
    // The hub's working folders are the owner's alone, each of them.
    #[cfg(unix)]
    for d in [dir.path().join("hub"), dir.path().join("hub").join("RX1")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&d).expect("folder").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    // 5. A re-send of the rows ESR rejected, exported.
    let sent_name = hub.names("In").into_iter().next().expect("sent");
    let resp = format!(
        "HDR~{sent_name}~20261126 101500~RX1\nRES~3~REJECTED~Assignment number not found in ESR\nRES~4~ACCEPTED~Record loaded\nTRL~00000002\n"
    );
    std::fs::write(
        hub.dir("Out").join("RESP_RX1_20261126101500_000001.DAT"),
        resp,
    )
    .expect("answer");
    let o = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}\n{}", out(&o), stderr(&o));
    let o = cli(&db, None, &["hub", "resend", &b, "--org", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let resend = out(&o).lines().next().expect("id").trim().to_string();
    let out5 = folder("out-resend");
    let o = cli(
        &db,
        None,
        &["export", &resend, "--out", &out5.display().to_string()],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // 6. A workbook's header is made with the next number, never one used.
    let store = esr_desk::store::Store::open(&db).expect("store");
    let layouts = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let layout = layouts.get("absences").expect("layout");
    let fill = store.fill_for(layout, Path::new("Absence report.xlsx"));
    // Every file made: one organisation, one interface, numbers 1 to 5, none twice.
    let mut names: Vec<String> = Vec::new();
    for d in [&out1, &out2, &out3, &out5, &hub.dir("In")] {
        for e in std::fs::read_dir(d).expect("dir").flatten() {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    let mut numbers: Vec<(String, u64)> = names
        .iter()
        .map(|n| {
            (
                layout.file_name.vpd_in(n).expect("a VPD in the name"),
                layout.file_name.seq_in(n).expect("a number in the name"),
            )
        })
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=5).map(|n| ("RX1".to_string(), n)).collect::<Vec<_>>(),
        "{names:?}"
    );
    assert_eq!((fill.vpd.as_str(), fill.seq), ("RX1", 6));
    // One counter, and the export history says which number each file used.
    let settings = cli(&db, None, &["settings"]);
    let listed = out(&settings);
    let counters: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("seq."))
        .collect::<Vec<_>>();
    assert_eq!(counters.len(), 1, "{}", out(&settings));
    assert!(counters[0].contains("seq.RX1.absences"), "{counters:?}");
    let mut used: Vec<u64> = store
        .export_runs(None, Some("absences"))
        .expect("runs")
        .into_iter()
        .filter(|r| r.outcome == esr_desk::store::ExportRunOutcome::Ok)
        .filter_map(|r| r.seq)
        .collect();
    used.sort_unstable();
    assert_eq!(used, vec![1, 2, 3, 4, 5]);
}

#[test]
fn an_older_store_s_counter_without_an_organisation_is_folded_into_the_trust_s() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    {
        let store = esr_desk::store::Store::open_at_version(&db, 11).expect("v11");
        // As an older version wrote them (the settings command refuses the old key now).
        store
            .conn()
            .execute_batch(
                "INSERT INTO setting(key, value) VALUES ('vpd', 'RX1'), ('seq.absences', '7'), ('seq.RX1.absences', '3'), ('seq.dbs', '2');",
            )
            .expect("settings");
    }
    let store = esr_desk::store::Store::open(&db).expect("open");
    assert_eq!(
        store.setting("seq.RX1.absences").expect("s").as_deref(),
        Some("7")
    );
    assert_eq!(store.setting("seq.absences").expect("s"), None);
    assert_eq!(
        store.setting("seq.RX1.dbs").expect("s").as_deref(),
        Some("2")
    );
    // A store with no VPD keeps the old counter as a floor until the first export folds it.
    let dir2 = tempfile::tempdir().expect("tmp");
    let db2 = dir2.path().join("store.sqlite");
    {
        let store = esr_desk::store::Store::open_at_version(&db2, 11).expect("v11");
        store
            .conn()
            .execute(
                "INSERT INTO setting(key, value) VALUES ('seq.absences', '7')",
                [],
            )
            .expect("seq");
    }
    let o = cli(
        &db2,
        None,
        &["import", &sample("absences", false).display().to_string()],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let out2 = dir2.path().join("out");
    let o = cli(
        &db2,
        None,
        &[
            "export",
            "1",
            "--out",
            &out2.display().to_string(),
            "--vpd",
            "RX2",
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(
        out(&o).contains("ABS_RX2_") && out(&o).contains("_000008.csv"),
        "{}",
        out(&o)
    );
    let store = esr_desk::store::Store::open(&db2).expect("open");
    assert_eq!(
        store.setting("seq.RX2.absences").expect("s").as_deref(),
        Some("8")
    );
    assert_eq!(store.setting("seq.absences").expect("s"), None);
}

#[test]
fn a_certificate_problem_is_said_in_plain_words_naming_each_face_s_own_control() {
    let wrong = Hub::start_presenting_its_ca();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let ca = wrong.ca.display().to_string();
    let o = cli(
        &db,
        None,
        &[
            "org",
            "set",
            "RX1",
            "--name",
            "T",
            "--hub",
            &wrong.url(),
            "--ca-file",
            &ca,
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let t = cli(&db, Some(PASSWORD), &["org", "test", "RX1"]);
    assert_eq!(code(&t), Some(2));
    let e = stderr(&t);
    assert!(
        e.contains(
            "presents a certificate authority's certificate instead of a certificate of its own"
        ),
        "{e}"
    );
    assert!(
        !e.contains("CaUsedAsEndEntity") && !e.contains("OtherError"),
        "{e}"
    );
    // A hub whose authority is not trusted: the command line names its flag...
    let hub = Hub::start();
    let o = cli(
        &db,
        None,
        &["org", "set", "RX2", "--name", "T", "--hub", &hub.url()],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let t = cli(&db, Some(PASSWORD), &["org", "test", "RX2"]);
    let e = stderr(&t);
    assert!(
        e.contains("issued by an authority this computer does not trust")
            && e.contains("--ca-file"),
        "{e}"
    );
    assert!(!e.contains("UnknownIssuer"), "{e}");
    // ...and the window its box, never a flag.
    std::fs::write(
        dir.path().join("hub-passwords.toml"),
        format!("\"RX2/rx1hub\" = \"{PASSWORD}\"\n"),
    )
    .expect("pw");
    use egui_kittest::Harness;
    let screen = esr_desk::ui::hub::HubScreen::new(db.clone());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(
            |ui, s: &mut esr_desk::ui::hub::HubScreen| s.ui(ui, &mut Vec::new()),
            screen,
        );
    let wait = |h: &mut Harness<'static, esr_desk::ui::hub::HubScreen>| {
        let start = std::time::Instant::now();
        h.step();
        while h.state().busy() {
            h.state_mut().poll();
            assert!(start.elapsed() < std::time::Duration::from_secs(60));
            std::thread::sleep(std::time::Duration::from_millis(10));
            h.step();
        }
        h.run();
    };
    wait(&mut h);
    h.state_mut().test("RX2".into());
    wait(&mut h);
    let (bad, m) = h.state().message.clone().expect("message");
    assert!(bad, "{m}");
    assert!(m.contains("Extra CA certificate (PEM)"), "{m}");
    assert!(
        !m.contains("--ca-file") && !m.contains("esr-desk org"),
        "{m}"
    );
}

#[test]
fn batches_pulled_from_the_hub_in_the_window_show_on_every_screen_at_once() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    std::fs::write(
        dir.path().join("hub-passwords.toml"),
        format!("\"RX1/rx1hub\" = \"{PASSWORD}\"\n"),
    )
    .expect("pw");
    extract(&hub.dir("Out"), "GDR", 31);
    let app = esr_desk::ui::app::App::headless(vec![], Some(db.clone()));
    let mut h = crate::window::harness_sized(app, 1024.0, 700.0);
    h.state_mut().queue(esr_desk::ui::app::Command::View(
        esr_desk::ui::app::View::Show(esr_desk::ui::app::Screen::Hub),
    ));
    crate::window::settle(&mut h);
    assert!(h.state().batches.all.is_empty());
    h.state_mut()
        .hub
        .as_mut()
        .expect("hub screen")
        .pull("RX1".into());
    let start = std::time::Instant::now();
    while h.state().batches.all.is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the pulled batch never showed: {:?}",
            h.state().hub.as_ref().and_then(|s| s.message.clone())
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::window::settle(&mut h);
    let a = h.state();
    assert_eq!(a.batches.all.len(), 1);
    assert_eq!(
        a.catalogue
            .held
            .get("local-data-warehouse")
            .map(|h| h.count),
        Some(1),
        "the Interfaces screen's batches held"
    );
}

#[test]
fn a_hub_that_takes_the_connection_and_says_nothing_fails_within_the_timeout_it_names() {
    // A "hub" that accepts and then never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let url = format!("ftps://rx1hub@127.0.0.1:{port}/");
    let o = cli(
        &db,
        None,
        &["org", "set", "RX9", "--name", "Silent", "--hub", &url],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let start = std::time::Instant::now();
    let t = cmd(&db, Some(PASSWORD), &["org", "test", "RX9"])
        .env("ESR_DESK_HUB_TIMEOUT", "2")
        .output()
        .expect("runs");
    let took = start.elapsed();
    assert_eq!(code(&t), Some(2));
    assert!(
        stderr(&t).contains("did not answer within 2 s"),
        "{}",
        stderr(&t)
    );
    assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
}

#[test]
fn a_download_that_fails_holds_back_the_later_files_of_its_series_so_no_gap_is_invented() {
    let hub = Hub::start();
    let (dir, db) = setup(&hub);
    std::fs::write(
        dir.path().join("hub-passwords.toml"),
        format!("\"RX1/rx1hub\" = \"{PASSWORD}\"\n"),
    )
    .expect("pw");
    extract(&hub.dir("Out"), "GDR", 1943);
    let o = cli(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    for n in [1944, 1945, 1946] {
        extract(&hub.dir("Out"), "GOC", n);
    }
    // The first of them is cut off, and this pull tries each step once.
    hub.faults.cut_downloads.store(1, Ordering::SeqCst);
    let mut store = esr_desk::store::Store::open(&db).expect("store");
    let layouts = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let org = esr_desk::hub::Org::get(&store, "RX1").expect("org");
    let once = esr_desk::hub::transfer::HubOptions {
        retry: esr_desk::hub::Retry {
            attempts: 1,
            first_pause: std::time::Duration::from_millis(1),
        },
        ..Default::default()
    };
    let r = esr_desk::hub::transfer::pull(&mut store, &layouts, &org, &once).expect("pull");
    assert!(r.pulled.is_empty(), "nothing after the cut is taken: {r:?}");
    assert_eq!(r.failed.len(), 3, "{r:?}");
    assert!(
        r.failed[1].1.contains("waits for") && r.failed[2].1.contains("waits for"),
        "{r:?}"
    );
    // The next pull takes the three in order: no gap, nothing out of order.
    let r = esr_desk::hub::transfer::pull(&mut store, &layouts, &org, &once).expect("pull");
    let names: Vec<&str> = r.pulled.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{r:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    for p in &r.pulled {
        assert!(
            !p.notes
                .iter()
                .any(|n| n.contains("missing") || n.contains("out of sequence")),
            "{:?}",
            p.notes
        );
    }
}

#[test]
fn a_password_written_in_a_hub_address_is_refused_and_never_echoed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    for url in [
        "ftps://trust:SECRET@127.0.0.1:2171/",
        "ftps://trust:SECRET@127.0.0.1:2171/some/path",
        "ftps://trust:SECRET@127.0.0.1:notaport/",
    ] {
        let o = cli(
            &db,
            None,
            &["org", "set", "RX2", "--name", "T", "--hub", url],
        );
        assert_eq!(code(&o), Some(2), "{url}");
        let said = format!("{}{}", out(&o), stderr(&o));
        assert!(!said.contains("SECRET"), "{url}: {said}");
        assert!(said.contains("trust:•••@"), "{url}: {said}");
    }
    let o = cli(
        &db,
        None,
        &[
            "org",
            "set",
            "RX2",
            "--name",
            "T",
            "--hub",
            "ftps://trust:SECRET@127.0.0.1:2171/",
        ],
    );
    assert!(
        stderr(&o).contains("holds a password, which was not kept"),
        "{}",
        stderr(&o)
    );
    let store = esr_desk::store::Store::open(&db).expect("store");
    assert!(
        esr_desk::hub::Org::all(&store).expect("orgs").is_empty(),
        "nothing saved"
    );
    // Nor is it in the log.
    for p in std::fs::read_dir(dir.path().join("logs"))
        .expect("logs")
        .flatten()
    {
        let text = std::fs::read_to_string(p.path()).expect("log");
        assert!(!text.contains("SECRET"), "{text}");
    }
}

//! Bad input: each case has its exact exit code and a message naming the line and field.

use crate::support::*;
use std::path::{Path, PathBuf};

/// The first `n` lines (column row included) of the clean Absences sample, as strings.
fn absences_lines(n: usize) -> Vec<String> {
    let dir = root().join("sample-data/absences");
    let clean = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && !PathBuf::from(format!("{}.defects.json", p.display())).exists()
        })
        .expect("clean absences sample");
    std::fs::read_to_string(clean)
        .expect("read")
        .lines()
        .take(n)
        .map(str::to_string)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p.to_str().expect("utf-8").to_string()
}

fn validate_absences(path: &str) -> std::process::Output {
    run(&["validate", path, "--interface", "absences", "--json"])
}

fn issue_at<'a>(rep: &'a serde_json::Value, line: u64, rule: &str) -> &'a serde_json::Value {
    rep["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .find(|i| i["line"] == line && i["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} at line {line} in {rep}"))
}

#[test]
fn empty_file_exits_2_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(dir.path(), "ABS_RX1_20261102_000009.csv", b"");
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("the file is empty (0 bytes): there is nothing to validate"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn binary_file_exits_2_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "ABS_RX1_20261102_000009.csv",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00xl/workbook.xml",
    );
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("is not a text file (binary data at line 1, byte 5)"),
        "{}",
        stderr(&out)
    );
    // UTF-16 from Excel's "Unicode Text" is named as such.
    let p = write(
        dir.path(),
        "ABS_RX1_20261102_000008.csv",
        b"\xFF\xFEE\x00m\x00p\x00",
    );
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("saved as UTF-16"), "{}", stderr(&out));
}

#[test]
fn ragged_rows_are_extra_and_missing_cells_with_line_numbers() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines = absences_lines(6);
    lines[2].push_str(",surplus");
    let cut = lines[4].rfind(',').expect("comma");
    lines[4].truncate(cut);
    let p = write(
        dir.path(),
        "ABS_RX1_20261102_000009.csv",
        (lines.join("\r\n") + "\r\n").as_bytes(),
    );
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(1));
    let rep = report(&out);
    assert_eq!(
        line_rules(&rep),
        vec![
            (3, "extra-cell".to_string()),
            (5, "missing-cell".to_string())
        ]
    );
    assert_eq!(
        issue_at(&rep, 3, "extra-cell")["message"],
        "Absence record has 15 fields; it should have 14 (a stray delimiter or an extra column?)"
    );
    let missing = issue_at(&rep, 5, "missing-cell");
    assert_eq!(missing["field"], "Date Notified");
    assert_eq!(rep["rejected_records"], 2);
}

#[test]
fn broken_quote_names_line_and_field_and_loses_no_later_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines: Vec<String> = absences_lines(40)
        .into_iter()
        .filter(|l| !l.contains('"'))
        .take(8)
        .collect();
    // Open a quote in Last Name (field 3) and never close it.
    let mut f: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    f[2] = format!("\"{}", f[2]);
    lines[3] = f.join(",");
    let p = write(
        dir.path(),
        "ABS_RX1_20261102_000009.csv",
        (lines.join("\r\n") + "\r\n").as_bytes(),
    );
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(1));
    let rep = report(&out);
    let i = issue_at(&rep, 4, "broken-quote");
    assert_eq!(i["field"], "Last Name");
    assert_eq!(
        i["message"],
        "Last Name opens a quote that is never closed on this line"
    );
    assert_eq!(
        rep["records"], 7,
        "the lines after the broken quote are still read as records"
    );
    assert!(
        line_rules(&rep).iter().all(|(l, _)| *l == 4),
        "only line 4 has issues: {rep}"
    );
}

#[test]
fn undecodable_bytes_name_line_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let lines = absences_lines(5);
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 2 {
            // A Windows-1252 é (0xE9) in First Name, in a UTF-8 file.
            let mut f: Vec<Vec<u8>> = l.split(',').map(|s| s.as_bytes().to_vec()).collect();
            f[3] = b"Ren\xe9e".to_vec();
            bytes.extend(f.join(&b','));
        } else {
            bytes.extend_from_slice(l.as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
    }
    let p = write(dir.path(), "ABS_RX1_20261102_000009.csv", &bytes);
    let out = validate_absences(&p);
    assert_eq!(code(&out), Some(1));
    let rep = report(&out);
    let i = issue_at(&rep, 3, "encoding-error");
    assert_eq!(i["field"], "First Name");
    assert_eq!(
        i["message"],
        "First Name has a byte (0xE9) that is not valid UTF-8: the file may have been saved with another encoding"
    );
}

#[test]
fn a_file_for_another_interface_is_refused_with_the_right_id() {
    let ldw = std::fs::read_dir(root().join("sample-data/local-data-warehouse"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "DAT"))
        .expect("ldw sample");
    let out = run(&[
        "validate",
        ldw.to_str().expect("p"),
        "--interface",
        "absences",
        "--json",
    ]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(err.contains("does not look like a Absences file"), "{err}");
    assert!(
        err.contains("use --interface local-data-warehouse"),
        "{err}"
    );
}

#[test]
fn an_unrecognised_file_lists_what_was_tried() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "notes.txt",
        b"Dear colleague,\nplease find attached\n",
    );
    let out = run(&["validate", &p, "--json"]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(err.contains("could not tell which interface"), "{err}");
    assert!(
        err.contains("file-name patterns") && err.contains("best fits"),
        "{err}"
    );
}

#[test]
fn unknown_interface_and_missing_file_exit_2() {
    let out = run(&[
        "validate",
        "whatever.csv",
        "--interface",
        "no-such-interface",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("unknown interface \"no-such-interface\""),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "validate",
        "/nonexistent/ABS_RX1_20261102_000001.csv",
        "--interface",
        "absences",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("could not read the file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn header_and_trailer_problems_are_file_level_issues() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = std::fs::read_dir(root().join("sample-data/professional-registrations-nmc"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && !PathBuf::from(format!("{}.defects.json", p.display())).exists()
        });
    let text = std::fs::read_to_string(src.expect("clean nmc")).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    // Cut short: no trailer.
    let cut = lines[..lines.len() - 1].join("\r\n") + "\r\n";
    let p = write(dir.path(), "NMC_RX1_20261102_000009.csv", cut.as_bytes());
    let rep = report(&run(&["validate", &p, "--json"]));
    assert_eq!(
        line_rules(&rep),
        vec![((lines.len() - 1) as u64, "trailer-missing".to_string())]
    );
    // No header.
    let headless = lines[1..].join("\r\n") + "\r\n";
    let p = write(
        dir.path(),
        "NMC_RX1_20261102_000008.csv",
        headless.as_bytes(),
    );
    let rep = report(&run(&["validate", &p, "--json"]));
    assert_eq!(line_rules(&rep), vec![(1, "header-missing".to_string())]);
    // A record after the trailer.
    let after = format!("{}\r\n{}\r\n", text.trim_end(), lines[1]);
    let p = write(dir.path(), "NMC_RX1_20261102_000007.csv", after.as_bytes());
    let rep = report(&run(&["validate", &p, "--json"]));
    let at = (lines.len() + 1) as u64;
    assert!(
        line_rules(&rep).contains(&(at, "trailer-not-last".to_string())),
        "{rep}"
    );
}

/// A named pipe named as an interface's file is refused at once, detected or not: it is never
/// opened (opening one waits for a writer) nor read.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("ABS_RX1_20261102_000001.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let f = fifo.display().to_string();
    let db = dir.path().join("s.sqlite").display().to_string();
    for args in [
        vec!["validate", f.as_str()],
        vec!["validate", f.as_str(), "--interface", "absences"],
        vec!["import", f.as_str(), "--db", db.as_str()],
    ] {
        let mut child = std::process::Command::new(bin())
            .args(&args)
            .env("ESR_DESK_DB", &db)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > std::time::Duration::from_secs(10) {
                let _ = child.kill();
                panic!("{args:?} hung on a named pipe");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let out = child.wait_with_output().expect("output");
        assert_eq!(status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
    }
}

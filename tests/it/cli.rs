//! The command-line contract of DESIGN.md.

use crate::support::*;

#[test]
fn catalogue_json_lists_all_42_interfaces() {
    let out = run(&["catalogue", "--json"]);
    assert_eq!(code(&out), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 42);
    assert_eq!(arr.iter().filter(|i| i["kind"] == "api").count(), 5);
    assert_eq!(arr.iter().filter(|i| i["kind"] == "batch").count(), 37);
    let ye = arr
        .iter()
        .find(|i| i["id"] == "nhs-pension-year-end")
        .expect("year end");
    assert_eq!(ye["group"], "NHS Pension");
    assert_eq!(ye["name"], "Year End");
    assert_eq!(ye["frequency"], "annual");
    let covid = arr
        .iter()
        .find(|i| i["id"] == "api-covid-19-digital-staff-passport")
        .expect("covid");
    assert_eq!(covid["status"], "decommissioned");
    let text = run(&["catalogue"]);
    assert_eq!(code(&text), Some(0));
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(s.contains("Professional Registrations — GPhC"));
    assert!(s.contains("[decommissioned]"));
}

#[test]
fn validate_json_has_the_contract_fields() {
    let dir = root().join("sample-data/rostering-pay-variations");
    let defect = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".defects.json"))
        .expect("defects");
    let file = defect
        .to_string_lossy()
        .trim_end_matches(".defects.json")
        .to_string();
    let out = run(&["validate", &file, "--json"]);
    assert_eq!(code(&out), Some(1));
    let rep = report(&out);
    for k in ["interface", "file", "records", "rejected_records", "issues"] {
        assert!(rep.get(k).is_some(), "missing {k}");
    }
    assert_eq!(rep["interface"], "rostering-pay-variations");
    assert!(
        !rep["file"].as_str().expect("file").contains('/'),
        "file is the file name"
    );
    let issue = &rep["issues"][0];
    for k in [
        "line",
        "record_type",
        "field",
        "rule",
        "severity",
        "message",
    ] {
        assert!(issue.get(k).is_some(), "issue lacks {k}: {issue}");
    }
    let sev: std::collections::BTreeSet<&str> = rep["issues"]
        .as_array()
        .expect("a")
        .iter()
        .map(|i| i["severity"].as_str().expect("s"))
        .collect();
    assert!(sev.iter().all(|s| *s == "error" || *s == "warning"));
    // Record- and file-level issues have a null field.
    assert!(
        rep["issues"]
            .as_array()
            .expect("a")
            .iter()
            .any(|i| i["rule"] == "blank-row" && i["field"].is_null())
    );
    // The text form is for people and ends with the verdict.
    let text = run(&["validate", &file]);
    assert_eq!(code(&text), Some(1));
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(
        s.contains("REJECTS FOUND") && s.contains("Issues by rule:"),
        "{s}"
    );
}

const CUSTOM_LAYOUT: &str = r#"
id = "trust-bank-shifts"
name = "Trust bank shifts (local)"
version = "1"
representative = "A trust's own layout for a local feed; not an ESR specification."
delimiter = ";"
quote = '"'
encoding = "utf-8"
line_ending = "lf"
column_names = true
file_name = "BANK_{YYYYMMDD}.csv"

[[record]]
type = "SHIFT"
name = "Shift"
unique = [["Shift ID"]]
field = [
  { name = "Shift ID", format = "N(8)", required = true },
  { name = "NHS Number", format = "F(10)", check = "nhs_number" },
  { name = "Hours", format = "N(4,2)", min = "0", max = "13" },
]
"#;

#[test]
fn a_layout_that_is_not_bundled_can_be_used_with_layout() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("bank.toml");
    std::fs::write(&layout, CUSTOM_LAYOUT).expect("write");
    let data = dir.path().join("BANK_20261101.csv");
    std::fs::write(
        &data,
        "Shift ID;NHS Number;Hours\n1;9434765919;7.5\n2;9434765918;14\n1;;3\n",
    )
    .expect("write");
    let out = run(&[
        "validate",
        data.to_str().expect("p"),
        "--layout",
        layout.to_str().expect("p"),
        "--json",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let rep = report(&out);
    assert_eq!(rep["interface"], "trust-bank-shifts");
    assert_eq!(
        line_rules(&rep),
        vec![
            (3, "identifier-error".to_string()),
            (3, "range-error".to_string()),
            (4, "unique-error".to_string())
        ]
    );
    // The same layout in the layouts folder is found by detection.
    let out = run_in(
        &["validate", data.to_str().expect("p"), "--json"],
        Some(dir.path()),
    );
    assert_eq!(report(&out)["interface"], "trust-bank-shifts");
}

#[test]
fn a_broken_layout_is_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("bad.toml");
    std::fs::write(&layout, CUSTOM_LAYOUT.replace("N(4,2)", "Q(4)")).expect("write");
    let data = dir.path().join("BANK_20261101.csv");
    std::fs::write(&data, "Shift ID;NHS Number;Hours\n1;9434765919;7.5\n").expect("write");
    let out = run(&[
        "validate",
        data.to_str().expect("p"),
        "--layout",
        layout.to_str().expect("p"),
    ]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("record \"SHIFT\" field \"Hours\"") && err.contains("is not ESR notation"),
        "{err}"
    );
    // In the layouts folder, a broken replacement is reported and the bundled layout stays.
    std::fs::write(dir.path().join("absences.toml"), "id = \"absences\"\n").expect("write");
    let sample = std::fs::read_dir(root().join("sample-data/absences"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("sample");
    let out = run_in(
        &["validate", sample.to_str().expect("p"), "--json"],
        Some(dir.path()),
    );
    assert!(
        stderr(&out).contains("the bundled layout stays in use"),
        "{}",
        stderr(&out)
    );
    assert_eq!(report(&out)["interface"], "absences");
}

#[test]
fn a_trust_can_replace_a_bundled_layout_without_a_rebuild() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(root().join("assets/layouts/absences.toml")).expect("read");
    // The trust's specification says Last Name is at most 5 characters.
    let changed = text.replacen(
        "aliases = [\"Surname\", \"Family Name\"]\n  format = \"X(35)\"",
        "aliases = [\"Surname\", \"Family Name\"]\n  format = \"X(5)\"",
        1,
    );
    assert_ne!(changed, text);
    std::fs::write(dir.path().join("absences.toml"), changed).expect("write");
    let sample = std::fs::read_dir(root().join("sample-data/absences"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && !std::path::PathBuf::from(format!("{}.defects.json", p.display())).exists()
        });
    let sample = sample.expect("clean sample");
    let bundled = run(&["validate", sample.to_str().expect("p"), "--json"]);
    assert_eq!(code(&bundled), Some(0));
    let replaced = run_in(
        &["validate", sample.to_str().expect("p"), "--json"],
        Some(dir.path()),
    );
    assert_eq!(code(&replaced), Some(1));
    assert!(
        report(&replaced)["issues"]
            .as_array()
            .expect("a")
            .iter()
            .all(|i| i["rule"] == "length-error" && i["field"] == "Last Name")
    );
}

#[test]
fn a_finance_file_that_does_not_balance_is_rejected() {
    let src = sample("gl-finance-pay-costs", false);
    let text = String::from_utf8(std::fs::read(&src).expect("read")).expect("ascii sample");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let trailer: Vec<&str> = lines.last().expect("trailer").split('|').collect();
    assert_eq!(trailer[2], trailer[3], "the clean sample balances");
    // One credit line a pound less, and the trailer's credit total kept true to the lines:
    // the totals no longer balance.
    let line_no = lines
        .iter()
        .position(|l| l.starts_with("GLC|") && l.split('|').nth(12).is_some_and(|c| !c.is_empty()))
        .expect("a credit line");
    let mut fields: Vec<String> = lines[line_no].split('|').map(str::to_string).collect();
    let credit: f64 = fields[12].parse().expect("amount");
    fields[12] = format!("{:.2}", credit - 1.0);
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    changed[line_no] = fields.join("|");
    let mut trl: Vec<String> = trailer.iter().map(|t| t.to_string()).collect();
    let credits: f64 = trl[3].parse().expect("total");
    trl[3] = format!("{:.2}", credits - 1.0);
    *changed.last_mut().expect("trailer") = trl.join("|");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(src.file_name().expect("name"));
    std::fs::write(&path, changed.join("\r\n") + "\r\n").expect("write");
    let out = run(&["validate", path.to_str().expect("p"), "--json"]);
    assert_eq!(code(&out), Some(1));
    let rep = report(&out);
    let last = lines.len() as u64;
    assert_eq!(line_rules(&rep), vec![(last, "balance-error".to_string())]);
    let msg = rep["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .find(|i| i["rule"] == "balance-error")
        .expect("balance")["message"]
        .as_str()
        .expect("m")
        .to_string();
    assert!(msg.contains("must be equal: they differ by 1.00"), "{msg}");
}

#[test]
fn schedule_list_shows_the_id_run_takes_and_purge_now_asks_to_be_confirmed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("s.sqlite");
    let dbs = db.display().to_string();
    let inbox = dir.path().join("in").display().to_string();
    let outbox = dir.path().join("out").display().to_string();
    for d in [&inbox, &outbox] {
        std::fs::create_dir_all(d).expect("dir");
    }
    let o = run(&[
        "schedule",
        "set",
        "absences",
        "--cadence",
        "daily at 06:00",
        "--inbox",
        &inbox,
        "--outbox",
        &outbox,
        "--db",
        &dbs,
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let list = run(&["schedule", "list", "--db", &dbs]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("absences"))
        .expect("the schedule is listed");
    let id = line.split_whitespace().next().expect("id");
    assert!(
        text.lines().next().is_some_and(|h| h.starts_with("ID")),
        "{text}"
    );
    let ran = run(&["schedule", "run", id, "--db", &dbs]);
    assert_eq!(code(&ran), Some(0), "{}", stderr(&ran));
    // Purging everything now is refused until confirmed, and the refusal says how.
    let o = run(&[
        "import",
        &sample("absences", false).display().to_string(),
        "--db",
        &dbs,
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let refused = run(&["purge", "--older-than", "0", "--db", &dbs]);
    assert_eq!(code(&refused), Some(2));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    let dry = run(&["purge", "--older-than", "0", "--dry-run", "--db", &dbs]);
    assert_eq!(code(&dry), Some(0), "{}", stderr(&dry));
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would purge batch 1"));
    let done = run(&["purge", "--older-than", "0", "--yes", "--db", &dbs]);
    assert_eq!(code(&done), Some(0), "{}", stderr(&done));
    assert!(String::from_utf8_lossy(&done.stdout).contains("purged batch 1"));
}

/// A long validate or import on a terminal shows how far it has got on standard error; piped,
/// it says nothing there.
#[cfg(unix)]
#[test]
fn a_big_file_shows_progress_on_a_terminal_and_nothing_when_piped() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("ABS_RX1_20261102_000009.csv");
    let o = run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "90000",
        "--seed",
        "3",
        "--out",
        &file.display().to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(std::fs::metadata(&file).expect("file").len() > 8 * 1024 * 1024);
    let db = dir.path().join("s.sqlite");
    for (cmd, word) in [("validate", "validating"), ("import", "importing")] {
        let piped = run(&[
            cmd,
            &file.display().to_string(),
            "--db",
            &db.display().to_string(),
        ]);
        assert!(
            !stderr(&piped).contains(word),
            "{cmd} piped: {}",
            stderr(&piped)
        );
        // `script` gives the command a terminal.
        let force = if cmd == "import" { "--force" } else { "" };
        let line = format!(
            "{} {cmd} {} --db {} {force} > /dev/null",
            bin().display(),
            file.display(),
            db.display()
        );
        let tty = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
            .output()
            .expect("script runs");
        let seen = String::from_utf8_lossy(&tty.stdout);
        assert!(seen.contains(word), "{cmd} on a terminal: {seen}");
    }
}

/// `validate … | head`: the reader stops early, and the exit code still says rejects were
/// found (1), never 0; the summary's totals count the issues not listed.
#[test]
fn the_exit_code_is_kept_when_the_reader_stops_early_and_totals_are_true() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("ABS_RX1_20261102_000007.csv");
    let o = run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "30000",
        "--defect-rate",
        "0.2",
        "--seed",
        "7",
        "--out",
        &file.display().to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    for json in [true, false] {
        let mut args = vec!["validate".to_string(), file.display().to_string()];
        if json {
            args.push("--json".into());
        }
        let mut child = std::process::Command::new(bin())
            .args(&args)
            .env("ESR_DESK_LAYOUTS", dir.path().join("none"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("runs");
        let mut first = [0u8; 100];
        std::io::Read::read_exact(child.stdout.as_mut().expect("out"), &mut first).expect("read");
        drop(child.stdout.take());
        let status = child.wait().expect("wait");
        assert_eq!(
            status.code(),
            Some(1),
            "json {json}: rejects found, whatever the pipe"
        );
    }
    // The text summary counts every issue, listed or not: one record 12,000 times is more
    // duplicates than are listed of one rule.
    let clean = std::fs::read_to_string(sample("absences", false)).expect("sample");
    let mut lines: Vec<&str> = clean.lines().collect();
    let again = lines[1];
    lines.extend(std::iter::repeat_n(again, 12_000));
    let file = dir.path().join("ABS_RX1_20261102_000008.csv");
    std::fs::write(&file, lines.join("\r\n") + "\r\n").expect("write");
    let o = run(&["validate", &file.display().to_string()]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let last = text.lines().last().expect("summary");
    let json = report(&run(&["validate", &file.display().to_string(), "--json"]));
    let listed = json["issues"].as_array().expect("issues").len() as u64;
    let unlisted: u64 = json["not_listed"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    assert!(
        unlisted > 0,
        "the file has more issues of a rule than are listed"
    );
    let errors: u64 = last
        .split(", ")
        .find(|p| p.ends_with(" errors"))
        .and_then(|p| p.trim_end_matches(" errors").parse().ok())
        .expect("errors in the summary");
    let warnings: u64 = last
        .split(", ")
        .find_map(|p| {
            p.split(" warnings")
                .next()
                .filter(|_| p.contains(" warnings"))
        })
        .and_then(|p| p.parse().ok())
        .expect("warnings in the summary");
    assert_eq!(errors + warnings, listed + unlisted, "{last}");
    assert!(last.contains(&format!("({listed} listed)")), "{last}");
}

#[test]
fn a_reference_left_unchecked_is_said_as_not_checked_never_as_an_uncounted_warning() {
    // A clean file whose reference rule had nothing to be checked against: the text said
    // "warning:" above a total of "0 warnings".
    let file = root().join("sample-data/absences/ABS_RX1_20261102_000001.csv");
    let o = run(&["validate", file.to_str().expect("p")]);
    assert_eq!(code(&o), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("0 warnings"), "{text}");
    assert!(!text.contains("warning:"), "{text}");
    assert!(
        text.contains("line 2: not checked: Assignment Number (ABS records) was not checked against local-data-warehouse"),
        "{text}"
    );
}

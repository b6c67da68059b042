//! Information governance: sensitive values are not echoed in messages, the access log
//! records who saw and sent what, and the store's files are the owner's alone.

use crate::support::*;

#[test]
fn validate_messages_never_echo_a_sensitive_value_whole() {
    let file = root().join("sample-data/active-directory/AD_RX1_20261102_000002.csv");
    // Line 149 carries a seeded bad NI number.
    let text = String::from_utf8_lossy(&std::fs::read(&file).expect("sample")).into_owned();
    let out = run(&["validate", file.to_str().expect("path"), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let issues = report["issues"].as_array().expect("issues");
    let ni: Vec<&serde_json::Value> = issues
        .iter()
        .filter(|i| i["field"] == "NI Number")
        .collect();
    assert!(!ni.is_empty(), "the seeded NI number issue is reported");
    for i in &ni {
        let line = i["line"].as_u64().expect("line") as usize;
        let rec = text.lines().nth(line - 1).expect("line");
        let msg = i["message"].as_str().expect("message");
        // No field of the record that looks like the NI number appears whole in the message.
        for cell in rec.split(',') {
            if cell.len() == 9 && cell.chars().take(2).all(|c| c.is_ascii_alphabetic()) {
                assert!(!msg.contains(cell), "{msg} echoes {cell}");
            }
        }
        assert!(msg.contains('\u{2022}'), "{msg}");
    }
    // Health data too: a sickness reason is never quoted.
    let abs = root().join("sample-data/absences/ABS_RX1_20261102_000002.csv");
    let out = run(&["validate", abs.to_str().expect("path"), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let abs_text = String::from_utf8_lossy(&std::fs::read(&abs).expect("sample")).into_owned();
    for i in report["issues"].as_array().expect("issues") {
        if i["field"] != "Sickness Reason" {
            continue;
        }
        let line = i["line"].as_u64().expect("line") as usize;
        let rec = abs_text.lines().nth(line - 1).expect("line");
        let msg = i["message"].as_str().expect("message");
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(rec.as_bytes());
        if let Some(Ok(r)) = rdr.records().next()
            && let Some(v) = r.get(6)
            && v.len() > 3
        {
            assert!(!msg.contains(v), "{msg} echoes {v}");
        }
    }
}

//! Frictionless Table Schema: exported from layouts, and plain CSVs validated against schemas,
//! including one written by hand.

use crate::support::*;

#[test]
fn a_layouts_schema_validates_its_own_samples() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&[
        "layout",
        "export-schema",
        "absences",
        "--out",
        dir.path().to_str().expect("p"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let schema_path = dir.path().join("absences.ABS.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read")).expect("json");
    let fields = schema["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 14);
    let start = fields
        .iter()
        .find(|f| f["name"] == "Start Date")
        .expect("start");
    assert_eq!(start["type"], "date");
    assert_eq!(start["format"], "%d/%m/%Y");
    assert_eq!(start["constraints"]["required"], true);
    let kind = fields
        .iter()
        .find(|f| f["name"] == "Absence Type")
        .expect("type");
    assert!(
        kind["constraints"]["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .any(|c| c == "Sickness")
    );
    assert_eq!(
        schema["primaryKey"],
        serde_json::json!(["Assignment Number", "Absence Type", "Start Date"])
    );
    // Every layout exports, one schema a record type.
    let ldw = run(&["layout", "export-schema", "local-data-warehouse"]);
    let all: serde_json::Value = serde_json::from_slice(&ldw.stdout).expect("json");
    assert_eq!(all["PRA"]["fields"].as_array().expect("f").len(), 44);
    assert_eq!(all["ASA"]["fields"].as_array().expect("f").len(), 51);

    let samples = root().join("sample-data/absences");
    for entry in std::fs::read_dir(&samples).expect("dir").flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "csv") {
            let defects =
                std::path::PathBuf::from(format!("{}.defects.json", p.display())).exists();
            let v = run(&[
                "validate",
                p.to_str().expect("p"),
                "--schema",
                schema_path.to_str().expect("s"),
                "--json",
            ]);
            assert_eq!(
                code(&v),
                Some(if defects { 1 } else { 0 }),
                "{}: {}",
                p.display(),
                stderr(&v)
            );
        }
    }
}

const HAND_WRITTEN: &str = r#"{
  "name": "bank-staff",
  "title": "Bank staff register (a hand-written Table Schema)",
  "fields": [
    {"name": "id", "type": "integer", "constraints": {"required": true, "minimum": 1}},
    {"name": "name", "type": "string", "constraints": {"required": true, "minLength": 2, "maxLength": 10}},
    {"name": "band", "type": "string", "constraints": {"enum": ["Band 2", "Band 3", "Band 5"]}},
    {"name": "hours", "type": "number", "constraints": {"maximum": 48}},
    {"name": "ward", "type": "string", "constraints": {"pattern": "W[0-9]{2}"}},
    {"name": "start", "type": "date"},
    {"name": "active", "type": "boolean"},
    {"name": "email", "type": "string", "constraints": {"unique": true}}
  ],
  "primaryKey": ["id"]
}"#;

#[test]
fn a_hand_written_schema_checks_every_constraint() {
    let dir = tempfile::tempdir().expect("tmp");
    let schema = dir.path().join("bank.schema.json");
    std::fs::write(&schema, HAND_WRITTEN).expect("write");
    let csv = "id,name,band,hours,ward,start,active,email\n\
               1,Ann,Band 2,37.5,W01,2026-01-05,true,ann@x.nhs.uk\n\
               x,Bob,Band 3,10,W02,2026-01-06,false,bob@x.nhs.uk\n\
               3,C,Band 3,10,W03,2026-01-07,true,c@x.nhs.uk\n\
               4,Christopher,Band 3,10,W04,2026-01-08,true,chris@x.nhs.uk\n\
               5,Dee,Band 9,10,W05,2026-01-09,true,dee@x.nhs.uk\n\
               6,Eve,Band 5,60,W06,2026-01-10,true,eve@x.nhs.uk\n\
               7,Fay,Band 5,10,Ward 7,2026-01-11,true,fay@x.nhs.uk\n\
               8,Gus,Band 5,10,W08,2026-02-30,true,gus@x.nhs.uk\n\
               9,Hal,Band 5,10,W09,2026-01-12,yes,hal@x.nhs.uk\n\
               10,Ida,Band 5,10,W10,2026-01-13,true,ann@x.nhs.uk\n\
               1,Jo,Band 5,10,W11,2026-01-14,true,jo@x.nhs.uk\n\
               0,,Band 5,10,W12,2026-01-15,true,kim@x.nhs.uk\n";
    let data = dir.path().join("bank.csv");
    std::fs::write(&data, csv).expect("write");
    let out = run(&[
        "validate",
        data.to_str().expect("p"),
        "--schema",
        schema.to_str().expect("s"),
        "--json",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let got = line_rules(&report(&out));
    let want: Vec<(u64, String)> = vec![
        (3, "type-error"),
        (4, "length-error"),
        (5, "length-error"),
        (6, "code-error"),
        (7, "range-error"),
        (8, "pattern-error"),
        (9, "type-error"),
        (10, "type-error"),
        (11, "unique-error"),
        (12, "unique-error"),
        (13, "range-error"),
        (13, "required-error"),
    ]
    .into_iter()
    .map(|(l, r)| (l, r.to_string()))
    .collect();
    assert_eq!(got, want);
}

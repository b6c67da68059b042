//! Every bundled layout against its samples in sample-data/: defect files report exactly
//! the seeded defects, clean files report nothing, and each file's interface is detected.

use crate::support::*;
use std::collections::BTreeSet;

fn sample_dirs() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root().join("sample-data"))
        .expect("sample-data")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn every_bundled_layout_has_a_sample_folder() {
    let set = esr_desk::layout::LayoutSet::bundled().expect("bundled layouts load");
    let dirs: BTreeSet<String> = sample_dirs()
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    for l in &set.layouts {
        // One folder per interface, holding the samples of each of its layouts.
        assert!(
            dirs.contains(&l.interface),
            "no sample-data/{} for layout {}",
            l.interface,
            l.id
        );
        let named = std::fs::read_dir(
            crate::support::root()
                .join("sample-data")
                .join(&l.interface),
        )
        .expect("dir")
        .flatten()
        .filter(|e| l.file_name.matches(&e.file_name().to_string_lossy()))
        .count();
        assert!(
            named >= 2,
            "sample-data/{} has no clean and defect file of layout {}",
            l.interface,
            l.id
        );
        // Each says how far to trust it: a representative layout says so in words; one that
        // follows public evidence cites its sources, code at a commit.
        match l.evidence {
            esr_desk::layout::Evidence::Representative => assert!(
                l.representative
                    .contains("not the official ESR specification"),
                "{} must say it is representative",
                l.id
            ),
            _ => {
                assert!(!l.sources.is_empty(), "{} cites no source", l.id);
                for s in &l.sources {
                    assert!(
                        s.document.is_some() || s.commit.as_deref().is_some_and(|c| c.len() == 40),
                        "{}: {} is not cited at a full commit",
                        l.id,
                        s.cite()
                    );
                }
            }
        }
    }
    assert!(set.layouts.len() >= 4);
}

#[test]
fn samples_report_exactly_their_seeded_defects() {
    let mut checked = 0;
    for dir in sample_dirs() {
        let id = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let (mut clean, mut defective) = (0, 0);
        for f in files
            .iter()
            .filter(|p| !p.to_string_lossy().ends_with(".defects.json"))
        {
            let path = f.to_str().expect("utf-8 path");
            let out = run(&["validate", path, "--interface", &id, "--json"]);
            let rep = report(&out);
            // Interface files are of a working size; sample workbooks are kept small.
            let least = if esr_desk::workbook::is_workbook(f) {
                50
            } else {
                200
            };
            assert!(
                rep["records"].as_u64().expect("records") >= least,
                "{path}: at least {least} records"
            );
            let defects = std::path::PathBuf::from(format!("{path}.defects.json"));
            if defects.exists() {
                defective += 1;
                let want: Vec<serde_json::Value> =
                    serde_json::from_str(&std::fs::read_to_string(&defects).expect("read"))
                        .expect("defects json");
                let mut want: Vec<(u64, String)> = want
                    .iter()
                    .map(|d| {
                        (
                            d["line"].as_u64().expect("line"),
                            d["rule"].as_str().expect("rule").to_string(),
                        )
                    })
                    .collect();
                want.sort();
                assert_eq!(code(&out), Some(1), "{path}: rejects found means exit 1");
                assert_eq!(
                    line_rules(&rep),
                    want,
                    "{path}: reported issues must be exactly the seeded defects"
                );
                let kinds: BTreeSet<&str> = want.iter().map(|(_, r)| r.as_str()).collect();
                // A workbook's seeded damage is what Excel does (lost zeros, dates, spaces,
                // capitals), which breaks fewer kinds of rule.
                let least = if esr_desk::workbook::is_workbook(f) {
                    2
                } else {
                    8
                };
                assert!(
                    kinds.len() >= least,
                    "{path}: at least {least} kinds of defect, found {kinds:?}"
                );
                assert!(rep["rejected_records"].as_u64().expect("n") > 0);
            } else {
                clean += 1;
                assert_eq!(
                    code(&out),
                    Some(0),
                    "{path}: clean file exits 0; stderr {}",
                    stderr(&out)
                );
                assert_eq!(line_rules(&rep), vec![], "{path}: clean file has no issues");
                assert_eq!(rep["rejected_records"], 0);
            }
            // Detected without --interface, from the file name and content.
            let detected = report(&run(&["validate", path, "--json"]));
            assert_eq!(detected["interface"], id.as_str(), "{path}: detection");
            checked += 1;
        }
        assert!(
            clean >= 1 && defective >= 1,
            "{id}: a clean and a defect file"
        );
    }
    assert!(checked >= 8);
}

#[test]
fn detection_by_content_when_the_name_says_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    for src in sample_dirs() {
        let id = src
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let clean = std::fs::read_dir(&src)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                !p.to_string_lossy().ends_with(".defects.json")
                    && !std::path::Path::new(&format!("{}.defects.json", p.display())).exists()
            });
        let clean = clean.expect("a clean sample");
        let renamed = dir.path().join(format!("{id}-export.txt"));
        std::fs::copy(&clean, &renamed).expect("copy");
        let rep = report(&run(&[
            "validate",
            renamed.to_str().expect("path"),
            "--json",
        ]));
        assert_eq!(
            rep["interface"],
            id.as_str(),
            "content detection of {}",
            clean.display()
        );
    }
}

#[test]
fn generator_is_deterministic_and_its_defect_list_matches_validate() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for p in [&a, &b] {
        let out = run(&[
            "gen-sample",
            "--interface",
            "absences",
            "--rows",
            "300",
            "--defect-rate",
            "0.2",
            "--seed",
            "42",
            "--out",
            p.to_str().expect("p"),
        ]);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    }
    assert_eq!(
        std::fs::read(&a).expect("a"),
        std::fs::read(&b).expect("b"),
        "same seed, same bytes"
    );
    let want: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("a.csv.defects.json")).expect("json"),
    )
    .expect("parse");
    let mut want: Vec<(u64, String)> = want
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().expect("l"),
                d["rule"].as_str().expect("r").to_string(),
            )
        })
        .collect();
    want.sort();
    let rep = report(&run(&[
        "validate",
        a.to_str().expect("a"),
        "--interface",
        "absences",
        "--json",
    ]));
    assert_eq!(line_rules(&rep), want);
    // Another seed gives another file.
    let c = dir.path().join("c.csv");
    run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "300",
        "--defect-rate",
        "0.2",
        "--seed",
        "43",
        "--out",
        c.to_str().expect("c"),
    ]);
    assert_ne!(std::fs::read(&a).expect("a"), std::fs::read(&c).expect("c"));
}

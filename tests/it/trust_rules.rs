//! Rules a trust can write (docs/layouts.md): each kind on real files, clean and broken, the
//! same verdict through the store when records are edited, and layout errors that name the
//! rule. The layout below is a trust's own file, loaded as a trust would load it.

use crate::support::*;
use esr_desk::layout::{Layout, LayoutSource};
use esr_desk::rules::Rule;
use esr_desk::store::{ImportOptions, Store};
use esr_desk::validate::{Options, References, validate_path};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const LAYOUT: &str = r#"
id = "trust-rules"
name = "Trust rules test"
version = "1"
representative = "Synthetic layout for tests; not an ESR specification."
delimiter = "|"
quote = ""
line_ending = "lf"
discriminator = 1
file_name = "TR_{VPD}_{YYYYMMDD}_{SEQ:4}.txt"

[[record]]
type = "HDR"
role = "header"
name = "Header"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "File Name", format = "X(60)", required = true, generate = "file_name" },
  { name = "Period Start", format = "date(YYYYMMDD)", required = true },
  { name = "Period End", format = "date(YYYYMMDD)", required = true },
  { name = "Checked On", format = "date(YYYYMMDD)", required = true },
  { name = "Financial Year", format = "X(7)", required = true },
]

[[record]]
type = "PER"
name = "Person"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "Ref", format = "X(10)", required = true },
  { name = "Person ID", format = "N(8)", required = true },
  { name = "Employee Number", format = "X(8)", required = true },
  { name = "Date of Birth", format = "date(YYYYMMDD)", required = true },
  { name = "Hire Date", format = "date(YYYYMMDD)", required = true },
  { name = "Status", format = "X(10)", required = true, codes = ["CURRENT", "LAPSED"] },
  { name = "Expiry Date", format = "date(YYYYMMDD)" },
  { name = "Leaving Date", format = "date(DD/MM/YYYY)" },
]
rule = [
  { kind = "span", field = "Date of Birth", from = "Date of Birth", to = "Hire Date", unit = "years", min = 16, max = 100 },
  { kind = "not_before", field = "Expiry Date", other = "header.Checked On", when = "Status", equals = ["CURRENT"] },
  { kind = "within", field = "Leaving Date", financial_year = "header.Financial Year" },
]

[[record]]
type = "PAY"
name = "Pay line"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "Ref", format = "X(10)", required = true },
  { name = "Person ID", format = "N(8)", required = true },
  { name = "Employee Number", format = "X(8)", required = true },
  { name = "Debit or Credit", format = "F(1)", required = true, codes = ["D", "C"] },
  { name = "Debit Amount", format = "N(9,2)" },
  { name = "Credit Amount", format = "N(9,2)" },
  { name = "Pay Date", format = "date(YYYYMMDD)", required = true },
  { name = "Period End", format = "date(DD-MON-YYYY)", required = true },
  { name = "Pay", format = "N(9,2)" },
  { name = "Rate", format = "N(4,2)" },
  { name = "Contribution", format = "N(9,2)" },
  { name = "Note", format = "X(20)" },
]
rule = [
  { kind = "required_if", field = "Debit Amount", when = "Debit or Credit", equals = ["D"] },
  { kind = "empty_when", field = "Credit Amount", when = "Debit or Credit", equals = ["D"] },
  { kind = "empty_when", field = "Note", condition = "pay == null" },
  { kind = "required_when", field = "Rate", when = "Pay", filled = true },
  { kind = "same_as_header", field = "Period End", header = "Period End" },
  { kind = "within", field = "Pay Date", from = "header.Period Start", to = "header.Period End" },
  { kind = "computed", field = "Contribution", expression = "pay * rate / 100.0", tolerance = "0.01" },
]

[[record]]
type = "TRL"
role = "trailer"
name = "Trailer"
field = [
  { name = "Record Type", format = "F(3)" },
  { name = "Count", format = "N(6)", required = true, control = "count" },
]

[[consistent]]
key = "Employee Number"
value = "Person ID"

[[consistent]]
key = "Ref"
"#;

const CLEAN: &str = "\
HDR|TR_RX1_20260430_0001.txt|20260401|20260430|20260415|2025/26
PER|R1|1001|E0000001|19800115|20100301|CURRENT|20270101|
PER|R2|1002|E0000002|19900220|20150601|LAPSED|20200101|15/03/2026
PAY|R3|1001|E0000001|D|100.00||20260428|30-APR-2026|2000.00|9.80|196.00|
PAY|R4|1002|E0000002|C||50.00|20260410|30-APR-2026||||
PAY|R5|1001|E0000001|C||25.00|20260411|30-APR-2026|1000.00|9.80|98.01|
TRL|5
";

/// One defect a line (the line, the rule, and why in a word).
const BROKEN: &str = "\
HDR|TR_RX1_20260430_0001.txt|20260401|20260430|20260415|2025/26
PER|R1|1001|E0000001|20170115|20260301|CURRENT|20270101|
PER|R2|1002|E0000002|19900220|20150601|CURRENT|20260101|
PER|R5|1005|E0000005|19900220|20150601|LAPSED|20200101|15/05/2026
PAY|R3|1001|E0000001|D|100.00|20.00|20260428|30-APR-2026|2000.00|9.80|196.00|
PAY|R4|1002|E0000002|C||50.00|20260410|31-MAR-2026||||
PAY|R6|1001|E0000001|C||50.00|20260505|30-APR-2026||||
PAY|R7|1001|E0000001|D|10.00||20260420|30-APR-2026|2000.00|9.80|190.00|
PAY|R8|1009|E0000002|D|10.00||20260420|30-APR-2026||||
PAY|R9|1001|E0000001|D|10.00||20260420|30-APR-2026||||hello
PAY|R10|1001|E0000001|D|10.00||20260420|30-APR-2026|50.00|||
PAY|R1|1001|E0000001|D|10.00||20260420|30-APR-2026||||
TRL|11
";

fn broken_want() -> BTreeSet<(u64, Rule)> {
    [
        (1, Rule::FileNameMismatch),
        (2, Rule::SpanError),
        (3, Rule::OrderError),
        (4, Rule::PeriodError),
        (5, Rule::EmptyIfError),
        (6, Rule::HeaderMismatch),
        (7, Rule::PeriodError),
        (8, Rule::ComputedError),
        (9, Rule::ConsistencyError),
        (10, Rule::EmptyIfError),
        (11, Rule::RequiredIfError),
        (12, Rule::UniqueError),
    ]
    .into_iter()
    .collect()
}

fn layout() -> Layout {
    Layout::parse(LAYOUT, "trust-rules.toml", LayoutSource::Bundled).expect("the test layout")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn found(path: &Path, l: &Layout) -> (Vec<esr_desk::validate::Issue>, BTreeSet<(u64, Rule)>) {
    let r = validate_path(path, l, &References::none(), Options::default()).expect("validate");
    let set = r.issues.iter().map(|i| (i.line, i.rule)).collect();
    (r.issues, set)
}

#[test]
fn every_rule_kind_passes_a_clean_file_and_finds_its_defect() {
    let dir = tempfile::tempdir().expect("dir");
    let l = layout();
    // The clean file keeps every rule (the last line is within the computed rule's penny).
    let clean = write(dir.path(), "TR_RX1_20260430_0001.txt", CLEAN);
    let (issues, _) = found(&clean, &l);
    assert!(issues.is_empty(), "clean file: {issues:#?}");
    // The broken one: exactly one issue a line, of the rule it breaks, and nothing else.
    let broken = write(dir.path(), "TR_RX1_20260430_0002.txt", BROKEN);
    let (issues, set) = found(&broken, &l);
    assert_eq!(set, broken_want(), "{issues:#?}");
    assert_eq!(issues.len(), broken_want().len(), "{issues:#?}");
    // Messages say what is wrong in plain words, naming the field.
    let msg = |line: u64| {
        issues
            .iter()
            .find(|i| i.line == line)
            .map(|i| (i.field.clone().unwrap_or_default(), i.message.clone()))
            .expect("an issue")
    };
    let (f, m) = msg(2);
    assert_eq!(f, "Date of Birth");
    assert!(
        m.contains("is 9 years after") && m.contains("16 to 100"),
        "{m}"
    );
    let (f, m) = msg(4);
    assert_eq!(f, "Leaving Date");
    assert!(m.contains("financial year 2025/26"), "{m}");
    let (f, m) = msg(5);
    assert_eq!(f, "Credit Amount");
    assert!(
        m.contains("must be empty when Debit or Credit is \"D\""),
        "{m}"
    );
    let (f, m) = msg(6);
    assert_eq!(f, "Period End");
    assert!(m.contains("the header's Period End"), "{m}");
    let (f, m) = msg(8);
    assert_eq!(f, "Contribution");
    assert!(m.contains("pay * rate / 100.0 = \"196.00\""), "{m}");
    let (f, m) = msg(9);
    assert_eq!(f, "Person ID");
    assert!(m.contains("line 3"), "{m}");
    let (f, m) = msg(12);
    assert_eq!(f, "Ref");
    assert!(
        m.contains("line 2") && m.contains("once in the file"),
        "{m}"
    );
}

#[test]
fn validate_and_import_give_the_same_verdict_on_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let lay = write(dir.path(), "trust-rules.toml", LAYOUT);
    let broken = write(dir.path(), "TR_RX1_20260430_0002.txt", BROKEN);
    let clean = write(dir.path(), "TR_RX1_20260430_0001.txt", CLEAN);
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let v = run(&["validate", &s(&broken), "--layout", &s(&lay), "--json"]);
    assert_eq!(code(&v), Some(1), "{}", stderr(&v));
    let got: BTreeSet<(u64, String)> = line_rules(&report(&v)).into_iter().collect();
    let want: BTreeSet<(u64, String)> = broken_want()
        .into_iter()
        .map(|(l, r)| (l, r.code().to_string()))
        .collect();
    assert_eq!(got, want);
    let v = run(&["validate", &s(&clean), "--layout", &s(&lay)]);
    assert_eq!(code(&v), Some(0), "{}", stderr(&v));
    let db = dir.path().join("s.sqlite");
    let i = run(&["import", &s(&broken), "--layout", &s(&lay), "--db", &s(&db)]);
    assert_eq!(code(&i), Some(1), "{}", stderr(&i));
}

fn seq_at(store: &Store, batch: i64, line: u64) -> u32 {
    (0..64)
        .filter_map(|q| store.record(batch, q).ok())
        .find(|r| r.line == line)
        .map(|r| r.seq)
        .expect("record at line")
}

fn rules_at(store: &Store, batch: i64, line: u64) -> BTreeSet<Rule> {
    store
        .record_issues(batch, seq_at(store, batch, line))
        .expect("issues")
        .into_iter()
        .map(|i| i.rule)
        .collect()
}

#[test]
fn edits_are_judged_by_the_same_rules_as_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let l = layout();
    let broken = write(dir.path(), "TR_RX1_20260430_0002.txt", BROKEN);
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    let b = store
        .import(&broken, &l, ImportOptions::default())
        .expect("import")
        .batch_id;
    // The store keeps what validate found.
    let stored: BTreeSet<(u64, Rule)> = store
        .issues(b, None, 1000)
        .expect("issues")
        .into_iter()
        .map(|(_, i)| (i.line, i.rule))
        .collect();
    assert_eq!(stored, broken_want());

    let pay = l.record_index("PAY").expect("PAY");
    let f = |name: &str| l.records[pay].field_index(name).expect(name);
    // Emptying the credit on a debit line clears its rule.
    store
        .set_value(b, seq_at(&store, b, 5), f("Credit Amount"), "")
        .expect("edit");
    assert!(rules_at(&store, b, 5).is_empty());
    // Putting the person right clears the consistency issue...
    store
        .set_value(b, seq_at(&store, b, 9), f("Person ID"), "1002")
        .expect("edit");
    assert!(rules_at(&store, b, 9).is_empty());
    // ...and giving another line of that employee another person raises it there, naming
    // the first line with the key.
    store
        .set_value(b, seq_at(&store, b, 6), f("Person ID"), "1003")
        .expect("edit");
    assert_eq!(
        rules_at(&store, b, 6),
        [Rule::ConsistencyError, Rule::HeaderMismatch].into()
    );
    // A typed amount that is not the formula's is found as in a file.
    store
        .set_value(b, seq_at(&store, b, 5), f("Contribution"), "195.00")
        .expect("edit");
    assert_eq!(rules_at(&store, b, 5), [Rule::ComputedError].into());

    // The header's period end moves: every detail line is judged against the new one.
    let hdr = l.header().expect("header");
    let pe = l.records[hdr]
        .field_index("Period End")
        .expect("Period End");
    store
        .set_value(b, seq_at(&store, b, 1), pe, "20260331")
        .expect("edit the header");
    // Line 6 said 31-MAR-2026: it now matches, but it is paid on 10 April, after the new
    // period's end (and its person is still wrong).
    assert_eq!(
        rules_at(&store, b, 6),
        [Rule::PeriodError, Rule::ConsistencyError].into()
    );
    // Line 12 said 30-APR-2026 (and is paid after the new period end).
    let at12 = rules_at(&store, b, 12);
    assert!(
        at12.contains(&Rule::HeaderMismatch) && at12.contains(&Rule::PeriodError),
        "{at12:?}"
    );
    // Undo puts the header back, and the verdict with it.
    store.undo(b).expect("undo").expect("an edit to undo");
    assert_eq!(
        rules_at(&store, b, 6),
        [Rule::ConsistencyError, Rule::HeaderMismatch].into()
    );
    assert!(!rules_at(&store, b, 12).contains(&Rule::HeaderMismatch));

    // Reopened (a fresh edit context), the store still judges the same way.
    drop(store);
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("reopen");
    store
        .set_value(b, seq_at(&store, b, 6), f("Person ID"), "1002")
        .expect("edit");
    assert_eq!(rules_at(&store, b, 6), [Rule::HeaderMismatch].into());
}

fn layout_error(from: &str, to: &str) -> String {
    assert!(LAYOUT.contains(from), "{from}");
    match Layout::parse(
        &LAYOUT.replacen(from, to, 1),
        "mine.toml",
        LayoutSource::Bundled,
    ) {
        Ok(_) => panic!("{to} should not load"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_rule_that_cannot_work_is_a_layout_error_naming_the_rule() {
    let e = layout_error("pay * rate / 100.0", "pay * rate / (100.0");
    assert!(
        e.contains("record \"PAY\" rule 7 (computed)") && e.contains("not valid CEL"),
        "{e}"
    );
    let e = layout_error("pay * rate / 100.0", "pay * rates / 100.0");
    assert!(
        e.contains("names `rates`")
            && e.contains("did you mean `rate`?")
            && e.contains("pay, rate"),
        "{e}"
    );
    let e = layout_error("pay * rate / 100.0", "pay * note");
    assert!(e.contains("cannot be worked out"), "{e}");
    let e = layout_error("condition = \"pay == null\"", "condition = \"pay\"");
    assert!(
        e.contains("rule 3 (empty_when)") && e.contains("true or false"),
        "{e}"
    );
    let e = layout_error("header = \"Period End\" }", "header = \"Period Finish\" }");
    assert!(e.contains("not a field of the header record"), "{e}");
    let e = layout_error(
        "other = \"header.Checked On\"",
        "other = \"header.File Name\"",
    );
    assert!(e.contains("fills in afresh"), "{e}");
    let e = layout_error("unit = \"years\"", "unit = \"decades\"");
    assert!(e.contains("use years, months or days"), "{e}");
    let e = layout_error(
        "tolerance = \"0.01\"",
        "tolerance = \"0.01\", equals = [\"1\"]",
    );
    assert!(e.contains("`equals` and `filled` need `when`"), "{e}");
    let e = layout_error(
        "kind = \"same_as_header\", field",
        "kind = \"same_as_header\", to = \"Pay\", field",
    );
    assert!(e.contains("`same_as_header` does not take `to`"), "{e}");
    let e = layout_error("key = \"Ref\"", "key = \"Reference\"");
    assert!(
        e.contains("consistent rule 2") && e.contains("no detail record type"),
        "{e}"
    );
    // The Layouts screen's words for the rules.
    let lines = esr_desk::layout::rule_lines(&layout());
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    for want in [
        "Credit Amount must be empty when Debit or Credit is D",
        "Hire Date must be 16 to 100 years after Date of Birth",
        "Period End must be the same as the header's Period End",
        "Contribution must equal pay * rate / 100.0 (within 0.01)",
        "Each Employee Number always has the same Person ID (across PER, PAY records)",
        "Leaving Date must lie in the financial year of the header's Financial Year",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(want)),
            "{want} in {texts:#?}"
        );
    }
}

/// A trust's layout that would make commands recurse, loop or crawl is refused alone, naming
/// the limit it passes; the bundled layout stays in use and every command still runs, quickly.
#[test]
fn a_hostile_trust_layout_is_refused_alone_and_every_command_still_runs() {
    let bundled =
        std::fs::read_to_string(root().join("assets/layouts/absences.toml")).expect("layout");
    let with_rule = |expr: &str| {
        format!(
            "{bundled}\n[[record.rule]]\nkind = \"computed\"\nfield = \"Days Lost\"\nexpression = \"{expr}\"\n"
        )
    };
    let parens = format!("{}1.0{}", "(".repeat(100_000), ")".repeat(100_000));
    let sum = vec!["1.0"; 10_000].join(" + ");
    let macros = "[1, 2].all(a, [1, 2].all(b, [1, 2].all(c, true))) ? 1.0 : 2.0".to_string();
    let mut many_fields = bundled.clone();
    for i in 0..100_000 {
        many_fields.push_str(&format!(
            "\n[[record.field]]\nname = \"Spare {i}\"\nformat = \"X(1)\"\n"
        ));
    }
    for (name, text, said) in [
        ("parens", with_rule(&parens), "characters is longer than"),
        ("sum", with_rule(&sum), "characters is longer than"),
        (
            "short-sum",
            with_rule(&vec!["1.0"; 30].join("+")),
            "operators",
        ),
        (
            "deep",
            with_rule(&format!("{}1.0{}", "(".repeat(20), ")".repeat(20))),
            "nest 20 deep",
        ),
        ("macros", with_rule(&macros), "macros nest 3 deep"),
        ("fields", many_fields, "KiB, more than"),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("absences.toml"), &text).expect("write");
        let start = std::time::Instant::now();
        let cat = run_in(&["catalogue"], Some(dir.path()));
        assert_eq!(code(&cat), Some(0), "{name}: {}", stderr(&cat));
        let list = run_in(&["layout", "list"], Some(dir.path()));
        assert_eq!(code(&list), Some(0), "{name}: {}", stderr(&list));
        let all = format!("{}{}", stderr(&list), String::from_utf8_lossy(&list.stdout));
        assert!(all.contains(said), "{name}: {all}");
        assert!(
            all.contains("the bundled layout stays in use"),
            "{name}: {all}"
        );
        let v = run_in(
            &["validate", &sample("absences", false).display().to_string()],
            Some(dir.path()),
        );
        assert_eq!(
            code(&v),
            Some(0),
            "{name}: the bundled layout judged it: {}",
            stderr(&v)
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{name}: took {:?}",
            start.elapsed()
        );
    }
}

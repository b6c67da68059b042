//! The one-verdict invariant, as properties (proptest): for any sequence of random edits,
//! exclusions, undos and redos on a stored batch, the store's issues equal a fresh validation
//! of the bytes the export writes (header and trailer aside: the export regenerates them).
//! Plus round trips: writer → reader, N(n,m) parse → format, file-name pattern render → match.
//!
//! Bounded cases in `cargo test`; set `ESR_DESK_PROPTEST_CASES` for more.

use crate::support::*;
use esr_desk::export::{Fill, write_batch};
use esr_desk::layout::{LayoutSet, Role};
use esr_desk::store::edit::Change;
use esr_desk::store::{ImportOptions, PageFilter, Store};
use esr_desk::validate::{Options, References, Verdict};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn cases(default: u32) -> u32 {
    std::env::var("ESR_DESK_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One random thing an officer does to a batch.
#[derive(Debug, Clone)]
enum Op {
    Set {
        row: usize,
        field: usize,
        value: Val,
    },
    Exclude {
        row: usize,
    },
    Include {
        row: usize,
    },
    Undo,
    Redo,
}

/// A value to type: literal text, or the value another record has in the same field (which
/// makes duplicate keys and valid values likely).
#[derive(Debug, Clone)]
enum Val {
    Text(String),
    CopyFrom(usize),
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        3 => any::<usize>().prop_map(Val::CopyFrom),
        2 => "[ -~]{0,12}".prop_map(Val::Text),
        1 => prop::sample::select(vec![
            "", "  ", "31/02/2026", "2026-13-01", "20261301", "Renée", "O'Neil", "\"x\"",
            "a,b", "a|b", "a~b", "1.2345678", "-5", "99999999999", "Z", "Y", "N", "\u{FFFD}",
            "Hall\r\nSmith",
        ])
        .prop_map(|s| Val::Text(s.to_string())),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<usize>(), any::<usize>(), val()).prop_map(|(row, field, value)| Op::Set { row, field, value }),
        1 => any::<usize>().prop_map(|row| Op::Exclude { row }),
        1 => any::<usize>().prop_map(|row| Op::Include { row }),
        1 => Just(Op::Undo),
        1 => Just(Op::Redo),
    ]
}

/// (seq, rule code, field index) of every record- and cell-level issue, per record.
type Verdicts = Vec<(bool, BTreeSet<(String, Option<usize>)>)>;

/// The samples the property runs on: quoted UTF-8 CSV, `|` without quoting, `~` ISO-8859-1
/// with header and trailer; clean and with seeded defects.
const SAMPLES: &[(&str, bool)] = &[
    ("absences", false),
    ("absences", true),
    ("rostering-pay-variations", true),
    ("local-data-warehouse", true),
    ("professional-registrations-nmc", false),
];

/// Sample workbooks the property also runs on: converted to the layout's shape on import
/// (header and trailer made), with the header's Source System given by a mapping.
const WORKBOOKS: &[&str] = &["absences", "rostering-pay-variations"];

/// A sample workbook of an interface, imported as the window imports one.
fn import_workbook(store: &mut Store, layout: &esr_desk::layout::Layout) -> i64 {
    let wb = sample_workbook(&layout.id);
    let preview = store
        .preview_table(&wb, Some(layout), &LayoutSet::bundled().expect("l"), None)
        .expect("preview");
    let mut mapping = preview
        .proposal
        .to_mapping(layout, &preview.columns, preview.sheet.clone());
    for name in esr_desk::mapping::header_unfilled(layout, &Default::default()) {
        mapping.header.insert(name, "Local System".into());
    }
    let t = esr_desk::mapping::TableImport {
        sheet: preview.sheet.clone(),
        mapping,
        remember: false,
    };
    let made = store.made_from_table(&wb, layout, &t).expect("made");
    store
        .import(
            &wb,
            layout,
            ImportOptions {
                made: Some(made),
                ..ImportOptions::default()
            },
        )
        .expect("import")
        .batch_id
}

fn check(sample_at: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("s.sqlite")).expect("open");
    let set = LayoutSet::bundled().expect("layouts");
    let k = sample_at % (SAMPLES.len() + WORKBOOKS.len());
    let (layout, b) = match SAMPLES.get(k) {
        Some((id, defects)) => {
            let layout = set.get(id).expect("layout").clone();
            let b = store
                .import(&sample(id, *defects), &layout, ImportOptions::default())
                .expect("import")
                .batch_id;
            (layout, b)
        }
        None => {
            let layout = set
                .get(WORKBOOKS[k - SAMPLES.len()])
                .expect("layout")
                .clone();
            let b = import_workbook(&mut store, &layout);
            (layout, b)
        }
    };
    let all = store
        .page(b, 0, 1_000_000, &PageFilter::default())
        .expect("page");
    let n = all.len();
    for o in ops {
        // Refused edits (a line break, a generated field, a field past the end) are part of
        // the property too: a refusal must change nothing.
        let _ = match o {
            Op::Set { row, field, value } => {
                let rec = &all[row % n];
                let width = rec.fields.len().max(1);
                let field = field % (width + 1);
                let v = match value {
                    Val::Text(t) => t.clone(),
                    Val::CopyFrom(r) => all[r % n].fields.get(field).cloned().unwrap_or_default(),
                };
                store.apply(
                    b,
                    vec![Change::Set {
                        seq: rec.seq,
                        field,
                        value: v,
                    }],
                )
            }
            Op::Exclude { row } => store.exclude(b, &[all[row % n].seq], "property test"),
            Op::Include { row } => store.include(b, &[all[row % n].seq]),
            Op::Undo => store.undo(b).map(|o| o.unwrap_or_default()),
            Op::Redo => store.redo(b).map(|o| o.unwrap_or_default()),
        };
    }
    // The store's verdict on every detail (or unknown-type) record the export writes.
    let records = store
        .page(b, 0, 1_000_000, &PageFilter::default())
        .expect("page");
    let detail = |code: Option<&str>| match layout.discriminator {
        None => true,
        Some(_) => code
            .and_then(|c| layout.record_index(c))
            .is_none_or(|ri| layout.records[ri].role == Role::Detail),
    };
    let mut from_store: Verdicts = Vec::new();
    let mut skip = Vec::new();
    for r in records.iter().filter(|r| !r.excluded) {
        if !detail(r.record_type.as_deref()) {
            continue;
        }
        let issues = store.record_issues(b, r.seq).expect("issues");
        // A field whose quotes were broken in the received file is kept as evidence beside
        // the record; the writer quotes it properly, so its bytes cannot say the same.
        skip.push(issues.iter().any(|i| i.rule == "broken-quote"));
        from_store.push((
            r.rejected,
            issues
                .iter()
                .filter(|i| !i.rule.is_file_level())
                .map(|i| (i.rule.code().to_string(), i.field_index))
                .collect(),
        ));
    }
    // A fresh validation of the bytes the export writes, nothing held back.
    let mut bytes = Vec::new();
    let fill = Fill {
        name: "property.out".into(),
        now: chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .and_then(|d| d.and_hms_opt(6, 30, 0))
            .expect("time"),
        vpd: "RX1".into(),
        seq: 1,
    };
    write_batch(
        &store,
        b,
        &layout,
        &fill,
        esr_desk::export::Rows::HoldBack(&BTreeSet::new()),
        std::path::Path::new("property.out"),
        &mut bytes,
    )
    .expect("write");
    let mut fresh: Verdicts = Vec::new();
    let (_, _) = esr_desk::validate::run(
        &bytes[..],
        "property.out",
        &layout,
        &References::none(),
        Options::default(),
        |c| {
            if let Verdict::Record {
                record_type,
                rejected,
            } = c.verdict
                && record_type.is_none_or(|ri| layout.records[ri].role == Role::Detail)
            {
                fresh.push((
                    rejected,
                    c.issues
                        .iter()
                        .filter(|i| !i.rule.is_file_level())
                        .map(|i| (i.rule.code().to_string(), i.field_index))
                        .collect(),
                ));
            }
            Ok::<bool, std::convert::Infallible>(true)
        },
    )
    .map_err(|_| TestCaseError::fail("the export could not be read back"))?;
    prop_assert_eq!(fresh.len(), from_store.len(), "records written");
    for (k, (s, f)) in from_store.iter().zip(&fresh).enumerate() {
        if skip[k] {
            continue;
        }
        prop_assert_eq!(s, f, "record {} of the export (ops {:?})", k, ops);
    }
    // No export ever writes U+FFFD as data.
    prop_assert!(!bytes.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD]));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(10), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn store_issues_equal_a_fresh_validation_of_the_export(
        sample_at in 0..SAMPLES.len() + WORKBOOKS.len(),
        ops in prop::collection::vec(op(), 0..30),
    ) {
        check(sample_at, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(200), failure_persistence: None, ..ProptestConfig::default() })]

    /// What the writer writes, the reader reads back field for field (any text without line
    /// breaks, in every bundled dialect that can hold it).
    #[test]
    fn writer_then_reader_round_trips(
        fields in prop::collection::vec("[ -~éÀ’€]{0,10}", 1..8),
        at in 0usize..64,
    ) {
        let set = LayoutSet::bundled().expect("layouts");
        let layout = &set.layouts[at % set.layouts.len()];
        let mut out = Vec::new();
        if esr_desk::writer::encode_record(&layout.dialect, &fields, &mut out).is_ok() {
            out.push(b'\n');
            let mut r = esr_desk::reader::Reader::new(&out[..], layout.dialect);
            let l = r.next_line().expect("read").expect("a line");
            prop_assert_eq!(l.fields.to_vec(), fields.clone());
        } else {
            // Refused only for a reason: the delimiter in a format that never quotes, or a
            // character the encoding cannot hold.
            let joined = fields.concat();
            prop_assert!(
                (layout.dialect.quote.is_none() && joined.as_bytes().contains(&layout.dialect.delimiter))
                    || joined.chars().any(|c| !esr_desk::writer::mappable_in(layout.dialect.encoding, c))
            );
        }
    }

    /// An N(n,m) value parses to a scaled number that formats back to the same text.
    #[test]
    fn numbers_parse_then_format_back(int in 0u64..1_000_000_000_000, frac in 0u64..1_000_000_000, dec in 0usize..=9, neg in any::<bool>()) {
        let frac_text = if dec == 0 { String::new() } else { format!("{:09}", frac)[..dec].to_string() };
        let text = format!("{}{}{}", if neg && (int > 0 || !frac_text.trim_matches('0').is_empty()) { "-" } else { "" }, int, if dec == 0 { String::new() } else { format!(".{frac_text}") });
        let n = esr_desk::notation::parse_number(&text, 13 + dec, dec, false).expect("parses");
        prop_assert_eq!(esr_desk::notation::format_scaled(n, dec), text);
    }

    /// A file name rendered from any layout's pattern is one the same pattern matches.
    #[test]
    fn file_name_patterns_render_then_match(at in 0usize..64, seq in 1u64..99_999, day in 1u32..28, secs in 0u32..86_400) {
        let set = LayoutSet::bundled().expect("layouts");
        let layout = &set.layouts[at % set.layouts.len()];
        let when = chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(secs / 3600, (secs / 60) % 60, secs % 60))
            .expect("time");
        let name = layout.file_name.render(&esr_desk::layout::NameValues {
            vpd: "RX1",
            when,
            seq,
            choices: Vec::new(),
            header: layout.name_header(None),
        });
        if let Ok(name) = name {
            prop_assert!(layout.file_name.matches(&name), "{} does not match {}", name, layout.file_name.text);
        }
    }
}

/// Expressions a trust might write, or a hostile one: numbers, the record's fields, operators,
/// brackets, lists and macros, nested at random, some past the limits.
fn any_expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0u32..1000).prop_map(|n| format!("{n}.0")),
        Just("days_lost".to_string()),
        Just("hours_lost".to_string()),
        Just("'Sickness'".to_string()),
        Just("absence_type".to_string()),
        Just("true".to_string()),
    ];
    leaf.prop_recursive(48, 400, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                prop_oneof![
                    Just("+"),
                    Just("*"),
                    Just("-"),
                    Just("/"),
                    Just("=="),
                    Just("<"),
                    Just("&&"),
                    Just("||")
                ]
            )
                .prop_map(|(a, b, op)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            inner.clone().prop_map(|a| format!("[1, 2, 3].all(x, {a})")),
            inner.clone().prop_map(|a| format!("[1, 2].exists(y, {a})")),
            (inner.clone(), 1usize..2000).prop_map(|(a, n)| format!(
                "{}{a}{}",
                "(".repeat(n % 60),
                ")".repeat(n % 60)
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]
    /// Whatever expression a trust's layout holds, loading it never panics or overflows the
    /// stack: it is refused with a message, or loaded and then judges a real file to the end.
    #[test]
    fn any_expression_is_loaded_or_refused_and_never_crashes(expr in any_expression()) {
        let bundled = std::fs::read_to_string(root().join("assets/layouts/absences.toml")).expect("layout");
        let text = format!(
            "{bundled}\n[[record.rule]]\nkind = \"computed\"\nfield = \"Days Lost\"\nexpression = \"{}\"\n\n[[record.rule]]\nkind = \"required_when\"\nfield = \"Last Name\"\ncondition = \"{}\"\n",
            expr.replace('"', "'"),
            expr.replace('"', "'"),
        );
        // On a thread with the stack a worker has, as the window's jobs run.
        let t = std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(move || {
            match esr_desk::layout::Layout::parse(&text, "trust.toml", esr_desk::layout::LayoutSource::Bundled) {
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    Ok(())
                }
                Ok(l) => {
                    let r = esr_desk::validate::validate_path(
                        &sample("absences", false),
                        &l,
                        &References::default(),
                        Options::default(),
                    );
                    prop_assert!(r.is_ok());
                    Ok(())
                }
            }
        }).expect("thread");
        t.join().expect("no panic, no overflow")?;
    }
}

//! Throughput at real sizes (one million records): validate (on every core and on one), a
//! Table Schema validation of a 1M-row, 20-column CSV, import, page reads, the first edit and
//! the edits after it, and export. Run with `cargo bench`; each figure is criterion's
//! estimate on this machine. The targets are in the README's development section.
//!
//! The 1M-row Absences file (about 130 MB) is generated once into a temporary folder by the
//! same generator the tests use, with 1% seeded defects; the 20-column CSV has the shape of
//! the peer comparison's (`scripts/bench-peers.sh`).

use criterion::{Criterion, criterion_group, criterion_main};
use esr_desk::export::{ExportOptions, export_batch};
use esr_desk::generate::{GenOptions, generate};
use esr_desk::layout::{Layout, LayoutSet};
use esr_desk::store::{ImportOptions, PageFilter, Store};
use esr_desk::validate::{Options, References, validate_path};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ROWS: u64 = 1_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    layout: Layout,
    /// The same layout with [`THREE_RULES`] added.
    ruled: Layout,
    /// The same layout with [`CONSISTENT_KEY`] added.
    keyed: Layout,
    size: u64,
    /// A 1M-row, 20-column CSV, and the Table Schema it is validated against.
    wide: PathBuf,
    schema: Layout,
}

/// The Table Schema of the 20-column file (the peer comparison's).
const SCHEMA: &str = r#"{"fields":[
 {"name":"employee_number","type":"integer","constraints":{"required":true,"minimum":10000000,"maximum":99999999}},
 {"name":"assignment_number","type":"string","constraints":{"required":true,"pattern":"[0-9]{8}-[0-9]+"}},
 {"name":"surname","type":"string","constraints":{"required":true,"maxLength":35}},
 {"name":"forename","type":"string","constraints":{"maxLength":35}},
 {"name":"ni_number","type":"string","constraints":{"pattern":"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]"}},
 {"name":"absence_type","type":"string","constraints":{"required":true,"enum":["SICK","ANNUAL","MATERNITY","PATERNITY","ADOPTION","SPECIAL"]}},
 {"name":"start_date","type":"date","constraints":{"required":true}},
 {"name":"end_date","type":"date"},
 {"name":"hours","type":"number","constraints":{"minimum":0,"maximum":37.5}},
 {"name":"reason","type":"string"},
 {"name":"authorised_by","type":"string"},
 {"name":"cost_centre","type":"string","constraints":{"pattern":"CC[0-9]{3}"}},
 {"name":"ward","type":"string"},{"name":"grade","type":"string"},
 {"name":"fte","type":"number"},{"name":"notes","type":"string"},
 {"name":"status","type":"string","constraints":{"enum":["A","I"]}},
 {"name":"created","type":"date"},{"name":"updated","type":"date"},{"name":"source","type":"string"}],
 "primaryKey":["assignment_number","start_date","absence_type","employee_number"]}"#;

/// Writes the 20-column file: the rows the peer kit's generator writes.
fn write_wide(path: &Path) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let types = [
        "SICK",
        "ANNUAL",
        "MATERNITY",
        "PATERNITY",
        "ADOPTION",
        "SPECIAL",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    writeln!(w, "employee_number,assignment_number,surname,forename,ni_number,absence_type,start_date,end_date,hours,reason,authorised_by,cost_centre,ward,grade,fte,notes,status,created,updated,source").expect("write");
    for i in 0..ROWS {
        let e = 10_000_000 + i;
        let sd = format!("2026-{:02}-{:02}", rng.u32(1..=12), rng.u32(1..=28));
        writeln!(
            w,
            "{e},{e}-{},SMITH,JANE,AB{:06}C,{},{sd},{sd},{:.2},,MGR1,CC{},W12,Band 5,1.00,,A,{sd},{sd},ROSTER",
            rng.u32(1..=3),
            rng.u32(0..1_000_000),
            types[rng.usize(0..types.len())],
            f64::from(rng.u32(1..=75)) / 2.0,
            rng.u32(100..1000),
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// Three rules a trust might add to the Absences layout: a conditional emptiness written as
/// a CEL condition, a date span, and an amount computed from another (a CEL expression).
const THREE_RULES: &str = r#"
  [[record.rule]]
  kind = "empty_when"
  field = "Sickness Reason"
  condition = "absence_type != 'Sickness'"

  [[record.rule]]
  kind = "span"
  from = "Start Date"
  to = "End Date"
  unit = "days"
  min = 0
  max = 366

  [[record.rule]]
  kind = "computed"
  field = "Days Lost"
  expression = "hours_lost / 7.5"
  tolerance = "0.1"
"#;

/// A key consistent across the file: one assignment, one employee (a map of every key).
const CONSISTENT_KEY: &str = r#"
[[consistent]]
key = "Assignment Number"
value = "Employee Number"
"#;

fn fixture() -> Fixture {
    let set = LayoutSet::bundled().expect("bundled layouts");
    let layout = set.get("absences").expect("absences layout").clone();
    let with = |extra: &str| {
        Layout::parse(
            &format!("{}{extra}", layout.text),
            "absences with rules added",
            esr_desk::layout::LayoutSource::Bundled,
        )
        .expect("absences with rules added")
    };
    let ruled = with(THREE_RULES);
    let keyed = with(CONSISTENT_KEY);
    // The file is written to keep all of them, so they find what they would in a kept file.
    let both = with(&format!("{THREE_RULES}{CONSISTENT_KEY}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ABS_RX1_20261102_000001.csv");
    let when = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .and_then(|d| d.and_hms_opt(6, 30, 0))
        .expect("date");
    let opts = GenOptions {
        rows: ROWS,
        defect_rate: 0.01,
        seed: 7,
        vpd: "RX1".into(),
        seq: 1,
        when,
        file_name: "ABS_RX1_20261102_000001.csv".into(),
    };
    let file = std::fs::File::create(&path).expect("create");
    generate(&both, &opts, file).expect("generate");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!("generated {ROWS} rows, {:.1} MB", size as f64 / 1e6);
    let wide = dir.path().join("wide.csv");
    write_wide(&wide);
    let schema = esr_desk::tableschema::layout_from_schema(SCHEMA, "schema.json").expect("schema");
    Fixture {
        _dir: dir,
        path,
        layout,
        ruled,
        keyed,
        size,
        wide,
        schema,
    }
}

fn import_into(dir: &Path, f: &Fixture) -> (Store, i64) {
    let mut store = Store::open(&dir.join("bench.sqlite")).expect("store");
    let b = store
        .import(&f.path, &f.layout, ImportOptions::default())
        .expect("import")
        .batch_id;
    (store, b)
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("1m_rows");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .throughput(criterion::Throughput::Bytes(f.size));
    g.bench_function("validate", |b| {
        b.iter(|| {
            let r = validate_path(
                black_box(&f.path),
                &f.layout,
                &References::none(),
                Options::default(),
            )
            .expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.bench_function("validate_single_thread", |b| {
        b.iter(|| {
            let opts = Options {
                split: Some(esr_desk::reader::Split {
                    workers: 1,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let r = validate_path(black_box(&f.path), &f.layout, &References::none(), opts)
                .expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.bench_function("table_schema_validate_20_columns", |b| {
        b.iter(|| {
            let r = validate_path(
                black_box(&f.wide),
                &f.schema,
                &References::none(),
                Options::default(),
            )
            .expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.bench_function("validate_with_three_rules", |b| {
        b.iter(|| {
            let r = validate_path(
                black_box(&f.path),
                &f.ruled,
                &References::none(),
                Options::default(),
            )
            .expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.bench_function("validate_with_consistent_key", |b| {
        b.iter(|| {
            let r = validate_path(
                black_box(&f.path),
                &f.keyed,
                &References::none(),
                Options::default(),
            )
            .expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.bench_function("import", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("dir"),
            |dir| {
                let (_store, batch) = import_into(dir.path(), &f);
                batch
            },
        )
    });
    g.finish();

    let dir = tempfile::tempdir().expect("dir");
    let (mut store, batch) = import_into(dir.path(), &f);
    let mut g = c.benchmark_group("1m_batch");
    g.sample_size(50);
    let mut rng = fastrand::Rng::with_seed(1);
    g.bench_function("page_of_100_at_random_offset", |b| {
        b.iter(|| {
            let offset = rng.u64(0..ROWS - 100);
            let page = store
                .page(batch, offset, 100, &PageFilter::default())
                .expect("page");
            assert_eq!(page.len(), 100);
            page.len()
        })
    });
    // The first edit on a batch (a store opened afresh) builds what an edit needs from the
    // store (the batch's key index); time it, then the edits after it.
    let db = dir.path().join("bench.sqlite");
    let mut turn = 0u32;
    g.bench_function("first_edit", |b| {
        b.iter_batched(
            || Store::open(&db).expect("store"),
            |mut fresh| {
                turn += 1;
                let v = if turn.is_multiple_of(2) {
                    "Smith"
                } else {
                    "Jones"
                };
                fresh.set_value(batch, 500_000 + turn, 2, v).expect("edit");
                fresh
            },
            criterion::BatchSize::PerIteration,
        )
    });
    let first = store
        .page(batch, 10, 1, &PageFilter::default())
        .expect("page")[0]
        .seq;
    store
        .set_value(batch, first, 2, "Warmup")
        .expect("warm-up edit");
    let mut n = 0u64;
    g.bench_function("edit_one_cell", |b| {
        b.iter(|| {
            n += 1;
            let seq = rng.u32(0..ROWS as u32);
            store
                .set_value(
                    batch,
                    seq,
                    2,
                    if n.is_multiple_of(2) {
                        "Smith"
                    } else {
                        "Jones"
                    },
                )
                .expect("edit")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("1m_export");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    // The seeded file-level problems (blank lines, a trailer that disagrees) block every
    // export until accepted: accept them, as an officer would, to time the export itself.
    let open: Vec<esr_desk::rules::Rule> = store
        .file_problems(batch)
        .expect("file problems")
        .iter()
        .map(|i| i.rule)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for rule in open {
        store
            .accept(batch, rule, None, "benchmark: accepted to time the export")
            .expect("accept");
    }
    let out = tempfile::tempdir().expect("out");
    let mut seq = 0u64;
    g.bench_function("export_valid_rows", |b| {
        b.iter(|| {
            seq += 1;
            let mut o = ExportOptions::new(out.path());
            o.valid_rows_only = true;
            o.vpd = Some("RX1".into());
            o.seq = Some(seq);
            let r = export_batch(&mut store, batch, &o).expect("export");
            let _ = std::fs::remove_file(&r.path);
            r.records_written
        })
    });
    g.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);

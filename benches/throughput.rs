//! Throughput at real sizes: validating a generated 1,000,000-row Absences file.
//!
//! Run with `cargo bench`. The file is generated once into a temporary folder (about 110 MB)
//! by the same generator the tests use; the benchmark then times `validate_path` end to end
//! (read, decode, split, check, report).

use criterion::{Criterion, criterion_group, criterion_main};
use esr_desk::generate::{GenOptions, generate};
use esr_desk::layout::LayoutSet;
use esr_desk::validate::{Options, validate_path};
use std::hint::black_box;
use std::time::Duration;

const ROWS: u64 = 1_000_000;

fn validate_1m(c: &mut Criterion) {
    let set = LayoutSet::bundled().expect("bundled layouts");
    let layout = set.get("absences").expect("absences layout").clone();
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
    generate(&layout, &opts, file).expect("generate");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!("generated {} rows, {:.1} MB", ROWS, size as f64 / 1e6);

    let mut g = c.benchmark_group("validate");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(criterion::Throughput::Bytes(size));
    g.bench_function("absences_1m_rows", |b| {
        b.iter(|| {
            let r = validate_path(black_box(&path), &layout, Options::default()).expect("validate");
            assert_eq!(r.records, ROWS);
            r.issues.len()
        })
    });
    g.finish();
}

criterion_group!(benches, validate_1m);
criterion_main!(benches);

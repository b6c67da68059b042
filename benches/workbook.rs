//! A workbook at a real size: 100,000 rows of pay variations, read with calamine, mapped with a
//! saved mapping (the one an officer confirmed once) and validated by the one pipeline. Run
//! with `cargo bench --bench workbook`; the target is at most 5 s for the whole step.
//!
//! The workbook is written once into a temporary folder by the sample generator (no damage
//! seeded), as a local system lays one out: a summary sheet first, a title row, the system's
//! own column names.

use criterion::{Criterion, criterion_group, criterion_main};
use esr_desk::generate::GenOptions;
use esr_desk::layout::LayoutSet;
use esr_desk::mapping::ReadChoice;
use esr_desk::store::Store;
use esr_desk::validate::{Options, References, validate_streaming};
use std::hint::black_box;
use std::time::Duration;

const ROWS: u64 = 100_000;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("rostering-pay-variations").expect("layout").clone();
    let path = dir.path().join("Roster pay export.xlsx");
    let opts = GenOptions {
        rows: ROWS,
        defect_rate: 0.0,
        seed: 7,
        vpd: "RX1".into(),
        seq: 1,
        when: chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .and_then(|d| d.and_hms_opt(6, 30, 0))
            .expect("date"),
        file_name: "Roster pay export.xlsx".into(),
    };
    esr_desk::sample_workbook::write_sample_workbook(&layout, &opts, &path).expect("workbook");
    let mut store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    // The officer's mapping, saved once: by names, with the header's Source System.
    let table = esr_desk::workbook::read_table(
        &path,
        &esr_desk::workbook::Choice {
            sheet: Some("Rostering — Pay Variations"),
            ..Default::default()
        },
        Some(&layout),
        |_| None,
    )
    .expect("read");
    let mut m = esr_desk::mapping::by_name(&layout, &table).to_mapping(
        &layout,
        &table.columns,
        table.sheet.clone(),
    );
    m.header
        .insert("Source System".into(), "HealthRoster".into());
    store.save_mapping(&table.columns, &m).expect("save");
    drop(table);
    let size = std::fs::metadata(&path).expect("size").len();
    let mut g = c.benchmark_group("100k_workbook");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(40))
        .throughput(criterion::Throughput::Bytes(size));
    g.bench_function("open_map_validate", |b| {
        b.iter(|| {
            let p = store
                .prepare_table(black_box(&path), &layout, ReadChoice::default())
                .expect("prepare");
            assert!(p.from.contains("saved on"), "{}", p.from);
            let s = validate_streaming(
                &p.converted.bytes[..],
                "Roster pay export.xlsx",
                &layout,
                &References::none(),
                Options {
                    made_from: Some(&p.converted.lines),
                    ..Options::default()
                },
                |_| {},
            )
            .expect("validate");
            assert_eq!(s.records, ROWS + 2);
            assert!(!s.has_errors);
            s.records
        })
    });
    g.finish();
}

criterion_group!(workbook, benches);
criterion_main!(workbook);

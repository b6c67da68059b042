//! Validation in parallel gives the single-threaded result to the byte: on every sample, on
//! generated files of every bundled layout, and (a property) on generated files damaged at
//! random and cut into chunks of random sizes. What is compared is everything a run hands
//! its consumer (each line's number, fields, read problems, verdict and issues: what import
//! stores) and everything it reports at the end.

use crate::support::*;
use esr_desk::generate::{GenOptions, generate};
use esr_desk::layout::{Layout, LayoutSet};
use esr_desk::reader::Split;
use esr_desk::validate::{Options, References, run};
use proptest::prelude::*;

/// A run's whole result, as text.
fn transcript(bytes: &[u8], name: &str, layout: &Layout, split: Split) -> String {
    let refs = References::none();
    let mut out = String::new();
    let opts = Options {
        split: Some(split),
        ..Default::default()
    };
    let res = run(bytes, name, layout, &refs, opts, |c| {
        out.push_str(&format!(
            "{} {:?} {:?} {:?} {}\n",
            c.line.line,
            c.verdict,
            c.line.fields.to_vec(),
            c.line.problems,
            serde_json::to_string(c.issues).expect("json")
        ));
        Ok::<_, std::convert::Infallible>(true)
    });
    match res {
        Ok((fin, _)) => out.push_str(&format!(
            "end {} {} {:?} {:?} {}",
            fin.records,
            fin.rejected,
            fin.summary,
            fin.unchecked,
            serde_json::to_string(&fin.end_issues).expect("json")
        )),
        Err(e) => out.push_str(&format!("stopped: {e:?}")),
    }
    out
}

fn single() -> Split {
    Split {
        workers: 1,
        ..Split::default()
    }
}

/// Asserts every split gives the single-threaded transcript.
fn same_in_parallel(bytes: &[u8], name: &str, layout: &Layout, splits: &[Split]) {
    let want = transcript(bytes, name, layout, single());
    for &s in splits {
        let got = transcript(bytes, name, layout, s);
        if got != want {
            let at = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name} ({}) with {s:?} differs from the single-threaded run at transcript line {at}:\n  single:   {:?}\n  parallel: {:?}",
                layout.id,
                want.lines().nth(at),
                got.lines().nth(at)
            );
        }
    }
}

fn splits() -> Vec<Split> {
    [(2, 1 << 20), (2, 1), (3, 37), (2, 512), (4, 4096)]
        .into_iter()
        .map(|(workers, chunk_bytes)| Split {
            workers,
            chunk_bytes,
        })
        .collect()
}

#[test]
fn every_sample_validates_alike_in_parallel() {
    let set = LayoutSet::bundled().expect("layouts");
    let mut checked = 0;
    for dir in std::fs::read_dir(root().join("sample-data"))
        .expect("sample-data")
        .flatten()
    {
        let interface = dir.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".defects.json") || esr_desk::workbook::is_workbook(&f.path()) {
                continue;
            }
            let Some(layout) = set
                .for_file(&interface, &name)
                .or_else(|| set.of_interface(&interface).next())
            else {
                continue;
            };
            let bytes = std::fs::read(f.path()).expect("read");
            same_in_parallel(&bytes, &name, layout, &splits());
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} samples checked");
}

fn generated(layout: &Layout, rows: u64, seed: u64) -> (Vec<u8>, String) {
    let when = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .and_then(|d| d.and_hms_opt(6, 0, 0))
        .expect("date");
    let mut opts = GenOptions {
        rows,
        defect_rate: 0.2,
        seed,
        vpd: "RX1".into(),
        seq: 7,
        when,
        file_name: String::new(),
    };
    opts.file_name = esr_desk::generate::default_file_name(layout, &opts).unwrap_or_default();
    let mut bytes = Vec::new();
    generate(layout, &opts, &mut bytes).expect("generate");
    (bytes, opts.file_name)
}

#[test]
fn generated_files_of_every_layout_validate_alike_in_parallel() {
    let set = LayoutSet::bundled().expect("layouts");
    for layout in &set.layouts {
        let (bytes, name) = generated(layout, 300, 11);
        same_in_parallel(&bytes, &name, layout, &splits());
    }
}

/// One random change to a file's lines.
#[derive(Debug, Clone)]
enum Damage {
    /// Repeat a line (a duplicate key, a second header or trailer).
    Repeat(usize),
    /// Drop a line (the header, the trailer, the column names).
    Drop(usize),
    /// Move a line to another place (the header after the records).
    Move(usize, usize),
    /// A blank line.
    Blank(usize),
    /// A byte put into a line: a quote, a delimiter, a stray CR, a byte that is not UTF-8.
    Byte(usize, usize, u8),
    /// The file's end without its last line feed.
    NoFinalNewline,
    /// A UTF-8 byte order mark.
    Bom,
}

fn damage() -> impl Strategy<Value = Damage> {
    let at = 0usize..400;
    prop_oneof![
        at.clone().prop_map(Damage::Repeat),
        at.clone().prop_map(Damage::Drop),
        (at.clone(), at.clone()).prop_map(|(a, b)| Damage::Move(a, b)),
        at.clone().prop_map(Damage::Blank),
        (
            at,
            0usize..200,
            prop::sample::select(vec![b'"', b',', b'|', b'\r', 0xE9, 0xFF, b' '])
        )
            .prop_map(|(l, p, b)| Damage::Byte(l, p, b)),
        Just(Damage::NoFinalNewline),
        Just(Damage::Bom),
    ]
}

fn damaged(bytes: &[u8], ds: &[Damage]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let (mut bom, mut cut_end) = (false, false);
    for d in ds {
        let n = lines.len().max(1);
        match *d {
            Damage::Repeat(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Damage::Drop(i) if lines.len() > 1 => {
                lines.remove(i % n);
            }
            Damage::Move(a, b) if !lines.is_empty() => {
                let l = lines.remove(a % n);
                lines.insert(b % lines.len().max(1), l);
            }
            Damage::Blank(i) => lines.insert(i % n, b"\r\n".to_vec()),
            Damage::Byte(i, p, b) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                let at = p % l.len().max(1);
                l.insert(at, b);
            }
            Damage::NoFinalNewline => cut_end = true,
            Damage::Bom => bom = true,
            _ => {}
        }
    }
    let mut out = if bom {
        vec![0xEF, 0xBB, 0xBF]
    } else {
        Vec::new()
    };
    for l in &lines {
        out.extend_from_slice(l);
    }
    if cut_end {
        while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            out.pop();
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any damage, any chunk size, any number of workers: the single-threaded result.
    #[test]
    fn damaged_files_validate_alike_in_parallel(
        which in 0usize..64,
        seed in 0u64..1000,
        ds in prop::collection::vec(damage(), 0..8),
        chunk_bytes in 1usize..600,
        workers in 2usize..5,
    ) {
        let set = LayoutSet::bundled().expect("layouts");
        let layout = &set.layouts[which % set.layouts.len()];
        let (bytes, name) = generated(layout, 40, seed);
        let bytes = damaged(&bytes, &ds);
        let want = transcript(&bytes, &name, layout, single());
        let got = transcript(&bytes, &name, layout, Split { workers, chunk_bytes });
        prop_assert_eq!(want, got);
    }
}

/// Records judged against the header: when the file does not start with it, the workers'
/// guess is wrong and the records after it are judged again, as a single thread judges them.
#[test]
fn a_header_met_late_judges_the_records_after_it_alike() {
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("professional-registrations-nmc").expect("layout");
    let (bytes, name) = generated(layout, 200, 3);
    let h = layout.header().expect("a header record");
    let at = layout.records[h]
        .fields
        .iter()
        .position(|f| f.name == "Register Checked On")
        .expect("field");
    let d = layout.dialect.delimiter;
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let hl = lines
        .iter()
        .position(|l| l.starts_with(layout.records[h].code.as_bytes()))
        .expect("header line");
    // The header checked the register far in the future: every expiry is before it.
    let mut fields: Vec<Vec<u8>> = lines[hl].split(|&b| b == d).map(<[u8]>::to_vec).collect();
    fields[at] = b"20991231".to_vec();
    let header = fields.join(&d);
    lines.remove(hl);
    lines.insert(lines.len() / 2, header);
    let bytes = lines.concat();
    let single = transcript(&bytes, &name, layout, single());
    assert!(
        single.contains("order-error"),
        "the moved header judges the records after it"
    );
    same_in_parallel(&bytes, &name, layout, &splits());
}

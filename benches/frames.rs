//! Frame time of the window over a 1,000,000-record batch: scrolling (wheel and jumps to
//! random positions, as when the scroll bar is dragged) and editing (a cell edit sent to the
//! worker, frames drawn while it works, and the frame that takes its answer).
//!
//! Not a timed test: run `cargo bench --bench frames` and read the figures it prints. The
//! window is driven through egui_kittest (no GPU: this measures logic, layout and the store
//! reads, not the GPU upload, which eframe's glow painter does in well under a millisecond
//! for a table). The target is under 16 ms per frame.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use esr_desk::generate::{GenOptions, generate};
use esr_desk::layout::LayoutSet;
use esr_desk::store::edit::Change;
use esr_desk::store::{ImportOptions, Store};
use esr_desk::ui::app::{App, Command, Data, Screen, View};
use esr_desk::ui::batch::Selection;
use std::time::{Duration, Instant};

const ROWS: u64 = 1_000_000;

struct Stats(Vec<Duration>);

impl Stats {
    fn report(&mut self, what: &str) {
        self.0.sort();
        let n = self.0.len().max(1);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mean = self.0.iter().map(|d| ms(*d)).sum::<f64>() / n as f64;
        let p = |q: f64| ms(self.0[((n as f64 - 1.0) * q) as usize]);
        println!(
            "{what:<44} frames {n:>5}  mean {mean:6.2} ms  median {:6.2}  p95 {:6.2}  max {:6.2}",
            p(0.5),
            p(0.95),
            p(1.0)
        );
    }
}

fn timed(h: &mut Harness<'static, App>) -> Duration {
    let t = Instant::now();
    h.step();
    t.elapsed()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let set = LayoutSet::bundled().expect("layouts");
    let layout = set.get("absences").expect("absences layout").clone();
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
    generate(
        &layout,
        &opts,
        std::fs::File::create(&path).expect("create"),
    )
    .expect("generate");
    let db = dir.path().join("store.sqlite");
    let t = Instant::now();
    let batch = Store::open(&db)
        .expect("store")
        .import(&path, &layout, ImportOptions::default())
        .expect("import")
        .batch_id;
    println!(
        "imported {ROWS} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut app = App::headless(Vec::new(), Some(db));
    app.queue(Command::View(View::OpenBatch(batch)));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .allow_missing_glyphs()
        .build_ui_state(|ui, app: &mut App| app.frame(ui), app);
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().screen, Screen::Batch);
    let n = h.state().view.as_ref().expect("view").rows.len();
    println!("batch open: {n} rows");

    // Warm-up.
    for _ in 0..20 {
        h.step();
    }
    let mut idle = Stats(Vec::new());
    for _ in 0..100 {
        idle.0.push(timed(&mut h));
    }
    idle.report("idle (nothing changes)");

    // Wheel scrolling with the pointer over the table.
    h.hover_at(egui::pos2(600.0, 500.0));
    let mut wheel = Stats(Vec::new());
    for _ in 0..600 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -120.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        wheel.0.push(timed(&mut h));
    }
    wheel.report("wheel scroll, 120 px a frame");

    // Jumps to random places (dragging the scroll bar): every frame misses the page cache.
    let mut rng = fastrand::Rng::with_seed(1);
    let mut jumps = Stats(Vec::new());
    for _ in 0..300 {
        let row = rng.usize(0..n as usize);
        h.state_mut().view.as_mut().expect("view").scroll_to = Some(row);
        jumps.0.push(timed(&mut h));
        jumps.0.push(timed(&mut h));
    }
    jumps.report("jump to a random row (2 frames each)");

    // Keyboard: arrow down through the table.
    let mut keys = Stats(Vec::new());
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(500_000, 3));
    h.state_mut().view.as_mut().expect("view").scroll_to = Some(500_000);
    h.step();
    for _ in 0..300 {
        h.key_press(egui::Key::ArrowDown);
        keys.0.push(timed(&mut h));
    }
    keys.report("arrow down, one row a frame");

    // Editing: frames while the worker applies an edit, and the frame that takes the answer.
    let mut during = Stats(Vec::new());
    let mut answer = Stats(Vec::new());
    let mut first_edit = None;
    for i in 0..30u32 {
        let seq = 400_000 + i * 7;
        let t = Instant::now();
        h.state_mut().queue(Command::Data(Data::Edit {
            changes: vec![Change::Set {
                seq,
                field: 2,
                value: format!("Smith{i}"),
            }],
            label: "bench".into(),
        }));
        let mut answered = false;
        loop {
            let seen = h.state().edits_answered;
            let d = timed(&mut h);
            if !answered && h.state().edits_answered != seen {
                answer.0.push(d);
                answered = true;
            } else {
                during.0.push(d);
            }
            if answered && !h.state().busy() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if first_edit.is_none() {
            first_edit = Some(t.elapsed());
        }
    }
    println!(
        "first edit round trip (the unique keys are kept in the store since import): {:.0} ms",
        first_edit.unwrap_or_default().as_secs_f64() * 1e3
    );
    during.report("frames while an edit is applied");
    answer.report("frame that takes the edit's answer");

    // "Rejected rows only": the frame that applies the filter, then scrolling the rejects.
    let mut toggle = Stats(Vec::new());
    for _ in 0..20 {
        h.get_by_label("Rejected rows only").click();
        toggle.0.push(timed(&mut h));
        h.step();
    }
    toggle.report("rejected-only on/off (the frame of the click)");

    // Search across the batch: built on the worker; frames drawn meanwhile.
    let mut searching = Stats(Vec::new());
    h.get_by_label("Search:").focus();
    h.get_by_label("Search:").type_text("Maternity");
    h.step();
    let t = Instant::now();
    h.get_by_label("Find").click();
    loop {
        searching.0.push(timed(&mut h));
        if !h.state().busy() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let found = h.state().view.as_ref().expect("view").rows.len();
    println!(
        "search \"Maternity\" over {ROWS} records: {found} found in {:.0} ms (on the worker)",
        t.elapsed().as_secs_f64() * 1e3
    );
    searching.report("frames while the search runs");
    let mut listed = Stats(Vec::new());
    for _ in 0..300 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -120.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        listed.0.push(timed(&mut h));
    }
    listed.report("wheel scroll through the search results");
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
}

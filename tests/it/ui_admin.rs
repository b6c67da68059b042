//! The layouts and schedules screens, driven through egui_kittest with real files and a real
//! store in temporary folders.

use egui_kittest::{Harness, kittest::Queryable as _};
use esr_desk::notation::Format;
use esr_desk::ui::layouts::LayoutsScreen;
use esr_desk::ui::schedules::SchedulesScreen;

fn last_name_format(s: &LayoutsScreen) -> Format {
    let l = s.set.get("absences").expect("absences");
    l.records[0].fields[l.records[0].field_index("Last Name").expect("field")]
        .format
        .clone()
}

#[test]
fn a_layout_is_edited_and_reloaded_and_a_broken_edit_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut screen = LayoutsScreen::new(dir.path().join("layouts"));
    screen.selected = Some("absences".into());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, s: &mut LayoutsScreen| s.ui(ui, &[]), screen);
    h.run();
    h.get_by_label("Edit this layout").click();
    h.run();
    let original = h.state().editing.clone().expect("editing");
    // A broken edit: the old layout stays in use and the reason is shown.
    h.state_mut().editing = Some(original.replace("format = \"X(35)\"", "format = \"Q(35)\""));
    h.run();
    h.get_by_label("Save and reload").click();
    settle_layouts(&mut h);
    let (is_err, msg) = h.state().message.clone().expect("message");
    assert!(is_err && msg.contains("not ESR notation"), "{msg}");
    assert_eq!(last_name_format(h.state()), Format::Text { max: 35 });
    assert!(!dir.path().join("layouts/absences.toml").exists());
    // A good edit is saved in the trust's folder and used at once.
    h.state_mut().editing = Some(original.replacen("format = \"X(35)\"", "format = \"X(20)\"", 1));
    h.run();
    h.get_by_label("Save and reload").click();
    settle_layouts(&mut h);
    assert_eq!(last_name_format(h.state()), Format::Text { max: 20 });
    assert!(dir.path().join("layouts/absences.toml").exists());
    // And back to the bundled one.
    h.get_by_label("Use the bundled layout").click();
    settle_layouts(&mut h);
    assert_eq!(last_name_format(h.state()), Format::Text { max: 35 });
}

/// Lets the layouts screen's file work (on its own thread) finish.
fn settle_layouts(h: &mut Harness<'static, LayoutsScreen>) {
    let start = std::time::Instant::now();
    h.step();
    while h.state().busy() {
        h.state_mut().poll();
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.step();
    h.run();
}

#[test]
fn a_schedule_is_added_from_the_screen_and_a_bad_cadence_is_explained() {
    let dir = tempfile::tempdir().expect("tmp");
    let screen = SchedulesScreen::new(dir.path().join("s.sqlite"));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, s: &mut SchedulesScreen| s.ui(ui), screen);
    h.run();
    wait(&mut h);
    h.get_by_label("Add schedule…").click();
    h.run();
    {
        let f = h.state_mut().form.as_mut().expect("form");
        f.cadence = "daily at 25:00".into();
        f.inbox = dir.path().join("in").display().to_string();
    }
    h.run();
    h.get_by_label("Save schedule").click();
    h.run();
    let (is_err, msg) = h.state().message.clone().expect("message");
    assert!(is_err && msg.contains("not understood"), "{msg}");
    assert!(h.state().rows.is_empty());
    h.state_mut().form.as_mut().expect("form kept").cadence = "daily at 01:30".into();
    h.run();
    h.get_by_label("Save schedule").click();
    h.step();
    wait(&mut h);
    assert_eq!(h.state().rows.len(), 1, "{:?}", h.state().message);
    // Saved, with a word about the inbox folder that does not exist.
    let (_, msg) = h.state().message.clone().expect("message");
    assert!(
        msg.contains("inbox folder") && msg.contains("does not exist"),
        "{msg}"
    );
    assert_eq!(h.state().rows[0].cadence.to_string(), "daily at 01:30");
    assert!(h.state().form.is_none());
    // "Run now" runs it at once, whatever its cadence, and the history says so.
    h.get_by_label("Run now").click();
    h.step();
    wait(&mut h);
    h.state_mut().refresh();
    wait(&mut h);
    assert_eq!(h.state().history.len(), 1, "{:?}", h.state().message);
}

/// Lets the screen's threads finish (its reads, saves and runs happen off the window's thread).
fn wait(h: &mut Harness<'static, SchedulesScreen>) {
    let start = std::time::Instant::now();
    while h.state().busy() {
        h.state_mut().poll();
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
}

#[test]
fn the_batches_screen_compares_two_staff_feeds_and_shows_export_history() {
    use esr_desk::store::{ImportOptions, Store};
    use esr_desk::ui::app::{App, Command, Screen, View};
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let src = std::fs::read_dir(crate::support::root().join("sample-data/local-data-warehouse"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "DAT")
                && !std::path::PathBuf::from(format!("{}.defects.json", p.display())).exists()
        })
        .expect("clean sample");
    // The next day's feed: one assignment gone.
    let bytes = std::fs::read(&src).expect("read");
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let gone = lines
        .iter()
        .position(|l| l.starts_with(b"ASA~"))
        .expect("an assignment");
    lines.remove(gone);
    let next = dir.path().join("GO_RX1_GDW_GOC_20261103_00000002.DAT");
    std::fs::write(&next, lines.join(&b'\n')).expect("write");
    {
        let mut store = Store::open(&db).expect("store");
        let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
        let layout = set.get("local-data-warehouse").expect("layout");
        store
            .import(&src, layout, ImportOptions::default())
            .expect("first");
        store
            .import(&next, layout, ImportOptions::default())
            .expect("second");
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 900.0))
        .build_ui_state(
            |ui, app: &mut App| app.frame(ui),
            App::headless(Vec::new(), Some(db)),
        );
    h.state_mut()
        .queue(Command::View(View::Show(Screen::Batches)));
    h.run();
    h.get_by_label("Changes since 1").click();
    let start = std::time::Instant::now();
    while h.state().reports.jml.is_none() {
        assert!(
            start.elapsed().as_secs() < 60,
            "the comparison did not finish"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let jml = h.state().reports.jml.as_ref().expect("result");
    assert_eq!((jml.old, jml.new), (1, 2));
    let leavers: Vec<_> = jml
        .rows
        .iter()
        .filter(|r| r.change == esr_desk::jml::Change::Leaver)
        .collect();
    assert_eq!(leavers.len(), 1, "{:?}", jml.rows);
    assert_eq!(leavers[0].record_type, "ASA");
    h.run();
    // Escape closes the report; then the batch's exports.
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.state().reports.jml.is_none());
    h.get_by_label("Exports of batch 2").click();
    let start = std::time::Instant::now();
    while h.state().reports.history.is_none() {
        assert!(start.elapsed().as_secs() < 30, "the history did not come");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (title, runs) = h.state().reports.history.clone().expect("history window");
    assert!(title.contains("local-data-warehouse"));
    assert!(runs.is_empty());
}

#[test]
fn the_layouts_screen_says_each_rule_in_words_in_full_beside_its_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut screen = LayoutsScreen::new(dir.path().join("layouts"));
    screen.selected = Some("active-directory".into());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(|ui, s: &mut LayoutsScreen| s.ui(ui, &[]), screen);
    settle_layouts(&mut h);
    let rows = esr_desk::layout::describe(h.state().set.get("active-directory").expect("layout"));
    let row = rows
        .iter()
        .find(|r| {
            r.rules
                .contains("3 digits, a capital letter, then 4 digits")
        })
        .expect("the cost centre's pattern in words");
    assert!(
        !rows.iter().any(|r| r.rules.contains("[0-9]")),
        "no pattern shown as code"
    );
    // Filtered to that field, its name and its whole rule are in view side by side.
    h.state_mut().filter = row.field.clone();
    h.run();
    let name = h
        .get_all_by_label(&format!("{}. {}", row.position, row.field))
        .map(|n| n.rect())
        .find(|r| r.min.x > 250.0)
        .expect("the field's name in the table");
    let rule = h
        .query_all(egui_kittest::kittest::by().label_contains(&row.rules))
        .map(|n| n.rect())
        .find(|r| r.min.x > 250.0)
        .expect("its rules in the table");
    assert!(rule.max.x <= 1024.0, "the rule fits: {rule:?}");
    assert!(
        name.max.x <= rule.min.x && name.min.x >= 0.0,
        "{name:?} {rule:?}"
    );
    assert!((name.min.y - rule.min.y).abs() < 4.0, "on one row");
}

#[test]
fn the_data_warehouse_layout_s_long_rules_wrap_within_a_1024_window() {
    // Its rules across rows (date-tracked periods) are long; said on one line they widened
    // the screen, and the field table's rules were then cut at the window's edge.
    let dir = tempfile::tempdir().expect("tmp");
    let mut screen = LayoutsScreen::new(dir.path().join("layouts"));
    screen.selected = Some("local-data-warehouse".into());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_ui_state(|ui, s: &mut LayoutsScreen| s.ui(ui, &[]), screen);
    settle_layouts(&mut h);
    let tracked: Vec<egui::Rect> = h
        .query_all(egui_kittest::kittest::by().label_contains("Date-tracked: one Person ID"))
        .map(|n| n.rect())
        .collect();
    assert!(!tracked.is_empty(), "the rule is shown");
    for r in &tracked {
        assert!(r.max.x <= 1024.0, "the rule fits: {r:?}");
        assert!(
            r.height() > 20.0,
            "and wraps onto more than one line: {r:?}"
        );
    }
    let vpd = h
        .query_all(
            egui_kittest::kittest::by()
                .label_contains("filled by the export with the organisation"),
        )
        .map(|n| n.rect())
        .next()
        .expect("the VPD field's rules");
    assert!(vpd.max.x <= 1024.0, "the field's rules fit: {vpd:?}");
}

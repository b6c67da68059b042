//! The officer's day, in the real window (egui_kittest at 1024×700 over a real store): keys
//! typed with a dialog open never reach the table, an edit starts with the caret at the end,
//! no key typed straight into a selected cell is lost, Escape closes every dialog, a batch
//! opens at its start, nothing moves under the cursor when the rejected rows are listed, and
//! masked cells copied are said to be held back.

use crate::support::root;
use crate::window::{field_index, harness_sized, settle, view};
use egui_kittest::{Harness, kittest::Queryable as _};
use esr_desk::store::Store;
use esr_desk::ui::app::{App, Command, Front, View};
use esr_desk::ui::batch::Selection;
use std::path::{Path, PathBuf};

const DEFECTS: &str = "sample-data/absences/ABS_RX1_20261102_000002.csv";
const CLEAN: &str = "sample-data/absences/ABS_RX1_20261102_000001.csv";

fn open(files: Vec<PathBuf>, dir: &Path) -> Harness<'static, App> {
    let app = App::headless(files, Some(dir.join("store.sqlite")));
    let mut h = harness_sized(app, 1024.0, 700.0);
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    h
}

/// The stored value of field `field` of the record at view row `row` of the open batch.
fn stored(db: &Path, h: &Harness<'static, App>, row: usize, field: usize) -> String {
    let store = Store::open(db).expect("store");
    let v = view(h);
    let seq = match &v.rows {
        esr_desk::ui::batch::Rows::Listed(l) => l[row],
        esr_desk::ui::batch::Rows::Paged(_) => {
            store
                .page(v.info.id, row as u64, 1, &v.query.filter)
                .expect("page")[0]
                .seq
        }
    };
    store.record(v.info.id, seq).expect("record").fields[field].clone()
}

fn select(h: &mut Harness<'static, App>, row: usize, col: usize) {
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(row, col));
    h.run();
}

fn edits(db: &Path, h: &Harness<'static, App>) -> usize {
    let store = Store::open(db).expect("store");
    store.edits(view(h).info.id).expect("log").len()
}

#[test]
fn keys_typed_while_a_dialog_is_open_never_reach_the_cell_behind_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let start = field_index(&h, "Start Date");
    let col = view(&h).col_of(start);
    let before = stored(&db, &h, 3, start);
    select(&mut h, 3, col);
    // Ctrl+O: the system's dialog is off here, so the path box opens; the officer types a
    // path without clicking into it, and presses Enter.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    assert_eq!(h.state().front(), Some(Front::PathBox));
    h.event(egui::Event::Text("/no/such/file.csv".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(view(&h).editing.is_none(), "no cell is being edited");
    assert_eq!(edits(&db, &h), 0, "nothing was edited");
    assert_eq!(stored(&db, &h, 3, start), before);
    let b = h
        .state()
        .path_box
        .as_ref()
        .expect("the path box is still open");
    assert!(
        b.text.ends_with("/no/such/file.csv"),
        "typed into the box: {:?}",
        b.text
    );
    assert!(b.problem.is_some(), "the path was checked");
    // The same with the Export dialog.
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.state().path_box.is_none());
    h.state_mut().queue(Command::View(View::ExportDialog));
    settle(&mut h);
    assert_eq!(h.state().front(), Some(Front::Export));
    h.event(egui::Event::Text("ZZZ".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(edits(&db, &h), 0, "nothing was edited");
    assert_eq!(stored(&db, &h, 3, start), before);
}

#[test]
fn f2_and_enter_put_the_caret_at_the_end_of_the_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(CLEAN)], dir.path());
    let first = field_index(&h, "First Name");
    let col = view(&h).col_of(first);
    // A first edit leaves its caret at the start of the text (Home), then is cancelled.
    select(&mut h, 1, col);
    h.key_press(egui::Key::F2);
    h.run();
    assert!(view(&h).editing.is_some());
    h.key_press(egui::Key::Home);
    h.run();
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(view(&h).editing.is_none(), "Escape cancels the edit");
    // F2 on another cell, then one character: it goes at the end.
    for (row, key) in [(2, egui::Key::F2), (4, egui::Key::Enter)] {
        let before = stored(&db, &h, row, first);
        select(&mut h, row, col);
        h.key_press(key);
        h.run();
        h.event(egui::Event::Text("Z".into()));
        h.run();
        h.key_press(egui::Key::Enter);
        settle(&mut h);
        assert_eq!(stored(&db, &h, row, first), format!("{before}Z"), "{key:?}");
    }
}

#[test]
fn every_key_typed_straight_into_a_selected_cell_is_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(CLEAN)], dir.path());
    let days = field_index(&h, "Days Lost");
    let col = view(&h).col_of(days);
    // Two keys in the same frame as the selection's first key.
    select(&mut h, 1, col);
    h.event(egui::Event::Text("1".into()));
    h.event(egui::Event::Text("2".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(stored(&db, &h, 1, days), "12");
    // Keys split over frames, one a frame, with a frame that only steps between.
    select(&mut h, 3, col);
    for k in ["3", "4", "5", "6"] {
        h.event(egui::Event::Text(k.into()));
        h.step();
    }
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(stored(&db, &h, 3, days), "3456");
    // F2 and a key in one frame: the key goes after the value, once.
    let before = stored(&db, &h, 5, days);
    select(&mut h, 5, col);
    h.key_press(egui::Key::F2);
    h.event(egui::Event::Text("7".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(stored(&db, &h, 5, days), format!("{before}7"));
    // Typing and Enter in one frame: kept, and saved.
    select(&mut h, 6, col);
    h.event(egui::Event::Text("8".into()));
    h.event(egui::Event::Text("9".into()));
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(stored(&db, &h, 6, days), "89");
}

#[test]
fn escape_closes_every_dialog() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    select(&mut h, 2, 2);
    type Opener = Box<dyn Fn(&mut Harness<'static, App>)>;
    let opens: Vec<(Front, Opener)> = vec![
        (
            Front::Export,
            Box::new(|h| h.state_mut().queue(Command::View(View::ExportDialog))),
        ),
        (
            Front::PathBox,
            Box::new(|h| h.state_mut().queue(Command::View(View::OpenDialog))),
        ),
        (
            Front::BatchDialog,
            Box::new(|h| h.get_by_label("Set value…").click()),
        ),
        (
            Front::RecordForm,
            Box::new(|h| h.get_by_label("Record form…").click()),
        ),
        (
            Front::Errors,
            Box::new(|h| h.state_mut().errors.push("A test message.".into())),
        ),
    ];
    for (front, open) in opens {
        open(&mut h);
        settle(&mut h);
        assert_eq!(h.state().front(), Some(front));
        h.key_press(egui::Key::Escape);
        h.run();
        assert_eq!(h.state().front(), None, "Escape closed {front:?}");
    }
    // The interface question for a file that fits none: Escape skips the file.
    let odd = dir.path().join("notes.txt");
    std::fs::write(&odd, "hello\nworld\n").expect("write");
    h.state_mut()
        .queue(Command::Data(esr_desk::ui::app::Data::OpenFiles(vec![odd])));
    settle(&mut h);
    assert_eq!(h.state().front(), Some(Front::InterfaceChoice));
    h.key_press(egui::Key::Escape);
    settle(&mut h);
    assert_eq!(h.state().front(), None);
}

#[test]
fn a_newly_opened_batch_starts_at_its_first_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![root().join(DEFECTS), root().join(CLEAN)], dir.path());
    let second = view(&h).info.id;
    let fresh = view(&h).visible.clone();
    assert_eq!(fresh.0.start, 0);
    // Scroll far down and right in this batch.
    select(&mut h, 0, 0);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    settle(&mut h);
    let (rows, cols) = view(&h).visible.clone();
    assert!(
        rows.start > 0 && cols.start > fresh.1.start,
        "scrolled: {rows:?} {cols:?}"
    );
    // The other batch opens at its start.
    h.state_mut()
        .queue(Command::View(View::OpenBatch(second - 1)));
    settle(&mut h);
    assert_eq!(view(&h).info.id, second - 1);
    let (rows, cols) = view(&h).visible.clone();
    assert_eq!(
        (rows.start, cols.start),
        (0, fresh.1.start),
        "{rows:?} {cols:?}"
    );
    // And the first one opens again where it was left.
    h.state_mut().queue(Command::View(View::OpenBatch(second)));
    settle(&mut h);
    let (rows, _) = view(&h).visible.clone();
    assert!(rows.start > 0, "where it was left: {rows:?}");
}

#[test]
fn ctrl_home_and_ctrl_end_go_to_the_first_and_last_cell() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![root().join(CLEAN)], dir.path());
    select(&mut h, 5, 3);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Home);
    h.run();
    assert_eq!(view(&h).sel.expect("sel").cursor, (0, 0));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.run();
    let n = view(&h).rows.len() as usize;
    let c = view(&h).ncols();
    assert_eq!(view(&h).sel.expect("sel").cursor, (n - 1, c - 1));
}

#[test]
fn nothing_moves_under_the_cursor_when_rejected_rows_are_listed_and_fixed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    // A record that is not rejected is selected; listing the rejected rows selects nothing
    // rather than another record.
    let store = Store::open(&db).expect("store");
    let batch = view(&h).info.id;
    let clean_row = (0..20)
        .find(|r| {
            let v = view(&h);
            let seq = store
                .page(batch, *r as u64, 1, &v.query.filter)
                .expect("page")[0]
                .seq;
            !store.record(batch, seq).expect("rec").rejected
        })
        .expect("a clean record near the top");
    select(&mut h, clean_row, 1);
    h.get_by_label("Rejected rows only").click();
    settle(&mut h);
    assert!(view(&h).sel.is_none(), "no other record is selected");
    assert!(view(&h).note.is_some(), "and the officer is told why");
    // The table's top edge, before and after a fix.
    let top = view(&h).table_rect.min.y;
    let days = field_index(&h, "Days Lost");
    let col = view(&h).col_of(days);
    let seq91 = store.seq_for_line(batch, 91).expect("q").expect("line 91");
    let row = match &view(&h).rows {
        esr_desk::ui::batch::Rows::Listed(l) => l.iter().position(|s| *s == seq91),
        _ => None,
    }
    .expect("line 91 is listed");
    select(&mut h, row, col);
    h.key_press(egui::Key::F2);
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Text("1".into()));
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(view(&h).stale, "the list is kept as it was made");
    assert!(!store.record(batch, seq91).expect("rec").rejected);
    assert_eq!(
        view(&h).table_rect.min.y,
        top,
        "the table did not move when the note appeared"
    );
    h.get_by_label("Refresh the list").click();
    settle(&mut h);
    assert_eq!(view(&h).table_rect.min.y, top, "nor when it went");
}

#[test]
fn copying_masked_cells_says_what_was_held_back_and_logs_what_left() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let sick = field_index(&h, "Sickness Reason");
    let col = view(&h).col_of(sick);
    // Two rows, the masked column and the one before it: 4 cells, 2 of them masked.
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection {
        anchor: (0, col - 1),
        cursor: (1, col),
    });
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::C);
    settle(&mut h);
    let status = h.state().status.clone();
    assert!(
        status.contains("Copied 2 cell(s)")
            && status.contains("2 cell(s) of personal data were held back"),
        "{status}"
    );
    let store = Store::open(&db).expect("store");
    let log = store.access_log(None).expect("log");
    let copy = log.last().expect("entry");
    assert_eq!((copy.action.as_str(), copy.count), ("copy", Some(2)));
    assert_eq!(copy.detail.as_deref(), Some("2 masked cell(s) held back"));
}

#[test]
fn a_masked_cell_note_goes_when_the_cursor_moves() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let sick = field_index(&h, "Sickness Reason");
    let col = view(&h).col_of(sick);
    select(&mut h, 0, col);
    h.key_press(egui::Key::F2);
    h.run();
    assert!(view(&h).note.is_some());
    h.key_press(egui::Key::ArrowDown);
    h.run();
    assert!(view(&h).note.is_none(), "the note went with the cursor");
}

/// The y of the first node whose label starts with `prefix`.
fn top_of(h: &Harness<'static, App>, prefix: &str) -> f32 {
    h.query_all(egui_kittest::kittest::by().label_contains(prefix))
        .map(|n| n.rect().min.y)
        .fold(f32::INFINITY, f32::min)
}

#[test]
fn what_blocks_export_is_listed_first_in_full_and_the_panel_holds_still() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = crate::support::sample("active-directory", true);
    let mut h = open(vec![file], dir.path());
    let v = view(&h);
    // Every problem that blocks the batch comes before every group of record issues.
    let blocking: Vec<bool> = v
        .rule_order
        .iter()
        .map(|(r, s)| r.blocks_batch(*s))
        .collect();
    let n = blocking.iter().filter(|b| **b).count();
    assert!(n >= 2 && blocking.len() > n + 2, "{:?}", v.rule_order);
    assert!(blocking[..n].iter().all(|b| *b), "{:?}", v.rule_order);
    // The trailer's count, and its message in full.
    let first = esr_desk::rules::Rule::TrailerCount;
    assert!(v.rule_order.iter().any(|(r, _)| *r == first));
    let title = first.title().to_string();
    let blocking = top_of(&h, &format!("{title} — "));
    let (other, _) = *v.rule_order.last().expect("a record rule");
    let next = top_of(&h, &format!("{} — ", other.title()));
    assert!(blocking < next, "{blocking} < {next}");
    // Opened at once, its lines in full.
    let store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    let msg = store
        .issues(view(&h).info.id, Some(first), 1)
        .expect("issues")
        .into_iter()
        .next()
        .expect("its issue")
        .1
        .message;
    assert!(
        h.query_all(egui_kittest::kittest::by().label_contains(&msg))
            .next()
            .is_some(),
        "the whole message is shown: {msg}"
    );
    // Accepting it moves nothing below it.
    let reason_box = || {
        egui_kittest::kittest::by()
            .label("Reason for accepting:")
            .role(egui::accesskit::Role::TextInput)
    };
    h.query_all(reason_box())
        .next()
        .expect("a reason box")
        .focus();
    h.run();
    h.query_all(reason_box())
        .next()
        .expect("a reason box")
        .type_text("the trailer is known to be wrong; checked with payroll");
    h.run();
    // The button is at the foot of the panel: reached by the keyboard, as an officer may
    // (the list scrolls to show it), then pressed.
    h.get_all_by_label("Accept with this reason")
        .next()
        .expect("its button")
        .focus();
    h.run();
    let before = top_of(&h, &format!("{} — ", other.title()));
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(
        h.query_all(egui_kittest::kittest::by().label_contains("Accepted by"))
            .next()
            .is_some(),
        "{} {:?} {:?}",
        h.state().status,
        h.state().errors,
        view(&h).file_state.get().map(|f| f.acceptances.clone())
    );
    let after = top_of(&h, &format!("{} — ", other.title()));
    assert_eq!(before, after, "the groups below stayed where they were");
}

/// Runs frames until `done` holds (at most 10 s).
fn until(h: &mut Harness<'static, App>, done: impl Fn(&App) -> bool) {
    let start = std::time::Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the window never showed the change"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    settle(h);
}

#[test]
fn the_screens_show_what_changed_behind_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let first = view(&h).info.clone();
    assert_eq!(h.state().batches.all.len(), 1);
    // Another process imports a file (as a pull, a scheduled run or the command line does).
    let o = crate::support::run(&[
        "import",
        &root().join(CLEAN).display().to_string(),
        "--db",
        &db.display().to_string(),
    ]);
    assert_eq!(
        crate::support::code(&o),
        Some(0),
        "{}",
        crate::support::stderr(&o)
    );
    until(&mut h, |a| a.batches.all.len() == 2);
    assert_eq!(
        h.state().catalogue.held.get("absences").map(|h| h.count),
        Some(2),
        "the Interfaces screen's batches held"
    );
    // And a fix made elsewhere to the open batch shows in it.
    let store = Store::open(&db).expect("store");
    let issues = store
        .issues(first.id, Some(esr_desk::rules::Rule::RangeError), 1)
        .expect("issues");
    let (_, issue) = issues.first().expect("a range error");
    let o = crate::support::run(&[
        "edit",
        &first.id.to_string(),
        "--line",
        &issue.line.to_string(),
        "--field",
        issue.field.as_deref().expect("field"),
        "--value",
        "1",
        "--db",
        &db.display().to_string(),
    ]);
    assert_eq!(
        crate::support::code(&o),
        Some(0),
        "{}",
        crate::support::stderr(&o)
    );
    until(&mut h, |a| {
        a.view
            .as_ref()
            .is_some_and(|v| v.info.rejected == first.rejected - 1)
    });
}

#[test]
fn the_export_dialog_lists_what_stops_the_export_before_its_button() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let file = crate::support::sample("active-directory", true);
    let mut h = open(vec![file], dir.path());
    h.state_mut().queue(Command::View(View::ExportDialog));
    settle(&mut h);
    let store = Store::open(&db).expect("store");
    let problems = store.file_problems(view(&h).info.id).expect("problems");
    assert!(problems.len() >= 2, "{problems:?}");
    // Every problem with the file, by its line, in the dialog; and the rejected records.
    for p in &problems {
        let text = format!("Line {}: {}", p.line, p.message);
        assert!(
            h.query_all(egui_kittest::kittest::by().label_contains(&text))
                .next()
                .is_some(),
            "{text}"
        );
    }
    assert!(
        h.query_all(egui_kittest::kittest::by().label_contains("rejected record(s) remain"))
            .next()
            .is_some()
    );
    // The button waits until they are put right.
    let disabled = |h: &Harness<'static, App>| {
        use egui_kittest::kittest::NodeT as _;
        h.get_by_label("Export").accesskit_node().is_disabled()
    };
    assert!(disabled(&h), "Export is not offered yet");
    // Holding the rejected rows back answers that line, not the file's problems.
    h.state_mut()
        .export
        .as_mut()
        .expect("dialog")
        .valid_rows_only = true;
    h.run();
    assert!(
        h.query_all(egui_kittest::kittest::by().label_contains("rejected record(s) remain"))
            .next()
            .is_none()
    );
    assert!(disabled(&h));
    assert_eq!(
        h.state().front(),
        Some(Front::Export),
        "the dialog stays open"
    );
}

#[test]
fn the_batches_screen_at_1024_shows_every_action_and_where_each_batch_went() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let ad = crate::support::sample("active-directory", false);
    let twin = dir.path().join("AD_RX1_20261103_000003.csv");
    std::fs::copy(&ad, &twin).expect("copy");
    let defects = root().join(DEFECTS);
    for f in [&ad, &defects] {
        let o = crate::support::run(&[
            "import",
            &f.display().to_string(),
            "--db",
            &db.display().to_string(),
        ]);
        assert!(
            crate::support::code(&o).is_some_and(|c| c < 2),
            "{}",
            crate::support::stderr(&o)
        );
    }
    let o = crate::support::run(&[
        "import",
        &twin.display().to_string(),
        "--force",
        "--db",
        &db.display().to_string(),
    ]);
    assert!(
        crate::support::code(&o).is_some_and(|c| c < 2),
        "{}",
        crate::support::stderr(&o)
    );
    // The absences batch's valid rows go out (its blank lines accepted); its rejected ones
    // are held back.
    let o = crate::support::run(&[
        "accept",
        "2",
        "blank-row",
        "--reason",
        "blank lines left by the local system",
        "--db",
        &db.display().to_string(),
    ]);
    assert_eq!(
        crate::support::code(&o),
        Some(0),
        "{}",
        crate::support::stderr(&o)
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("dir");
    let o = crate::support::run(&[
        "export",
        "2",
        "--out",
        &out.display().to_string(),
        "--valid-rows-only",
        "--vpd",
        "RX1",
        "--db",
        &db.display().to_string(),
    ]);
    assert_eq!(
        crate::support::code(&o),
        Some(0),
        "{}",
        crate::support::stderr(&o)
    );
    let mut h = harness_sized(App::headless(vec![], Some(db.clone())), 1024.0, 700.0);
    h.state_mut().queue(Command::View(View::Show(
        esr_desk::ui::app::Screen::Batches,
    )));
    settle(&mut h);
    for label in [
        "Open batch 3",
        "Exports of batch 3",
        "Changes since 1",
        "Open batch 2",
    ] {
        let r = h.get_by_label(label).rect();
        assert!(
            r.max.x <= 1024.0 && r.min.x >= 0.0,
            "{label} in view: {r:?}"
        );
    }
    let store = Store::open(&db).expect("store");
    let words = store.batch(2).expect("batch").status_words();
    assert!(
        words.starts_with("Exported, ") && words.ends_with("held back"),
        "{words}"
    );
    h.get_by_label(&words);
}

#[test]
fn clicking_an_interface_opens_its_description_layout_and_batches() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![], dir.path());
    let title = h
        .state()
        .catalogue
        .catalogue
        .get("absences")
        .expect("absences")
        .title();
    // On its name, as an officer clicks.
    h.get_by_label(&title).click();
    h.run();
    assert_eq!(h.state().catalogue.selected.as_deref(), Some("absences"));
    assert!(
        h.query_by_label("See its layout").is_some(),
        "the detail is shown"
    );
    assert!(h.get_by_label("See its layout").rect().max.y <= 700.0);
}

#[test]
fn at_800_by_600_the_batch_screen_keeps_export_and_its_table_in_view() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::headless(
        vec![root().join(DEFECTS)],
        Some(dir.path().join("store.sqlite")),
    );
    let mut h = harness_sized(app, 800.0, 600.0);
    settle(&mut h);
    let export = h.get_by_label("Export…").rect();
    assert!(export.max.x <= 800.0 && export.min.x >= 0.0, "{export:?}");
    let open = h.get_by_label("Open files…").rect();
    assert!(open.max.x <= 800.0, "{open:?}");
    // The toolbar leaves the table most of the screen, and shows more than three columns.
    let top = view(&h).table_rect.min.y;
    assert!(top < 260.0, "the table starts at {top}");
    let (_, cols) = view(&h).visible.clone();
    assert!(cols.len() >= 3, "{cols:?}");
    // The less used actions are one click away.
    assert!(h.query_by_label("Replace…").is_none());
    h.get_by_label("More actions").click();
    h.run();
    h.get_by_label("Replace…").click();
    h.run();
    assert_eq!(h.state().front(), Some(Front::BatchDialog));
    // Export is reachable.
    h.key_press(egui::Key::Escape);
    h.run();
    h.get_by_label("Export…").click();
    settle(&mut h);
    assert_eq!(h.state().front(), Some(Front::Export));
}

#[test]
fn an_extract_of_forty_record_types_leaves_the_table_the_window_and_pages_through_its_types() {
    // ESR's data-warehouse change file: 40 record types. As tabs they filled 12 rows of a
    // 1024×700 window and left the table a sliver.
    let dir = tempfile::tempdir().expect("tmp");
    let file = root().join("tests/fixtures/esr-public/GO_999_GDW_GOC_20250416_00000102.DAT");
    let mut h = open(vec![file], dir.path());
    let n = view(&h).tabs.len();
    assert!(n > esr_desk::ui::batch::TAB_STRIP_MOST, "{n} record types");
    let top = view(&h).table_rect.min.y;
    assert!(top < 300.0, "the table starts at {top}");
    // One list names every type; the one shown is the first with records after the header.
    let first = view(&h).tab;
    assert!(h.query_by_label("Record type:").is_some());
    assert!(
        h.query_by_label(&view(&h).tabs[1].label()).is_none(),
        "no row of tabs"
    );
    // Next, then Ctrl+Page Down and Ctrl+Page Up, as between Excel's sheets.
    h.get_by_label("Next").click();
    settle(&mut h);
    assert_eq!(view(&h).tab, first + 1);
    // A new type starts at its first cell, with no note about the record left behind.
    assert_eq!(view(&h).sel.map(|s| s.cursor), Some((0, 0)));
    assert_eq!(view(&h).note, None);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::PageDown);
    settle(&mut h);
    assert_eq!(view(&h).tab, first + 2);
    let code = view(&h).tabs[first + 2].code.clone();
    assert_eq!(
        view(&h).query.filter.record_type,
        code,
        "the table lists that type"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::PageUp);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::PageUp);
    settle(&mut h);
    assert_eq!(view(&h).tab, first);
    // Picked from the list.
    h.get_by_label("Record type:").click();
    h.run();
    let sixth = view(&h).tabs[5].label();
    h.get_by_label(&sixth).click();
    settle(&mut h);
    assert_eq!(view(&h).tab, 5);
    // Paged to the last, the trailer, and no further.
    for _ in 0..n {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::PageDown);
        h.step();
    }
    settle(&mut h);
    assert_eq!(view(&h).tab, n - 1);
    use egui_kittest::kittest::NodeT as _;
    assert!(
        h.get_by_label("Next").accesskit_node().is_disabled(),
        "nothing after the last"
    );
    // The Layouts screen opens on the layout the batch was read with.
    h.state_mut().queue(Command::View(View::Show(
        esr_desk::ui::app::Screen::Layouts,
    )));
    settle(&mut h);
    let shown = h
        .state()
        .layouts_screen
        .as_ref()
        .expect("the Layouts screen");
    assert_eq!(shown.selected.as_deref(), Some("local-data-warehouse"));
    assert!(h.query_by_label_contains("Batches read with it").is_some());
}

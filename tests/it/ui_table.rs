//! The table an officer works in, driven through egui_kittest at 1024×700 over a real store:
//! columns off screen come into view, a fix never moves the cursor to another person's record,
//! nothing typed is lost on close, "apply to all" is never offered for an identifier, and the
//! window always answers (dialog fallback, late cancel, drag and drop).

use crate::support::{absences_variant, root};
use crate::window::{field_index, harness_sized, settle, view};
use egui_kittest::{Harness, kittest::Queryable as _};
use esr_desk::store::{PageFilter, Store};
use esr_desk::ui::app::{App, Command, Data, Screen};
use esr_desk::ui::batch::Selection;
use std::path::{Path, PathBuf};

const DEFECTS: &str = "sample-data/absences/ABS_RX1_20261102_000002.csv";
const CLEAN: &str = "sample-data/absences/ABS_RX1_20261102_000001.csv";

fn harness(app: App) -> Harness<'static, App> {
    harness_sized(app, 1024.0, 700.0)
}

fn open(files: Vec<PathBuf>, dir: &Path) -> Harness<'static, App> {
    let app = App::headless(files, Some(dir.join("store.sqlite")));
    let mut h = harness(app);
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    h
}

fn cursor(h: &Harness<'static, App>) -> (usize, usize) {
    view(h).sel.expect("selection").cursor
}

/// Selects cell (row, column), starts editing it (F2) and replaces its text with `text`,
/// as an officer types; the edit is not yet committed.
fn retype(h: &mut Harness<'static, App>, cell: (usize, usize), text: &str) {
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(cell.0, cell.1));
    h.run();
    h.key_press(egui::Key::F2);
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Text(text.into()));
    h.run();
}

/// True when a node labelled `text` lies wholly inside the table's scrolling area.
fn fully_in_view(h: &Harness<'static, App>, text: &str) -> bool {
    let area = view(h).table_rect;
    h.query_all_by_label(text).any(|n| {
        let r = n.rect();
        r.min.x >= area.min.x - 0.5
            && r.max.x <= area.max.x + 0.5
            && r.min.y >= area.min.y
            && r.max.y <= area.max.y + 0.5
    })
}

/// The value of field `field` of the record at view row `row`.
fn value_at(db: &Path, h: &Harness<'static, App>, row: usize, field: usize) -> String {
    let store = Store::open(db).expect("store");
    let v = view(h);
    let seq = seq_at(db, h, row);
    store.record(v.info.id, seq).expect("record").fields[field].clone()
}

fn seq_at(db: &Path, h: &Harness<'static, App>, row: usize) -> u32 {
    let store = Store::open(db).expect("store");
    let v = view(h);
    match &v.rows {
        esr_desk::ui::batch::Rows::Listed(l) => l[row],
        esr_desk::ui::batch::Rows::Paged(_) => {
            store
                .page(v.info.id, row as u64, 1, &v.query.filter)
                .expect("page")[0]
                .seq
        }
    }
}

#[test]
fn moving_into_an_off_screen_column_brings_it_into_view() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let last = view(&h).ncols() - 1;
    let field = view(&h).cols.field(last).expect("field");
    let value = value_at(&db, &h, 0, field);
    assert!(
        !view(&h).visible.1.contains(&last),
        "the last column starts off screen at 1024×700 ({:?})",
        view(&h).visible
    );
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(0, 0));
    h.run();
    for _ in 0..last {
        h.key_press(egui::Key::ArrowRight);
        h.run();
    }
    assert_eq!(cursor(&h), (0, last));
    assert!(view(&h).visible.1.contains(&last), "{:?}", view(&h).visible);
    assert!(fully_in_view(&h, &value), "the cell {value:?} is in view");
    // The key columns stay put: the first record's employee number is still shown, left of
    // the scrolling cells.
    let emp = value_at(&db, &h, 0, view(&h).cols.field(0).expect("key"));
    let edge = view(&h).table_rect.min.x;
    assert!(
        h.query_all_by_label(&emp)
            .any(|n| n.rect().max.x <= edge + 0.5 && n.rect().min.x >= 0.0),
        "the key column {emp:?} stays in view"
    );
    // And back with Home.
    h.key_press(egui::Key::Home);
    h.run();
    assert_eq!(cursor(&h), (0, 0));
}

#[test]
fn a_jump_to_an_issue_in_an_off_screen_column_shows_that_cell() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let days = field_index(&h, "Days Lost");
    let col = view(&h).col_of(days);
    assert!(
        !view(&h).visible.1.contains(&col),
        "Days Lost starts off screen"
    );
    // What the issues panel's entry for line 91 does (clicking it is covered at full size).
    let store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    let batch = view(&h).info.id;
    let seq = store.seq_for_line(batch, 91).expect("q").expect("line 91");
    h.state_mut()
        .view
        .as_mut()
        .expect("view")
        .jump(&store, seq, Some(days));
    h.run();
    h.run();
    let (row, c) = cursor(&h);
    assert_eq!(c, col, "the jump selects the Days Lost cell");
    assert!(view(&h).visible.0.contains(&(row as u64)));
    assert!(fully_in_view(&h, "-1"), "the bad value -1 is in view");
}

#[test]
fn in_a_filtered_view_a_fix_or_a_paste_never_moves_the_cursor_to_another_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    h.get_by_label("Rejected rows only").click();
    settle(&mut h);
    let n = view(&h).rows.len();
    assert!(n > 3);
    let days = field_index(&h, "Days Lost");
    let col = view(&h).col_of(days);
    // The record on line 91 has Days Lost = -1: fix it by typing.
    let store = Store::open(&db).expect("store");
    let batch = view(&h).info.id;
    let seq91 = store.seq_for_line(batch, 91).expect("q").expect("line 91");
    let row = (0..n as usize)
        .find(|r| seq_at(&db, &h, *r) == seq91)
        .expect("listed");
    let below = seq_at(&db, &h, row + 1);
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(row, col));
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(view(&h).editing.is_some(), "Enter edits the cell");
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.event(egui::Event::Text("1".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(
        !store.record(batch, seq91).expect("rec").rejected,
        "fixed: {:?}",
        store.record(batch, seq91).expect("rec").fields
    );
    // The list did not shift: the cursor moved down one row, onto the record that was below.
    assert_eq!(view(&h).rows.len(), n, "the fixed record stays listed");
    assert!(view(&h).stale);
    assert_eq!(cursor(&h), (row + 1, col));
    assert_eq!(seq_at(&db, &h, row + 1), below);
    assert_eq!(seq_at(&db, &h, row), seq91);
    // A paste that fixes the record under the cursor leaves the cursor on that record.
    let target = seq_at(&db, &h, row + 1);
    let issues = store.record_issues(batch, target).expect("issues");
    let bad = issues
        .iter()
        .find_map(|i| i.field_index)
        .expect("a cell issue");
    let bad_col = view(&h).col_of(bad);
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(row + 1, bad_col));
    h.run();
    h.event(egui::Event::Paste("X".into()));
    settle(&mut h);
    assert_eq!(store.record(batch, target).expect("rec").fields[bad], "X");
    assert_eq!(cursor(&h), (row + 1, bad_col));
    assert_eq!(
        seq_at(&db, &h, row + 1),
        target,
        "same record under the cursor"
    );
    assert_eq!(view(&h).rows.len(), n);
    // Refreshing the list drops the fixed record (line 91) and keeps the cursor's record.
    h.get_by_label("Refresh the list").click();
    settle(&mut h);
    assert_eq!(view(&h).rows.len(), n - 1);
    assert!(!view(&h).stale);
    let (r, _) = cursor(&h);
    if store.record(batch, target).expect("rec").rejected {
        assert_eq!(seq_at(&db, &h, r), target, "the cursor followed its record");
    }
}

#[test]
fn closing_the_window_commits_the_cell_being_typed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let first = field_index(&h, "First Name");
    let col = view(&h).col_of(first);
    retype(&mut h, (2, col), "Rosalind");
    assert!(view(&h).editing.is_some(), "still typing");
    // The window is asked to close, as by its close button.
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    settle(&mut h);
    assert!(h.state().confirm_quit.is_none(), "nothing was under way");
    let seq = seq_at(&db, &h, 2);
    drop(h); // the worker finishes its queue as the window goes
    let store = Store::open(&db).expect("store");
    let batch = store.batches(None).expect("batches")[0].id;
    assert_eq!(
        store.record(batch, seq).expect("rec").fields[first],
        "Rosalind"
    );
    assert_eq!(store.edits(batch).expect("log").len(), 1);
}

#[test]
fn quitting_during_an_import_asks_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::headless(vec![], Some(dir.path().join("store.sqlite")));
    let mut h = harness(app);
    h.run();
    h.state_mut().import.queue.push_back(root().join(DEFECTS));
    h.state_mut().import.queue.push_back(root().join(CLEAN));
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.step();
    h.step();
    assert!(h.state().confirm_quit.is_some(), "asked before quitting");
    h.get_by_label_contains("Quit while work is under way");
    h.get_by_label("Keep working").click();
    settle(&mut h);
    assert!(h.state().confirm_quit.is_none());
    let store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    assert_eq!(
        store.batches(None).expect("batches").len(),
        2,
        "work went on"
    );
}

/// A small absences file: two records share a bad Employee Number, two share a bad Absence
/// Type (the rest from the clean sample).
fn twins(dir: &Path) -> PathBuf {
    absences_variant(dir, |rows, col| {
        let (emp, ty) = (col("Employee Number"), col("Absence Type"));
        rows[1][emp] = "1012X001".into();
        rows[3][emp] = "1012X001".into();
        rows[2][ty] = "Sick".into();
        rows[4][ty] = "Sick".into();
    })
}

#[test]
fn apply_to_all_is_offered_for_a_code_and_never_for_an_identifier() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let file = twins(dir.path());
    let mut h = open(vec![file], dir.path());
    let emp = view(&h).cols.col(0).expect("Employee Number shown");
    let ty_field = field_index(&h, "Absence Type");
    let ty = view(&h).col_of(ty_field);
    // Fix one of the two identical bad employee numbers: no offer to copy it to the other.
    retype(&mut h, (0, emp), "10120001");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(view(&h).offer.is_none(), "never for an identifier");
    assert!(h.query_by_label_contains("other record(s) have").is_none());
    // Fix one of the two "Sick" absence types: the other is offered, and fixed with one click.
    retype(&mut h, (1, ty), "Sickness");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    let offer = view(&h).offer.clone().expect("offered for a code");
    assert_eq!((offer.others, offer.was.as_str()), (1, "Sick"));
    h.get_by_label("Apply to the 1 other(s)").click();
    settle(&mut h);
    let store = Store::open(&db).expect("store");
    let batch = view(&h).info.id;
    let recs = store
        .page(batch, 0, 10, &PageFilter::default())
        .expect("page");
    assert!(recs.iter().all(|r| r.fields[ty_field] != "Sick"));
    // The other bad employee number is untouched.
    assert_eq!(recs.iter().filter(|r| r.fields[0] == "1012X001").count(), 1);
}

#[test]
fn when_the_file_dialog_cannot_open_a_path_box_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::headless(vec![], Some(dir.path().join("store.sqlite")));
    let mut h = harness(app);
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    h.run();
    assert!(h.state().path_box.is_some(), "Ctrl+O answered");
    h.get_by_label_contains("Type or paste the path instead");
    h.get_by_label("File path:").click();
    h.get_by_label("File path:")
        .type_text(&root().join(DEFECTS).display().to_string());
    h.run();
    h.get_by_label("Open").click();
    settle(&mut h);
    assert!(h.state().path_box.is_none());
    assert_eq!(h.state().screen, Screen::Batch);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    // The menu's Open… answers the same way.
    h.get_by_label("File").click();
    h.run();
    h.get_by_label_contains("Open…").click();
    h.run();
    assert!(h.state().path_box.is_some());
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.state().path_box.is_none());
}

#[test]
fn a_cancel_that_comes_after_the_commit_says_so_and_offers_to_delete() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::headless(vec![], Some(dir.path().join("store.sqlite")));
    let mut h = harness(app);
    h.run();
    h.state_mut()
        .queue(Command::Data(Data::OpenFiles(vec![root().join(DEFECTS)])));
    h.step();
    assert!(
        h.state().import.running.is_some(),
        "the import is under way"
    );
    // Cancel is pressed when the worker is already storing the file (its flag is not seen):
    // the import finishes.
    h.state_mut()
        .import
        .running
        .as_mut()
        .expect("running")
        .cancelling = true;
    settle(&mut h);
    let (batch, _) = h.state().late_cancel.clone().expect("told it was too late");
    assert!(
        h.state().status.contains("Too late to cancel"),
        "{}",
        h.state().status
    );
    h.get_by_label(&format!("Delete batch {batch}")).click();
    settle(&mut h);
    let store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    assert!(store.batches(None).expect("batches").is_empty());
    assert!(h.state().view.is_none());
}

/// A file dropped on the window, as the windowing system hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn files_dropped_on_the_window_are_imported() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::headless(vec![], Some(dir.path().join("store.sqlite")));
    let mut h = harness(app);
    h.run();
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(root().join(CLEAN))));
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Batch);
    let store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    let b = store.batches(None).expect("batches");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].interface, "absences");
}

#[test]
fn blank_lines_can_be_removed_from_the_issues_panel_and_the_removal_is_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let before = view(&h).info.file_errors;
    assert!(before > 0);
    // The groups are titled in plain English, in the rules' order: the file's problems first.
    let titles: Vec<esr_desk::rules::Rule> = view(&h).by_rule.iter().map(|r| r.0).collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);
    // What blocks the batch is open in the panel from the start.
    let n = view(&h)
        .by_rule
        .iter()
        .find(|r| r.0 == esr_desk::rules::Rule::BlankRow)
        .map(|r| r.2)
        .expect("blank lines");
    h.get_by_label(&format!("Remove the {n} blank line(s)"))
        .click_accesskit();
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(view(&h).info.file_errors < before);
    let store = Store::open(&db).expect("store");
    let log = store.acceptances(view(&h).info.id).expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].rule, esr_desk::rules::Rule::BlankRow);
    assert!(
        log[0]
            .reason
            .contains(&format!("removed {n} blank line(s)")),
        "{}",
        log[0].reason
    );
    // The group now says so.
    h.get_by_label_contains(&format!("Blank line — {n}, accepted"));
}

#[test]
fn personal_data_is_masked_until_revealed_with_a_reason_and_the_reveal_is_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let app = App::headless(vec![root().join(DEFECTS)], Some(db.clone()));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 900.0))
        .build_ui_state(|ui, app: &mut App| app.frame(ui), app);
    settle(&mut h);
    let sick = field_index(&h, "Sickness Reason");
    let value = value_at(&db, &h, 0, sick);
    assert!(!value.is_empty());
    let mask = view(&h).fields()[sick]
        .mask(&value)
        .expect("a sensitive field");
    assert!(h.query_by_label(&value).is_none(), "masked on screen");
    assert!(h.query_all_by_label(&mask).count() > 0, "the mask is shown");
    // Editing a masked cell is refused until it is revealed.
    let col = view(&h).col_of(sick);
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(0, col));
    h.run();
    h.key_press(egui::Key::F2);
    h.run();
    assert!(view(&h).editing.is_none());
    h.get_by_label("Show personal data…").click();
    h.run();
    h.get_by_label("Reason for showing:").click();
    h.get_by_label("Reason for showing:")
        .type_text("checking a sickness absence query from payroll");
    h.run();
    h.get_by_label("Show for this batch").click();
    settle(&mut h);
    assert!(view(&h).revealed);
    assert!(
        h.query_all_by_label(&value).count() > 0,
        "revealed on screen"
    );
    let store = Store::open(&db).expect("store");
    let log = store.access_log(None).expect("log");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["open-batch", "reveal"]);
    assert_eq!(
        log[1].detail.as_deref(),
        Some("checking a sickness absence query from payroll")
    );
    assert_eq!(log[1].batch, Some(view(&h).info.id));
    // Copying cells is logged with a count and no values.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::C);
    settle(&mut h);
    let log = store.access_log(None).expect("log");
    let copy = log.last().expect("entry");
    assert_eq!((copy.action.as_str(), copy.count), ("copy", Some(1)));
    // The Audit screen shows the log: the reveal and its reason.
    h.get_by_label("Audit").click();
    settle(&mut h);
    assert_eq!(h.state().screen, Screen::Audit);
    h.get_by_label("checking a sickness absence query from payroll");
    assert!(h.query_all_by_label("reveal").count() > 0);
}

#[test]
fn the_record_form_saves_its_changes_as_one_undo_step() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let mut h = open(vec![root().join(DEFECTS)], dir.path());
    let first = field_index(&h, "First Name");
    let last = field_index(&h, "Last Name");
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(2, 0));
    h.run();
    h.get_by_label("Record form…").click();
    settle(&mut h);
    let seq = view(&h).form.as_ref().expect("form open").seq;
    {
        let form = h
            .state_mut()
            .view
            .as_mut()
            .expect("view")
            .form
            .as_mut()
            .expect("form");
        form.values[first] = "Rosalind".into();
        form.values[last] = "Franklin".into();
    }
    h.run();
    h.get_by_label("Save 2 change(s)").click();
    settle(&mut h);
    assert!(view(&h).form.is_none(), "closed after saving");
    let store = Store::open(&db).expect("store");
    let batch = view(&h).info.id;
    let rec = store.record(batch, seq).expect("record");
    assert_eq!(
        (rec.fields[first].as_str(), rec.fields[last].as_str()),
        ("Rosalind", "Franklin")
    );
    let log = store.edits(batch).expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].group, log[1].group, "one undo step");
    // One Undo puts both back.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h);
    let rec = store.record(batch, seq).expect("record");
    assert_ne!(rec.fields[first], "Rosalind");
    assert_ne!(rec.fields[last], "Franklin");
}

//! The window, driven through egui_kittest (no GPU, no display): the real app over a real
//! store in a temporary folder, importing real sample files on its worker thread.

use crate::support::root;
use crate::window::{field_index, harness_sized, settle};
use egui_kittest::{Harness, kittest::Queryable as _};
use esr_desk::store::{PageFilter, Store};
use esr_desk::ui::app::{App, Command, Data, Screen, View};
use esr_desk::ui::batch::Selection;
use esr_desk::ui::catalogue::CatalogueScreen;
use std::path::PathBuf;

const ABSENCES_DEFECTS: &str = "sample-data/absences/ABS_RX1_20261102_000002.csv";

fn harness(app: App) -> Harness<'static, App> {
    harness_sized(app, 1400.0, 900.0)
}

/// Opens the absences sample with defects in a fresh store; returns the harness and the store
/// path (with the folder kept alive).
fn open_sample() -> (Harness<'static, App>, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.sqlite");
    let app = App::headless(vec![root().join(ABSENCES_DEFECTS)], Some(db.clone()));
    let mut h = harness(app);
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(h.state().screen, Screen::Batch);
    (h, db, dir)
}

fn rejected(h: &Harness<'static, App>) -> u64 {
    h.state()
        .view
        .as_ref()
        .expect("a batch is open")
        .info
        .rejected
}

#[test]
fn catalogue_screen_searches_and_filters() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, s: &mut CatalogueScreen| s.ui(ui, &mut Vec::new()),
            CatalogueScreen::new(),
        );
    h.run();
    assert_eq!(h.state().rows_shown, 42);
    h.get_by_label("APIs").click();
    h.run();
    assert_eq!(h.state().rows_shown, 5);
    h.get_by_label("All kinds").click();
    h.run();
    h.get_by_label("Search:").click();
    h.run();
    h.get_by_label("Search:").type_text("pension");
    h.run();
    assert_eq!(h.state().rows_shown, 6);
    h.get_by_label("Into ESR").click();
    h.run();
    assert_eq!(
        h.state().rows_shown,
        0,
        "every pension interface is ticked Out in the seed"
    );
}

#[test]
fn opening_a_sample_shows_its_rejected_count() {
    let (h, db, _dir) = open_sample();
    let store = Store::open(&db).expect("store");
    let b = store.batches(None).expect("batches");
    assert_eq!(b.len(), 1, "one batch imported");
    assert_eq!(b[0].interface, "absences");
    assert!(b[0].rejected > 0);
    assert_eq!(rejected(&h), b[0].rejected);
    // The count is on screen, and the issues panel lists rules.
    h.get_by_label(&format!("{} rejected", b[0].rejected));
    h.get_by_label_contains("Out of range —");
    assert!(
        h.state()
            .status
            .starts_with("Imported ABS_RX1_20261102_000002.csv")
    );
}

#[test]
fn editing_a_bad_cell_drops_the_count_and_undo_brings_it_back() {
    let (mut h, db, _dir) = open_sample();
    let before = rejected(&h);
    // Issues panel: open the rule, click the issue on line 91 (Days Lost = -1).
    h.get_by_label_contains("Out of range —").click_accesskit();
    settle(&mut h);
    h.get_by_label_contains("Line 91").click_accesskit();
    h.run();
    let days = field_index(&h, "Days Lost");
    let sel = h
        .state()
        .view
        .as_ref()
        .expect("view")
        .sel
        .expect("selection");
    assert_eq!(sel.cursor.1, days, "the jump selects the Days Lost cell");
    // Enter edits; type a good value; Enter commits.
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(h.state().view.as_ref().expect("view").editing.is_some());
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.event(egui::Event::Text("1".into()));
    h.run();
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(rejected(&h), before - 1, "{:?}", h.state().errors);
    let store = Store::open(&db).expect("store");
    let batch = h.state().view.as_ref().expect("view").info.id;
    let seq = store.seq_for_line(batch, 91).expect("q").expect("record");
    assert_eq!(store.record(batch, seq).expect("rec").fields[days], "1");
    assert!(store.record_issues(batch, seq).expect("issues").is_empty());
    // The edit log has it (who, when, old → new) and the audit view shows it.
    let log = store.edits(batch).expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].old_value.as_deref(), Some("-1"));
    assert_eq!(log[0].new_value.as_deref(), Some("1"));
    h.get_by_label("Changes (audit)").click();
    h.run();
    h.get_by_label("\"-1\" » \"1\"");
    // Ctrl+Z undoes: the count returns.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h);
    assert_eq!(rejected(&h), before);
    assert_eq!(store.record(batch, seq).expect("rec").fields[days], "-1");
    // Ctrl+Y redoes.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Y);
    settle(&mut h);
    assert_eq!(rejected(&h), before - 1);
}

#[test]
fn excluding_a_row_keeps_it_visible_and_out_of_the_rejected_count() {
    let (mut h, db, _dir) = open_sample();
    let before = rejected(&h);
    h.get_by_label_contains("Out of range —").click_accesskit();
    settle(&mut h);
    h.get_by_label_contains("Line 91").click_accesskit();
    h.run();
    h.get_by_label("Exclude rows…").click();
    h.run();
    h.get_by_label("Reason:").click();
    h.get_by_label("Reason:").type_text("left the trust");
    h.run();
    h.get_by_label("Exclude").click();
    settle(&mut h);
    assert_eq!(rejected(&h), before - 1, "{:?}", h.state().errors);
    let store = Store::open(&db).expect("store");
    let batch = h.state().view.as_ref().expect("view").info.id;
    let seq = store.seq_for_line(batch, 91).expect("q").expect("record");
    let rec = store.record(batch, seq).expect("rec");
    assert!(rec.excluded);
    assert_eq!(rec.exclude_reason.as_deref(), Some("left the trust"));
    // Still in the table (struck through, marked –).
    h.get_by_label("– 91");
}

#[test]
fn bulk_replace_in_a_column_is_one_undo_step() {
    let (mut h, db, _dir) = open_sample();
    let col = field_index(&h, "Absence Type");
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(0, col));
    h.run();
    let store = Store::open(&db).expect("store");
    let batch = h.state().view.as_ref().expect("view").info.id;
    let count_with = |s: &Store, text: &str| {
        s.page(batch, 0, 10_000, &PageFilter::default())
            .expect("page")
            .iter()
            .filter(|r| r.fields.get(col).is_some_and(|v| v == text))
            .count()
    };
    let n = count_with(&store, "Maternity");
    assert!(n > 1, "the sample has several Maternity rows");
    h.get_by_label("Replace…").click();
    settle(&mut h);
    h.get_by_label("Find:").click();
    h.get_by_label("Find:").type_text("Maternity");
    h.get_by_label("Replace with:").click();
    h.get_by_label("Replace with:").type_text("Maternity Leave");
    h.get_by_label("Whole value only").click();
    h.run();
    h.get_by_label("Replace all").click();
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(count_with(&store, "Maternity"), 0);
    assert_eq!(count_with(&store, "Maternity Leave"), n);
    let log = store.edits(batch).expect("log");
    assert_eq!(log.len(), n);
    assert!(log.iter().all(|e| e.group == log[0].group), "one group");
    h.get_by_label("Undo").click();
    settle(&mut h);
    assert_eq!(count_with(&store, "Maternity"), n);
}

#[test]
fn arrows_move_and_paste_sets_every_selected_cell() {
    let (mut h, db, _dir) = open_sample();
    let col = field_index(&h, "First Name");
    h.state_mut().view.as_mut().expect("view").sel = Some(Selection::cell(0, col));
    h.run();
    h.key_press(egui::Key::ArrowDown);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowDown);
    h.run();
    let sel = h.state().view.as_ref().expect("view").sel.expect("sel");
    assert_eq!(sel.rows(), (1, 2));
    // Copy gives tab-separated text of the selection.
    let store = Store::open(&db).expect("store");
    let batch = h.state().view.as_ref().expect("view").info.id;
    let rows = store
        .page(batch, 1, 2, &PageFilter::default())
        .expect("page");
    let copied = {
        let app = h.state_mut();
        let s = Store::open(&db).expect("store");
        app.view.as_mut().expect("view").copy_text(&s)
    };
    assert_eq!(
        copied,
        format!("{}\n{}", rows[0].fields[col], rows[1].fields[col])
    );
    // Paste one value over both cells.
    h.event(egui::Event::Paste("Alex".into()));
    settle(&mut h);
    let rows = store
        .page(batch, 1, 2, &PageFilter::default())
        .expect("page");
    assert!(rows.iter().all(|r| r.fields[col] == "Alex"));
    assert_eq!(store.edits(batch).expect("log").len(), 2);
}

#[test]
fn rejected_only_and_search_narrow_the_table() {
    let (mut h, _db, _dir) = open_sample();
    let all = h.state().view.as_ref().expect("view").rows.len();
    h.get_by_label("Rejected rows only").click();
    settle(&mut h);
    let rej = h.state().view.as_ref().expect("view").rows.len();
    assert_eq!(rej, rejected(&h));
    assert!(rej < all);
    h.get_by_label("Rejected rows only").click();
    settle(&mut h);
    h.get_by_label("Search:").click();
    h.get_by_label("Search:").type_text("Maternity");
    h.get_by_label("Find").click();
    settle(&mut h);
    let found = h.state().view.as_ref().expect("view").rows.len();
    assert!(found > 0 && found < all, "found {found} of {all}");
    h.state_mut()
        .queue(Command::View(View::Show(Screen::Batches)));
    settle(&mut h);
    assert_eq!(h.state().batches.rows_shown, 1);
    h.get_by_label("Open batch 1");
}

#[test]
fn a_multi_record_type_file_has_one_tab_per_record_type() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = std::fs::read_dir(root().join("sample-data/dit-person-update"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("0000002.DAT"))
        .expect("sample");
    let app = App::headless(vec![file], Some(dir.path().join("s.sqlite")));
    let mut h = harness(app);
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    let tabs = h.state().view.as_ref().expect("view").tabs.clone();
    assert!(tabs.len() > 1, "tabs: {tabs:?}");
    let other = tabs
        .iter()
        .enumerate()
        .find(|(i, t)| *i != h.state().view.as_ref().expect("view").tab && t.count > 0)
        .map(|(i, t)| (i, t.clone()))
        .expect("another tab with records");
    h.get_by_label(&format!("{} · {}", other.1.title, other.1.count))
        .click();
    settle(&mut h);
    let v = h.state().view.as_ref().expect("view");
    assert_eq!(v.tab, other.0);
    assert_eq!(v.rows.len(), other.1.count);
    assert_eq!(v.query.filter.record_type, other.1.code);
}

#[test]
fn an_unrecognised_file_asks_which_interface_with_the_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("mystery.txt");
    std::fs::write(&file, "colour,size\nred,4\nblue,9\n").expect("write");
    let app = App::headless(vec![file], Some(dir.path().join("s.sqlite")));
    let mut h = harness(app);
    settle(&mut h);
    // It fits no interface: the officer is told so, and can only import it "anyway".
    h.get_by_label_contains("does not look like any ESR interface");
    assert!(
        h.state()
            .import
            .choice
            .as_ref()
            .is_some_and(|c| c.fits_none)
    );
    h.get_by_label("Skip this file").click();
    settle(&mut h);
    assert!(h.state().import.choice.is_none());
    assert_eq!(h.state().screen, Screen::Home);
    let store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    assert!(store.batches(None).expect("batches").is_empty());
    // Again, and this time "Import anyway as Absences": the choice is kept with the batch.
    h.state_mut().queue(Command::Data(Data::OpenFiles(vec![
        dir.path().join("mystery.txt"),
    ])));
    settle(&mut h);
    h.state_mut().import.choice.as_mut().expect("asked").picked = Some("absences".into());
    h.run();
    h.get_by_label("Import anyway as Absences").click();
    settle(&mut h);
    let b = store.batches(None).expect("batches");
    assert_eq!(b.len(), 1);
    let why = b[0].interface_choice.clone().expect("choice kept");
    assert!(
        why.contains("imported as absences") && why.contains("not recognised"),
        "{why}"
    );
}

#[test]
fn empty_and_binary_files_get_their_reason_without_a_question() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("ABS_RX1_20261102_000001.csv");
    std::fs::write(&empty, "").expect("write");
    let pdf = dir.path().join("ABS_RX1_20261102_000002.csv");
    std::fs::write(&pdf, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj").expect("write");
    let app = App::headless(vec![empty, pdf], Some(dir.path().join("s.sqlite")));
    let mut h = harness(app);
    settle(&mut h);
    assert!(h.state().import.choice.is_none(), "no interface question");
    let errors = h.state().errors.join("\n");
    assert!(errors.contains("empty"), "{errors}");
    assert!(errors.contains("PDF"), "{errors}");
    let store = Store::open(&dir.path().join("s.sqlite")).expect("store");
    assert!(store.batches(None).expect("batches").is_empty());
}

#[test]
fn records_of_an_unknown_type_have_their_own_tab_and_issues_jump_there() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = root().join("sample-data/dit-person-update/DE_RX1_RMF_20261102_0000002.DAT");
    let app = App::headless(vec![file], Some(dir.path().join("s.sqlite")));
    let mut h = harness(app);
    settle(&mut h);
    let tabs = h.state().view.as_ref().expect("view").tabs.clone();
    let unknown = tabs
        .iter()
        .position(|t| t.unknown)
        .expect("an unknown-type tab");
    assert_eq!(tabs[unknown].count, 2);
    h.get_by_label_contains("Unknown record type —")
        .click_accesskit();
    settle(&mut h);
    h.get_all_by_label_contains("is not one this interface uses")
        .next()
        .expect("an issue listed")
        .click_accesskit();
    settle(&mut h);
    let v = h.state().view.as_ref().expect("view");
    assert_eq!(v.tab, unknown);
    assert_eq!(v.rows.len(), 2);
    assert!(v.sel.is_some());
    h.get_by_label("Field 1");
}

#[test]
fn cancel_stops_an_import_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let set = esr_desk::layout::LayoutSet::bundled().expect("layouts");
    let layout = set.get("absences").expect("layout");
    let name = "ABS_RX1_20261102_000007.csv";
    let path = dir.path().join(name);
    let when = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .and_then(|d| d.and_hms_opt(6, 30, 0))
        .expect("date");
    let opts = esr_desk::generate::GenOptions {
        rows: 100_000,
        defect_rate: 0.01,
        seed: 5,
        vpd: "RX1".into(),
        seq: 7,
        when,
        file_name: name.into(),
    };
    esr_desk::generate::generate(layout, &opts, std::fs::File::create(&path).expect("file"))
        .expect("generate");
    let db = dir.path().join("s.sqlite");
    let mut h = harness(App::headless(vec![path], Some(db.clone())));
    h.step();
    h.step();
    assert!(
        h.state().import.running.is_some(),
        "the import is under way"
    );
    h.get_by_label("Cancel").click();
    settle(&mut h);
    assert!(h.state().import.running.is_none());
    assert!(
        h.state().status.contains("cancelled: nothing was stored"),
        "{}",
        h.state().status
    );
    assert_eq!(h.state().screen, Screen::Home);
    let store = Store::open(&db).expect("store");
    assert!(store.batches(None).expect("batches").is_empty());
}

#[test]
fn export_writes_the_corrected_file_to_the_chosen_folder() {
    let (mut h, db, dir) = open_sample();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    h.get_by_label("Export…").click();
    settle(&mut h);
    // The first export does not default to the folder the file came from; the VPD code
    // comes from the file's own name until one is remembered.
    {
        let form = h.state().export.as_ref().expect("dialog");
        let sample_dir = root().join(ABSENCES_DEFECTS);
        let sample_dir = sample_dir.parent().expect("dir");
        assert_ne!(form.folder, sample_dir.display().to_string());
        assert_eq!(form.vpd, "RX1");
    }
    h.state_mut()
        .export
        .as_mut()
        .expect("dialog")
        .folder
        .clear();
    h.run();
    h.get_by_label("Folder:").click();
    h.get_by_label("Folder:")
        .type_text(&out.display().to_string());
    h.get_by_label("Write the valid rows and hold rejected rows back")
        .click();
    h.get_by_label("Also write a rejects report (CSV, for Excel)")
        .click();
    h.run();
    // The file's blank lines are a file-level problem: even the valid rows wait for it, and
    // the dialog says so, line by line, before its button.
    {
        let form = h.state().export.as_ref().expect("dialog");
        let blank: Vec<&String> = form
            .problems
            .iter()
            .filter(|p| p.contains("blank line"))
            .collect();
        assert_eq!(blank.len(), 3, "{:?}", form.problems);
        assert!(blank.iter().all(|p| p.starts_with("Line ")), "{blank:?}");
    }
    // The officer removes the blank lines in the issues panel (logged), the dialog still open.
    h.get_by_label("Remove the 3 blank line(s)")
        .click_accesskit();
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert_eq!(
        h.state().view.as_ref().expect("view").info.file_errors,
        0,
        "accepted"
    );
    // The dialog reads the batch again: nothing stops the valid rows now.
    assert!(
        h.state()
            .export
            .as_ref()
            .expect("dialog")
            .problems
            .is_empty(),
        "{:?}",
        h.state().export.as_ref().map(|f| f.problems.clone())
    );
    h.get_by_label("Export").click();
    settle(&mut h);
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(
        h.state().status.starts_with("Exported batch 1"),
        "{}",
        h.state().status
    );
    let files: Vec<String> = std::fs::read_dir(&out)
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f.starts_with("ABS_")), "{files:?}");
    assert!(files.iter().any(|f| f.contains("rejects")), "{files:?}");
    let store = Store::open(&db).expect("store");
    assert_eq!(
        store.setting("vpd").expect("setting").as_deref(),
        Some("RX1")
    );
    // The dialog remembers the choices made last time.
    h.get_by_label("Export…").click();
    settle(&mut h);
    let form = h.state().export.as_ref().expect("dialog");
    assert!(form.valid_rows_only && form.rejects_report);
    assert_eq!(form.folder, out.display().to_string());
}

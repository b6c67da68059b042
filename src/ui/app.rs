//! The application shell: menu bar, status bar, the current screen, dialogs, and the one place
//! where every user action ([`Command`]) is applied.
//!
//! Per-frame work is split as eframe intends: [`App::logic`] drains the worker's replies
//! (bounded to a few milliseconds) and applies queued commands; the `*_ui` functions only draw
//! and queue commands. Persisted settings live in [`State`]; the store, the worker and the
//! open batch live beside it, never in it.

use super::batch::BatchView;
use super::batches::BatchesScreen;
use super::catalogue::CatalogueScreen;
use super::import::{Choice, ImportUi, Progress};
use super::layouts::LayoutsScreen;
use super::schedules::SchedulesScreen;
use crate::layout::LayoutSet;
use crate::store::edit::Change;
use crate::store::search::ReplaceMode;
use crate::store::{Store, StoreError};
use crate::worker::{Job, Reply, Worker};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// Settings kept between runs (window size and panel widths are kept by eframe itself).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct State {
    /// Dark theme.
    pub dark: bool,
    /// Folder the Open dialog starts in.
    pub last_folder: Option<PathBuf>,
    /// Files opened lately, newest first.
    pub recent: Vec<PathBuf>,
    /// The issues panel is shown beside the table.
    pub show_issues: bool,
    /// The chart of issues by rule is shown.
    pub show_chart: bool,
    /// Folder of the last export.
    pub export_folder: Option<PathBuf>,
    /// The stored batch each referenced interface is checked against, chosen by the officer
    /// (interface id → batch id). An interface not here is reported as unchecked.
    #[serde(default)]
    pub references: std::collections::BTreeMap<String, i64>,
    /// The Export dialog's "write the valid rows and hold rejected rows back", as last chosen.
    pub export_valid_rows_only: bool,
    /// The Export dialog's "also write a rejects report", as last chosen.
    pub export_rejects_report: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            dark: false,
            last_folder: None,
            recent: Vec::new(),
            show_issues: true,
            show_chart: true,
            export_folder: None,
            references: Default::default(),
            export_valid_rows_only: false,
            export_rejects_report: false,
        }
    }
}

const RECENT_MAX: usize = 10;

/// How often the window asks the store whether something changed behind it.
const STORE_WATCH: Duration = Duration::from_millis(800);

impl State {
    /// Folders to offer in the path box: the export folder and the folders of recent files.
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        let recent = self
            .recent
            .iter()
            .filter_map(|p| p.parent().map(PathBuf::from));
        for f in self
            .export_folder
            .iter()
            .cloned()
            .chain(self.last_folder.iter().cloned())
            .chain(recent)
        {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out.truncate(6);
        out
    }

    /// Records a file as opened: first in the recent list, its folder the last folder.
    pub fn remember(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(RECENT_MAX);
        if let Some(d) = path.parent() {
            self.last_folder = Some(d.to_path_buf());
        }
    }
}

/// Which screen fills the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The catalogue of interfaces.
    Home,
    /// The history of imports.
    Batches,
    /// One batch's table.
    Batch,
    /// Layouts: view, edit, reload.
    Layouts,
    /// Scheduled runs.
    Schedules,
    /// The access log and purged batches.
    Audit,
    /// The dashboard, the organisations and their hub connections.
    Hub,
}

/// A window in front of the screen. While one is open the keyboard is its own: nothing typed
/// reaches the table behind it, and Escape closes it. [`App::front`] is the one place that
/// knows every such window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// "Something went wrong".
    Errors,
    /// Quit while work is under way?
    QuitQuestion,
    /// A cancel that came too late.
    LateCancel,
    /// The in-app path box (Open, Choose folder, Save report).
    PathBox,
    /// The Export dialog.
    Export,
    /// Which interface is this file?
    InterfaceChoice,
    /// The file was imported before.
    Duplicate,
    /// A workbook's columns mapped to a layout.
    Mapping,
    /// A bulk-fix dialog of the batch (Replace, Set value, Exclude, Show personal data).
    BatchDialog,
    /// The record form.
    RecordForm,
    /// A report window (joiners, movers and leavers; export history; a report's message).
    Report,
    /// The note that another window has the store open.
    SecondWindow,
}

/// The Export dialog's choices.
#[derive(Debug, Clone, Default)]
pub struct ExportForm {
    /// Folder to write into.
    pub folder: String,
    /// Replace a file of the same name.
    pub overwrite: bool,
    /// Write the valid rows and hold rejected ones back.
    pub valid_rows_only: bool,
    /// Also write the rejects report (CSV, for Excel) beside the file.
    pub rejects_report: bool,
    /// The rejects report holds whole records (the minimum otherwise); logged as such.
    pub rejects_full: bool,
    /// The trust's VPD code (three capitals or digits), remembered in the store.
    pub vpd: String,
    /// What is wrong with the choices, all at once (shown in the dialog).
    pub problems: Vec<String>,
    /// The keyboard has been given to the first field.
    pub focused: bool,
    /// What stands between the batch and an export, read on the worker when the dialog
    /// opens (None until it arrives).
    pub ready: Option<Result<crate::export::Readiness, String>>,
    /// The folder typed, and whether it is a folder (checked when the text changes).
    folder_checked: Option<(String, bool)>,
}

impl ExportForm {
    /// Every problem with the choices and the batch, in plain words, at once: the dialog
    /// shows them above its button, and the button waits until there are none.
    pub fn all_problems(&mut self) -> Vec<String> {
        let folder = self.folder.trim().to_string();
        let is_dir = match &self.folder_checked {
            Some((f, ok)) if *f == folder => *ok,
            _ => {
                let ok = !folder.is_empty() && std::path::Path::new(&folder).is_dir();
                self.folder_checked = Some((folder.clone(), ok));
                ok
            }
        };
        let mut out = Vec::new();
        if !is_dir {
            out.push(format!(
                "Choose a folder that exists to export into (\"{folder}\" is not one)."
            ));
        }
        let vpd = self.vpd.trim();
        if crate::store::check_vpd(vpd).is_err() {
            out.push(format!(
                "Type the trust's VPD code: exactly 3 capital letters or digits (\"{vpd}\" is not one)."
            ));
        }
        match &self.ready {
            Some(Ok(r)) => out.extend(r.problems(self.valid_rows_only)),
            Some(Err(e)) => out.push(format!("What the batch holds could not be read: {e}")),
            None => {}
        }
        out
    }
}

/// What the officer does to what is shown: screens, dialogs, the theme, the clipboard. Nothing
/// in the store changes.
#[derive(Debug, Clone)]
pub enum View {
    /// Show the native Open dialog.
    OpenDialog,
    /// A path came back from the file dialog or the in-app path box (empty: cancelled).
    PathChosen(super::files::Purpose, Vec<PathBuf>),
    /// Save the joiners, movers and leavers report: ask where.
    SaveReport,
    /// Keep the batch whose import was cancelled too late.
    KeepBatch,
    /// Quit although work is under way (it is stopped cleanly).
    QuitAnyway,
    /// Do not quit after all.
    StayOpen,
    /// Copy the selected cells (Edit ▸ Copy).
    Copy,
    /// Paste into the selected cells (Edit ▸ Paste).
    Paste,
    /// Go to the search box (Edit ▸ Find).
    Find,
    /// Show a screen.
    Show(Screen),
    /// Show the batches of one interface (None: all).
    ShowBatchesOf(Option<String>),
    /// Open a stored batch.
    OpenBatch(i64),
    /// Show the Export dialog for the open batch.
    ExportDialog,
    /// Choose the export folder with the native dialog.
    ChooseExportFolder,
    /// Light or dark theme.
    SetDark(bool),
    /// Close an error message.
    DismissError(usize),
    /// Close the window.
    Quit,
}

/// What changes data: imports, edits, undo, exports, and the jobs that read the store for them.
/// Each goes to the worker (or a thread of its own); none is done on the window's thread.
#[derive(Debug, Clone)]
pub enum Data {
    /// Import these files, one after another.
    OpenFiles(Vec<PathBuf>),
    /// Import a file with an interface the user picked (or confirmed).
    ImportAs {
        /// The file.
        path: PathBuf,
        /// Interface / layout id.
        interface: String,
        /// Import even if imported before.
        force: bool,
        /// The file was not recognised and the officer named the interface anyway: what the
        /// program had said (kept with the batch).
        chosen: Option<String>,
        /// A workbook or foreign CSV: the sheet and mapping confirmed.
        table: Option<Box<crate::mapping::TableImport>>,
    },
    /// Read a workbook or foreign CSV for the mapping screen (again, for another interface
    /// or sheet).
    ReadTable {
        /// The file.
        path: PathBuf,
        /// The interface chosen (None: found from the columns).
        interface: Option<String>,
        /// The sheet chosen.
        sheet: Option<String>,
    },
    /// Work out the repairs of the open batch.
    LoadRepairs,
    /// Make a batch of the rows ESR rejected in the open batch, and open it.
    Resend,
    /// Deliver the open batch to an organisation's hub (its VPD), on a thread of its own.
    Push(String),
    /// Delete a batch whose import was cancelled too late.
    DeleteBatch(i64),
    /// Work out the suggested fixes of a rule's cells in the open batch.
    SuggestFixes(crate::rules::Rule),
    /// Read what the issues panel shows about the open batch as a whole.
    LoadFileState,
    /// Record an access to the open batch (cells copied, a report saved).
    LogAccess {
        /// What was done.
        action: crate::store::AccessAction,
        /// How many.
        count: Option<u64>,
        /// In words (never a field's value).
        detail: String,
    },
    /// Show the open batch's masked personal data, for a reason (logged first).
    Reveal {
        /// Why.
        reason: String,
    },
    /// Read one rule's issues for the issues panel.
    LoadRuleIssues(crate::rules::Rule),
    /// Skip the file waiting for a choice.
    SkipFile,
    /// Stop the running import (nothing is stored).
    CancelImport,
    /// Apply changes to the open batch as one undo step.
    Edit {
        /// The changes.
        changes: Vec<Change>,
        /// What the user did.
        label: String,
    },
    /// Find-and-replace in one column (or every column) of the open batch, or only count
    /// what it would change.
    Replace {
        /// Record type shown.
        record_type: Option<String>,
        /// Field position (None: every editable column).
        field: Option<usize>,
        /// Text to find.
        find: String,
        /// Replacement.
        replace: String,
        /// Match mode.
        mode: ReplaceMode,
        /// Only count the changes.
        preview: bool,
    },
    /// Set one value on every cell with the same issue in a column.
    FixSameIssue {
        /// Rule.
        rule: crate::rules::Rule,
        /// Field position.
        field: usize,
        /// Record type.
        record_type: Option<String>,
        /// The wrong value the other cells must still hold.
        was: String,
        /// Value.
        value: String,
    },
    /// Accept a file-level problem of the open batch, with a reason.
    Accept {
        /// The rule.
        rule: crate::rules::Rule,
        /// Why.
        reason: String,
    },
    /// Check the open batch's references again against the chosen batch of `interface`
    /// (None: leave them unchecked); the choice is remembered for later imports.
    Recheck {
        /// The referenced interface.
        interface: String,
        /// The batch chosen.
        against: Option<i64>,
    },
    /// Export the open batch with the dialog's choices.
    Export(ExportForm),
    /// Undo the last change to the open batch.
    Undo,
    /// Redo.
    Redo,
    /// Joiners, movers and leavers of a batch against an earlier one of the same interface.
    CompareBatches {
        /// The earlier batch.
        old: i64,
        /// The later batch.
        new: i64,
    },
    /// Show the export history of a batch's interface.
    ExportHistory(i64),
}

/// Every user action, applied in [`App::apply`]: a view command or a data command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Changes what is shown.
    View(View),
    /// Changes data (through the worker).
    Data(Data),
}

impl From<View> for Command {
    fn from(v: View) -> Self {
        Command::View(v)
    }
}

impl From<Data> for Command {
    fn from(d: Data) -> Self {
        Command::Data(d)
    }
}

/// The running application.
pub struct App {
    /// Persisted settings.
    pub state: State,
    /// The screen shown.
    pub screen: Screen,
    /// Home screen.
    pub catalogue: CatalogueScreen,
    /// Batches screen.
    pub batches: BatchesScreen,
    /// The open batch.
    pub view: Option<BatchView>,
    /// Import queue, progress and dialogs.
    pub import: ImportUi,
    /// The Export dialog, when open.
    pub export: Option<ExportForm>,
    /// An export under way.
    pub exporting: bool,
    /// Layouts screen (made when first shown).
    pub layouts_screen: Option<LayoutsScreen>,
    /// Schedules screen (made when first shown).
    pub schedules: Option<SchedulesScreen>,
    /// Audit screen (made when first shown).
    pub access: Option<super::access::AccessScreen>,
    /// The Hub screen, once opened.
    pub hub: Option<super::hub::HubScreen>,
    /// Deliveries to the hub under way: (batch, what happened).
    pub pushes: super::task::Tasks<(i64, Result<String, String>)>,
    /// Report windows (joiners/movers/leavers, export history).
    pub reports: super::reports::ReportsUi,
    /// The in-app scheduler (runs due schedules while the window is open).
    scheduler: Option<crate::schedule::Background>,
    scheduled: Option<std::sync::mpsc::Receiver<Result<Vec<crate::schedule::RunReport>, String>>>,
    /// Messages for the status bar: the answer to the officer's last action.
    pub status: String,
    /// The latest scheduled runs, shown apart so they never hide the answer to an action.
    pub scheduled_status: String,
    /// Use the system's file dialog (off in tests and where it cannot open).
    pub native_dialogs: bool,
    /// The in-app path box, when the system's dialog could not open.
    pub path_box: Option<super::files::PathBox>,
    /// A batch stored although its import was cancelled (the cancel came after the commit
    /// point): the officer is asked whether to delete it.
    pub late_cancel: Option<(i64, String)>,
    /// Work under way when the window was asked to close: the officer is asked first.
    pub confirm_quit: Option<String>,
    /// The officer chose to quit although work was under way.
    pub quit_confirmed: bool,
    /// Another window had the same store open when this one started.
    pub second_window: Option<String>,
    /// Held while the window is open: tells a second window that this one is using the store.
    _instance: Option<std::fs::File>,
    /// Errors waiting to be read and closed.
    pub errors: Vec<String>,
    /// Store path.
    pub db_path: PathBuf,
    store: Option<Store>,
    worker: Option<Worker>,
    /// Reads the table's pages off the window's thread.
    reader: Option<crate::pages::Reader>,
    layouts: LayoutSet,
    commands: VecDeque<Command>,
    /// The store's data version when the screens last read it, and when it was last asked.
    seen: (i64, std::time::Instant),
    /// Frames drawn (for tests and the benchmark).
    pub frames: u64,
    /// Answers to edits received from the worker (for tests and the benchmark).
    pub edits_answered: u64,
}

impl App {
    /// Builds the app; `cc` gives access to persisted state.
    pub fn new(cc: &eframe::CreationContext<'_>, files: Vec<PathBuf>, db: Option<PathBuf>) -> Self {
        let state: State = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = Self::headless(files, db);
        app.state = state;
        app.native_dialogs = true;
        app.claim_store();
        // `ESR_DESK_DARK=1` starts in the dark theme (scripts/screenshot.sh uses it).
        if std::env::var("ESR_DESK_DARK").is_ok_and(|v| v == "1") {
            app.state.dark = true;
        }
        // The in-app engine of scheduled runs: checks every minute while the window is open.
        let (tx, rx) = std::sync::mpsc::channel();
        let ctx = cc.egui_ctx.clone();
        app.scheduler = Some(crate::schedule::spawn_background(
            app.db_path.clone(),
            Duration::from_secs(60),
            move |reports| {
                let _ = tx.send(reports);
                ctx.request_repaint();
            },
        ));
        app.scheduled = Some(rx);
        cc.egui_ctx.set_theme(if app.state.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        app
    }

    /// Builds the app without an eframe context (tests, benchmarks). Files are imported on the
    /// first frames.
    pub fn headless(files: Vec<PathBuf>, db: Option<PathBuf>) -> Self {
        let catalogue = CatalogueScreen::new();
        let status = catalogue.layout_status();
        let db_path = crate::paths::store_path(db.as_deref());
        let layouts = catalogue.layouts.clone();
        let mut errors = Vec::new();
        let mut opened_notes = Vec::new();
        let store = match Store::open(&db_path) {
            Ok(s) => {
                opened_notes = s.notes.clone();
                Some(s)
            }
            Err(e) => {
                errors.push(format!(
                    "The store could not be opened, so nothing can be imported or saved. {e}"
                ));
                None
            }
        };
        let mut app = Self {
            state: State::default(),
            screen: Screen::Home,
            catalogue,
            batches: BatchesScreen::default(),
            view: None,
            import: ImportUi::default(),
            export: None,
            exporting: false,
            layouts_screen: None,
            schedules: None,
            access: None,
            hub: None,
            pushes: super::task::Tasks::default(),
            reports: Default::default(),
            scheduler: None,
            scheduled: None,
            status,
            scheduled_status: String::new(),
            native_dialogs: false,
            path_box: None,
            late_cancel: None,
            confirm_quit: None,
            quit_confirmed: false,
            second_window: None,
            _instance: None,
            errors,
            db_path,
            store,
            worker: None,
            reader: None,
            layouts,
            commands: VecDeque::new(),
            seen: (0, std::time::Instant::now()),
            frames: 0,
            edits_answered: 0,
        };
        if !opened_notes.is_empty() {
            app.status = opened_notes.join(" ");
        }
        app.refresh_lists();
        if let Some(v) = app.store.as_ref().and_then(|s| s.data_version().ok()) {
            app.seen.0 = v;
        }
        if !files.is_empty() {
            app.commands
                .push_back(Command::Data(Data::OpenFiles(files)));
        }
        app
    }

    /// Marks the store as used by this window; notes when another window already uses it.
    pub fn claim_store(&mut self) {
        let lock = self.db_path.with_extension("window-lock");
        match crate::paths::private_file(&lock) {
            Ok(f) => match f.try_lock() {
                Ok(()) => {
                    crate::paths::hold_note(&f, "the ESR Interface Desk window");
                    self._instance = Some(f)
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    self.second_window = Some(format!(
                        "Another ESR Interface Desk window is already open on this store ({}). Both keep every change, but each shows the other's changes only after you reopen a batch. Close one of them to be sure of what you see.",
                        self.db_path.display()
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    tracing::warn!(error = %e, "the window lock could not be taken");
                }
            },
            Err(e) => tracing::warn!(error = %e, "the window lock file could not be opened"),
        }
    }

    /// What is under way that closing the window would stop, in words (None: nothing).
    pub fn under_way(&self) -> Option<String> {
        let mut what = Vec::new();
        if let Some(p) = &self.import.running {
            let name = p
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            what.push(format!("the import of {name}"));
        }
        if !self.import.queue.is_empty() {
            what.push(format!(
                "{} file(s) waiting to be imported",
                self.import.queue.len()
            ));
        }
        if self.exporting {
            what.push("an export".to_string());
        }
        if self.scheduler.as_ref().is_some_and(|s| s.running()) {
            what.push("a scheduled run".to_string());
        }
        (!what.is_empty()).then(|| what.join(", "))
    }

    /// The window is being closed: a cell being typed into is committed, and when work is
    /// under way the officer is asked first (the close is held back until they answer).
    fn close_requested(&mut self, ctx: &egui::Context) {
        if let (Some(v), Some(store)) = (self.view.as_mut(), self.store.as_ref())
            && v.editing.is_some()
        {
            let mut cmds = Vec::new();
            v.commit_edit(store, &mut cmds);
            for c in cmds {
                self.apply(ctx, c);
            }
        }
        if self.quit_confirmed {
            self.stop_background();
            return;
        }
        if let Some(what) = self.under_way() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = Some(what);
        } else {
            self.stop_background();
        }
    }

    /// Stops the scheduler and any import without waiting for them: a scheduled run stops
    /// between steps (its file stays in the inbox for the next run), an import stores nothing.
    fn stop_background(&mut self) {
        if let Some(s) = self.scheduler.as_mut() {
            s.stop();
        }
        if let Some(w) = &self.worker {
            w.cancel_import();
        }
    }

    /// The window in front, if any (the first that is open, in the order they are drawn on
    /// top of each other).
    pub fn front(&self) -> Option<Front> {
        let v = self.view.as_ref();
        [
            (!self.errors.is_empty(), Front::Errors),
            (self.confirm_quit.is_some(), Front::QuitQuestion),
            (self.late_cancel.is_some(), Front::LateCancel),
            (self.path_box.is_some(), Front::PathBox),
            (self.export.is_some(), Front::Export),
            (self.import.choice.is_some(), Front::InterfaceChoice),
            (self.import.duplicate.is_some(), Front::Duplicate),
            (self.import.mapping.is_some(), Front::Mapping),
            (v.is_some_and(|v| v.dialog.is_some()), Front::BatchDialog),
            (v.is_some_and(|v| v.form.is_some()), Front::RecordForm),
            (self.reports.open(), Front::Report),
            (self.second_window.is_some(), Front::SecondWindow),
        ]
        .into_iter()
        .find_map(|(open, f)| open.then_some(f))
    }

    /// Closes a window in front as its Close, Cancel or Skip would (Escape): nothing is
    /// changed, deleted or imported by closing.
    pub fn close_front(&mut self, f: Front) {
        match f {
            Front::Errors => self.errors.clear(),
            Front::QuitQuestion => self.confirm_quit = None,
            Front::LateCancel => self.late_cancel = None,
            Front::PathBox => self.path_box = None,
            Front::Export => self.export = None,
            Front::InterfaceChoice | Front::Duplicate | Front::Mapping => {
                self.import.choice = None;
                self.import.duplicate = None;
                self.import.mapping = None;
            }
            Front::BatchDialog => {
                if let Some(v) = self.view.as_mut() {
                    v.dialog = None;
                }
            }
            Front::RecordForm => {
                if let Some(v) = self.view.as_mut() {
                    v.form = None;
                }
            }
            Front::Report => self.reports.close_top(),
            Front::SecondWindow => self.second_window = None,
        }
    }

    /// Queues a command (applied at the start of the next frame's logic).
    pub fn queue(&mut self, c: Command) {
        self.commands.push_back(c);
    }

    /// True while the worker has jobs or an import is queued: tests wait for this to clear.
    pub fn busy(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.pending() > 0)
            || !self.commands.is_empty()
            || self.exporting
            || !self.import.queue.is_empty()
            || self.view.as_ref().is_some_and(|v| v.waiting_rows())
            || self.reports.busy()
            || self.schedules.as_ref().is_some_and(|s| s.busy())
            || self.layouts_screen.as_ref().is_some_and(|s| s.busy())
            || self.access.as_ref().is_some_and(|s| s.busy())
            || self.hub.as_ref().is_some_and(|s| s.busy())
            || self.pushes.busy()
            || self.reader.as_ref().is_some_and(|r| r.pending() > 0)
            || (self.reader.is_some() && self.view.as_ref().is_some_and(|v| v.waiting_pages()))
    }

    /// Per-frame logic: drain the worker, start the next import, apply queued commands.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if self.worker.is_none()
            && self.store.is_some()
            && let Some(w) = self.start_worker(ctx)
        {
            self.worker = Some(w);
            let c = ctx.clone();
            match crate::pages::Reader::start(&self.db_path, move || c.request_repaint()) {
                Ok(r) => self.reader = Some(r),
                Err(e) => self
                    .errors
                    .push(format!("The table's page reader could not start: {e}")),
            }
        }
        if let Some(r) = &self.reader {
            let pages = r.drain();
            if let Some(v) = self.view.as_mut() {
                for p in pages {
                    v.page_ready(p);
                }
            }
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.commands
                .push_back(Command::Data(Data::OpenFiles(dropped)));
        }
        self.shortcuts(ctx);
        self.watch_store(ctx);
        if ctx.input(|i| i.viewport().close_requested()) {
            self.close_requested(ctx);
        }
        if let Some(s) = &mut self.schedules
            && s.poll()
        {
            self.refresh_lists();
        }
        if self.screen == Screen::Schedules {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        if self.reports.busy() {
            self.reports.poll();
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        if self.pushes.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        for (batch, r) in self.pushes.take() {
            match r {
                Ok(m) => self.status = format!("Batch {batch}: {m}."),
                Err(e) => self
                    .errors
                    .push(format!("Batch {batch} was not delivered to the hub: {e}")),
            }
            // The panel reads the delivery's state again.
            if let Some(v) = self.view_of(batch) {
                v.refresh_panel();
            }
            self.refresh_lists();
        }
        // A report saved is written to the access log.
        for (batch, name, rows) in std::mem::take(&mut self.reports.saved) {
            self.send(Job::LogAccess {
                batch: Some(batch),
                action: crate::store::AccessAction::JmlReport,
                count: Some(rows),
                detail: name,
            });
        }
        let mut runs: Vec<crate::schedule::RunReport> = Vec::new();
        if let Some(rx) = self.scheduled.as_ref() {
            for r in rx.try_iter() {
                match r {
                    Ok(mut v) => runs.append(&mut v),
                    Err(e) => self
                        .errors
                        .push(format!("The scheduled runs stopped with an error: {e}")),
                }
            }
        }
        if !runs.is_empty() {
            let words: Vec<String> = runs
                .iter()
                .map(|r| format!("{} {}", r.interface, r.outcome))
                .collect();
            self.scheduled_status = format!(
                "Scheduled runs at {}: {}",
                chrono::Local::now().format("%H:%M"),
                words.join(", ")
            );
            if runs.iter().any(|r| {
                matches!(
                    r.outcome,
                    crate::store::RunOutcome::Held
                        | crate::store::RunOutcome::Failed
                        | crate::store::RunOutcome::AlreadyImported
                )
            }) {
                self.scheduled_status
                    .push_str(" — see Batches and Schedules for what needs you");
            }
            self.refresh_lists();
            if let Some(sc) = &mut self.schedules {
                sc.refresh();
            }
        }
        let replies = self
            .worker
            .as_ref()
            .map(|w| w.drain(Duration::from_millis(8)))
            .unwrap_or_default();
        for r in replies {
            self.on_reply(r);
        }
        while let Some(c) = self.commands.pop_front() {
            self.apply(ctx, c);
        }
        self.next_import();
        if let (Some(v), Some(w)) = (self.view.as_mut(), self.worker.as_ref())
            && let Some((token, query)) = v.take_rows_request()
        {
            w.cancel_rows();
            let batch = v.info.id;
            if let Err(e) = w.send(Job::Rows {
                batch,
                token,
                query,
            }) {
                self.errors.push(e);
            }
        }
        if self.busy() {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }

    /// What the screens show follows the store, whoever changed it: a pull, a scheduled run,
    /// a delivery, an import from the command line or another window. The one place a change
    /// made behind the screens reaches them: about once a second the store is asked whether
    /// anything was committed since it was last read, and if so every list is read again.
    fn watch_store(&mut self, ctx: &egui::Context) {
        ctx.request_repaint_after(STORE_WATCH);
        if self.seen.1.elapsed() < STORE_WATCH {
            return;
        }
        self.seen.1 = std::time::Instant::now();
        let Some(now) = self.store.as_ref().and_then(|s| s.data_version().ok()) else {
            return;
        };
        if now == self.seen.0 {
            return;
        }
        self.seen.0 = now;
        self.store_changed();
    }

    /// The Export dialog reads again what stands between the batch and an export.
    fn reread_readiness(&mut self) {
        if self.export.is_some()
            && let Some(batch) = self.batch_id()
        {
            self.send(Job::Readiness { batch });
        }
    }

    /// Reads again everything the screens show from the store.
    fn store_changed(&mut self) {
        self.refresh_lists();
        self.reread_readiness();
        if let Some(h) = &mut self.hub
            && !h.busy()
        {
            h.refresh();
        }
        if let Some(sc) = &mut self.schedules {
            sc.refresh();
        }
        if let Some(a) = &mut self.access {
            a.refresh();
        }
        if let (Some(v), Some(s)) = (self.view.as_mut(), self.store.as_ref()) {
            // The open batch: its counts and issues when it changed; the panel's facts (the
            // batches a reference may be checked against, ESR's answer, its delivery) always.
            match s.batch(v.info.id) {
                Ok(info) if info != v.info => v.after_edit(s, &[]),
                Ok(_) => v.refresh_panel(),
                Err(_) => {}
            }
        }
    }

    fn start_worker(&mut self, ctx: &egui::Context) -> Option<Worker> {
        let c = ctx.clone();
        match Worker::start(&self.db_path, move || c.request_repaint()) {
            Ok(w) => Some(w),
            Err(e) => {
                self.errors
                    .push(format!("The background worker could not start: {e}"));
                self.store = None;
                None
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        if let Some(f) = self.front()
            && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
        {
            self.close_front(f);
        }
        // Undo and redo belong to the batch: never while a window in front has the keyboard.
        let typing = ctx.egui_wants_keyboard_input() || self.front().is_some();
        let quit = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q));
        if quit {
            self.commands.push_back(Command::View(View::Quit));
        }
        let (open, undo, redo) = ctx.input_mut(|i| {
            let open = i.consume_key(egui::Modifiers::COMMAND, egui::Key::O);
            if typing {
                return (open, false, false);
            }
            let redo = i.consume_key(egui::Modifiers::COMMAND, egui::Key::Y)
                || i.consume_key(
                    egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                    egui::Key::Z,
                );
            let undo = i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z);
            (open, undo, redo)
        });
        if open {
            self.commands.push_back(Command::View(View::OpenDialog));
        }
        if undo {
            self.commands.push_back(Command::Data(Data::Undo));
        }
        if redo {
            self.commands.push_back(Command::Data(Data::Redo));
        }
    }

    fn refresh_lists(&mut self) {
        self.batches.names = self
            .catalogue
            .catalogue
            .interfaces
            .iter()
            .map(|i| (i.id.clone(), i.title()))
            .collect();
        self.batches.staff_feeds = self
            .layouts
            .layouts
            .iter()
            .filter(|l| crate::jml::is_staff_feed(l))
            .map(|l| l.id.clone())
            .collect();
        if let Some(s) = &self.store {
            match s.batches(None) {
                Ok(b) => {
                    self.catalogue.set_batches(&b);
                    self.batches.set(b);
                }
                Err(e) => self
                    .errors
                    .push(format!("The list of batches could not be read: {e}")),
            }
        }
    }

    fn send(&mut self, job: Job) {
        match &self.worker {
            Some(w) => {
                if let Err(e) = w.send(job) {
                    self.errors.push(e);
                }
            }
            None => self
                .errors
                .push("Nothing can be changed: the store is not open.".into()),
        }
    }

    fn next_import(&mut self) {
        if self.import.running.is_some()
            || self.import.choice.is_some()
            || self.import.mapping.is_some()
            || self.worker.is_none()
        {
            return;
        }
        let Some(path) = self.import.queue.pop_front() else {
            return;
        };
        self.state.remember(&path);
        // A workbook is read on the worker and its columns mapped on the mapping screen.
        if crate::workbook::is_workbook(&path) {
            self.commands.push_back(Command::Data(Data::ReadTable {
                path,
                interface: None,
                sheet: None,
            }));
            return;
        }
        // A file that cannot be an interface file at all (empty, binary, a folder, unreadable)
        // gets its reason at once, with no question about which interface it is.
        if let Err(e) = crate::validate::check_readable(&path) {
            self.errors
                .push(format!("{} cannot be imported: {e}.", path.display()));
            return;
        }
        match crate::detect::detect(&path, &self.layouts) {
            Ok(d) => match d.layout {
                // A CSV with a local system's own column names: mapped, as a workbook is.
                Some(l) if crate::mapping::foreign_columns(&path, l) => {
                    let id = l.id.clone();
                    self.commands.push_back(Command::Data(Data::ReadTable {
                        path,
                        interface: Some(id),
                        sheet: None,
                    }));
                }
                Some(l) => {
                    let id = l.id.clone();
                    self.start_import(path, &id, false, None, None);
                }
                None => {
                    let fits_none = d.fits_none();
                    self.import.choice = Some(Choice::new(
                        path,
                        if fits_none {
                            format!(
                                "This file does not look like any ESR interface: {}.",
                                d.explanation
                            )
                        } else {
                            format!(
                                "The interface of this file could not be recognised: {}.",
                                d.explanation
                            )
                        },
                        fits_none,
                    ));
                }
            },
            Err(e) => self.errors.push(format!(
                "The file could not be read: {e}. ({})",
                path.display()
            )),
        }
    }

    /// The batches chosen to check `interface`'s reference rules against.
    fn reference_choice(&self, interface: &str) -> Vec<i64> {
        let Some(layout) = self.layouts.get(interface) else {
            return Vec::new();
        };
        let mut out: Vec<i64> = crate::validate::reference_rules(layout)
            .iter()
            .filter_map(|r| self.state.references.get(&r.interface).copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn start_import(
        &mut self,
        path: PathBuf,
        interface: &str,
        force: bool,
        chosen: Option<String>,
        table: Option<Box<crate::mapping::TableImport>>,
    ) {
        let Some(layout) = self.layouts.get(interface) else {
            self.errors
                .push(format!("There is no layout for the interface {interface}."));
            return;
        };
        let total = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut progress = Progress::new(path.clone(), interface, total);
        progress.chosen = chosen.clone();
        progress.table = table.clone();
        self.import.running = Some(progress);
        let job = Job::Import {
            path,
            layout: Box::new(layout.clone()),
            force,
            against: self.reference_choice(interface),
            chosen_anyway: chosen,
            table,
        };
        self.send(job);
    }

    fn on_reply(&mut self, r: Reply) {
        match r {
            Reply::Progress {
                bytes,
                total,
                lines,
            } => {
                if let Some(p) = &mut self.import.running {
                    p.bytes = bytes;
                    p.total = total.max(1);
                    p.lines = lines;
                }
            }
            Reply::Imported { path, result } => {
                let running = self.import.running.take();
                let cancelled = running.as_ref().is_some_and(|p| p.cancelling);
                let (interface, chosen, table) = running
                    .map(|p| (p.interface, p.chosen, p.table))
                    .unwrap_or_default();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match result {
                    Ok(out) => {
                        self.refresh_lists();
                        self.open_batch(out.batch_id);
                        let file = if out.file_errors > 0 {
                            format!(
                                "; {} problem(s) with the file itself block export (see Issues)",
                                out.file_errors
                            )
                        } else {
                            String::new()
                        };
                        self.status = format!(
                            "Imported {name} as batch {}: {} records, {} rejected{file}.",
                            out.batch_id, out.records, out.rejected
                        );
                        if cancelled {
                            // Cancel came after the commit point: say so, and offer to undo.
                            self.status = format!(
                                "Too late to cancel: {name} was already stored as batch {}.",
                                out.batch_id
                            );
                            self.late_cancel = Some((out.batch_id, name));
                        }
                    }
                    Err(StoreError::Cancelled) => {
                        self.status = format!("Import of {name} cancelled: nothing was stored.");
                    }
                    Err(StoreError::Duplicate { existing, .. }) => {
                        self.import.duplicate = Some((path, interface, existing, chosen, table));
                    }
                    Err(e) => self
                        .errors
                        .push(format!("{name} could not be imported: {e}")),
                }
            }
            Reply::Table { path, result } => {
                if let Some(d) = self.import.mapping.as_mut().filter(|d| d.path == path) {
                    d.set(result, &self.layouts);
                }
            }
            Reply::Repairs { batch, result } => {
                if let Some(v) = self.view_of(batch) {
                    v.repairs.set(result.map_err(|e| e.to_string()));
                }
            }
            Reply::Resent { batch, result } => match result {
                Ok(id) => {
                    self.status = format!(
                        "Batch {id} holds the rows ESR rejected in batch {batch}: fix them, then export or deliver it."
                    );
                    self.open_batch(id);
                }
                Err(e) => self.errors.push(format!("The rejected rows could not be re-sent: {e}")),
            },
            Reply::ReplacePreview { batch, result } => {
                if let Some(v) = self.view_of(batch) {
                    v.preview_ready(result.map_err(|e| e.to_string()));
                }
            }
            Reply::Logged {
                batch,
                action,
                result,
            } => match result {
                Ok(()) => {
                    // Personal data is shown only once the reveal is in the log.
                    if action == crate::store::AccessAction::Reveal
                        && let Some(v) = self.view.as_mut()
                        && Some(v.info.id) == batch
                    {
                        v.set_revealed(true);
                        self.status =
                            "Personal data shown for this batch (the reason is in the access log).".into();
                    }
                }
                Err(e) => self.errors.push(format!(
                    "The access log could not be written ({action}), so nothing was shown or sent: {e}"
                )),
            },
            Reply::Readiness { batch, result } => {
                if self.batch_id() == Some(batch)
                    && let Some(f) = &mut self.export
                {
                    f.ready = Some(result);
                }
            }
            Reply::FileState { batch, result } => {
                if let Some(v) = self.view_of(batch) {
                    match result {
                        Ok(f) => v.file_state.set(*f),
                        Err(e) => v.error = Some(format!("The batch could not be read: {e}")),
                    }
                }
            }
            Reply::RuleIssues {
                batch,
                rule,
                result,
            } => {
                if let Some(v) = self.view_of(batch) {
                    match result {
                        Ok(found) => v.rule_issues.entry(rule).or_default().set(found),
                        Err(e) => v.error = Some(format!("The issues could not be read: {e}")),
                    }
                }
            }
            Reply::Suggestions {
                batch,
                rule,
                result,
            } => {
                if let Some(v) = self.view_of(batch) {
                    v.suggestions
                        .entry(rule)
                        .or_default()
                        .set(result.map_err(|e| e.to_string()));
                }
            }
            Reply::Deleted { batch, result } => match result {
                Ok(()) => {
                    self.status = format!("Batch {batch} deleted: nothing of that import is kept.");
                    if self.batch_id() == Some(batch) {
                        self.view = None;
                        self.screen = Screen::Batches;
                    }
                    self.refresh_lists();
                }
                Err(e) => self
                    .errors
                    .push(format!("Batch {batch} was not deleted: {e}")),
            },
            Reply::Edited {
                batch,
                label,
                result,
            } => {
                self.edits_answered += 1;
                self.on_edited(batch, &label, result);
            }
            Reply::Exported {
                batch,
                result,
                report,
            } => {
                self.exporting = false;
                match result {
                    Ok(o) => {
                        let held = if o.held_back.is_empty() {
                            String::new()
                        } else {
                            format!(", {} rejected record(s) held back", o.held_back.len())
                        };
                        self.status = format!(
                            "Exported batch {batch}: {} records written to {}{held}.",
                            o.records_written,
                            o.path.display()
                        );
                        self.refresh_lists();
                        if let (Some(v), Some(s)) = (self.view.as_mut(), self.store.as_ref())
                            && v.info.id == batch
                        {
                            v.after_edit(s, &[]);
                        }
                    }
                    Err(e) => {
                        self.status = format!("Batch {batch} was not exported (see the message).");
                        self.errors
                            .push(format!("Batch {batch} was not exported: {e}"));
                    }
                }
                match report {
                    Some(Ok((_, 0))) => {
                        self.status
                            .push_str(" No rejected records, so no rejects report was written.");
                    }
                    Some(Ok((p, n))) => {
                        self.status
                            .push_str(&format!(" Rejects report: {n} row(s) in {}.", p.display()));
                    }
                    Some(Err(e)) => self
                        .errors
                        .push(format!("The rejects report was not written: {e}")),
                    None => {}
                }
            }
            Reply::Rows { token, result } => {
                if let (Some(v), Some(store)) = (self.view.as_mut(), self.store.as_ref()) {
                    match result {
                        Ok(rows) => v.rows_ready(store, token, rows),
                        Err(StoreError::Cancelled) => {}
                        Err(e) => self.errors.push(format!("The search failed: {e}")),
                    }
                }
            }
        }
    }

    fn on_edited(
        &mut self,
        batch: i64,
        label: &str,
        result: Result<Option<crate::store::EditOutcome>, StoreError>,
    ) {
        match result {
            Ok(Some(out)) => {
                self.status = if out.changed.is_empty() {
                    format!("{label}; {} rejected record(s) now.", out.rejected_records)
                } else {
                    format!(
                        "{label}: {} record(s) changed; {} rejected now.",
                        out.changed.len(),
                        out.rejected_records
                    )
                };
                if let (Some(v), Some(s)) = (self.view.as_mut(), self.store.as_ref())
                    && v.info.id == batch
                {
                    v.after_edit(s, &out.changed);
                }
                self.refresh_lists();
                self.reread_readiness();
            }
            Ok(None) => {
                self.status = match label {
                    "Undo" => "Nothing to undo.".into(),
                    "Redo" => "Nothing to redo.".into(),
                    _ => format!("{label}: nothing matched, nothing changed."),
                }
            }
            Err(e) => self.errors.push(format!("{label} failed: {e}")),
        }
    }

    fn open_batch(&mut self, id: i64) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        match BatchView::open(store, id) {
            Ok(v) => {
                self.status = format!(
                    "Batch {id}: {} — {} records, {} rejected.",
                    v.info.source_name, v.info.records, v.info.rejected
                );
                self.view = Some(v);
                self.screen = Screen::Batch;
                self.send(Job::LogAccess {
                    batch: Some(id),
                    action: crate::store::AccessAction::OpenBatch,
                    count: None,
                    detail: String::new(),
                });
            }
            Err(e) => self
                .errors
                .push(format!("Batch {id} could not be opened: {e}")),
        }
    }

    /// Asks for a path: the system's dialog, or the in-app path box when it cannot open.
    fn ask_path(
        &mut self,
        purpose: super::files::Purpose,
        start: Option<PathBuf>,
        file_name: &str,
    ) {
        use super::files::{PathBox, Picked, native};
        let picked = if self.native_dialogs {
            native(&purpose, start.as_deref(), file_name)
        } else {
            Picked::Unavailable("the system's file dialog is turned off here".into())
        };
        match picked {
            Picked::Paths(p) => self.path_chosen(purpose, p),
            Picked::Cancelled => {}
            Picked::Unavailable(why) => {
                tracing::info!("the system's file dialog could not open; path box shown");
                let start = start.map(|p| p.display().to_string()).unwrap_or_default();
                self.path_box = Some(PathBox::new(purpose, why, start, self.state.folders()));
            }
        }
    }

    /// Uses a path chosen in a dialog or the path box (nothing when it was cancelled).
    fn path_chosen(&mut self, purpose: super::files::Purpose, paths: Vec<PathBuf>) {
        use super::files::Purpose;
        let Some(first) = paths.first().cloned() else {
            return;
        };
        match purpose {
            Purpose::Open => self
                .commands
                .push_back(Command::Data(Data::OpenFiles(paths))),
            Purpose::ExportFolder => {
                if let Some(f) = &mut self.export {
                    f.folder = first.display().to_string();
                    f.problems.clear();
                }
            }
            Purpose::SaveReport => {
                if let Some(dir) = first.parent() {
                    self.state.export_folder = Some(dir.to_path_buf());
                }
                self.reports.save_to(&first);
            }
        }
    }

    /// The open batch, when it is `batch` (answers about another batch are dropped).
    fn view_of(&mut self, batch: i64) -> Option<&mut BatchView> {
        self.view.as_mut().filter(|v| v.info.id == batch)
    }

    fn batch_id(&self) -> Option<i64> {
        self.view.as_ref().map(|v| v.info.id)
    }

    /// Applies one command: the only place user actions change anything.
    pub fn apply(&mut self, ctx: &egui::Context, c: Command) {
        match c {
            Command::View(v) => self.apply_view(ctx, v),
            Command::Data(d) => self.apply_data(ctx, d),
        }
    }

    /// Applies a view command: what is shown changes, nothing in the store.
    fn apply_view(&mut self, ctx: &egui::Context, c: View) {
        match c {
            View::OpenDialog => {
                let start = self.state.last_folder.clone();
                self.ask_path(super::files::Purpose::Open, start, "");
            }
            View::PathChosen(purpose, paths) => {
                self.path_box = None;
                self.path_chosen(purpose, paths);
            }
            View::SaveReport => {
                let start = self.state.export_folder.clone();
                self.ask_path(
                    super::files::Purpose::SaveReport,
                    start,
                    "joiners-movers-leavers.csv",
                );
            }
            View::KeepBatch => self.late_cancel = None,
            View::QuitAnyway => {
                self.confirm_quit = None;
                self.quit_confirmed = true;
                self.import.queue.clear();
                self.stop_background();
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            View::StayOpen => self.confirm_quit = None,
            View::Copy => {
                if let (Some(v), Some(store)) = (self.view.as_mut(), self.store.as_ref()) {
                    let c = v.copy_cells(store);
                    ctx.copy_text(c.text);
                    // The log counts the values that left, never the blanks held back.
                    self.commands.push_back(Command::Data(Data::LogAccess {
                        action: crate::store::AccessAction::Copy,
                        count: Some(c.cells),
                        detail: if c.held > 0 {
                            format!("{} masked cell(s) held back", c.held)
                        } else {
                            String::new()
                        },
                    }));
                    self.status = match (c.cells, c.held) {
                        (n, 0) => format!("Copied {n} cell(s)."),
                        (n, h) => format!(
                            "Copied {n} cell(s); {h} cell(s) of personal data were held back (pasted as blanks): use Show personal data… to copy them."
                        ),
                    };
                }
            }
            // The window's own paste: the clipboard text arrives as a paste event.
            View::Paste => ctx.send_viewport_cmd(egui::ViewportCommand::RequestPaste),
            View::Find => {
                if let Some(v) = self.view.as_mut() {
                    self.screen = Screen::Batch;
                    v.find();
                }
            }
            View::Show(s) => {
                if s == Screen::Batches {
                    self.batches.interface = None;
                }
                if self.screen == Screen::Layouts
                    && s != Screen::Layouts
                    && let Some(l) = &self.layouts_screen
                {
                    // Layouts edited there are used for the next import at once.
                    self.layouts = l.set.clone();
                    self.catalogue.layouts = l.set.clone();
                }
                if s == Screen::Layouts && self.layouts_screen.is_none() {
                    let mut screen = LayoutsScreen::new(crate::paths::layouts_dir());
                    // First shown with a batch open: that batch's layout, as it was read.
                    if let Some(v) = &self.view {
                        screen.show_layout(&v.info.layout_id);
                    }
                    self.layouts_screen = Some(screen);
                }
                if s == Screen::Schedules {
                    match &mut self.schedules {
                        Some(sc) => sc.refresh(),
                        None => self.schedules = Some(SchedulesScreen::new(self.db_path.clone())),
                    }
                }
                if s == Screen::Hub {
                    match &mut self.hub {
                        Some(h) => h.refresh(),
                        None => self.hub = Some(super::hub::HubScreen::new(self.db_path.clone())),
                    }
                }
                if s == Screen::Audit {
                    match &mut self.access {
                        Some(a) => a.refresh(),
                        None => {
                            self.access =
                                Some(super::access::AccessScreen::new(self.db_path.clone()))
                        }
                    }
                }
                if s != Screen::Batch || self.view.is_some() {
                    self.screen = s;
                }
            }
            View::ShowBatchesOf(i) => {
                self.batches.interface = i;
                self.screen = Screen::Batches;
            }
            View::OpenBatch(id) => self.open_batch(id),
            View::ExportDialog => {
                if let Some(v) = &self.view {
                    // The folder last exported to; else the Documents folder; never the
                    // folder the file came from (an inbox is not an outbox).
                    let folder = self
                        .state
                        .export_folder
                        .clone()
                        .or_else(crate::paths::documents_dir)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    // The VPD code the export would use (the trust's, else the header's or
                    // the file name's): one resolver for every path.
                    let batch = v.info.id;
                    let vpd = self
                        .store
                        .as_mut()
                        .and_then(|s| {
                            crate::export::batch_identity(s, batch, &Default::default()).ok()
                        })
                        .map(|i| i.vpd)
                        .unwrap_or_default();
                    self.export = Some(ExportForm {
                        folder,
                        vpd,
                        valid_rows_only: self.state.export_valid_rows_only,
                        rejects_report: self.state.export_rejects_report,
                        ..Default::default()
                    });
                    self.send(Job::Readiness { batch });
                }
            }
            View::ChooseExportFolder => {
                let start = self
                    .export
                    .as_ref()
                    .map(|f| PathBuf::from(f.folder.trim()))
                    .filter(|p| p.is_dir());
                self.ask_path(super::files::Purpose::ExportFolder, start, "");
            }
            View::SetDark(d) => {
                self.state.dark = d;
                ctx.set_theme(if d {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                });
            }
            View::DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
            View::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    /// Applies a data command: the work goes to the worker (or a thread of its own).
    fn apply_data(&mut self, ctx: &egui::Context, c: Data) {
        let _ = ctx;
        match c {
            Data::CompareBatches { old, new } => {
                self.reports.start_jml(self.db_path.clone(), old, new);
            }
            Data::ExportHistory(batch) => {
                self.reports.start_history(self.db_path.clone(), batch);
            }
            Data::DeleteBatch(id) => {
                self.late_cancel = None;
                self.send(Job::DeleteBatch { batch: id });
            }
            Data::LogAccess {
                action,
                count,
                detail,
            } => {
                let batch = self.batch_id();
                self.send(Job::LogAccess {
                    batch,
                    action,
                    count,
                    detail,
                });
            }
            Data::Reveal { reason } => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::LogAccess {
                        batch: Some(batch),
                        action: crate::store::AccessAction::Reveal,
                        count: None,
                        detail: reason,
                    });
                }
            }
            Data::LoadFileState => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::FileState { batch });
                }
            }
            Data::LoadRuleIssues(rule) => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::RuleIssues {
                        batch,
                        rule,
                        limit: super::issues::LISTED_PER_RULE,
                    });
                }
            }
            Data::SuggestFixes(rule) => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::SuggestFixes { batch, rule });
                }
            }
            Data::OpenFiles(files) => {
                self.import.queue.extend(files);
            }
            Data::ImportAs {
                path,
                interface,
                force,
                chosen,
                table,
            } => {
                self.import.choice = None;
                self.import.duplicate = None;
                self.import.mapping = None;
                self.start_import(path, &interface, force, chosen, table);
            }
            Data::ReadTable {
                path,
                interface,
                sheet,
            } => {
                self.import.choice = None;
                let mut d = self
                    .import
                    .mapping
                    .take()
                    .filter(|d| d.path == path)
                    .unwrap_or_else(|| super::mapping::MappingDialog::loading(path.clone()));
                d.loading = true;
                self.import.mapping = Some(d);
                let layout = interface
                    .as_deref()
                    .and_then(|id| self.layouts.get(id))
                    .map(|l| Box::new(l.clone()));
                let layouts = std::sync::Arc::new(self.layouts.clone());
                self.send(Job::ReadTable {
                    path,
                    layout,
                    layouts,
                    sheet,
                });
            }
            Data::LoadRepairs => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Repairs { batch });
                }
            }
            Data::Push(vpd) => {
                if let Some(batch) = self.batch_id() {
                    self.status = format!("Delivering batch {batch} to the hub of {vpd}…");
                    let db = self.db_path.clone();
                    self.pushes.spawn(move || {
                        let r = crate::store::Store::open(&db)
                            .map_err(|e| e.to_string())
                            .and_then(|mut store| {
                                let org = crate::hub::Org::get(&store, &vpd)
                                    .map_err(|e| e.to_string())?;
                                crate::hub::transfer::push(
                                    &mut store,
                                    batch,
                                    &org,
                                    &crate::hub::transfer::HubOptions::default(),
                                )
                                .map(|p| p.notes.join("; "))
                                .map_err(|e| e.say(crate::hub::Face::Window))
                            });
                        (batch, r)
                    });
                }
            }
            Data::Resend => {
                if let Some(batch) = self.batch_id() {
                    self.status =
                        format!("Making a batch of the rows ESR rejected in batch {batch}…");
                    self.send(Job::Resend { batch });
                }
            }
            Data::SkipFile => {
                self.import.choice = None;
                self.import.duplicate = None;
                self.import.mapping = None;
            }
            Data::CancelImport => {
                if let Some(w) = &self.worker {
                    w.cancel_import();
                }
                if let Some(p) = &mut self.import.running {
                    p.cancelling = true;
                }
            }
            Data::Edit { changes, label } => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Apply {
                        batch,
                        changes,
                        label,
                    });
                }
            }
            Data::Accept { rule, reason } => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Accept {
                        batch,
                        rule,
                        reason,
                    });
                }
            }
            Data::Recheck { interface, against } => {
                match against {
                    Some(b) => self.state.references.insert(interface, b),
                    None => self.state.references.remove(&interface),
                };
                if let Some(batch) = self.batch_id() {
                    let against = self
                        .view
                        .as_ref()
                        .map(|v| self.reference_choice(&v.info.interface))
                        .unwrap_or_default();
                    self.send(Job::Recheck { batch, against });
                }
            }
            Data::Replace {
                record_type,
                field,
                find,
                replace,
                mode,
                preview,
            } => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Replace {
                        batch,
                        record_type,
                        field,
                        find,
                        replace,
                        mode,
                        preview,
                    });
                }
            }
            Data::FixSameIssue {
                rule,
                field,
                record_type,
                was,
                value,
            } => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::FixSameIssue {
                        batch,
                        rule,
                        field,
                        record_type,
                        was,
                        value,
                    });
                }
            }
            Data::Export(mut form) => {
                let Some(batch) = self.batch_id() else {
                    return;
                };
                let dir = PathBuf::from(form.folder.trim());
                let vpd = form.vpd.trim().to_string();
                // Every problem with the choices and the batch at once, in the dialog.
                form.folder_checked = None;
                form.problems = form.all_problems();
                self.state.export_valid_rows_only = form.valid_rows_only;
                self.state.export_rejects_report = form.rejects_report;
                if !form.problems.is_empty() {
                    self.export = Some(form);
                    return;
                }
                self.state.export_folder = Some(dir.clone());
                self.export = None;
                let now = crate::export::uk_now();
                let opts = crate::export::ExportOptions {
                    out_dir: dir.clone(),
                    overwrite: form.overwrite,
                    valid_rows_only: form.valid_rows_only,
                    trigger: crate::export::Trigger::Manual,
                    now,
                    vpd: Some(vpd),
                    org: None,
                    seq: None,
                };
                let rejects_report = form
                    .rejects_report
                    .then(|| dir.join(crate::export::rejects_report_name(batch, now)));
                self.exporting = true;
                self.status = format!("Exporting batch {batch}…");
                self.send(Job::Export {
                    batch,
                    opts,
                    rejects_report,
                    rejects_full: form.rejects_full,
                });
            }
            Data::Undo => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Undo { batch });
                }
            }
            Data::Redo => {
                if let Some(batch) = self.batch_id() {
                    self.send(Job::Redo { batch });
                }
            }
        }
    }

    /// One whole frame for tests and the benchmark: logic, then drawing.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic(&ctx);
        self.draw(ui);
    }

    /// Draws one frame (queues commands; changes nothing else).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.frames += 1;
        let mut cmds: Vec<Command> = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| self.menu_ui(ui, &mut cmds));
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(p) = &self.import.running {
                    p.ui(ui, &mut cmds);
                    ui.separator();
                }
                if !self.scheduled_status.is_empty() {
                    // Scheduled runs speak on the right, never over the answer to an action.
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        ui.add(
                            egui::Label::new(egui::RichText::new(&self.scheduled_status).weak())
                                .truncate(),
                        );
                        ui.separator();
                        ui.add(egui::Label::new(&self.status).truncate());
                    });
                } else {
                    ui.add(egui::Label::new(&self.status).truncate());
                }
            });
        });
        egui::Panel::top("nav").show(ui, |ui| {
            // Open and Export stay on the right, always in view; the screens' names take the
            // rest, the open batch's file name shortened first when the window is narrow.
            let mut right = Vec::new();
            egui::Sides::new().shrink_left().show(
                ui,
                |ui| self.screens_ui(ui, &mut cmds),
                |ui| {
                    if export_button(ui, self.view.is_some() && !self.exporting) {
                        right.push(Command::View(View::ExportDialog));
                    }
                    if ui.button("Open files…").on_hover_text("Ctrl+O").clicked() {
                        right.push(Command::View(View::OpenDialog));
                    }
                },
            );
            cmds.extend(right);
        });
        let keys = self.front().is_none();
        match (self.screen, self.view.as_mut(), self.store.as_ref()) {
            (Screen::Batch, Some(v), Some(store)) => {
                if self.state.show_issues {
                    // A third of a narrow window at most, so the table keeps its columns.
                    let wide = (ui.available_width() * 0.3).clamp(220.0, 320.0);
                    egui::Panel::right("issues")
                        .resizable(true)
                        .default_size(wide)
                        .min_size(220.0)
                        .show(ui, |ui| {
                            v.issues_ui(ui, store, self.state.show_chart, &mut cmds)
                        });
                }
                egui::CentralPanel::default().show(ui, |ui| v.ui(ui, store, keys, &mut cmds));
            }
            (Screen::Batches, _, _) => {
                egui::CentralPanel::default().show(ui, |ui| self.batches.ui(ui, &mut cmds));
            }
            (Screen::Layouts, _, _) if self.layouts_screen.is_some() => {
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(l) = &mut self.layouts_screen {
                        l.ui(ui, &self.batches.all);
                    }
                });
            }
            (Screen::Hub, _, _) if self.hub.is_some() => {
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(h) = &mut self.hub {
                        h.ui(ui, &mut cmds);
                    }
                });
            }
            (Screen::Audit, _, _) if self.access.is_some() => {
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(a) = &mut self.access {
                        a.ui(ui);
                    }
                });
            }
            (Screen::Schedules, _, _) if self.schedules.is_some() => {
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(sc) = &mut self.schedules {
                        sc.ui(ui);
                    }
                });
            }
            _ => {
                egui::CentralPanel::default().show(ui, |ui| self.catalogue.ui(ui, &mut cmds));
            }
        }
        self.import.dialogs_ui(ui.ctx(), &self.layouts, &mut cmds);
        if let Some(d) = &mut self.import.mapping {
            d.ui(ui.ctx(), &self.layouts, &mut cmds);
        }
        self.export_ui(ui.ctx(), &mut cmds);
        if self
            .reports
            .ui(ui.ctx(), self.view.as_ref().map(|v| v.info.id))
        {
            cmds.push(Command::View(View::SaveReport));
        }
        if let Some(b) = &mut self.path_box
            && let Some(paths) = b.ui(ui.ctx())
        {
            cmds.push(Command::View(View::PathChosen(b.purpose.clone(), paths)));
        }
        self.notices_ui(ui.ctx(), &mut cmds);
        self.errors_ui(ui.ctx(), &mut cmds);
        // The pages the table asked for go to the reader at once (a send, no reading here).
        if let (Some(v), Some(r)) = (self.view.as_mut(), self.reader.as_ref()) {
            for job in v.take_page_jobs() {
                r.send(job);
            }
        }
        drop_hint(ui.ctx());
        self.commands.extend(cmds);
    }

    /// The screens, one button each, and the open batch.
    fn screens_ui(&self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let s = self.screen;
        let screens = [
            (
                Screen::Home,
                "Interfaces",
                "Every interface of the catalogue",
            ),
            (Screen::Batches, "Batches", "Every batch imported"),
            (
                Screen::Layouts,
                "Layouts",
                "How each interface's file is built",
            ),
            (Screen::Schedules, "Schedules", "Scheduled runs"),
            (
                Screen::Hub,
                "Hub",
                "The dashboard, and the organisations' NHS Interface Hub connections",
            ),
            (
                Screen::Audit,
                "Audit",
                "Who opened, revealed, copied, exported and purged what",
            ),
        ];
        for (screen, name, hint) in screens {
            if ui
                .selectable_label(s == screen, name)
                .on_hover_text(hint)
                .clicked()
            {
                cmds.push(Command::View(View::Show(screen)));
            }
        }
        if let Some(v) = &self.view {
            let full = format!("Batch {}: {}", v.info.id, v.info.source_name);
            let r = ui.add(egui::Button::selectable(s == Screen::Batch, full.as_str()).truncate());
            if r.on_hover_text(full).clicked() {
                cmds.push(Command::View(View::Show(Screen::Batch)));
            }
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let item = |ui: &mut egui::Ui, enabled: bool, text: &str, keys: &str| {
            ui.add_enabled(enabled, egui::Button::new(text).shortcut_text(keys))
                .clicked()
        };
        ui.menu_button("File", |ui| {
            if item(ui, true, "Open…", "Ctrl+O") {
                cmds.push(Command::View(View::OpenDialog));
            }
            ui.menu_button("Open recent", |ui| {
                if self.state.recent.is_empty() {
                    ui.label("No files opened yet");
                }
                for p in &self.state.recent {
                    if ui.button(p.display().to_string()).clicked() {
                        cmds.push(Command::Data(Data::OpenFiles(vec![p.clone()])));
                    }
                }
            });
            if export_button(ui, self.view.is_some() && !self.exporting) {
                cmds.push(Command::View(View::ExportDialog));
            }
            ui.separator();
            if item(ui, true, "Quit", "Ctrl+Q") {
                cmds.push(Command::View(View::Quit));
            }
        });
        ui.menu_button("Edit", |ui| {
            let open = self.view.is_some();
            if item(ui, open, "Undo", "Ctrl+Z") {
                cmds.push(Command::Data(Data::Undo));
            }
            if item(ui, open, "Redo", "Ctrl+Y") {
                cmds.push(Command::Data(Data::Redo));
            }
            ui.separator();
            if item(ui, open, "Copy", "Ctrl+C") {
                cmds.push(Command::View(View::Copy));
            }
            if item(ui, open, "Paste", "Ctrl+V") {
                cmds.push(Command::View(View::Paste));
            }
            ui.separator();
            if item(ui, open, "Find", "Ctrl+F") {
                cmds.push(Command::View(View::Find));
            }
        });
        ui.menu_button("View", |ui| {
            ui.checkbox(&mut self.state.show_issues, "Issues panel");
            ui.checkbox(&mut self.state.show_chart, "Chart of issues by rule");
            ui.separator();
            let dark = self.state.dark;
            if ui.radio(!dark, "Light theme").clicked() {
                cmds.push(Command::View(View::SetDark(false)));
            }
            if ui.radio(dark, "Dark theme").clicked() {
                cmds.push(Command::View(View::SetDark(true)));
            }
        });
    }

    fn export_ui(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let Some(f) = &mut self.export else { return };
        let mut open = true;
        let mut cancel = false;
        let name = self
            .view
            .as_ref()
            .map(|v| format!("batch {}: {}", v.info.id, v.info.source_name))
            .unwrap_or_default();
        egui::Window::new("Export a batch")
            .collapsible(false)
            .resizable(false)
            .open(&mut open)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 120.0])
            .show(ctx, |ui| {
                ui.label(format!(
                    "Writes {name} in its interface's exact format, with every correction applied and excluded rows left out."
                ));
                ui.horizontal(|ui| {
                    let l = ui.label("Folder:");
                    let field = egui::Id::unique("export-folder-field");
                    if !f.focused {
                        // The dialog takes the keyboard as it opens.
                        ui.memory_mut(|m| m.request_focus(field));
                    }
                    let r = ui
                        .add(egui::TextEdit::singleline(&mut f.folder).id(field).desired_width(320.0))
                        .labelled_by(l.id);
                    f.focused |= r.has_focus();
                    if ui.button("Choose…").clicked() {
                        cmds.push(Command::View(View::ChooseExportFolder));
                    }
                });
                ui.horizontal(|ui| {
                    let l = ui.label("VPD code:");
                    ui.add(egui::TextEdit::singleline(&mut f.vpd).desired_width(60.0))
                        .labelled_by(l.id)
                        .on_hover_text("The trust's three-character VPD code, written in headers and file names; remembered for next time");
                });
                ui.checkbox(&mut f.valid_rows_only, "Write the valid rows and hold rejected rows back")
                    .on_hover_text("Otherwise the export is refused while rejected rows remain");
                ui.checkbox(&mut f.overwrite, "Replace a file of the same name");
                ui.checkbox(&mut f.rejects_report, "Also write a rejects report (CSV, for Excel)")
                    .on_hover_text("Line, record key, field, rule and message for each rejected record: the minimum needed to fix it");
                if f.rejects_report {
                    ui.checkbox(&mut f.rejects_full, "with whole records (values of every field; noted in the access log)");
                }
                // What stands in the way, every line of it, before the button.
                f.problems = f.all_problems();
                if f.ready.is_none() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Checking the batch…");
                    });
                }
                if !f.problems.is_empty() {
                    ui.separator();
                    ui.strong(format!("{} thing(s) stop this export:", f.problems.len()));
                    egui::ScrollArea::vertical()
                        .id_salt("export-problems")
                        .max_height(180.0)
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            for p in &f.problems {
                                ui.colored_label(ui.visuals().error_fg_color, p);
                            }
                        });
                }
                let ok = f.problems.is_empty() && matches!(f.ready, Some(Ok(_)));
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(ok, egui::Button::new("Export"))
                        .on_disabled_hover_text("Put right what is listed above first")
                        .clicked()
                    {
                        cmds.push(Command::Data(Data::Export(f.clone())));
                    }
                    if ui.button("Cancel").clicked() {
                        cancel = true;
                    }
                });
            });
        if cancel {
            open = false;
        }
        if !open {
            self.export = None;
        }
    }

    /// Questions and notices that wait for the officer: a cancel that came too late, quitting
    /// while work is under way, a second window on the same store.
    fn notices_ui(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        if let Some((batch, name)) = &self.late_cancel {
            egui::Window::new("Too late to cancel")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ctx, |ui| {
                    ui.label(format!(
                        "{name} had already been stored as batch {batch} when Cancel took effect."
                    ));
                    ui.label(
                        "Delete it if you did not want it; nothing else has been done to it yet.",
                    );
                    ui.horizontal(|ui| {
                        if ui.button(format!("Delete batch {batch}")).clicked() {
                            cmds.push(Command::Data(Data::DeleteBatch(*batch)));
                        }
                        if ui.button("Keep it").clicked() {
                            cmds.push(Command::View(View::KeepBatch));
                        }
                    });
                });
        }
        if let Some(what) = &self.confirm_quit {
            egui::Window::new("Quit while work is under way?")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ctx, |ui| {
                    ui.label(format!("Under way: {what}."));
                    ui.label("Quitting stops it cleanly: an import that has not finished stores nothing, and a scheduled run leaves its file in the inbox for the next run. Every change you have made is kept.");
                    ui.horizontal(|ui| {
                        if ui.button("Quit anyway").clicked() {
                            cmds.push(Command::View(View::QuitAnyway));
                        }
                        if ui.button("Keep working").clicked() {
                            cmds.push(Command::View(View::StayOpen));
                        }
                    });
                });
        }
        if let Some(note) = &self.second_window {
            let mut open = true;
            egui::Window::new("This store is open in another window")
                .collapsible(false)
                .open(&mut open)
                .anchor(egui::Align2::CENTER_TOP, [0.0, 60.0])
                .show(ctx, |ui| {
                    ui.label(note);
                });
            if !open {
                self.second_window = None;
            }
        }
    }

    fn errors_ui(&self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        if self.errors.is_empty() {
            return;
        }
        egui::Window::new("Something went wrong")
            .collapsible(false)
            .resizable(true)
            .default_width(480.0)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0])
            .show(ctx, |ui| {
                for (i, e) in self.errors.iter().enumerate() {
                    ui.horizontal_wrapped(|ui| {
                        ui.colored_label(
                            ui.visuals().error_fg_color,
                            egui::RichText::new("!").strong(),
                        );
                        ui.label(e);
                    });
                    if ui.button("OK").clicked() {
                        cmds.push(Command::View(View::DismissError(i)));
                    }
                    ui.separator();
                }
            });
    }
}

/// The Export button (File menu and toolbar); true when clicked.
fn export_button(ui: &mut egui::Ui, enabled: bool) -> bool {
    ui.add_enabled(enabled, egui::Button::new("Export…"))
        .on_hover_text("Write the corrected file (excluded rows left out) to a folder")
        .on_disabled_hover_text("Open a batch to export it")
        .clicked()
}

fn drop_hint(ctx: &egui::Context) {
    let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop files to import them",
        egui::FontId::proportional(24.0),
        egui::Color32::WHITE,
    );
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        App::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }
}

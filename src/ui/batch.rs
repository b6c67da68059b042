//! Batch screen: the virtualised table of one stored batch, one tab per record type, with
//! issue tints, search, sort, column filter, in-cell editing, keyboard and clipboard, and the
//! bulk-fix dialogs.
//!
//! Only visible rows are drawn; they are read from the store a page (100 records) at a time
//! through a small cache, so a million-record batch scrolls as smoothly as a hundred. Search,
//! sort and column filters build an explicit row list on the worker. Nothing here decides
//! what is valid or changes the store: edits become [`Command`]s the app sends to the worker.

use super::app::{Command, Data, View};
pub use super::model::Selection;
use super::model::{Columns, grid_text, parse_grid, paste_plan};
use crate::layout::{Field, Layout};
use crate::rules::Rule;
use crate::store::edit::Change;
use crate::store::search::{ReplaceMode, RowQuery};
use crate::store::{BatchInfo, EditEntry, PageFilter, Store, StoredRecord};
use crate::validate::{Issue, Severity};
use std::collections::HashMap;
use std::sync::Arc;

/// Records read from the store at a time.
pub use crate::pages::PAGE;
use crate::pages::{Page, PageJob, PageReply, PageSource};
/// Pages kept in the cache.
const CACHE_PAGES: usize = 48;
/// Height of a table row.
pub const ROW_HEIGHT: f32 = 22.0;
/// Narrower than this, the batch screen's toolbar keeps its less used actions in a menu (a
/// 1024-point window with the issues panel open still shows them all, on two rows).
pub const NARROW: f32 = 640.0;

/// One tab: a record type of the layout.
#[derive(Debug, Clone)]
pub struct Tab {
    /// Record type code (None: single-type file).
    pub code: Option<String>,
    /// Index in the layout's record types.
    pub record: usize,
    /// Tab title.
    pub title: String,
    /// Records of this type.
    pub count: u64,
    /// The tab of records whose type the layout does not know.
    pub unknown: bool,
}

impl Tab {
    /// What its tab or its entry in the list of record types says: its title and count.
    pub fn label(&self) -> String {
        format!("{} · {}", self.title, self.count)
    }
}

/// The most record types shown as a row of tabs; a file of more gets one list of them.
pub const TAB_STRIP_MOST: usize = 8;

/// Which rows the table shows.
#[derive(Debug, Clone)]
pub enum Rows {
    /// Straight from the store by position: this many rows.
    Paged(u64),
    /// An explicit list (search, sort, column filter).
    Listed(Arc<Vec<u32>>),
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> u64 {
        match self {
            Rows::Paged(n) => *n,
            Rows::Listed(v) => v.len() as u64,
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A cell being edited.
#[derive(Debug, Clone)]
pub struct Editing {
    /// View row.
    pub row: usize,
    /// Column as shown.
    pub col: usize,
    /// Field position.
    pub field: usize,
    /// Record.
    pub seq: u32,
    /// Text typed.
    pub text: String,
    /// Value before.
    pub original: String,
    /// Rules of the issues on this cell before the edit.
    pub rules: Vec<Rule>,
    /// Focus not yet given.
    pub fresh: bool,
}

pub use crate::store::FileState;

/// One rule's issues as the panel lists them (record, issue), and its counts by field.
pub type RuleIssues = (Vec<(Option<u32>, Issue)>, Vec<(String, u64)>);

/// Something the issues panel shows, read on the worker. What was last read stays shown while
/// it is read again after a change, so the panel never empties and fills again under the
/// pointer.
#[derive(Debug, Clone)]
pub struct Kept<T> {
    /// What was last read (None until the first answer).
    pub value: Option<T>,
    /// The change it was last asked for at.
    asked: u64,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            value: None,
            asked: 0,
        }
    }
}

impl<T> Kept<T> {
    /// True, once per change `now`, when it must be asked for: never read, or read before
    /// the change. (The worker answers in order, so the last answer is the newest.)
    pub fn wants(&mut self, now: u64) -> bool {
        if self.asked < now {
            self.asked = now;
            true
        } else {
            false
        }
    }

    /// An answer arrived.
    pub fn set(&mut self, v: T) {
        self.value = Some(v);
    }

    /// What was last read.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

/// Keeps the panel's groups where they were: a rule already listed keeps its place (and
/// takes its severity now), a new rule that blocks the batch joins the others that do at the
/// top, any other new rule goes at the end.
fn merge_order(order: &mut Vec<(Rule, Severity)>, now: &[(Rule, Severity, u64)]) {
    for (rule, sev, _) in now {
        if let Some(o) = order.iter_mut().find(|o| o.0 == *rule) {
            o.1 = *sev;
        } else if rule.blocks_batch(*sev) {
            let at = order.iter().take_while(|(r, s)| r.blocks_batch(*s)).count();
            order.insert(at, (*rule, *sev));
        } else {
            order.push((*rule, *sev));
        }
    }
}

/// Cells copied to the clipboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// The clipboard text (masked cells left empty).
    pub text: String,
    /// Values that left through the clipboard.
    pub cells: u64,
    /// Masked cells held back (copied as blanks).
    pub held: u64,
}

/// What a find-and-replace would change, (cells, records), once counted.
pub type Counted = Option<Result<(usize, usize), String>>;

/// One record's fields listed one under another with their issues, for fixing a wide record.
#[derive(Debug, Clone)]
pub struct RecordForm {
    /// View row.
    pub row: usize,
    /// Record.
    pub seq: u32,
    /// File line.
    pub line: u64,
    /// Values as typed.
    pub values: Vec<String>,
    /// Values as stored.
    pub original: Vec<String>,
    /// The record's issues.
    pub issues: Vec<Issue>,
}

/// "Apply this fix to the other cells with the same wrong value?"
#[derive(Debug, Clone)]
pub struct Offer {
    /// Rule.
    pub rule: Rule,
    /// Field position.
    pub field: usize,
    /// The wrong value that was corrected.
    pub was: String,
    /// Value typed.
    pub value: String,
    /// Other records with this issue and the same wrong value in this column.
    pub others: usize,
}

/// A bulk-fix dialog.
#[derive(Debug, Clone)]
pub enum Dialog {
    /// Find and replace in one column, or in every column.
    Replace {
        /// Column (None: every column).
        field: Option<usize>,
        /// Find.
        find: String,
        /// Replace with.
        replace: String,
        /// Whole value only.
        whole: bool,
    },
    /// Set one value on every selected cell.
    SetValue {
        /// The value.
        value: String,
    },
    /// Exclude the selected rows.
    Exclude {
        /// Why.
        reason: String,
    },
    /// Show the batch's masked personal data, for a reason.
    Reveal {
        /// Why.
        reason: String,
    },
}

/// The open batch.
pub struct BatchView {
    /// The batch.
    pub info: BatchInfo,
    /// Its layout.
    pub layout: Arc<Layout>,
    /// Tabs (one per record type).
    pub tabs: Vec<Tab>,
    /// Tab shown.
    pub tab: usize,
    /// Filter, search, column filters and sort in force.
    pub query: RowQuery,
    /// Rows shown.
    pub rows: Rows,
    /// Selection.
    pub sel: Option<Selection>,
    /// Cell being edited.
    pub editing: Option<Editing>,
    /// Issue counts by rule.
    pub by_rule: Vec<(Rule, Severity, u64)>,
    /// The rules' groups in the order the issues panel shows them: what blocks the batch
    /// first, as the batch opened; a group whose issues are all fixed keeps its place (shown
    /// fixed) and a new one comes at the end, so nothing in the panel moves while the officer
    /// works down it.
    pub rule_order: Vec<(Rule, Severity)>,
    /// The panel's facts are read again after each change; this counts the changes.
    pub panel_gen: u64,
    /// Issues of the rules opened in the issues panel, and their counts by field.
    pub rule_issues: HashMap<Rule, Kept<RuleIssues>>,
    /// Suggested fixes of the cells of a rule, worked out by the worker.
    pub suggestions: HashMap<Rule, Kept<Result<Vec<crate::store::search::Suggestion>, String>>>,
    /// The repairs of the batch.
    pub repairs: Kept<Result<crate::store::search::Repairs, String>>,
    /// Repairs applied, by field and kind: shown applied in their place.
    pub applied: std::collections::HashSet<String>,
    /// Suggested fixes applied, by rule and kind: shown applied in their place.
    pub applied_fixes: std::collections::HashSet<(Rule, crate::fixes::FixKind)>,
    /// The repairs' groups in the order first shown.
    pub repair_order: Vec<String>,
    /// Row to scroll to on the next frame.
    pub scroll_to: Option<usize>,
    /// Column (as shown) to scroll to on the next frame.
    pub scroll_col: Option<usize>,
    /// The order of the columns of the tab shown.
    pub cols: Columns,
    /// Rows and columns (as shown) drawn in the last frame, for tests and the status bar.
    pub visible: (std::ops::Range<u64>, std::ops::Range<usize>),
    /// Where the table's scrolling cells were drawn in the last frame: right of the columns
    /// that stay put, below the header.
    pub table_rect: egui::Rect,
    /// The row list was made before the last change: fixed records are still listed (marked
    /// fixed) until the officer refreshes it, so nothing moves under the cursor.
    pub stale: bool,
    /// The record (and column) the cursor should find again once a new row list arrives.
    follow: Option<(u32, usize)>,
    /// The next row list opens at its first row (a new search).
    to_top: bool,
    /// File-level problems still open, acceptances and the batches a reference may be
    /// checked against: read once, and again after a change (never every frame).
    pub file_state: Kept<FileState>,
    /// Reasons being typed to accept file-level problems, by rule.
    pub accept_reasons: HashMap<Rule, String>,
    /// The reference batch picked per referenced interface.
    pub reference_pick: HashMap<String, Option<i64>>,
    /// Centre that row (a jump from the issues panel) rather than just bring it into view.
    pub scroll_center: bool,
    /// Bulk dialog open.
    pub dialog: Option<Dialog>,
    /// Same-issue offer shown after an edit.
    pub offer: Option<Offer>,
    /// The record form, when open.
    pub form: Option<RecordForm>,
    /// Personal data (fields marked sensitive) is shown for this batch: set only once the
    /// reveal and its reason are in the access log.
    pub revealed: bool,
    /// Edit log, when the audit view is open.
    pub audit: Option<Vec<EditEntry>>,
    /// File line of each edited record, for the audit view.
    pub audit_lines: HashMap<u32, u64>,
    /// Search box text (applied with Enter).
    pub search_text: String,
    /// Column of the column filter.
    pub filter_col: usize,
    /// Column filter text (applied with Enter).
    pub filter_text: String,
    /// Problem reading the store, shown above the table.
    pub error: Option<String>,
    /// A note about the officer's last action (a masked cell that cannot be typed into, a
    /// record not in the list), shown above the table until the cursor moves.
    pub note: Option<String>,
    /// What the Replace dialog's inputs would change, counted by the worker: the inputs it
    /// was counted for, and (cells, records) or why it could not be counted.
    pub replace_preview: Option<(String, Counted)>,
    focus_search: bool,
    /// Bumped whenever the cached pages stop being right (a change, a new list): answers for
    /// an older generation are dropped.
    generation: u64,
    /// Pages asked of the reader and not yet answered (this generation).
    asked: std::collections::HashSet<u64>,
    /// Pages to ask the reader for (taken by the window each frame).
    page_jobs: Vec<PageJob>,
    /// Fit the columns to their content once the first rows of the tab are in.
    fit_columns: bool,
    /// Accessibility ids of the column headers (shown column → id), from the last frame.
    header_ids: HashMap<usize, egui::Id>,
    cache: HashMap<u64, Page>,
    token: u64,
    request: Option<(u64, RowQuery)>,
    waiting: Option<u64>,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("The batch could not be read from the store: {e}")
}

impl BatchView {
    /// Opens a stored batch.
    pub fn open(store: &mut Store, id: i64) -> crate::store::Result<Self> {
        let info = store.batch(id)?;
        let layout = store.batch_layout(id)?;
        let mut tabs = Vec::new();
        if layout.discriminator.is_some() {
            for (i, r) in layout.records.iter().enumerate() {
                let filter = PageFilter {
                    rejected_only: false,
                    record_type: Some(r.code.clone()),
                };
                let count = store.count(id, &filter)?;
                tabs.push(Tab {
                    code: Some(r.code.clone()),
                    record: i,
                    title: format!("{} ({})", r.name, r.code),
                    count,
                    unknown: false,
                });
            }
            let untyped = store.untyped_seqs(id)?.len() as u64;
            if untyped > 0 {
                tabs.push(Tab {
                    code: None,
                    record: usize::MAX,
                    title: "Unknown record type".into(),
                    count: untyped,
                    unknown: true,
                });
            }
        } else {
            tabs.push(Tab {
                code: None,
                record: 0,
                title: layout
                    .records
                    .first()
                    .map_or_else(|| "Records".into(), |r| r.name.clone()),
                count: info.records,
                unknown: false,
            });
        }
        // Start on the first tab with records that is not a header.
        let tab = tabs
            .iter()
            .position(|t| {
                t.count > 1 || layout.records[t.record].role == crate::layout::Role::Detail
            })
            .unwrap_or(0);
        let query = RowQuery {
            filter: PageFilter {
                rejected_only: false,
                record_type: tabs.get(tab).and_then(|t| t.code.clone()),
            },
            ..Default::default()
        };
        let rows = Rows::Paged(store.count(id, &query.filter)?);
        let by_rule = store.issues_by_rule(id)?;
        let rule_order = by_rule.iter().map(|(r, s, _)| (*r, *s)).collect();
        let mut v = Self {
            info,
            layout,
            tabs,
            tab,
            query,
            rows,
            sel: Some(Selection::cell(0, 0)),
            editing: None,
            by_rule,
            rule_order,
            panel_gen: 1,
            rule_issues: HashMap::new(),
            suggestions: HashMap::new(),
            repairs: Kept::default(),
            applied: Default::default(),
            applied_fixes: Default::default(),
            repair_order: Vec::new(),
            file_state: Kept::default(),
            accept_reasons: HashMap::new(),
            reference_pick: HashMap::new(),
            scroll_to: None,
            scroll_col: None,
            cols: Columns::default(),
            visible: (0..0, 0..0),
            table_rect: egui::Rect::NOTHING,
            stale: false,
            follow: None,
            to_top: false,
            scroll_center: false,
            dialog: None,
            offer: None,
            form: None,
            revealed: false,
            audit: None,
            audit_lines: HashMap::new(),
            search_text: String::new(),
            filter_col: 0,
            filter_text: String::new(),
            error: None,
            note: None,
            replace_preview: None,
            focus_search: false,
            generation: 0,
            asked: Default::default(),
            page_jobs: Vec::new(),
            fit_columns: true,
            header_ids: HashMap::new(),
            cache: HashMap::new(),
            token: 0,
            request: None,
            waiting: None,
        };
        v.cols = v.tab_columns();
        Ok(v)
    }

    /// The worker counted what the Replace dialog would change.
    pub fn preview_ready(&mut self, result: Result<(usize, usize), String>) {
        if let Some((_, slot)) = &mut self.replace_preview {
            *slot = Some(result);
        }
    }

    /// Opens the record form on the record at view row `row`.
    pub fn open_form(&mut self, store: &Store, row: usize) {
        if let Some((rec, issues)) = self.row(store, row) {
            let n = self.column_names().len().max(rec.fields.len());
            let mut values = rec.fields.clone();
            values.resize(n, String::new());
            self.form = Some(RecordForm {
                row,
                seq: rec.seq,
                line: rec.line,
                original: values.clone(),
                values,
                issues,
            });
        }
    }

    /// The record form: every field of one record, its issues beneath, saved as one change.
    fn form_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let Some(mut f) = self.form.take() else {
            return;
        };
        let names = self.column_names();
        let fields: Vec<Field> = self.fields().to_vec();
        let masked: Vec<bool> = (0..names.len()).map(|i| self.masked(i)).collect();
        let mut open = true;
        let mut close = false;
        let mut go: Option<usize> = None;
        let changed: Vec<usize> = (0..f.values.len())
            .filter(|i| f.values[*i] != f.original[*i])
            .collect();
        egui::Window::new(format!("Record on line {}", f.line))
            .id(egui::Id::unique("record-form"))
            .open(&mut open)
            .default_size([460.0, 520.0])
            .anchor(egui::Align2::RIGHT_TOP, [-20.0, 90.0])
            .show(ui.ctx(), |ui| {
                let record: Vec<&Issue> = f
                    .issues
                    .iter()
                    .filter(|i| i.field_index.is_none())
                    .collect();
                for i in record {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("{}: {}", i.rule.title(), shown(&i.message)),
                    );
                }
                egui::ScrollArea::vertical()
                    .id_salt("record-form-fields")
                    .max_height(ui.available_height() - 40.0)
                    .show(ui, |ui| {
                        egui::Grid::new("record-form-grid")
                            .num_columns(2)
                            .striped(true)
                            .show(ui, |ui| {
                                for (i, name) in names.iter().enumerate() {
                                    let l = ui.label(name);
                                    let l_id = l.id;
                                    if let Some(fd) = fields.get(i) {
                                        l.on_hover_ui(|ui| field_tooltip(ui, fd));
                                    }
                                    ui.vertical(|ui| {
                                        let fixed = fields.get(i).is_some_and(|fd| {
                                            fd.generate.is_some() || fd.control.is_some()
                                        });
                                        if masked.get(i).copied().unwrap_or(false) {
                                            let m = fields
                                                .get(i)
                                                .and_then(|fd| fd.mask(f.values.get(i).map_or("", |v| v.as_str())))
                                                .unwrap_or_default();
                                            ui.label(m).labelled_by(l_id).on_hover_text(
                                                "Personal data, masked: Show personal data… to see it",
                                            );
                                        } else if let Some(v) = f.values.get_mut(i) {
                                            ui.horizontal(|ui| {
                                                ui.add_enabled(
                                                    !fixed,
                                                    egui::TextEdit::singleline(v).desired_width(200.0),
                                                )
                                                .labelled_by(l_id);
                                                // A coded field: its codes, with their meanings.
                                                if let Some(fd) = fields.get(i).filter(|fd| !fd.codes.is_empty() && !fixed) {
                                                    egui::ComboBox::from_id_salt(("form-codes", i))
                                                        .selected_text("Codes")
                                                        .width(90.0)
                                                        .show_ui(ui, |ui| {
                                                            for c in &fd.codes {
                                                                ui.selectable_value(v, c.clone(), fd.code_label(c));
                                                            }
                                                        })
                                                        .response
                                                        .on_hover_text(format!("The codes {} allows", fd.name));
                                                }
                                            });
                                        }
                                        for is in
                                            f.issues.iter().filter(|x| x.field_index == Some(i))
                                        {
                                            ui.colored_label(
                                                ui.visuals().error_fg_color,
                                                format!(
                                                    "{}: {}",
                                                    is.rule.title(),
                                                    shown(&is.message)
                                                ),
                                            );
                                        }
                                    });
                                    ui.end_row();
                                }
                            });
                    });
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(
                            !changed.is_empty(),
                            egui::Button::new(format!("Save {} change(s)", changed.len())),
                        )
                        .on_hover_text("One change in the log; one Undo reverses it")
                        .clicked()
                    {
                        cmds.push(Command::Data(Data::Edit {
                            changes: changed
                                .iter()
                                .map(|i| Change::Set {
                                    seq: f.seq,
                                    field: *i,
                                    value: f.values[*i].clone(),
                                })
                                .collect(),
                            label: format!(
                                "Record form: {} field(s) on line {}",
                                changed.len(),
                                f.line
                            ),
                        }));
                        close = true;
                    }
                    let clean = changed.is_empty();
                    if ui
                        .add_enabled(clean && f.row > 0, egui::Button::new("‹ Previous record"))
                        .clicked()
                    {
                        go = Some(f.row - 1);
                    }
                    if ui
                        .add_enabled(
                            clean && f.row + 1 < self.rows.len() as usize,
                            egui::Button::new("Next record ›"),
                        )
                        .clicked()
                    {
                        go = Some(f.row + 1);
                    }
                });
            });
        if let Some(r) = go {
            let col = self.sel.map_or(0, |s| s.cursor.1);
            self.sel = Some(Selection::cell(r, col));
            self.scroll_to = Some(r);
            self.open_form(store, r);
            return;
        }
        if open && !close {
            self.form = Some(f);
        }
    }

    /// Shows or masks personal data; the columns are measured again for what is shown.
    pub fn set_revealed(&mut self, on: bool) {
        self.revealed = on;
        self.fit_columns = true;
    }

    /// True when the tab's field `field` holds personal data that is masked now.
    pub fn masked(&self, field: usize) -> bool {
        !self.revealed
            && self
                .fields()
                .get(field)
                .is_some_and(|f| f.sensitive.is_some())
    }

    /// True when the batch's layout marks any field as personal data.
    pub fn has_sensitive(&self) -> bool {
        self.layout
            .records
            .iter()
            .any(|r| r.fields.iter().any(|f| f.sensitive.is_some()))
    }

    /// A value as shown: masked while its field's personal data is not revealed.
    pub fn shown_value<'a>(&self, field: usize, v: &'a str) -> std::borrow::Cow<'a, str> {
        match self.fields().get(field) {
            Some(f) if !self.revealed => f.mask(v).map_or_else(|| shown(v), Into::into),
            _ => shown(v),
        }
    }

    /// Puts the keyboard in the search box (Ctrl+F, Edit ▸ Find).
    pub fn find(&mut self) {
        self.focus_search = true;
    }

    /// Reads the edit log (and the lines of the records it touches) for the audit view.
    pub fn load_audit(&mut self, store: &Store) {
        match (store.edits(self.info.id), store.edited_lines(self.info.id)) {
            (Ok(e), Ok(l)) => {
                self.audit = Some(e);
                self.audit_lines = l;
            }
            (Err(e), _) | (_, Err(e)) => self.error = Some(err(e)),
        }
    }

    /// Fields of the tab shown.
    pub fn fields(&self) -> &[Field] {
        let ri = self.tabs.get(self.tab).map_or(0, |t| t.record);
        self.layout
            .records
            .get(ri)
            .map_or(&[][..], |r| r.fields.as_slice())
    }

    /// True when the tab shown holds records of a type the layout does not know.
    pub fn unknown_tab(&self) -> bool {
        self.tabs.get(self.tab).is_some_and(|t| t.unknown)
    }

    /// Column titles of the tab shown, by field position: the layout's field names, or
    /// "Field 1", "Field 2", … for records of an unknown type.
    pub fn column_names(&self) -> Vec<String> {
        if self.unknown_tab() {
            (1..=self.unknown_width())
                .map(|i| format!("Field {i}"))
                .collect()
        } else {
            self.fields().iter().map(|f| f.name.clone()).collect()
        }
    }

    fn unknown_width(&self) -> usize {
        self.layout
            .records
            .iter()
            .map(|r| r.fields.len())
            .max()
            .unwrap_or(1)
    }

    /// The column order of the tab shown: key fields first.
    fn tab_columns(&self) -> Columns {
        if self.unknown_tab() {
            return Columns::plain(self.unknown_width());
        }
        let ri = self.tabs.get(self.tab).map_or(0, |t| t.record);
        self.layout
            .records
            .get(ri)
            .map_or_else(Columns::default, Columns::of)
    }

    /// Shows tab `t`: its columns, no sort or column filter, the cursor at the top.
    pub fn set_tab(&mut self, store: &Store, t: usize) {
        self.tab = t;
        self.fit_columns = true;
        self.cols = self.tab_columns();
        self.query.sort = None;
        self.query.column_filters.clear();
        self.filter_text.clear();
        self.filter_col = 0;
        // A new tab starts at its top: no record of the old tab is looked for in it.
        self.sel = None;
        self.follow = None;
        self.requery(store);
        self.sel = Some(Selection::cell(0, 0));
    }

    /// Number of columns of the tab shown (besides the line number).
    pub fn ncols(&self) -> usize {
        self.cols.len()
    }

    /// The shown column of a field position (the column itself when out of range).
    pub fn col_of(&self, field: usize) -> usize {
        self.cols.col(field).unwrap_or(field)
    }

    /// Record type code of the tab shown.
    pub fn record_type(&self) -> Option<String> {
        self.tabs.get(self.tab).and_then(|t| t.code.clone())
    }

    /// A row-list request waiting to be sent to the worker.
    pub fn take_rows_request(&mut self) -> Option<(u64, RowQuery)> {
        let r = self.request.take();
        if let Some((t, _)) = &r {
            self.waiting = Some(*t);
        }
        r
    }

    /// True while a row list is being built.
    pub fn waiting_rows(&self) -> bool {
        self.waiting.is_some() || self.request.is_some()
    }

    /// The worker's answer to a row-list request.
    pub fn rows_ready(&mut self, store: &Store, token: u64, rows: Vec<u32>) {
        if self.waiting != Some(token) {
            return;
        }
        self.waiting = None;
        self.rows = Rows::Listed(Arc::new(rows));
        self.clear_pages();
        self.stale = false;
        if std::mem::take(&mut self.to_top) {
            self.follow = None;
            let col = self.sel.map_or(0, |s| s.cursor.1);
            self.sel = Some(Selection::cell(0, col));
            self.scroll_to = Some(0);
        }
        self.find_follow(store);
        self.clamp_selection();
    }

    /// Moves the cursor to the next (or previous) row of a search's matches, wrapping round.
    fn step_match(&mut self, by: i64) {
        let n = self.rows.len() as i64;
        if n == 0 {
            return;
        }
        let (r, c) = self.sel.map_or((0, 0), |s| s.cursor);
        let next = (r as i64 + by).rem_euclid(n) as usize;
        self.sel = Some(Selection::cell(next, c));
        self.scroll_to = Some(next);
        self.scroll_col = Some(c);
    }

    /// True when the rows are a list made by the worker: a search, a sort, a column filter, or
    /// the rejected rows. Such a list does not change when records are fixed (see `stale`).
    fn wants_list(&self) -> bool {
        self.query.needs_list() || self.query.filter.rejected_only
    }

    /// The record under the cursor, if its page is at hand.
    fn cursor_record(&self) -> Option<(u32, usize)> {
        let (row, col) = self.sel?.cursor;
        let page = self.cache.get(&(row as u64 / PAGE))?;
        page.recs.get(row % PAGE as usize).map(|r| (r.seq, col))
    }

    /// Puts the cursor back on the record it was on before the rows changed, if it is still
    /// shown; else at the top.
    fn find_follow(&mut self, store: &Store) {
        let Some((seq, col)) = self.follow.take() else {
            return;
        };
        match self.position_of(store, seq) {
            Some(row) => {
                self.sel = Some(Selection::cell(row, col));
                self.scroll_to = Some(row);
                self.scroll_col = Some(col);
            }
            None => {
                // Never onto another record: nothing is selected until the officer chooses.
                self.sel = None;
                self.note = Some(
                    "The record the cursor was on is not in this list, so nothing is selected."
                        .into(),
                );
            }
        }
    }

    /// Re-reads the rows after the query changed; the cursor stays on its record when the
    /// record is still shown.
    pub fn requery(&mut self, store: &Store) {
        if self.follow.is_none() {
            self.follow = self.cursor_record();
        }
        self.clear_pages();
        self.editing = None;
        self.stale = false;
        self.error = None;
        self.note = None;
        self.query.filter.record_type = self.record_type();
        if self.unknown_tab() {
            self.request = None;
            self.waiting = None;
            match store.untyped_seqs(self.info.id) {
                Ok(v) => self.rows = Rows::Listed(Arc::new(v)),
                Err(e) => self.error = Some(err(e)),
            }
        } else if self.wants_list() {
            self.token += 1;
            self.request = Some((self.token, self.query.clone()));
            return;
        } else {
            self.request = None;
            self.waiting = None;
            match store.count(self.info.id, &self.query.filter) {
                Ok(n) => self.rows = Rows::Paged(n),
                Err(e) => self.error = Some(err(e)),
            }
        }
        self.find_follow(store);
        self.clamp_selection();
    }

    /// After the worker changed records: re-read counts, issues and visible pages. A listed
    /// view keeps its rows (a fixed record stays where it is, marked fixed) until refreshed.
    pub fn after_edit(&mut self, store: &Store, _changed: &[u32]) {
        self.note = None;
        self.clear_pages();
        self.refresh_panel();
        match store.batch(self.info.id) {
            Ok(i) => self.info = i,
            Err(e) => self.error = Some(err(e)),
        }
        match store.issues_by_rule(self.info.id) {
            Ok(b) => {
                merge_order(&mut self.rule_order, &b);
                self.by_rule = b;
            }
            Err(e) => self.error = Some(err(e)),
        }
        match self.rows {
            Rows::Paged(_) => match store.count(self.info.id, &self.query.filter) {
                Ok(n) => self.rows = Rows::Paged(n),
                Err(e) => self.error = Some(err(e)),
            },
            Rows::Listed(_) => self.stale = true,
        }
        if self.audit.is_some() {
            self.load_audit(store);
        }
        self.clamp_selection();
    }

    /// The issues panel's facts are read again; what it shows stays until they arrive.
    pub fn refresh_panel(&mut self) {
        self.panel_gen += 1;
    }

    /// The issues panel is made afresh: fixed groups leave it, the rest in their order.
    pub fn tidy_panel(&mut self) {
        self.rule_order = self.by_rule.iter().map(|(r, s, _)| (*r, *s)).collect();
        self.repair_order.clear();
        self.applied.clear();
        self.applied_fixes.clear();
    }

    fn clamp_selection(&mut self) {
        let n = self.rows.len() as usize;
        let ncols = self.ncols().max(1);
        if let Some(s) = &mut self.sel {
            let last = n.saturating_sub(1);
            s.anchor = (s.anchor.0.min(last), s.anchor.1.min(ncols - 1));
            s.cursor = (s.cursor.0.min(last), s.cursor.1.min(ncols - 1));
        }
    }

    /// Forgets every cached page: they no longer show what the store holds.
    fn clear_pages(&mut self) {
        self.cache.clear();
        self.asked.clear();
        self.page_jobs.clear();
        self.generation += 1;
    }

    /// Where the rows come from, for the page reader.
    fn source(&self) -> PageSource {
        match &self.rows {
            Rows::Paged(_) => PageSource::Paged(self.query.filter.clone()),
            Rows::Listed(l) => PageSource::Listed(l.clone()),
        }
    }

    /// Keeps the cache small: pages far from `keep` go.
    fn evict(&mut self, keep: u64) {
        if self.cache.len() >= CACHE_PAGES {
            self.cache
                .retain(|p, _| p.abs_diff(keep) < (CACHE_PAGES / 4) as u64);
            self.asked
                .retain(|p| p.abs_diff(keep) < (CACHE_PAGES / 4) as u64);
        }
    }

    /// A page for drawing: from the cache, or asked of the reader (None until it arrives).
    /// Drawing never reads the store.
    fn page_cached(&mut self, p: u64) -> Option<&Page> {
        if !self.cache.contains_key(&p) {
            if self.waiting_rows() || !self.asked.insert(p) {
                return None;
            }
            self.evict(p);
            self.page_jobs.push(PageJob {
                batch: self.info.id,
                generation: self.generation,
                page: p,
                source: self.source(),
            });
            return None;
        }
        self.cache.get(&p)
    }

    /// A page for an action the officer took (copy, paste, edit): from the cache, else read now.
    /// None while a new row list is being made: the rows shown are not yet the rows the
    /// action would reach, so no action reaches any.
    fn page(&mut self, store: &Store, p: u64) -> Option<&Page> {
        if self.waiting_rows() {
            return None;
        }
        if !self.cache.contains_key(&p) {
            self.evict(p);
            match crate::pages::read_page(store, self.info.id, p, &self.source()) {
                Ok(page) => {
                    self.cache.insert(p, page);
                }
                Err(e) => {
                    self.error = Some(err(e));
                    return None;
                }
            }
        }
        self.cache.get(&p)
    }

    /// Pages to ask the reader for.
    pub fn take_page_jobs(&mut self) -> Vec<PageJob> {
        std::mem::take(&mut self.page_jobs)
    }

    /// A page the reader read.
    pub fn page_ready(&mut self, reply: PageReply) {
        if reply.batch != self.info.id || reply.generation != self.generation {
            return;
        }
        self.asked.remove(&reply.page);
        match reply.result {
            Ok(page) => {
                self.cache.insert(reply.page, page);
            }
            Err(crate::store::StoreError::Cancelled) => {}
            Err(e) => self.error = Some(err(e)),
        }
    }

    /// True while pages the table shows are being read.
    pub fn waiting_pages(&self) -> bool {
        !self.asked.is_empty() || !self.page_jobs.is_empty()
    }

    /// The record at a view row, with its issues, for drawing (None while its page is read).
    fn row_cached(&mut self, row: usize) -> Option<(StoredRecord, Vec<Issue>)> {
        let page = self.page_cached(row as u64 / PAGE)?;
        let rec = page.recs.get(row % PAGE as usize)?;
        Some((
            rec.clone(),
            page.issues.get(&rec.seq).cloned().unwrap_or_default(),
        ))
    }

    /// The record at a view row, with its issues.
    pub fn row(&mut self, store: &Store, row: usize) -> Option<(StoredRecord, Vec<Issue>)> {
        let p = row as u64 / PAGE;
        let page = self.page(store, p)?;
        let rec = page.recs.get(row % PAGE as usize)?;
        Some((
            rec.clone(),
            page.issues.get(&rec.seq).cloned().unwrap_or_default(),
        ))
    }

    /// Records of view rows `lo..=hi`.
    pub fn records(&mut self, store: &Store, lo: usize, hi: usize) -> Vec<StoredRecord> {
        let mut out = Vec::new();
        let hi = hi.min((self.rows.len() as usize).saturating_sub(1));
        if self.rows.is_empty() {
            return out;
        }
        for r in lo..=hi {
            let p = r as u64 / PAGE;
            if let Some(page) = self.page(store, p)
                && let Some(rec) = page.recs.get(r % PAGE as usize)
            {
                out.push(rec.clone());
            }
        }
        out
    }

    /// Selects the cell of record `seq`, field `field`, changing tab and clearing filters if
    /// needed, and centres it in both directions.
    pub fn jump(&mut self, store: &Store, seq: u32, field: Option<usize>) {
        let rec = match store.record(self.info.id, seq) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(err(e));
                return;
            }
        };
        if let Some(t) = self
            .tabs
            .iter()
            .position(|t| t.code.is_none() || t.code == rec.record_type)
            && t != self.tab
        {
            self.query.search.clear();
            self.search_text.clear();
            self.set_tab(store, t);
        }
        let col = self
            .col_of(field.unwrap_or(0))
            .min(self.ncols().saturating_sub(1));
        let ready = !self.waiting_rows();
        let mut pos = if ready {
            self.position_of(store, seq)
        } else {
            None
        };
        if pos.is_none() {
            // Not in this view (or the view is still being listed): show every record.
            self.query = RowQuery {
                filter: PageFilter {
                    rejected_only: false,
                    record_type: self.record_type(),
                },
                ..Default::default()
            };
            self.search_text.clear();
            self.filter_text.clear();
            self.follow = Some((seq, col));
            self.requery(store);
            pos = self.position_of(store, seq);
        }
        self.follow = None;
        if let Some(row) = pos {
            self.sel = Some(Selection::cell(row, col));
            self.scroll_to = Some(row);
            self.scroll_col = Some(col);
            self.scroll_center = true;
        }
    }

    fn position_of(&self, store: &Store, seq: u32) -> Option<usize> {
        match &self.rows {
            Rows::Listed(l) => l.iter().position(|s| *s == seq),
            Rows::Paged(_) => match store.position(self.info.id, seq, &self.query.filter) {
                Ok(p) => p.map(|p| p as usize),
                Err(_) => None,
            },
        }
    }

    /// Starts editing the cell at the cursor.
    pub fn start_edit(&mut self, store: &Store) {
        let Some(sel) = self.sel else { return };
        let (row, col) = sel.cursor;
        let Some(field) = self.cols.field(col) else {
            return;
        };
        if self.masked(field) {
            self.note = Some(
                "This cell holds personal data, masked: use \"Show personal data…\" (with a reason, kept in the access log) to see and change it."
                    .into(),
            );
            return;
        }
        if let Some((rec, issues)) = self.row(store, row) {
            let v = rec.fields.get(field).cloned().unwrap_or_default();
            // The cell being typed into is always in view.
            self.scroll_to = Some(row);
            self.scroll_col = Some(col);
            self.editing = Some(Editing {
                row,
                col,
                field,
                seq: rec.seq,
                text: v.clone(),
                original: v,
                rules: issues
                    .iter()
                    .filter(|i| i.field_index == Some(field))
                    .map(|i| i.rule)
                    .collect(),
                fresh: true,
            });
        }
    }

    /// Commits the cell being edited (if its text changed): when Enter is pressed, the cell
    /// is left, or the window closes.
    pub fn commit_edit(&mut self, store: &Store, cmds: &mut Vec<Command>) {
        let Some(e) = self.editing.take() else { return };
        if e.text == e.original {
            return;
        }
        cmds.push(Command::Data(Data::Edit {
            changes: vec![Change::Set {
                seq: e.seq,
                field: e.field,
                value: e.text.clone(),
            }],
            label: "Edited 1 cell".into(),
        }));
        self.offer = None;
        if self.unknown_tab() {
            return;
        }
        let fits = self
            .tabs
            .get(self.tab)
            .and_then(|t| self.layout.records.get(t.record))
            .is_some_and(|r| r.one_value_fits_many(e.field));
        if !fits {
            return;
        }
        for rule in &e.rules {
            let others = store
                .same_value_seqs(
                    self.info.id,
                    *rule,
                    e.field,
                    self.record_type().as_deref(),
                    &e.original,
                )
                .map(|v| v.iter().filter(|s| **s != e.seq).count())
                .unwrap_or(0);
            if others > 0 {
                self.offer = Some(Offer {
                    rule: *rule,
                    field: e.field,
                    was: e.original.clone(),
                    value: e.text.clone(),
                    others,
                });
                break;
            }
        }
    }

    /// The selected cells as text for the clipboard: tab-separated, quoted where Excel needs it.
    pub fn copy_text(&mut self, store: &Store) -> String {
        self.copy_cells(store).text
    }

    /// The selected cells as clipboard text. Personal data that is masked is left out (empty),
    /// so it never leaves through the clipboard unrevealed; how many values left and how many
    /// were held back is counted, for the officer and the access log.
    pub fn copy_cells(&mut self, store: &Store) -> Copied {
        let Some(sel) = self.sel else {
            return Copied::default();
        };
        let (r0, r1) = sel.rows();
        let (c0, c1) = sel.cols();
        let fields: Vec<usize> = (c0..=c1).filter_map(|c| self.cols.field(c)).collect();
        let masked: Vec<bool> = fields.iter().map(|f| self.masked(*f)).collect();
        let records = self.records(store, r0, r1);
        let grid: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                fields
                    .iter()
                    .zip(&masked)
                    .map(|(f, m)| {
                        if *m {
                            String::new()
                        } else {
                            r.fields.get(*f).cloned().unwrap_or_default()
                        }
                    })
                    .collect()
            })
            .collect();
        let per_row = masked.iter().filter(|m| **m).count() as u64;
        let held = per_row * records.len() as u64;
        let cells = grid.iter().map(|r| r.len() as u64).sum::<u64>() - held;
        Copied {
            text: grid_text(&grid),
            cells,
            held,
        }
    }

    /// The changes pasting clipboard `text` (tab-separated, Excel's quoting) at the selection
    /// makes. A single value pasted over a larger selection fills it.
    pub fn paste_changes(&mut self, store: &Store, text: &str) -> Vec<Change> {
        let Some(sel) = self.sel else {
            return Vec::new();
        };
        let grid = parse_grid(text);
        let plan = paste_plan(sel, &grid, self.ncols());
        let rows = plan.iter().map(|p| p.0).max().map_or(0, |m| m + 1);
        if rows == 0 {
            return Vec::new();
        }
        let r0 = sel.rows().0;
        let recs = self.records(store, r0, r0 + rows - 1);
        let mut out = Vec::new();
        for (i, c, v) in plan {
            let (Some(rec), Some(field)) = (recs.get(i), self.cols.field(c)) else {
                continue;
            };
            if rec.fields.get(field) != Some(&v) {
                out.push(Change::Set {
                    seq: rec.seq,
                    field,
                    value: v,
                });
            }
        }
        out
    }

    fn selected_records(&mut self, store: &Store) -> Vec<StoredRecord> {
        match self.sel {
            Some(s) => {
                let (r0, r1) = s.rows();
                self.records(store, r0, r1)
            }
            None => Vec::new(),
        }
    }

    /// "Line 14, 15 and 16" (at most ten, then "and N more"): the records a bulk action will
    /// touch, as the officer sees them.
    fn lines_text(recs: &[StoredRecord]) -> String {
        let mut lines: Vec<String> = recs.iter().take(10).map(|r| r.line.to_string()).collect();
        let more = recs.len().saturating_sub(10);
        if more > 0 {
            lines.push(format!("{more} more"));
        }
        match lines.len() {
            0 => "no records".into(),
            1 => format!("line {}", lines[0]),
            _ => {
                let last = lines.pop().unwrap_or_default();
                format!("lines {} and {last}", lines.join(", "))
            }
        }
    }

    /// The table's keyboard: moves, selection, copy and paste, and typing into cells. `keys`
    /// is false while a window in front of the table (a dialog, the record form, a message)
    /// has the keyboard: then nothing typed reaches the table.
    ///
    /// Typing into a selected cell starts editing it with what was typed (as in Excel). Every
    /// character of the frame goes into the cell, in order, and the editor is given the
    /// keyboard before it is drawn, so no key pressed between the selection and the editor is
    /// lost; the events that started the edit are taken out of the frame's input so the editor
    /// does not see them twice.
    fn keyboard(&mut self, ui: &egui::Ui, store: &Store, keys: bool, cmds: &mut Vec<Command>) {
        let ctx = ui.ctx().clone();
        if !keys {
            return;
        }
        let find = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::F));
        if find {
            self.focus_search = true;
        }
        if let Some(e) = self.editing.as_mut().filter(|e| e.fresh) {
            // The editor is not drawn yet: what is typed meanwhile goes into the cell.
            let typed = take_text(&ctx, None);
            e.text.push_str(&typed);
            return;
        }
        if ctx.egui_wants_keyboard_input() || self.editing.is_some() {
            return;
        }
        // As Excel moves between sheets: Ctrl+Page Up and Ctrl+Page Down, the record type
        // before or after.
        for (key, step) in [(egui::Key::PageUp, -1), (egui::Key::PageDown, 1)] {
            if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, key)) {
                let to = self
                    .tab
                    .checked_add_signed(step)
                    .filter(|&t| t < self.tabs.len());
                if let Some(t) = to {
                    self.set_tab(store, t);
                }
                return;
            }
        }
        let n = self.rows.len() as usize;
        let ncols = self.ncols();
        if n == 0 || ncols == 0 {
            return;
        }
        let (events, shift) = ctx.input(|i| (i.events.clone(), i.modifiers.shift));
        let mut moved = false;
        // The index of the event that started an edit in this frame.
        let mut started: Option<usize> = None;
        for (at, ev) in events.iter().enumerate() {
            match ev {
                egui::Event::Copy => cmds.push(Command::View(View::Copy)),
                egui::Event::Paste(text) => {
                    let changes = self.paste_changes(store, text);
                    if !changes.is_empty() {
                        let label = format!("Pasted {} cell(s)", changes.len());
                        cmds.push(Command::Data(Data::Edit { changes, label }));
                    }
                }
                egui::Event::Text(t) if !t.trim().is_empty() && self.sel.is_some() => {
                    self.start_edit(store);
                    if let Some(e) = &mut self.editing {
                        e.text.clear();
                        started = Some(at);
                    }
                    break;
                }
                egui::Event::Key {
                    key: egui::Key::Delete,
                    pressed: true,
                    ..
                } => {
                    let changes = self.paste_changes(store, "");
                    if !changes.is_empty() {
                        let label = format!("Cleared {} cell(s)", changes.len());
                        cmds.push(Command::Data(Data::Edit { changes, label }));
                    }
                }
                egui::Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } => {
                    let sel = self.sel.get_or_insert(Selection::cell(0, 0));
                    let (mut r, mut c) = sel.cursor;
                    match key {
                        egui::Key::ArrowUp => r = r.saturating_sub(1),
                        egui::Key::ArrowDown => r = (r + 1).min(n - 1),
                        egui::Key::ArrowLeft => c = c.saturating_sub(1),
                        egui::Key::ArrowRight | egui::Key::Tab => c = (c + 1).min(ncols - 1),
                        egui::Key::PageUp => r = r.saturating_sub(20),
                        egui::Key::PageDown => r = (r + 20).min(n - 1),
                        // As in Excel: Ctrl+Home is the first cell, Ctrl+End the last.
                        egui::Key::Home if modifiers.command => (r, c) = (0, 0),
                        egui::Key::End if modifiers.command => (r, c) = (n - 1, ncols - 1),
                        egui::Key::Home => c = 0,
                        egui::Key::End => c = ncols - 1,
                        egui::Key::Enter | egui::Key::F2 => {
                            self.start_edit(store);
                            if self.editing.is_some() {
                                started = Some(at);
                                break;
                            }
                            continue;
                        }
                        egui::Key::C if modifiers.command => {
                            cmds.push(Command::View(View::Copy));
                            continue;
                        }
                        _ => continue,
                    }
                    if (r, c) != sel.cursor {
                        sel.cursor = (r, c);
                        if !shift {
                            sel.anchor = (r, c);
                        }
                        moved = true;
                    }
                }
                _ => {}
            }
        }
        if let Some(at) = started {
            // What was typed from the key that started the edit on goes into the cell, and
            // those events leave the frame's input.
            let typed = take_text(&ctx, Some(at));
            if let Some(e) = &mut self.editing {
                e.text.push_str(&typed);
            }
        }
        if moved {
            self.note = None;
            self.scroll_to = self.sel.map(|s| s.cursor.0);
            self.scroll_col = self.sel.map(|s| s.cursor.1);
        }
    }

    /// Draws the screen. `keys`: the table may take the keyboard (no window is in front).
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &Store, keys: bool, cmds: &mut Vec<Command>) {
        self.keyboard(ui, store, keys, cmds);
        self.toolbar_ui(ui, store, cmds);
        self.note_ui(ui, store);
        self.offer_ui(ui, cmds);
        self.dialog_ui(ui, store, cmds);
        self.form_ui(ui, store, cmds);
        self.audit_ui(ui);
        self.table_ui(ui, store, cmds);
    }

    /// One line above the table, always there whether or not it has something to say, so the
    /// table never moves under the pointer or the cursor: a problem reading the store, a note
    /// about the last action, a search under way, or the list kept as it was made.
    fn note_ui(&mut self, ui: &mut egui::Ui, store: &Store) {
        let size = egui::vec2(ui.available_width(), ROW_HEIGHT);
        let mut refresh = false;
        ui.allocate_ui_with_layout(
            size,
            egui::Layout::left_to_right(egui::Align::Center),
            |ui| {
                ui.set_min_size(size);
                let line = |ui: &mut egui::Ui, text: egui::RichText| {
                    let full = text.text().to_string();
                    ui.add(egui::Label::new(text).truncate())
                        .on_hover_text(full);
                };
                if let Some(e) = &self.error {
                    line(ui, egui::RichText::new(e).color(ui.visuals().error_fg_color));
                } else if self.waiting_rows() {
                    ui.spinner();
                    line(ui, egui::RichText::new("Searching the batch…"));
                } else if let Some(n) = &self.note {
                    line(ui, egui::RichText::new(n).color(ui.visuals().warn_fg_color));
                } else if self.stale {
                    refresh = ui
                        .button("Refresh the list")
                        .on_hover_text("Make the list again: fixed records leave it")
                        .clicked();
                    line(
                        ui,
                        egui::RichText::new(
                            "Records fixed since this list was made stay in it, ticked in green, so nothing moves under the cursor.",
                        )
                        .weak(),
                    );
                }
            },
        );
        if refresh {
            self.requery(store);
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let narrow = ui.available_width() < NARROW;
        ui.horizontal_wrapped(|ui| {
            ui.heading(&self.info.source_name);
            ui.label(format!(
                "{} · {} records · ",
                self.layout.name, self.info.records
            ));
            let rej = egui::RichText::new(format!("{} rejected", self.info.rejected)).strong();
            if self.info.rejected > 0 {
                ui.colored_label(ui.visuals().error_fg_color, rej);
            } else {
                ui.colored_label(egui::Color32::from_rgb(0, 140, 60), rej);
            }
            if self.info.file_errors > 0 {
                ui.label("·");
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    egui::RichText::new(format!(
                        "{} file problem(s) block export",
                        self.info.file_errors
                    ))
                    .strong(),
                );
            }
            ui.label(format!("· {} issues", self.info.issues));
        });
        if let Some(r) = &self.info.read_as {
            ui.label(egui::RichText::new(format!("Read as {r}")).weak())
                .on_hover_text("The records have the field counts of this version of the layout (see the Layouts screen)");
        }
        if let Some(from) = &self.info.made_from {
            ui.add(
                egui::Label::new(egui::RichText::new(format!("Made from {from}")).weak())
                    .truncate(),
            )
            .on_hover_text(format!(
                "Made from {from}. The header and trailer are made as the export makes them."
            ));
        }
        if self.tabs.len() > 1 {
            let mut pick = self.tab;
            if self.tabs.len() <= TAB_STRIP_MOST {
                // One tab per record type; the row wraps when the window is narrow.
                ui.horizontal_wrapped(|ui| {
                    for (i, t) in self.tabs.iter().enumerate() {
                        ui.selectable_value(&mut pick, i, t.label());
                    }
                });
            } else {
                // Many record types (ESR's data-warehouse extract has 40): tabs would fill a
                // small window, so one list of them, with the one before and after.
                let last = self.tabs.len() - 1;
                ui.horizontal(|ui| {
                    let label = ui.label("Record type:");
                    let current = self.tabs.get(self.tab).map(Tab::label).unwrap_or_default();
                    egui::ComboBox::from_id_salt("record-type")
                        .selected_text(current)
                        .width((ui.available_width() - 260.0).clamp(180.0, 420.0))
                        .height(ui.ctx().content_rect().height() * 0.6)
                        .show_ui(ui, |ui| {
                            for (i, t) in self.tabs.iter().enumerate() {
                                ui.selectable_value(&mut pick, i, t.label());
                            }
                        })
                        .response
                        .labelled_by(label.id)
                        .on_hover_text(
                            "Ctrl+Page Up and Ctrl+Page Down: the record type before or after",
                        );
                    if ui
                        .add_enabled(pick > 0, egui::Button::new("Previous"))
                        .on_hover_text("The record type before (Ctrl+Page Up)")
                        .clicked()
                    {
                        pick = pick.saturating_sub(1);
                    }
                    if ui
                        .add_enabled(pick < last, egui::Button::new("Next"))
                        .on_hover_text("The record type after (Ctrl+Page Down)")
                        .clicked()
                    {
                        pick = (pick + 1).min(last);
                    }
                    ui.label(
                        egui::RichText::new(format!("{} of {} types", pick + 1, last + 1)).weak(),
                    );
                });
            }
            if pick != self.tab {
                self.set_tab(store, pick);
            }
        }
        ui.horizontal_wrapped(|ui| {
            let mut rej = self.query.filter.rejected_only;
            let r = ui
                .checkbox(&mut rej, "Rejected rows only")
                .on_hover_text("Show only records with an error");
            if r.changed() {
                // The keyboard goes back to the table (Enter must not untick the box).
                r.surrender_focus();
                self.query.filter.rejected_only = rej;
                self.requery(store);
            }
            ui.separator();
            let label = ui.label("Search:");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search_text)
                        .hint_text("any field (Enter)")
                        .desired_width(if narrow { 110.0 } else { 160.0 }),
                )
                .labelled_by(label.id);
            if self.focus_search {
                r.request_focus();
                self.focus_search = false;
            }
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if enter || ui.button("Find").clicked() {
                self.query.search = self.search_text.trim().to_string();
                // A new search starts from the first match, as in Excel.
                self.to_top = true;
                self.requery(store);
            }
            if !self.query.search.is_empty() {
                if self.waiting_rows() {
                    ui.label("searching…");
                } else {
                    let n = self.rows.len();
                    let at = self.sel.map_or(0, |s| s.cursor.0 + 1);
                    ui.label(if n == 0 {
                        "no matches".to_string()
                    } else {
                        format!("match {at} of {n}")
                    });
                    if ui
                        .add_enabled(n > 0, egui::Button::new("‹ Previous"))
                        .on_hover_text("Previous match")
                        .clicked()
                    {
                        self.step_match(-1);
                    }
                    if ui
                        .add_enabled(n > 0, egui::Button::new("Next ›"))
                        .on_hover_text("Next match")
                        .clicked()
                    {
                        self.step_match(1);
                    }
                }
                if ui.button("Clear search").clicked() {
                    self.search_text.clear();
                    self.query.search.clear();
                    self.requery(store);
                }
            }
            ui.separator();
            let fields = self.column_names();
            let label = ui.label("Filter:");
            egui::ComboBox::from_id_salt("filter-col")
                .selected_text(fields.get(self.filter_col).cloned().unwrap_or_default())
                .width(if narrow { 100.0 } else { 140.0 })
                .show_ui(ui, |ui| {
                    for (i, f) in fields.iter().enumerate() {
                        ui.selectable_value(&mut self.filter_col, i, f);
                    }
                })
                .response
                .labelled_by(label.id);
            let label = ui.label("contains");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.filter_text)
                        .hint_text("text (Enter)")
                        .desired_width(if narrow { 80.0 } else { 110.0 }),
                )
                .labelled_by(label.id);
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                self.query.column_filters = vec![(self.filter_col, self.filter_text.clone())];
                self.requery(store);
            }
            if !self.query.column_filters.is_empty() && ui.button("Clear filter").clicked() {
                self.filter_text.clear();
                self.query.column_filters.clear();
                self.requery(store);
            }
        });
        // The actions: the common ones always in view; the rest inline in a wide window, or
        // under "More actions" in a narrow one, so the toolbar never fills the screen.
        ui.horizontal_wrapped(|ui| {
            let has_sel = self.sel.is_some() && !self.rows.is_empty();
            if ui
                .add_enabled(has_sel, egui::Button::new("Edit cell"))
                .on_hover_text("Double-click a cell, or press Enter or F2")
                .clicked()
            {
                self.start_edit(store);
            }
            if ui
                .add_enabled(has_sel, egui::Button::new("Record form…"))
                .on_hover_text("The selected record's fields one under another, with their issues")
                .clicked()
                && let Some(s) = self.sel
            {
                self.open_form(store, s.cursor.0);
            }
            ui.separator();
            if ui.button("Undo").on_hover_text("Ctrl+Z").clicked() {
                cmds.push(Command::Data(Data::Undo));
            }
            if ui.button("Redo").on_hover_text("Ctrl+Y").clicked() {
                cmds.push(Command::Data(Data::Redo));
            }
            if narrow {
                ui.separator();
                ui.menu_button("More actions", |ui| self.more_actions_ui(ui, store, cmds))
                    .response
                    .on_hover_text(
                        "Replace, set values, exclude or include rows, personal data, changes",
                    );
            } else {
                ui.separator();
                self.more_actions_ui(ui, store, cmds);
            }
        });
    }

    /// The actions a narrow window keeps under "More actions".
    fn more_actions_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let has_sel = self.sel.is_some() && !self.rows.is_empty();
        if ui
            .add_enabled(
                !self.rows.is_empty() && !self.unknown_tab(),
                egui::Button::new("Replace…"),
            )
            .on_hover_text("Find and replace within one column")
            .clicked()
        {
            self.replace_preview = None;
            self.dialog = Some(Dialog::Replace {
                field: self.sel.and_then(|s| self.cols.field(s.cursor.1)),
                find: String::new(),
                replace: String::new(),
                whole: false,
            });
        }
        if ui
            .add_enabled(has_sel, egui::Button::new("Set value…"))
            .on_hover_text("Set one value on every selected cell")
            .clicked()
        {
            self.dialog = Some(Dialog::SetValue {
                value: String::new(),
            });
        }
        if ui
            .add_enabled(has_sel, egui::Button::new("Exclude rows…"))
            .on_hover_text("Leave the selected rows out of exports (they stay visible)")
            .clicked()
        {
            self.dialog = Some(Dialog::Exclude {
                reason: String::new(),
            });
        }
        if ui
            .add_enabled(has_sel, egui::Button::new("Include rows"))
            .on_hover_text("Put excluded rows back into exports")
            .clicked()
        {
            let changes: Vec<Change> = self
                .selected_records(store)
                .iter()
                .filter(|r| r.excluded)
                .map(|r| Change::Include { seq: r.seq })
                .collect();
            if !changes.is_empty() {
                let label = format!("Included {} row(s)", changes.len());
                cmds.push(Command::Data(Data::Edit { changes, label }));
            }
        }
        if self.has_sensitive() {
            ui.separator();
            if self.revealed {
                    if ui
                        .button("Mask personal data")
                        .on_hover_text("Hide NI numbers, dates of birth, health and contact details again")
                        .clicked()
                    {
                        self.set_revealed(false);
                    }
                } else if ui
                    .button("Show personal data…")
                    .on_hover_text("Masked values (NI numbers, dates of birth, health, contact details) are shown for this batch once you give a reason; the reveal is logged")
                    .clicked()
                {
                    self.dialog = Some(Dialog::Reveal {
                        reason: String::new(),
                    });
                }
        }
        ui.separator();
        let label = if self.audit.is_some() {
            "Hide changes"
        } else {
            "Changes (audit)"
        };
        if ui
            .button(label)
            .on_hover_text("Every change to this batch: who, when, old » new")
            .clicked()
            && self.audit.take().is_none()
        {
            self.load_audit(store);
        }
    }

    fn offer_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let Some(o) = self.offer.clone() else { return };
        let field = self
            .column_names()
            .get(o.field)
            .cloned()
            .unwrap_or_default();
        // A floating box at the foot of the window: the table never moves under the pointer.
        egui::Window::new("The same fix elsewhere?")
            .id(egui::Id::unique("same-fix-offer"))
            .collapsible(false)
            .resizable(false)
            .title_bar(false)
            .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -40.0])
            .show(ui.ctx(), |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "{} other record(s) have \"{}\" in {field} ({}). Change them to \"{}\" too?",
                        o.others,
                        o.was,
                        o.rule.title().to_lowercase(),
                        o.value
                    ));
                    if ui
                        .button(format!("Apply to the {} other(s)", o.others))
                        .clicked()
                    {
                        cmds.push(Command::Data(Data::FixSameIssue {
                            rule: o.rule,
                            field: o.field,
                            record_type: self.record_type(),
                            was: o.was.clone(),
                            value: o.value.clone(),
                        }));
                        self.offer = None;
                    }
                    if ui.button("No thanks").clicked() {
                        self.offer = None;
                    }
                });
            });
    }

    fn dialog_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let Some(mut d) = self.dialog.take() else {
            return;
        };
        let fields = self.column_names();
        let selected_recs = match d {
            Dialog::Replace { .. } => Vec::new(),
            _ => self.selected_records(store),
        };
        let touched = Self::lines_text(&selected_recs);
        let col_names: Vec<String> = self
            .sel
            .map(|s| {
                let (c0, c1) = s.cols();
                (c0..=c1)
                    .filter_map(|c| self.cols.field(c))
                    .filter_map(|f| fields.get(f).cloned())
                    .collect()
            })
            .unwrap_or_default();
        let mut keep = true;
        let title = match &d {
            Dialog::Replace { .. } => "Find and replace",
            Dialog::SetValue { .. } => "Set value on selected cells",
            Dialog::Exclude { .. } => "Exclude rows",
            Dialog::Reveal { .. } => "Show personal data",
        };
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 120.0])
            .show(ui.ctx(), |ui| match &mut d {
                Dialog::Replace {
                    field,
                    find,
                    replace,
                    whole,
                } => {
                    egui::Grid::new("replace-grid").num_columns(2).show(ui, |ui| {
                        let l = ui.label("Column:");
                        let shown = field
                            .and_then(|f| fields.get(f).cloned())
                            .unwrap_or_else(|| "All columns".into());
                        egui::ComboBox::from_id_salt("replace-col")
                            .selected_text(shown)
                            .show_ui(ui, |ui| {
                                ui.selectable_value(field, None, "All columns");
                                for (i, f) in fields.iter().enumerate() {
                                    ui.selectable_value(field, Some(i), f);
                                }
                            })
                            .response
                            .labelled_by(l.id);
                        ui.end_row();
                        let l = ui.label("Find:");
                        ui.text_edit_singleline(find).labelled_by(l.id);
                        ui.end_row();
                        let l = ui.label("Replace with:");
                        ui.text_edit_singleline(replace).labelled_by(l.id);
                        ui.end_row();
                    });
                    ui.checkbox(whole, "Whole value only");
                    let mode = if *whole {
                        ReplaceMode::WholeValue
                    } else {
                        ReplaceMode::Contains
                    };
                    // The count shown belongs to exactly these inputs; any change asks again.
                    let key = format!("{field:?}\u{1}{find}\u{1}{replace}\u{1}{whole}");
                    if !find.is_empty()
                        && self.replace_preview.as_ref().is_none_or(|(k, _)| *k != key)
                    {
                        self.replace_preview = Some((key.clone(), None));
                        cmds.push(Command::Data(Data::Replace {
                            record_type: self.record_type(),
                            field: *field,
                            find: find.clone(),
                            replace: replace.clone(),
                            mode,
                            preview: true,
                        }));
                    }
                    let counted = match &self.replace_preview {
                        Some((k, Some(Ok((cells, recs))))) if *k == key && !find.is_empty() => {
                            ui.label(format!(
                                "Replace all will change {cells} cell(s) in {recs} record(s) of this tab (excluded rows are left alone); one Undo reverses it."
                            ));
                            *cells > 0
                        }
                        Some((k, Some(Err(e)))) if *k == key => {
                            ui.colored_label(ui.visuals().error_fg_color, e);
                            false
                        }
                        _ if find.is_empty() => {
                            ui.label("Type the text to find.");
                            false
                        }
                        _ => {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label("Counting the cells it would change…");
                            });
                            false
                        }
                    };
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(counted, egui::Button::new("Replace all"))
                            .clicked()
                        {
                            cmds.push(Command::Data(Data::Replace {
                                record_type: self.record_type(),
                                field: *field,
                                find: find.clone(),
                                replace: replace.clone(),
                                mode,
                                preview: false,
                            }));
                            keep = false;
                        }
                        if ui.button("Close").clicked() {
                            keep = false;
                        }
                    });
                }
                Dialog::SetValue { value } => {
                    let l = ui.label("New value:");
                    ui.text_edit_singleline(value).labelled_by(l.id);
                    ui.label(format!(
                        "Sets {} on {} record(s): {touched}. One Undo reverses it.",
                        col_names.join(", "),
                        selected_recs.len()
                    ));
                    ui.horizontal(|ui| {
                        if ui.button("Set").clicked() {
                            let changes = self.paste_changes(store, value);
                            if !changes.is_empty() {
                                let label = format!("Set {} cell(s)", changes.len());
                                cmds.push(Command::Data(Data::Edit { changes, label }));
                            }
                            keep = false;
                        }
                        if ui.button("Close").clicked() {
                            keep = false;
                        }
                    });
                }
                Dialog::Reveal { reason } => {
                    ui.label("NI and NHS numbers, dates of birth, health, pay and contact details are masked. Say why you need to see them in this batch; the reason, your name and the time go in the access log.");
                    let l = ui.label("Reason for showing:");
                    let r = ui.text_edit_singleline(reason).labelled_by(l.id);
                    // The keyboard starts in the reason box.
                    if reason.is_empty() && ui.memory(|m| m.focused().is_none()) {
                        r.request_focus();
                    }
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(reason.trim().len() >= 3, egui::Button::new("Show for this batch"))
                            .clicked()
                        {
                            cmds.push(Command::Data(Data::Reveal {
                                reason: reason.trim().to_string(),
                            }));
                            keep = false;
                        }
                        if ui.button("Close").clicked() {
                            keep = false;
                        }
                    });
                }
                Dialog::Exclude { reason } => {
                    let l = ui.label("Reason:");
                    ui.text_edit_singleline(reason).labelled_by(l.id);
                    ui.label(format!(
                        "{} record(s) will be left out of exports: {touched}. They stay in the table, struck through.",
                        selected_recs.len()
                    ));
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(!reason.trim().is_empty(), egui::Button::new("Exclude"))
                            .clicked()
                        {
                            let changes: Vec<Change> = self
                                .selected_records(store)
                                .iter()
                                .filter(|r| !r.excluded)
                                .map(|r| Change::Exclude {
                                    seq: r.seq,
                                    reason: reason.trim().to_string(),
                                })
                                .collect();
                            if !changes.is_empty() {
                                let label = format!("Excluded {} row(s)", changes.len());
                                cmds.push(Command::Data(Data::Edit { changes, label }));
                            }
                            keep = false;
                        }
                        if ui.button("Close").clicked() {
                            keep = false;
                        }
                    });
                }
            });
        if keep {
            self.dialog = Some(d);
        }
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let n = self.rows.len();
        if n == 0 && !self.waiting_rows() {
            ui.add_space(12.0);
            ui.label(if self.query.filter.rejected_only {
                "No rejected rows here."
            } else {
                "No rows match."
            });
            return;
        }
        let ncols = self.ncols();
        let keys = self.cols.keys;
        let mut columns = Vec::with_capacity(ncols + 1);
        columns.push(
            egui_table::Column::new(84.0)
                .range(64.0..=140.0)
                .resizable(false),
        );
        for c in 0..ncols {
            let field = self.cols.field(c).unwrap_or(c);
            columns.push(
                egui_table::Column::new(110.0)
                    .range(44.0..=360.0)
                    .resizable(true)
                    .id(egui::Id::unique(("field", field))),
            );
        }
        let mut table = egui_table::Table::new()
            .id_salt(("batch-table", self.info.id, self.tab))
            .num_rows(n)
            .columns(columns)
            .num_sticky_cols(1 + keys)
            .headers([egui_table::HeaderRow::new(ROW_HEIGHT + 4.0)]);
        let center = std::mem::take(&mut self.scroll_center);
        let align = center.then_some(egui::Align::Center);
        if let Some(r) = self.scroll_to.take() {
            table = table.scroll_to_row(r as u64, align);
        }
        if let Some(c) = self.scroll_col.take()
            && c >= keys
        {
            table = table.scroll_to_column(c + 1, align);
        }
        let fields: Vec<Field> = self.fields().to_vec();
        let mut grid = Grid {
            names: self.column_names(),
            unknown: self.unknown_tab(),
            fixed_mark: self.query.filter.rejected_only,
            error_tint: tint(ui, Severity::Error),
            warn_tint: tint(ui, Severity::Warning),
            sel_fill: ui.visuals().selection.bg_fill.gamma_multiply(0.55),
            cursor_stroke: egui::Stroke::new(1.5, ui.visuals().selection.stroke.color),
            stripe: ui.visuals().faint_bg_color,
            fields,
            view: self,
            row: None,
            out: GridOut::default(),
        };
        let area = ui.available_rect_before_wrap();
        let fit = grid.view.fit_columns && !grid.view.cache.is_empty();
        // The table's scroll position is kept per batch and tab: a batch opened for the first
        // time starts at its first line and column, and one opened again where it was left.
        let table_id = ui
            .push_id(("batch-table", grid.view.info.id, grid.view.tab), |ui| {
                let id = table.get_id(ui);
                table.show(ui, &mut grid);
                id
            })
            .inner;
        let out = grid.out;
        if fit {
            // The first rows are in: measure the columns again with them (once per tab).
            egui_table::TableState::reset(ui.ctx(), table_id);
            self.fit_columns = false;
            ui.ctx().request_repaint();
        }
        if let Some(v) = out.visible {
            self.visible = v;
        }
        self.table_rect = egui::Rect::from_min_max(
            egui::pos2(
                out.sticky_right.unwrap_or(area.min.x),
                area.min.y + ROW_HEIGHT + 4.0,
            ),
            area.max,
        );
        if out.commit {
            self.commit_edit(store, cmds);
            if let Some(s) = &mut self.sel {
                let down = (s.cursor.0 + 1).min((n as usize).saturating_sub(1));
                *s = Selection::cell(down, s.cursor.1);
                self.scroll_to = Some(down);
            }
        }
        if out.cancel {
            self.editing = None;
        }
        if let Some((r, c, shift)) = out.clicked {
            self.note = None;
            if self.editing.is_some() {
                self.commit_edit(store, cmds);
            }
            match (&mut self.sel, shift) {
                (Some(s), true) => s.cursor = (r, c),
                _ => self.sel = Some(Selection::cell(r, c)),
            }
        }
        if let Some((r, c)) = out.double {
            self.sel = Some(Selection::cell(r, c));
            self.start_edit(store);
        }
        if let Some(s) = out.new_sort {
            self.query.sort = s;
            self.requery(store);
        }
    }
}

/// What the table's cells asked for while being drawn.
#[derive(Default)]
struct GridOut {
    clicked: Option<(usize, usize, bool)>,
    double: Option<(usize, usize)>,
    commit: bool,
    cancel: bool,
    new_sort: Option<Option<(usize, bool)>>,
    visible: Option<(std::ops::Range<u64>, std::ops::Range<usize>)>,
    sticky_right: Option<f32>,
}

/// A record and its issues, shared by the cells of its row.
type SharedRow = std::rc::Rc<(StoredRecord, Vec<Issue>)>;

/// Draws the batch table through `egui_table`: the Line column and the key columns stay put
/// while the rest scrolls both ways; only the visible cells are drawn.
struct Grid<'a> {
    view: &'a mut BatchView,
    /// The row whose cells are being drawn, read once for all its cells.
    row: Option<(usize, SharedRow)>,
    fields: Vec<Field>,
    names: Vec<String>,
    unknown: bool,
    fixed_mark: bool,
    error_tint: egui::Color32,
    warn_tint: egui::Color32,
    sel_fill: egui::Color32,
    cursor_stroke: egui::Stroke,
    stripe: egui::Color32,
    out: GridOut,
}

/// A label that is cut short with "…" when the column is narrower than its text, except while
/// the table measures its columns (then it takes the width it needs).
fn cell_label(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) -> egui::Response {
    let mut l = egui::Label::new(text).selectable(false);
    if !ui.is_sizing_pass() {
        l = l.truncate();
    }
    ui.add(l)
}

impl egui_table::TableDelegate for Grid<'_> {
    fn prepare(&mut self, info: &egui_table::PrefetchInfo) {
        let cols = info.visible_columns.start.saturating_sub(1)
            ..info.visible_columns.end.saturating_sub(1);
        self.out.visible = Some((info.visible_rows.clone(), cols));
        // Ask for the pages of the visible rows (and the next one) before the cells want them.
        let (lo, hi) = (info.visible_rows.start, info.visible_rows.end);
        if hi > lo {
            let last = (self.view.rows.len().saturating_sub(1)) / PAGE;
            for p in lo / PAGE..=((hi - 1) / PAGE + 1).min(last) {
                let _ = self.view.page_cached(p);
            }
        }
    }

    fn header_cell_ui(&mut self, ui: &mut egui::Ui, cell: &egui_table::HeaderCellInfo) {
        if cell.col_range.start == self.view.cols.keys {
            // The last column that stays put: the scrolling cells start right of it.
            self.out.sticky_right = Some(ui.max_rect().right());
        }
        ui.add_space(4.0);
        let Some(col) = cell.col_range.start.checked_sub(1) else {
            ui.strong("Line");
            return;
        };
        let Some(field) = self.view.cols.field(col) else {
            return;
        };
        let name = self.names.get(field).cloned().unwrap_or_default();
        let sort = self.view.query.sort;
        let arrow = match sort {
            Some((c, desc)) if c == field => Some(desc),
            _ => None,
        };
        if let Some(desc) = arrow {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            paint_sort_arrow(ui, rect, desc);
        }
        let mut l =
            egui::Label::new(egui::RichText::new(name).strong()).sense(egui::Sense::click());
        if !ui.is_sizing_pass() {
            l = l.truncate();
        }
        let fields = &self.fields;
        let r = ui.add(l).on_hover_ui(|ui| match fields.get(field) {
            Some(f) => field_tooltip(ui, f),
            None => {
                ui.label(
                    "This record's type is not in the layout: its values are shown by position.",
                );
            }
        });
        self.view.header_ids.insert(col, r.id);
        if r.clicked() && !self.unknown {
            self.out.new_sort = Some(match sort {
                Some((c, false)) if c == field => Some((field, true)),
                Some((c, true)) if c == field => None,
                _ => Some((field, false)),
            });
        }
    }

    fn row_ui(&mut self, ui: &mut egui::Ui, row_nr: u64) {
        if row_nr % 2 == 1 {
            ui.painter().rect_filled(ui.max_rect(), 0.0, self.stripe);
        }
    }

    fn cell_ui(&mut self, ui: &mut egui::Ui, cell: &egui_table::CellInfo) {
        let r = cell.row_nr as usize;
        // One copy of the record a row, shared by its cells (not one a cell).
        if self.row.as_ref().is_none_or(|(i, _)| *i != r) {
            self.row = self
                .view
                .row_cached(r)
                .map(|data| (r, std::rc::Rc::new(data)));
        }
        let Some((_, data)) = &self.row else {
            ui.weak("…");
            return;
        };
        let data = data.clone();
        let (rec, issues) = (&data.0, &data.1);
        let rect = ui.max_rect();
        let resp = ui.interact(rect, ui.scope_id().with("cell"), egui::Sense::click());
        let Some(c) = cell.col_nr.checked_sub(1) else {
            // The Line column: the record's mark and file line.
            let record_issues: Vec<&Issue> =
                issues.iter().filter(|i| i.field_index.is_none()).collect();
            if !record_issues.is_empty() {
                ui.painter().rect_filled(rect, 0.0, self.error_tint);
            }
            let fixed = self.fixed_mark && !rec.rejected && !rec.excluded;
            let mark = if rec.excluded {
                "–"
            } else if rec.rejected {
                "×"
            } else {
                " "
            };
            let mut t = egui::RichText::new(format!("{mark} {}", rec.line));
            if rec.excluded {
                t = t.strikethrough().weak();
            } else if rec.rejected {
                t = t.color(ui.visuals().error_fg_color);
            } else if fixed {
                t = t.color(egui::Color32::from_rgb(0, 140, 60));
            }
            ui.add_space(4.0);
            if fixed {
                let (r, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                paint_tick(ui, r);
            }
            cell_label(ui, t);
            let mut tip: Vec<String> = record_issues
                .iter()
                .map(|i| format!("{}: {}", i.rule.title(), shown(&i.message)))
                .collect();
            if rec.excluded {
                tip.push(format!(
                    "Excluded from exports: {}",
                    rec.exclude_reason.clone().unwrap_or_default()
                ));
            }
            if fixed {
                tip.push("Fixed since this list was made.".into());
            }
            // ESR's answer: a dot at the cell's right of a row not accepted, its status and message
            // on hover.
            if let Some(a) = self
                .view
                .file_state
                .get()
                .and_then(|f| f.hub.rows.get(&rec.seq))
            {
                // The panel's facts hold the rows ESR did not accept.
                let colour = if a.status == crate::layout::RowStatus::Rejected {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().warn_fg_color
                };
                let c = egui::pos2(rect.right() - 6.0, rect.center().y);
                ui.painter().circle_filled(c, 3.5, colour);
                tip.push(format!(
                    "ESR: {}{}",
                    a.status.as_str(),
                    a.message
                        .as_deref()
                        .map(|m| format!(": {}", shown(m)))
                        .unwrap_or_default()
                ));
            }
            if resp.clicked() {
                self.out.clicked = Some((r, 0, resp.ctx.input(|i| i.modifiers.shift)));
            }
            if !tip.is_empty() {
                resp.on_hover_text(tip.join("\n"));
            }
            return;
        };
        let Some(field) = self.view.cols.field(c) else {
            return;
        };
        let value = rec.fields.get(field).map_or("", |s| s.as_str());
        let cell_issues: Vec<&Issue> = issues
            .iter()
            .filter(|i| i.field_index == Some(field))
            .collect();
        let sel = self.view.sel;
        let editing_here = matches!(&self.view.editing, Some(e) if e.row == r && e.col == c);
        if let Some(i) = cell_issues.first() {
            let t = if i.severity == Severity::Error || cell_issues.len() > 1 {
                self.error_tint
            } else {
                self.warn_tint
            };
            ui.painter().rect_filled(rect, 0.0, t);
        }
        if sel.is_some_and(|s| s.contains(r, c)) {
            ui.painter().rect_filled(rect, 0.0, self.sel_fill);
        }
        if sel.is_some_and(|s| s.cursor == (r, c)) {
            ui.painter().rect_stroke(
                rect.shrink(1.0),
                0.0,
                self.cursor_stroke,
                egui::StrokeKind::Inside,
            );
        }
        if editing_here {
            let name = self.names.get(field).cloned().unwrap_or_default();
            let hint = self.fields.get(field).map(|f| f.format.to_string());
            let header = self.view.header_ids.get(&c).copied();
            if let Some(e) = &mut self.view.editing {
                let editor = egui::Id::unique("cell-editor");
                if e.fresh {
                    // A new edit: the caret at the end of the value (never where an earlier
                    // edit left it), and the keyboard given before the editor is drawn, so
                    // it takes this frame's keys.
                    let mut state =
                        egui::text_edit::TextEditState::load(ui.ctx(), editor).unwrap_or_default();
                    let end = egui::text::CCursor::new(e.text.chars().count());
                    state
                        .cursor
                        .set_char_range(Some(egui::text::CCursorRange::one(end)));
                    state.store(ui.ctx(), editor);
                    ui.memory_mut(|m| m.request_focus(editor));
                    e.fresh = false;
                }
                let mut te = egui::TextEdit::singleline(&mut e.text)
                    .id(editor)
                    .desired_width(f32::INFINITY);
                if let Some(h) = hint {
                    te = te.hint_text(h);
                }
                let mut tr = ui.add(te);
                match header {
                    Some(h) => tr = tr.labelled_by(h),
                    None => tr.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name)
                    }),
                }
                // A coded field lists its codes under the cell (each with its meaning where the
                // layout gives one), narrowed by what is typed.
                let codes: Vec<(String, String)> = self
                    .fields
                    .get(field)
                    .map(|f| {
                        f.codes
                            .iter()
                            .map(|c| (c.clone(), f.code_label(c)))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut picked: Option<String> = None;
                if !codes.is_empty() {
                    // Every code until something is typed; then the codes holding what is typed
                    // (every code again when none does).
                    let typed = e.text.trim().to_lowercase();
                    let matching: Vec<&(String, String)> =
                        if e.text == e.original || typed.is_empty() {
                            codes.iter().collect()
                        } else {
                            codes
                                .iter()
                                .filter(|c| c.1.to_lowercase().contains(&typed))
                                .collect()
                        };
                    let list = if matching.is_empty() {
                        codes.iter().collect()
                    } else {
                        matching
                    };
                    egui::Area::new(egui::Id::unique("cell-codes"))
                        .order(egui::Order::Foreground)
                        .fixed_pos(rect.left_bottom())
                        .show(ui.ctx(), |ui| {
                            egui::Frame::popup(ui.style()).show(ui, |ui| {
                                ui.set_max_width(rect.width().max(220.0));
                                egui::ScrollArea::vertical()
                                    .max_height(200.0)
                                    .show(ui, |ui| {
                                        for (c, label) in list {
                                            if ui
                                                .selectable_label(*c == e.text, label.as_str())
                                                .clicked()
                                            {
                                                picked = Some(c.clone());
                                            }
                                        }
                                    });
                            });
                        });
                }
                if let Some(c) = picked {
                    e.text = c;
                    self.out.commit = true;
                } else if tr.lost_focus() {
                    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                        self.out.cancel = true;
                    } else {
                        self.out.commit = true;
                    }
                }
            }
            return;
        }
        let mut t = egui::RichText::new(self.view.shown_value(field, value));
        if rec.excluded {
            t = t.strikethrough().weak();
        }
        ui.add_space(4.0);
        cell_label(ui, t);
        if resp.double_clicked() {
            self.out.double = Some((r, c));
        } else if resp.clicked() {
            self.out.clicked = Some((r, c, resp.ctx.input(|i| i.modifiers.shift)));
        }
        if !cell_issues.is_empty() {
            let msg: Vec<String> = cell_issues
                .iter()
                .map(|i| format!("{}: {}", i.rule.title(), shown(&i.message)))
                .collect();
            resp.on_hover_text(msg.join("\n"));
        }
    }

    fn default_row_height(&self) -> f32 {
        ROW_HEIGHT
    }
}

/// Takes out of this frame's input the event at `start` (the key that started an edit) and
/// every text event after it (all of them without `start`), and gives back their text in
/// order: what was typed goes into the cell once, never again through the editor.
fn take_text(ctx: &egui::Context, start: Option<usize>) -> String {
    ctx.input_mut(|i| {
        let mut typed = String::new();
        let mut at = 0usize;
        i.events.retain(|ev| {
            let here = at;
            at += 1;
            if start.is_some_and(|s| here < s) {
                return true;
            }
            match ev {
                egui::Event::Text(t) => {
                    typed.push_str(t);
                    false
                }
                _ => start != Some(here),
            }
        });
        typed
    })
}

/// A small triangle beside a sorted column's title: up for A to Z, down for Z to A (drawn,
/// not a glyph: the bundled fonts have no arrows).
fn paint_sort_arrow(ui: &egui::Ui, rect: egui::Rect, desc: bool) {
    let c = rect.center();
    let (h, w) = (3.5, 4.5);
    let pts = if desc {
        vec![
            egui::pos2(c.x - w, c.y - h),
            egui::pos2(c.x + w, c.y - h),
            egui::pos2(c.x, c.y + h),
        ]
    } else {
        vec![
            egui::pos2(c.x - w, c.y + h),
            egui::pos2(c.x + w, c.y + h),
            egui::pos2(c.x, c.y - h),
        ]
    };
    ui.painter().add(egui::Shape::convex_polygon(
        pts,
        ui.visuals().strong_text_color(),
        egui::Stroke::NONE,
    ));
}

/// A green tick: a record fixed since the list was made.
fn paint_tick(ui: &egui::Ui, rect: egui::Rect) {
    let c = rect.center();
    ui.painter().add(egui::Shape::line(
        vec![
            egui::pos2(c.x - 4.0, c.y),
            egui::pos2(c.x - 1.0, c.y + 3.5),
            egui::pos2(c.x + 4.5, c.y - 4.0),
        ],
        egui::Stroke::new(2.0, egui::Color32::from_rgb(0, 140, 60)),
    ));
}

/// A value as drawn: characters that could not be decoded (U+FFFD), control characters and
/// private-use code points (which no font draws) are shown as "?" (the cell's tint and
/// tooltip say why); the stored value is untouched.
pub(crate) fn shown(v: &str) -> std::borrow::Cow<'_, str> {
    let odd = |c: char| {
        c == '\u{FFFD}'
            || c.is_control()
            || ('\u{E000}'..='\u{F8FF}').contains(&c)
            || c >= '\u{F0000}'
    };
    if v.chars().any(odd) {
        v.chars()
            .map(|c| if odd(c) { '?' } else { c })
            .collect::<String>()
            .into()
    } else {
        v.into()
    }
}

/// Background tint for a cell with an issue, readable in both themes.
pub fn tint(ui: &egui::Ui, severity: Severity) -> egui::Color32 {
    let dark = ui.visuals().dark_mode;
    match (severity, dark) {
        (Severity::Error, false) => egui::Color32::from_rgb(255, 214, 214),
        (Severity::Error, true) => egui::Color32::from_rgb(110, 30, 30),
        (Severity::Warning, false) => egui::Color32::from_rgb(255, 236, 190),
        (Severity::Warning, true) => egui::Color32::from_rgb(100, 75, 20),
    }
}

fn field_tooltip(ui: &mut egui::Ui, f: &Field) {
    ui.strong(&f.name);
    ui.label(format!(
        "ESR format {}{}",
        f.format,
        if f.required { ", required" } else { "" }
    ));
    if !f.codes.is_empty() {
        let mut codes = f
            .codes
            .iter()
            .take(12)
            .map(|c| f.code_label(c))
            .collect::<Vec<_>>()
            .join(", ");
        if f.codes.len() > 12 {
            codes.push_str(", …");
        }
        ui.label(format!("Allowed: {codes}"));
    }
    if !f.rule_text.is_empty() {
        ui.label(&f.rule_text);
    }
    if let Some(d) = &f.description {
        ui.label(d);
    }
    ui.weak("Click to sort; click again to reverse, a third time for file order.");
}

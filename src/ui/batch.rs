//! Batch screen: the virtualised table of one stored batch, one tab per record type, with
//! issue tints, search, sort, column filter, in-cell editing, keyboard and clipboard, and the
//! bulk-fix dialogs.
//!
//! Only visible rows are drawn; they are read from the store a page (100 records) at a time
//! through a small cache, so a million-record batch scrolls as smoothly as a hundred. Search,
//! sort and column filters build an explicit row list on the worker. Nothing here decides
//! what is valid or changes the store: edits become [`Command`]s the app sends to the worker.

use super::app::Command;
use crate::layout::{Field, Layout};
use crate::rules::Rule;
use crate::store::edit::Change;
use crate::store::search::{ReplaceMode, RowQuery};
use crate::store::{BatchInfo, EditEntry, PageFilter, Store, StoredRecord};
use crate::validate::{Issue, Severity};
use std::collections::HashMap;
use std::sync::Arc;

/// Records read from the store at a time.
pub const PAGE: u64 = 100;
/// Pages kept in the cache.
const CACHE_PAGES: usize = 48;
/// Height of a table row.
pub const ROW_HEIGHT: f32 = 22.0;

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

/// A page of records with their issues.
#[derive(Debug, Default)]
struct Page {
    recs: Vec<StoredRecord>,
    issues: HashMap<u32, Vec<Issue>>,
}

/// A rectangular selection: rows of the view and field positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Where the selection started (row, column).
    pub anchor: (usize, usize),
    /// The current cell (row, column).
    pub cursor: (usize, usize),
}

impl Selection {
    /// One cell.
    pub fn cell(row: usize, col: usize) -> Self {
        Self {
            anchor: (row, col),
            cursor: (row, col),
        }
    }

    /// First and last row.
    pub fn rows(&self) -> (usize, usize) {
        (
            self.anchor.0.min(self.cursor.0),
            self.anchor.0.max(self.cursor.0),
        )
    }

    /// First and last column.
    pub fn cols(&self) -> (usize, usize) {
        (
            self.anchor.1.min(self.cursor.1),
            self.anchor.1.max(self.cursor.1),
        )
    }

    /// True when (row, col) is inside.
    pub fn contains(&self, row: usize, col: usize) -> bool {
        let (r0, r1) = self.rows();
        let (c0, c1) = self.cols();
        (r0..=r1).contains(&row) && (c0..=c1).contains(&col)
    }
}

/// A cell being edited.
#[derive(Debug, Clone)]
pub struct Editing {
    /// View row.
    pub row: usize,
    /// Field position.
    pub col: usize,
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

/// What the issues panel shows about the file as a whole, read from the store once.
#[derive(Debug, Clone, Default)]
pub struct FileState {
    /// File-level rules with an error not yet accepted.
    pub open_rules: std::collections::HashSet<Rule>,
    /// The acceptances logged for the batch.
    pub acceptances: Vec<crate::store::Acceptance>,
    /// Batches of each referenced interface, newest first (id, label), at most 50.
    pub reference_batches: HashMap<String, Vec<(i64, String)>>,
}

impl FileState {
    /// Reads it from the store.
    pub fn load(store: &Store, batch: &BatchInfo, layout: &Layout) -> Self {
        let open_rules = if batch.file_errors > 0 {
            store
                .file_problems(batch.id)
                .unwrap_or_default()
                .iter()
                .map(|i| i.rule)
                .collect()
        } else {
            Default::default()
        };
        let mut reference_batches = HashMap::new();
        for r in crate::validate::reference_rules(layout) {
            reference_batches
                .entry(r.interface.clone())
                .or_insert_with(|| {
                    store
                        .batches(Some(&r.interface))
                        .unwrap_or_default()
                        .iter()
                        .take(50)
                        .map(|b| {
                            (
                                b.id,
                                format!(
                                    "batch {} · {} · {}",
                                    b.id,
                                    b.source_name,
                                    b.imported_at.get(..10).unwrap_or("")
                                ),
                            )
                        })
                        .collect()
                });
        }
        Self {
            open_rules,
            acceptances: store.acceptances(batch.id).unwrap_or_default(),
            reference_batches,
        }
    }
}

/// "Apply this fix to every cell with the same issue?"
#[derive(Debug, Clone)]
pub struct Offer {
    /// Rule.
    pub rule: Rule,
    /// Field position.
    pub field: usize,
    /// Value typed.
    pub value: String,
    /// Other cells with this issue in this column.
    pub others: usize,
}

/// A bulk-fix dialog.
#[derive(Debug, Clone)]
pub enum Dialog {
    /// Find and replace in one column.
    Replace {
        /// Column.
        field: usize,
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
    /// Issues of the rules opened in the issues panel.
    pub rule_issues: HashMap<Rule, Vec<(Option<u32>, Issue)>>,
    /// Row to scroll to on the next frame.
    pub scroll_to: Option<usize>,
    /// File-level problems still open, acceptances and the batches a reference may be
    /// checked against: read once, and again after a change (never every frame).
    pub file_state: Option<FileState>,
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
    focus_search: bool,
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
        Ok(Self {
            info,
            layout,
            tabs,
            tab,
            query,
            rows,
            sel: Some(Selection::cell(0, 0)),
            editing: None,
            by_rule,
            rule_issues: HashMap::new(),
            file_state: None,
            accept_reasons: HashMap::new(),
            reference_pick: HashMap::new(),
            scroll_to: None,
            scroll_center: false,
            dialog: None,
            offer: None,
            audit: None,
            audit_lines: HashMap::new(),
            search_text: String::new(),
            filter_col: 0,
            filter_text: String::new(),
            error: None,
            focus_search: false,
            cache: HashMap::new(),
            token: 0,
            request: None,
            waiting: None,
        })
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

    /// Column titles of the tab shown: the layout's field names, or "Field 1", "Field 2", …
    /// for records of an unknown type.
    pub fn column_names(&self) -> Vec<String> {
        if self.unknown_tab() {
            let n = self
                .layout
                .records
                .iter()
                .map(|r| r.fields.len())
                .max()
                .unwrap_or(1);
            (1..=n).map(|i| format!("Field {i}")).collect()
        } else {
            self.fields().iter().map(|f| f.name.clone()).collect()
        }
    }

    /// Number of columns of the tab shown (besides the line number).
    pub fn ncols(&self) -> usize {
        self.column_names().len()
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
    pub fn rows_ready(&mut self, token: u64, rows: Vec<u32>) {
        if self.waiting != Some(token) {
            return;
        }
        self.waiting = None;
        self.rows = Rows::Listed(Arc::new(rows));
        self.cache.clear();
        self.clamp_selection();
    }

    /// Re-reads the rows after the query changed.
    pub fn requery(&mut self, store: &Store) {
        self.cache.clear();
        self.editing = None;
        self.query.filter.record_type = self.record_type();
        if self.unknown_tab() {
            self.request = None;
            self.waiting = None;
            match store.untyped_seqs(self.info.id) {
                Ok(v) => self.rows = Rows::Listed(Arc::new(v)),
                Err(e) => self.error = Some(err(e)),
            }
        } else if self.query.needs_list() {
            self.token += 1;
            self.request = Some((self.token, self.query.clone()));
        } else {
            self.request = None;
            self.waiting = None;
            match store.count(self.info.id, &self.query.filter) {
                Ok(n) => self.rows = Rows::Paged(n),
                Err(e) => self.error = Some(err(e)),
            }
        }
        self.clamp_selection();
    }

    /// After the worker changed records: re-read counts, issues and visible pages.
    pub fn after_edit(&mut self, store: &Store, _changed: &[u32]) {
        self.cache.clear();
        self.rule_issues.clear();
        self.file_state = None;
        match store.batch(self.info.id) {
            Ok(i) => self.info = i,
            Err(e) => self.error = Some(err(e)),
        }
        match store.issues_by_rule(self.info.id) {
            Ok(b) => self.by_rule = b,
            Err(e) => self.error = Some(err(e)),
        }
        if let Rows::Paged(_) = self.rows {
            match store.count(self.info.id, &self.query.filter) {
                Ok(n) => self.rows = Rows::Paged(n),
                Err(e) => self.error = Some(err(e)),
            }
        }
        if self.audit.is_some() {
            self.load_audit(store);
        }
        self.clamp_selection();
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

    fn page(&mut self, store: &Store, p: u64) -> Option<&Page> {
        if !self.cache.contains_key(&p) {
            if self.cache.len() >= CACHE_PAGES {
                self.cache.clear();
            }
            let recs = match &self.rows {
                Rows::Paged(_) => store.page(self.info.id, p * PAGE, PAGE, &self.query.filter),
                Rows::Listed(list) => {
                    let lo = ((p * PAGE) as usize).min(list.len());
                    let hi = (lo + PAGE as usize).min(list.len());
                    store.records_by_seqs(self.info.id, &list[lo..hi])
                }
            };
            let mut recs = match recs {
                Ok(r) => r,
                Err(e) => {
                    self.error = Some(err(e));
                    return None;
                }
            };
            // Bytes that could not be read show as U+FFFD (the store keeps the originals).
            for r in &mut recs {
                for f in &mut r.fields {
                    if let std::borrow::Cow::Owned(shown) = crate::text::display(f) {
                        *f = shown;
                    }
                }
            }
            let seqs: Vec<u32> = recs.iter().map(|r| r.seq).collect();
            let issues = match store.issues_for_seqs(self.info.id, &seqs) {
                Ok(i) => i,
                Err(e) => {
                    self.error = Some(err(e));
                    HashMap::new()
                }
            };
            self.cache.insert(p, Page { recs, issues });
        }
        self.cache.get(&p)
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
    /// needed, and scrolls to it.
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
            self.tab = t;
            self.query.column_filters.clear();
            self.query.sort = None;
            self.query.search.clear();
            self.requery(store);
        }
        let mut pos = self.position_of(store, seq);
        if pos.is_none() {
            self.query = RowQuery {
                filter: PageFilter {
                    rejected_only: false,
                    record_type: self.record_type(),
                },
                ..Default::default()
            };
            self.search_text.clear();
            self.filter_text.clear();
            self.requery(store);
            pos = self.position_of(store, seq);
        }
        if let Some(row) = pos {
            let col = field.unwrap_or(0).min(self.ncols().saturating_sub(1));
            self.sel = Some(Selection::cell(row, col));
            self.scroll_to = Some(row);
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
        if col >= self.ncols() {
            return;
        }
        if let Some((rec, issues)) = self.row(store, row) {
            let v = rec.fields.get(col).cloned().unwrap_or_default();
            self.editing = Some(Editing {
                row,
                col,
                seq: rec.seq,
                text: v.clone(),
                original: v,
                rules: issues
                    .iter()
                    .filter(|i| i.field_index == Some(col))
                    .map(|i| i.rule)
                    .collect(),
                fresh: true,
            });
        }
    }

    fn commit_edit(&mut self, store: &Store, cmds: &mut Vec<Command>) {
        let Some(e) = self.editing.take() else { return };
        if e.text == e.original {
            return;
        }
        cmds.push(Command::Edit {
            changes: vec![Change::Set {
                seq: e.seq,
                field: e.col,
                value: e.text.clone(),
            }],
            label: "Edited 1 cell".into(),
        });
        self.offer = None;
        if self.unknown_tab() {
            return;
        }
        for rule in &e.rules {
            let others = store
                .seqs_with_issue(self.info.id, *rule, e.col, self.record_type().as_deref())
                .map(|v| v.iter().filter(|s| **s != e.seq).count())
                .unwrap_or(0);
            if others > 0 {
                self.offer = Some(Offer {
                    rule: *rule,
                    field: e.col,
                    value: e.text.clone(),
                    others,
                });
                break;
            }
        }
    }

    /// Tab-separated text of the selected cells.
    pub fn copy_text(&mut self, store: &Store) -> String {
        let Some(sel) = self.sel else {
            return String::new();
        };
        let (r0, r1) = sel.rows();
        let (c0, c1) = sel.cols();
        self.records(store, r0, r1)
            .iter()
            .map(|r| {
                (c0..=c1)
                    .map(|c| {
                        r.fields
                            .get(c)
                            .map_or("", |s| s.as_str())
                            .replace(['\t', '\n'], " ")
                    })
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The changes pasting tab-separated `text` at the selection makes. A single value pasted
    /// over a larger selection fills it.
    pub fn paste_changes(&mut self, store: &Store, text: &str) -> Vec<Change> {
        let Some(sel) = self.sel else {
            return Vec::new();
        };
        let grid: Vec<Vec<&str>> = text
            .trim_end_matches(['\n', '\r'])
            .split('\n')
            .map(|l| l.trim_end_matches('\r').split('\t').collect())
            .collect();
        let ncols = self.ncols();
        let (r0, r1) = sel.rows();
        let (c0, c1) = sel.cols();
        let single = grid.len() == 1 && grid[0].len() == 1;
        let (rows, cols) = if single {
            (r1 - r0 + 1, c1 - c0 + 1)
        } else {
            (grid.len(), grid.iter().map(Vec::len).max().unwrap_or(0))
        };
        let recs = self.records(store, r0, r0 + rows - 1);
        let mut out = Vec::new();
        for (i, rec) in recs.iter().enumerate() {
            for j in 0..cols {
                let c = c0 + j;
                if c >= ncols {
                    break;
                }
                let v = if single {
                    Some(grid[0][0])
                } else {
                    grid.get(i).and_then(|r| r.get(j).copied())
                };
                if let Some(v) = v
                    && rec.fields.get(c).map(String::as_str) != Some(v)
                {
                    out.push(Change::Set {
                        seq: rec.seq,
                        field: c,
                        value: v.to_string(),
                    });
                }
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

    fn keyboard(&mut self, ui: &egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        let ctx = ui.ctx().clone();
        let find = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::F));
        if find {
            self.focus_search = true;
        }
        if ctx.egui_wants_keyboard_input() || self.editing.is_some() || self.dialog.is_some() {
            return;
        }
        let n = self.rows.len() as usize;
        let ncols = self.ncols();
        if n == 0 || ncols == 0 {
            return;
        }
        let (events, shift) = ctx.input(|i| (i.events.clone(), i.modifiers.shift));
        let mut moved = false;
        for ev in &events {
            match ev {
                egui::Event::Copy => {
                    let t = self.copy_text(store);
                    ctx.copy_text(t);
                }
                egui::Event::Paste(text) => {
                    let changes = self.paste_changes(store, text);
                    if !changes.is_empty() {
                        let label = format!("Pasted {} cell(s)", changes.len());
                        cmds.push(Command::Edit { changes, label });
                    }
                }
                egui::Event::Text(t) if !t.trim().is_empty() && self.sel.is_some() => {
                    // Typing over a cell starts editing it with what was typed (as in Excel).
                    self.start_edit(store);
                    if let Some(e) = &mut self.editing {
                        e.text = t.clone();
                    }
                    return;
                }
                egui::Event::Key {
                    key: egui::Key::Delete,
                    pressed: true,
                    ..
                } => {
                    let changes = self.paste_changes(store, "");
                    if !changes.is_empty() {
                        let label = format!("Cleared {} cell(s)", changes.len());
                        cmds.push(Command::Edit { changes, label });
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
                        egui::Key::Home if modifiers.command => r = 0,
                        egui::Key::End if modifiers.command => r = n - 1,
                        egui::Key::Home => c = 0,
                        egui::Key::End => c = ncols - 1,
                        egui::Key::Enter | egui::Key::F2 => {
                            self.start_edit(store);
                            continue;
                        }
                        egui::Key::C if modifiers.command => {
                            let t = self.copy_text(store);
                            ctx.copy_text(t);
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
        if moved {
            self.scroll_to = self.sel.map(|s| s.cursor.0);
        }
    }

    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        self.keyboard(ui, store, cmds);
        self.toolbar_ui(ui, store, cmds);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        self.offer_ui(ui, cmds);
        self.dialog_ui(ui, store, cmds);
        self.audit_ui(ui);
        if self.waiting_rows() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Searching the batch…");
            });
        }
        self.table_ui(ui, store, cmds);
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
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
        if self.tabs.len() > 1 {
            ui.horizontal(|ui| {
                let mut pick = self.tab;
                for (i, t) in self.tabs.iter().enumerate() {
                    ui.selectable_value(&mut pick, i, format!("{} · {}", t.title, t.count));
                }
                if pick != self.tab {
                    self.tab = pick;
                    self.query.sort = None;
                    self.query.column_filters.clear();
                    self.filter_text.clear();
                    self.filter_col = 0;
                    self.sel = Some(Selection::cell(0, 0));
                    self.requery(store);
                }
            });
        }
        ui.horizontal(|ui| {
            let mut rej = self.query.filter.rejected_only;
            if ui
                .checkbox(&mut rej, "Rejected rows only")
                .on_hover_text("Show only records with an error")
                .changed()
            {
                self.query.filter.rejected_only = rej;
                self.requery(store);
            }
            ui.separator();
            let label = ui.label("Search:");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search_text)
                        .hint_text("any field (Enter)")
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
            if self.focus_search {
                r.request_focus();
                self.focus_search = false;
            }
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if enter || ui.button("Find").clicked() {
                self.query.search = self.search_text.trim().to_string();
                self.requery(store);
            }
            if !self.query.search.is_empty() && ui.button("Clear search").clicked() {
                self.search_text.clear();
                self.query.search.clear();
                self.requery(store);
            }
            ui.separator();
            let fields = self.column_names();
            let label = ui.label("Filter:");
            egui::ComboBox::from_id_salt("filter-col")
                .selected_text(fields.get(self.filter_col).cloned().unwrap_or_default())
                .width(140.0)
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
                        .desired_width(110.0),
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
        ui.horizontal(|ui| {
            let has_sel = self.sel.is_some() && !self.rows.is_empty();
            if ui
                .add_enabled(has_sel, egui::Button::new("Edit cell"))
                .on_hover_text("Double-click a cell, or press Enter or F2")
                .clicked()
            {
                self.start_edit(store);
            }
            if ui
                .add_enabled(
                    !self.rows.is_empty() && !self.unknown_tab(),
                    egui::Button::new("Replace…"),
                )
                .on_hover_text("Find and replace within one column")
                .clicked()
            {
                self.dialog = Some(Dialog::Replace {
                    field: self.sel.map_or(0, |s| s.cursor.1),
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
                    cmds.push(Command::Edit { changes, label });
                }
            }
            ui.separator();
            if ui.button("Undo").on_hover_text("Ctrl+Z").clicked() {
                cmds.push(Command::Undo);
            }
            if ui.button("Redo").on_hover_text("Ctrl+Y").clicked() {
                cmds.push(Command::Redo);
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
        });
    }

    fn offer_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let Some(o) = self.offer.clone() else { return };
        let field = self
            .column_names()
            .get(o.field)
            .cloned()
            .unwrap_or_default();
        egui::Frame::group(ui.style())
            .fill(ui.visuals().faint_bg_color)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!(
                        "{} other cell(s) in {field} have the issue {}. Set them to \"{}\" too?",
                        o.others, o.rule, o.value
                    ));
                    if ui.button("Apply to all").clicked() {
                        cmds.push(Command::FixSameIssue {
                            rule: o.rule,
                            field: o.field,
                            record_type: self.record_type(),
                            value: o.value.clone(),
                        });
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
        let selected = self.sel.map_or(0, |s| s.rows().1 - s.rows().0 + 1);
        let mut keep = true;
        let title = match &d {
            Dialog::Replace { .. } => "Find and replace",
            Dialog::SetValue { .. } => "Set value on selected cells",
            Dialog::Exclude { .. } => "Exclude rows",
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
                        egui::ComboBox::from_id_salt("replace-col")
                            .selected_text(fields.get(*field).cloned().unwrap_or_default())
                            .show_ui(ui, |ui| {
                                for (i, f) in fields.iter().enumerate() {
                                    ui.selectable_value(field, i, f);
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
                    ui.label("Applies to every record of this tab (excluded rows are left alone); one Undo reverses it.");
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(!find.is_empty(), egui::Button::new("Replace all"))
                            .clicked()
                        {
                            cmds.push(Command::Replace {
                                record_type: self.record_type(),
                                field: *field,
                                find: find.clone(),
                                replace: replace.clone(),
                                mode: if *whole {
                                    ReplaceMode::WholeValue
                                } else {
                                    ReplaceMode::Contains
                                },
                            });
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
                    ui.label(format!("Sets every selected cell ({selected} row(s)); one Undo reverses it."));
                    ui.horizontal(|ui| {
                        if ui.button("Set").clicked() {
                            let changes = self.paste_changes(store, value);
                            if !changes.is_empty() {
                                let label = format!("Set {} cell(s)", changes.len());
                                cmds.push(Command::Edit { changes, label });
                            }
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
                        "{selected} row(s) will be left out of exports. They stay in the table, struck through."
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
                                cmds.push(Command::Edit { changes, label });
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
        let fields: Vec<Field> = self.fields().to_vec();
        let names = self.column_names();
        let n = self.rows.len() as usize;
        if n == 0 && !self.waiting_rows() {
            ui.add_space(12.0);
            ui.label(if self.query.filter.rejected_only {
                "No rejected rows here."
            } else {
                "No rows match."
            });
            return;
        }
        let sort = self.query.sort;
        let mut header_ids: Vec<egui::Id> = Vec::with_capacity(names.len());
        let unknown = self.unknown_tab();
        let mut new_sort: Option<Option<(usize, bool)>> = None;
        let mut clicked: Option<(usize, usize, bool)> = None;
        let mut double: Option<(usize, usize)> = None;
        let mut commit = false;
        let mut cancel = false;
        let sel = self.sel;
        let error_tint = tint(ui, Severity::Error);
        let warn_tint = tint(ui, Severity::Warning);
        let sel_fill = ui.visuals().selection.bg_fill.gamma_multiply(0.55);
        let cursor_stroke = egui::Stroke::new(1.5, ui.visuals().selection.stroke.color);
        let mut table = egui_extras::TableBuilder::new(ui)
            .id_salt(("batch-table", self.info.id, self.tab))
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .animate_scrolling(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(egui_extras::Column::exact(70.0))
            .columns(
                egui_extras::Column::initial(120.0)
                    .at_least(40.0)
                    .clip(true),
                names.len(),
            );
        if let Some(r) = self.scroll_to.take() {
            let align = std::mem::take(&mut self.scroll_center).then_some(egui::Align::Center);
            table = table.scroll_to_row(r, align);
        }
        table
            .header(ROW_HEIGHT + 4.0, |mut h| {
                h.col(|ui| {
                    ui.strong("Line");
                });
                for (i, name) in names.iter().enumerate() {
                    h.col(|ui| {
                        let arrow = match sort {
                            Some((c, false)) if c == i => " ^",
                            Some((c, true)) if c == i => " v",
                            _ => "",
                        };
                        let r = ui
                            .add(
                                egui::Label::new(
                                    egui::RichText::new(format!("{name}{arrow}")).strong(),
                                )
                                .sense(egui::Sense::click())
                                .truncate(),
                            )
                            .on_hover_ui(|ui| match fields.get(i) {
                                Some(f) => field_tooltip(ui, f),
                                None => {
                                    ui.label("This record's type is not in the layout: its values are shown by position.");
                                }
                            });
                        header_ids.push(r.id);
                        if r.clicked() && !unknown {
                            new_sort = Some(match sort {
                                Some((c, false)) if c == i => Some((i, true)),
                                Some((c, true)) if c == i => None,
                                _ => Some((i, false)),
                            });
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, n, |mut row| {
                    let r = row.index();
                    let Some((rec, issues)) = self.row(store, r) else {
                        row.col(|ui| {
                            ui.weak("…");
                        });
                        return;
                    };
                    let record_issues: Vec<&Issue> =
                        issues.iter().filter(|i| i.field_index.is_none()).collect();
                    let (_, resp) = row.col(|ui| {
                        if !record_issues.is_empty() {
                            ui.painter().rect_filled(ui.max_rect(), 0.0, error_tint);
                        }
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
                        }
                        ui.label(t);
                    });
                    let mut tip: Vec<String> = record_issues
                        .iter()
                        .map(|i| format!("{} ({})", shown(&i.message), i.rule))
                        .collect();
                    if rec.excluded {
                        tip.push(format!(
                            "Excluded from exports: {}",
                            rec.exclude_reason.clone().unwrap_or_default()
                        ));
                    }
                    if !tip.is_empty() {
                        resp.on_hover_text(tip.join("\n"));
                    }
                    for c in 0..names.len() {
                        let value = rec.fields.get(c).map_or("", |s| s.as_str());
                        let cell_issues: Vec<&Issue> =
                            issues.iter().filter(|i| i.field_index == Some(c)).collect();
                        let editing_here =
                            matches!(&self.editing, Some(e) if e.row == r && e.col == c);
                        let (_, resp) = row.col(|ui| {
                            let rect = ui.max_rect();
                            if let Some(i) = cell_issues.first() {
                                let t = if i.severity == Severity::Error || cell_issues.len() > 1 {
                                    error_tint
                                } else {
                                    warn_tint
                                };
                                ui.painter().rect_filled(rect, 0.0, t);
                            }
                            if sel.is_some_and(|s| s.contains(r, c)) {
                                ui.painter().rect_filled(rect, 0.0, sel_fill);
                            }
                            if sel.is_some_and(|s| s.cursor == (r, c)) {
                                ui.painter().rect_stroke(
                                    rect.shrink(1.0),
                                    0.0,
                                    cursor_stroke,
                                    egui::StrokeKind::Inside,
                                );
                            }
                            if editing_here && let Some(e) = &mut self.editing {
                                let mut te = egui::TextEdit::singleline(&mut e.text)
                                    .id(egui::Id::unique("cell-editor"))
                                    .desired_width(f32::INFINITY);
                                if let Some(f) = fields.get(c) {
                                    te = te.hint_text(f.format.to_string());
                                }
                                let mut resp = ui.add(te);
                                if let Some(h) = header_ids.get(c) {
                                    resp = resp.labelled_by(*h);
                                }
                                if e.fresh {
                                    resp.request_focus();
                                    e.fresh = false;
                                } else if resp.lost_focus() {
                                    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                                        cancel = true;
                                    } else {
                                        commit = true;
                                    }
                                }
                            } else {
                                let mut t = egui::RichText::new(shown(value));
                                if rec.excluded {
                                    t = t.strikethrough().weak();
                                }
                                ui.add(egui::Label::new(t).truncate().selectable(false));
                            }
                        });
                        if resp.double_clicked() {
                            double = Some((r, c));
                        } else if resp.clicked() {
                            clicked = Some((r, c, resp.ctx.input(|i| i.modifiers.shift)));
                        }
                        if !cell_issues.is_empty() && !editing_here {
                            let msg: Vec<String> = cell_issues
                                .iter()
                                .map(|i| format!("{} ({})", shown(&i.message), i.rule))
                                .collect();
                            resp.on_hover_text(msg.join("\n"));
                        }
                    }
                });
            });
        if commit {
            self.commit_edit(store, cmds);
            if let Some(s) = &mut self.sel {
                let down = (s.cursor.0 + 1).min(n.saturating_sub(1));
                *s = Selection::cell(down, s.cursor.1);
                self.scroll_to = Some(down);
            }
        }
        if cancel {
            self.editing = None;
        }
        if let Some((r, c, shift)) = clicked {
            if self.editing.is_some() {
                self.commit_edit(store, cmds);
            }
            match (&mut self.sel, shift) {
                (Some(s), true) => s.cursor = (r, c),
                _ => self.sel = Some(Selection::cell(r, c)),
            }
        }
        if let Some((r, c)) = double {
            self.sel = Some(Selection::cell(r, c));
            self.start_edit(store);
        }
        if let Some(s) = new_sort {
            self.query.sort = s;
            self.requery(store);
        }
    }
}

/// A value as drawn: characters that could not be decoded (U+FFFD) are shown as "?" (the
/// cell's tint and tooltip say why); the stored value is untouched.
pub(crate) fn shown(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains('\u{FFFD}') {
        v.replace('\u{FFFD}', "?").into()
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
            .cloned()
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

//! The Audit screen: the access log — who opened, revealed, copied, exported and purged what,
//! and when (counts and file names, never a field's value) — and the tombstones of purged
//! batches. Read on a thread of its own.

use super::task::Tasks;
use crate::store::Store;
use crate::store::access::AccessEntry;
use crate::store::purge::Tombstone;
use std::path::PathBuf;

/// What the screen shows.
type Loaded = (Vec<AccessEntry>, Vec<Tombstone>);

/// State of the Audit screen.
pub struct AccessScreen {
    /// The store file.
    pub db: PathBuf,
    /// The log, newest last.
    pub entries: Vec<AccessEntry>,
    /// Purged batches.
    pub tombstones: Vec<Tombstone>,
    /// A problem reading them.
    pub error: Option<String>,
    /// Only this action (None: all).
    pub action: Option<String>,
    reading: Tasks<Result<Loaded, String>>,
}

impl AccessScreen {
    /// A screen over the store at `db`; starts reading.
    pub fn new(db: PathBuf) -> Self {
        let mut s = Self {
            db,
            entries: Vec::new(),
            tombstones: Vec::new(),
            error: None,
            action: None,
            reading: Tasks::default(),
        };
        s.refresh();
        s
    }

    /// Reads the log again (on a thread).
    pub fn refresh(&mut self) {
        let db = self.db.clone();
        self.reading.spawn(move || {
            Store::open(&db)
                .and_then(|s| Ok((s.access_log(None)?, s.tombstones()?)))
                .map_err(|e| e.to_string())
        });
    }

    /// True while reading.
    pub fn busy(&self) -> bool {
        self.reading.busy()
    }

    /// Takes what the thread read.
    pub fn poll(&mut self) {
        for r in self.reading.take() {
            self.loaded(r);
        }
    }

    fn loaded(&mut self, r: Result<Loaded, String>) {
        match r {
            Ok((e, t)) => {
                self.entries = e;
                self.tombstones = t;
                self.error = None;
            }
            Err(e) => self.error = Some(format!("The access log could not be read: {e}")),
        }
    }

    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.busy() {
            self.poll();
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        ui.horizontal_wrapped(|ui| {
            ui.heading("Audit");
            if ui.button("Refresh").clicked() {
                self.refresh();
            }
            let l = ui.label("Action:");
            let mut actions: Vec<String> = self.entries.iter().map(|e| e.action.clone()).collect();
            actions.sort();
            actions.dedup();
            egui::ComboBox::from_id_salt("audit-action")
                .selected_text(self.action.clone().unwrap_or_else(|| "all".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.action, None, "all");
                    for a in actions {
                        ui.selectable_value(&mut self.action, Some(a.clone()), a);
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.label("Who opened, revealed, copied, exported and purged what, and when. Counts and file names only: no field's value is ever written here. Also: esr-desk audit [--since DATE] [--json].");
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let rows: Vec<&AccessEntry> = self
            .entries
            .iter()
            .rev()
            .filter(|e| self.action.as_deref().is_none_or(|a| a == e.action))
            .collect();
        ui.label(format!("{} entries", rows.len()));
        egui::ScrollArea::both()
            .id_salt("audit-scroll")
            .max_height(ui.available_height() * 0.65)
            .show(ui, |ui| {
                egui::Grid::new("audit-grid")
                    .striped(true)
                    .num_columns(6)
                    .show(ui, |ui| {
                        for h in ["When", "Who", "Action", "Batch", "Count", "Detail"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for e in rows {
                            ui.label(e.at.get(..19).unwrap_or(&e.at).replace('T', " "));
                            ui.label(&e.who);
                            ui.label(&e.action);
                            ui.label(e.batch.map_or(String::new(), |b| b.to_string()));
                            ui.label(e.count.map_or(String::new(), |c| c.to_string()));
                            ui.label(e.detail.clone().unwrap_or_default());
                            ui.end_row();
                        }
                    });
            });
        ui.separator();
        ui.strong(format!("Purged batches ({})", self.tombstones.len()));
        egui::Grid::new("tombstones")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for h in ["Batch", "Purged", "By", "File (SHA-256)", "Records, why"] {
                    ui.strong(h);
                }
                ui.end_row();
                for t in &self.tombstones {
                    ui.label(t.batch.to_string());
                    ui.label(t.purged_at.get(..10).unwrap_or(&t.purged_at));
                    ui.label(&t.purged_by);
                    ui.label(&t.source_name).on_hover_text(&t.sha256);
                    ui.label(format!("{} records; {}", t.records, t.reason));
                    ui.end_row();
                }
            });
    }
}

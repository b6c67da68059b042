//! Report windows over a batch: joiners, movers and leavers against an earlier batch of the
//! same staff feed (with "Save as CSV"), and the export history of a batch and its interface.
//! The comparison runs on its own thread with its own store connection.

use crate::export::{ExportRun, export_runs};
use crate::jml::{Change, JmlRow, compare, write_csv};
use crate::store::Store;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

/// A finished comparison.
pub struct JmlResult {
    /// Earlier batch.
    pub old: i64,
    /// Later batch.
    pub new: i64,
    /// Rows, joiners first.
    pub rows: Vec<JmlRow>,
}

/// An export history: its title and runs.
type History = (String, Vec<ExportRun>);

/// State of the report windows.
#[derive(Default)]
pub struct ReportsUi {
    /// The comparison shown, if any.
    pub jml: Option<JmlResult>,
    /// A comparison under way.
    running: Option<Receiver<Result<JmlResult, String>>>,
    /// Export history shown: (title, runs).
    pub history: Option<(String, Vec<ExportRun>)>,
    /// An export history being read.
    reading: Option<Receiver<Result<History, String>>>,
    /// Last message (is an error, text).
    pub message: Option<(bool, String)>,
}

impl ReportsUi {
    /// Writes the comparison shown to `path` as CSV and says how it went; the number of rows
    /// written when it was.
    pub fn save_to(&mut self, path: &std::path::Path) -> Option<u64> {
        let j = self.jml.as_ref()?;
        let n = j.rows.len() as u64;
        let (ok, msg) = match write_csv(&j.rows, path) {
            Ok(()) => (true, (false, format!("Saved {}", path.display()))),
            Err(e) => (false, (true, e.to_string())),
        };
        self.message = Some(msg);
        ok.then_some(n)
    }
}

impl ReportsUi {
    /// Starts comparing two batches on a thread.
    pub fn start_jml(&mut self, db: PathBuf, old: i64, new: i64) {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let r = Store::open(&db)
                .map_err(|e| e.to_string())
                .and_then(|mut s| compare(&mut s, old, new).map_err(|e| e.to_string()));
            let _ = tx.send(r.map(|rows| JmlResult { old, new, rows }));
        });
        self.running = Some(rx);
        self.message = Some((false, format!("Comparing batch {new} with batch {old}…")));
    }

    /// Picks up a finished comparison or history; true when one arrived.
    pub fn poll(&mut self) -> bool {
        if let Some(rx) = &self.reading
            && let Ok(r) = rx.try_recv()
        {
            self.reading = None;
            match r {
                Ok(h) => self.history = Some(h),
                Err(e) => {
                    self.message =
                        Some((true, format!("The export history could not be read: {e}")))
                }
            }
            return true;
        }
        let Some(rx) = &self.running else {
            return false;
        };
        let Ok(r) = rx.try_recv() else { return false };
        self.running = None;
        match r {
            Ok(res) => {
                self.message = None;
                self.jml = Some(res);
            }
            Err(e) => {
                self.message = Some((true, format!("The batches could not be compared: {e}")))
            }
        }
        true
    }

    /// True while a comparison runs or a history is read.
    pub fn busy(&self) -> bool {
        self.running.is_some() || self.reading.is_some()
    }

    /// Reads the export history of a batch's interface on a thread, then shows it.
    pub fn start_history(&mut self, db: PathBuf, batch: i64) {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let r = Store::open(&db)
                .map_err(|e| e.to_string())
                .and_then(|store| {
                    let interface = store.batch(batch).map(|b| b.interface).unwrap_or_default();
                    export_runs(&store, None, Some(&interface))
                        .map(|runs| {
                            (
                                format!("Exports of {interface} (batch {batch} highlighted)"),
                                runs,
                            )
                        })
                        .map_err(|e| e.to_string())
                });
            let _ = tx.send(r);
        });
        self.reading = Some(rx);
    }

    /// Draws the windows; true when "Save as CSV…" was pressed.
    pub fn ui(&mut self, ctx: &egui::Context, highlight: Option<i64>) -> bool {
        if let Some((is_err, msg)) = self.message.clone() {
            let mut open = true;
            egui::Window::new("Report")
                .open(&mut open)
                .collapsible(false)
                .show(ctx, |ui| {
                    let color = if is_err {
                        ui.visuals().error_fg_color
                    } else {
                        ui.visuals().text_color()
                    };
                    ui.colored_label(color, msg);
                });
            if !open {
                self.message = None;
            }
        }
        let mut close_jml = false;
        let mut save = false;
        if let Some(j) = &self.jml {
            let mut open = true;
            let count = |c| j.rows.iter().filter(|r| r.change == c).count();
            egui::Window::new(format!(
                "Joiners, movers and leavers: batch {} since batch {}",
                j.new, j.old
            ))
            .open(&mut open)
            .default_size([900.0, 480.0])
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{} joiners · {} movers · {} leavers",
                        count(Change::Joiner),
                        count(Change::Mover),
                        count(Change::Leaver)
                    ));
                    if ui.button("Save as CSV…").clicked() {
                        save = true;
                    }
                });
                egui_extras::TableBuilder::new(ui)
                    .id_salt("jml-table")
                    .striped(true)
                    .resizable(true)
                    .column(egui_extras::Column::initial(70.0))
                    .column(egui_extras::Column::initial(50.0))
                    .column(egui_extras::Column::initial(140.0))
                    .column(egui_extras::Column::initial(200.0))
                    .column(egui_extras::Column::remainder())
                    .header(22.0, |mut h| {
                        for t in ["Change", "Record", "Key", "Name", "What changed"] {
                            h.col(|ui| {
                                ui.strong(t);
                            });
                        }
                    })
                    .body(|body| {
                        body.rows(20.0, j.rows.len(), |mut row| {
                            let r = &j.rows[row.index()];
                            row.col(|ui| {
                                ui.label(r.change.label());
                            });
                            row.col(|ui| {
                                ui.label(&r.record_type);
                            });
                            row.col(|ui| {
                                ui.label(&r.key).on_hover_text(&r.key_name);
                            });
                            row.col(|ui| {
                                ui.label(&r.name);
                            });
                            row.col(|ui| {
                                ui.label(&r.details).on_hover_text(&r.details);
                            });
                        });
                    });
            });
            close_jml = !open;
        }
        if close_jml {
            self.jml = None;
        }
        let mut close_history = false;
        if let Some((title, runs)) = &self.history {
            let mut open = true;
            egui::Window::new(title.as_str())
                .open(&mut open)
                .default_size([900.0, 360.0])
                .show(ctx, |ui| {
                    if runs.is_empty() {
                        ui.label("No exports yet.");
                        return;
                    }
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        egui::Grid::new("export-history")
                            .striped(true)
                            .num_columns(7)
                            .show(ui, |ui| {
                                for h in [
                                    "Batch",
                                    "Started",
                                    "By",
                                    "Outcome",
                                    "Records",
                                    "File",
                                    "SHA-256 / message",
                                ] {
                                    ui.strong(h);
                                }
                                ui.end_row();
                                for r in runs {
                                    let text = |s: String| {
                                        if highlight == Some(r.batch) {
                                            egui::RichText::new(s).strong()
                                        } else {
                                            egui::RichText::new(s)
                                        }
                                    };
                                    ui.label(text(r.batch.to_string()));
                                    ui.label(text(
                                        r.started_at
                                            .get(..16)
                                            .unwrap_or(&r.started_at)
                                            .replace('T', " "),
                                    ));
                                    ui.label(text(r.trigger.as_str().to_string()));
                                    ui.label(text(r.outcome.as_str().to_string()));
                                    ui.label(text(r.records_written.to_string()));
                                    ui.label(text(r.path.clone().unwrap_or_default()));
                                    let detail =
                                        r.sha256.clone().or(r.message.clone()).unwrap_or_default();
                                    ui.label(text(detail.chars().take(24).collect()))
                                        .on_hover_text(detail);
                                    ui.end_row();
                                }
                            });
                    });
                });
            close_history = !open;
        }
        if close_history {
            self.history = None;
        }
        save
    }
}

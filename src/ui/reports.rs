//! Report windows over a batch: joiners, movers and leavers against an earlier batch of the
//! same staff feed (with "Save as CSV"), and the export history of a batch and its interface.
//! The comparison runs on its own thread with its own store connection.

use super::task::Tasks;
use crate::export::{ExportRun, export_runs};
use crate::jml::{Change, JmlRow, compare, write_csv};
use crate::store::Store;
use std::path::PathBuf;

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

/// What the report threads hand back.
enum Done {
    /// A comparison.
    Jml(Result<JmlResult, String>),
    /// An export history.
    History(Result<History, String>),
    /// A comparison saved as CSV: (batch, path, rows), or why not.
    Saved(Result<(i64, PathBuf, u64), String>),
}

/// State of the report windows.
#[derive(Default)]
pub struct ReportsUi {
    /// The comparison shown, if any.
    pub jml: Option<JmlResult>,
    /// Comparisons, history reads and saves under way, on threads of their own.
    tasks: Tasks<Done>,
    /// Reports saved and not yet written to the access log: (batch, file name, rows).
    pub saved: Vec<(i64, String, u64)>,
    /// Export history shown: (title, runs).
    pub history: Option<(String, Vec<ExportRun>)>,
    /// Last message (is an error, text).
    pub message: Option<(bool, String)>,
}

impl ReportsUi {
    /// Saves the comparison shown to `path` as CSV, on a thread; what happened is said when
    /// it is done, and a saved report is listed in `saved` for the access log.
    pub fn save_to(&mut self, path: &std::path::Path) {
        let Some(j) = &self.jml else { return };
        let (rows, new, path) = (j.rows.clone(), j.new, path.to_path_buf());
        self.tasks.spawn(move || {
            Done::Saved(
                write_csv(&rows, &path)
                    .map(|()| (new, path, rows.len() as u64))
                    .map_err(|e| e.to_string()),
            )
        });
    }
}

impl ReportsUi {
    /// Starts comparing two batches on a thread.
    pub fn start_jml(&mut self, db: PathBuf, old: i64, new: i64) {
        self.tasks.spawn(move || {
            Done::Jml(
                Store::open(&db)
                    .map_err(|e| e.to_string())
                    .and_then(|mut s| compare(&mut s, old, new).map_err(|e| e.to_string()))
                    .map(|rows| JmlResult { old, new, rows }),
            )
        });
        self.message = Some((false, format!("Comparing batch {new} with batch {old}…")));
    }

    /// Takes what the report threads finished; true when something arrived.
    pub fn poll(&mut self) -> bool {
        let done = self.tasks.take();
        let any = !done.is_empty();
        for d in done {
            match d {
                Done::History(Ok(h)) => self.history = Some(h),
                Done::History(Err(e)) => {
                    self.message =
                        Some((true, format!("The export history could not be read: {e}")))
                }
                Done::Jml(Ok(res)) => {
                    self.message = None;
                    self.jml = Some(res);
                }
                Done::Jml(Err(e)) => {
                    self.message = Some((true, format!("The batches could not be compared: {e}")))
                }
                Done::Saved(Ok((batch, path, rows))) => {
                    self.message = Some((false, format!("Saved {}", path.display())));
                    let name = path
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    self.saved.push((batch, name, rows));
                }
                Done::Saved(Err(e)) => self.message = Some((true, e)),
            }
        }
        any
    }

    /// True while a comparison, a history read or a save is under way.
    pub fn busy(&self) -> bool {
        self.tasks.busy()
    }

    /// Reads the export history of a batch's interface on a thread, then shows it.
    pub fn start_history(&mut self, db: PathBuf, batch: i64) {
        self.tasks.spawn(move || {
            Done::History(
                Store::open(&db)
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
                    }),
            )
        });
    }

    /// A report window is open.
    pub fn open(&self) -> bool {
        self.message.is_some() || self.jml.is_some() || self.history.is_some()
    }

    /// Closes the report window on top (Escape): the message first, then the history, then
    /// the comparison.
    pub fn close_top(&mut self) {
        if self.message.take().is_none() && self.history.take().is_none() {
            self.jml = None;
        }
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

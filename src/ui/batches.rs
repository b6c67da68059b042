//! Batches screen: the history of imports, per interface, with counts and status; any batch
//! can be reopened.

use super::app::{Command, Data, View};
use crate::store::{BatchInfo, BatchStatus};

/// State of the batches screen.
#[derive(Debug, Default)]
pub struct BatchesScreen {
    /// Every batch, newest first.
    pub all: Vec<BatchInfo>,
    /// Only this interface's batches (None: all).
    pub interface: Option<String>,
    /// Rows shown after filtering.
    pub rows_shown: usize,
    /// Interface names by id (the catalogue's titles), for the list and the picker.
    pub names: std::collections::HashMap<String, String>,
    /// Interfaces that are staff feeds (joiners, movers and leavers apply).
    pub staff_feeds: std::collections::HashSet<String>,
}

impl BatchesScreen {
    /// Replaces the list.
    pub fn set(&mut self, all: Vec<BatchInfo>) {
        self.all = all;
    }

    /// The name of an interface (its id when unknown).
    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Batches");
        let mut interfaces: Vec<&str> = self.all.iter().map(|b| b.interface.as_str()).collect();
        interfaces.sort_unstable();
        interfaces.dedup();
        let mut pick = self.interface.clone();
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Interface:");
            egui::ComboBox::from_id_salt("batches-interface")
                .selected_text(pick.as_deref().map_or_else(
                    || "All interfaces".to_string(),
                    |p| self.name(p).to_string(),
                ))
                .width(280.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut pick, None, "All interfaces");
                    for i in &interfaces {
                        ui.selectable_value(&mut pick, Some(i.to_string()), self.name(i));
                    }
                })
                .response
                .labelled_by(label.id);
        });
        self.interface = pick;
        let rows: Vec<&BatchInfo> = self
            .all
            .iter()
            .filter(|b| self.interface.as_deref().is_none_or(|i| i == b.interface))
            .collect();
        self.rows_shown = rows.len();
        let held = self
            .all
            .iter()
            .filter(|b| b.status == BatchStatus::Held)
            .count();
        if held > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{held} batch(es) held for review by scheduled runs: open them, fix or exclude the rejected rows, then export."),
            );
        }
        // The batch before each one of the same interface (the list is newest first).
        let previous: Vec<Option<i64>> = rows
            .iter()
            .enumerate()
            .map(|(i, b)| {
                rows[i + 1..]
                    .iter()
                    .find(|o| o.interface == b.interface)
                    .map(|o| o.id)
            })
            .collect();
        if rows.is_empty() {
            ui.add_space(20.0);
            ui.label("No batches yet. Use File > Open…, drop files on this window, or name files on the command line.");
            return;
        }
        let names = &self.names;
        let staff = &self.staff_feeds;
        // What can be done with a batch comes first, beside its number, and the columns fit a
        // 1024-point window: nothing is out of reach sideways (who imported a batch is on the
        // time's tooltip, the counts share a column).
        egui_extras::TableBuilder::new(ui)
            .id_salt("batches-table")
            .striped(true)
            .resizable(true)
            .column(egui_extras::Column::initial(40.0))
            .column(egui_extras::Column::auto().at_least(230.0))
            .column(egui_extras::Column::initial(110.0).clip(true))
            .column(egui_extras::Column::initial(120.0).clip(true))
            .column(egui_extras::Column::initial(140.0).clip(true))
            .column(egui_extras::Column::initial(110.0))
            .column(egui_extras::Column::remainder().at_least(80.0).clip(true))
            .header(22.0, |mut h| {
                for t in [
                    "Batch",
                    "",
                    "Status",
                    "Interface",
                    "File",
                    "Imported",
                    "Records",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, rows.len(), |mut row| {
                    let b = rows[row.index()];
                    let prev = previous[row.index()];
                    row.col(|ui| {
                        ui.label(b.id.to_string());
                    });
                    row.col(|ui| {
                        ui.horizontal(|ui| {
                            if ui.small_button(format!("Open batch {}", b.id)).clicked() {
                                cmds.push(Command::View(View::OpenBatch(b.id)));
                            }
                            if ui
                                .small_button(format!("Exports of batch {}", b.id))
                                .on_hover_text("The exports of this batch and of its interface")
                                .clicked()
                            {
                                cmds.push(Command::Data(Data::ExportHistory(b.id)));
                            }
                            if let Some(old) = prev
                                && staff.contains(&b.interface)
                                && ui
                                    .small_button(format!("Changes since {old}"))
                                    .on_hover_text(
                                        "Joiners, movers and leavers against the batch before it",
                                    )
                                    .clicked()
                            {
                                cmds.push(Command::Data(Data::CompareBatches { old, new: b.id }));
                            }
                        });
                    });
                    row.col(|ui| {
                        status_label(ui, b);
                    });
                    row.col(|ui| {
                        ui.add(
                            egui::Label::new(
                                names
                                    .get(&b.interface)
                                    .map_or(b.interface.as_str(), String::as_str),
                            )
                            .truncate()
                            .show_tooltip_when_elided(false),
                        )
                        .on_hover_text(format!("id: {}", b.interface));
                    });
                    row.col(|ui| {
                        ui.add(
                            egui::Label::new(&b.source_name)
                                .truncate()
                                .show_tooltip_when_elided(false),
                        )
                        .on_hover_text(&b.source_path);
                    });
                    row.col(|ui| {
                        ui.label(short_time(&b.imported_at))
                            .on_hover_text(format!("{} by {}", b.imported_at, b.imported_by));
                    });
                    row.col(|ui| {
                        let counts = format!(
                            "{} · {} rejected · {} issues",
                            b.records, b.rejected, b.issues
                        );
                        ui.add(
                            egui::Label::new(counts.as_str())
                                .truncate()
                                .show_tooltip_when_elided(false),
                        )
                        .on_hover_text(counts);
                    });
                });
            });
    }
}

/// "2026-11-24T04:21:07.123Z" as "2026-11-24 04:21".
pub fn short_time(t: &str) -> String {
    let t = t.replace('T', " ");
    t.chars().take(16).collect()
}

/// Where a batch stands, in words and colour: its status, or where its valid rows went.
pub fn status_label(ui: &mut egui::Ui, b: &BatchInfo) {
    let words = b.status_words();
    let colour = if b.delivered_to.is_some() || b.exported_held.is_some() {
        ui.visuals().hyperlink_color
    } else {
        match b.status {
            BatchStatus::Clean => egui::Color32::from_rgb(0, 140, 60),
            BatchStatus::Rejects => ui.visuals().error_fg_color,
            BatchStatus::Exported => ui.visuals().hyperlink_color,
            BatchStatus::Held => ui.visuals().warn_fg_color,
            BatchStatus::Importing => ui.visuals().text_color(),
        }
    };
    let r = ui.colored_label(colour, words);
    if b.rejected > 0 && (b.exported_held.is_some() || b.delivered_to.is_some()) {
        r.on_hover_text(format!(
            "{} rejected record(s) remain in the batch: fix them and export again to send them",
            b.rejected
        ));
    } else if b.status == BatchStatus::Rejects && b.rejected == 0 && b.file_errors > 0 {
        r.on_hover_text(
            "Problems with the file as received block export: open the batch to review or accept them",
        );
    }
}

//! The audit view of a batch: every entry of its append-only edit log — who, when, what,
//! old → new — newest first.

use super::batch::BatchView;
use super::batches::short_time;

impl BatchView {
    /// Draws the audit list when it is open (toggled from the toolbar).
    pub fn audit_ui(&mut self, ui: &mut egui::Ui) {
        let Some(entries) = &self.audit else { return };
        let lines = &self.audit_lines;
        // Old and new values of personal data are masked like the cells, until revealed.
        let masked: std::collections::HashMap<&str, &crate::layout::Field> = if self.revealed {
            Default::default()
        } else {
            self.layout
                .records
                .iter()
                .flat_map(|r| r.fields.iter())
                .filter(|f| f.sensitive.is_some())
                .map(|f| (f.name.as_str(), f))
                .collect()
        };
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(format!(
                "Changes to batch {} ({} entries)",
                self.info.id,
                entries.len()
            ));
            if entries.is_empty() {
                ui.label("No changes yet.");
                return;
            }
            egui_extras::TableBuilder::new(ui)
                .id_salt("audit-table")
                .striped(true)
                .resizable(true)
                .max_scroll_height(180.0)
                .column(egui_extras::Column::initial(130.0))
                .column(egui_extras::Column::initial(90.0))
                .column(egui_extras::Column::initial(70.0))
                .column(egui_extras::Column::initial(70.0))
                .column(egui_extras::Column::initial(140.0))
                .column(egui_extras::Column::remainder().clip(true))
                .header(20.0, |mut h| {
                    for t in ["When", "Who", "Action", "Line", "Field", "Change"] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, entries.len(), |mut row| {
                        let e = &entries[entries.len() - 1 - row.index()];
                        row.col(|ui| {
                            ui.label(short_time(&e.at)).on_hover_text(&e.at);
                        });
                        row.col(|ui| {
                            ui.label(&e.who);
                        });
                        row.col(|ui| {
                            ui.label(e.kind.as_str());
                        });
                        row.col(|ui| {
                            match lines.get(&e.seq) {
                                Some(l) => ui.label(format!("line {l}")),
                                None => ui.label(format!("#{}", e.seq + 1)),
                            };
                        });
                        row.col(|ui| {
                            ui.label(e.field.as_deref().unwrap_or(""));
                        });
                        let field = e.field.as_deref().and_then(|f| masked.get(f));
                        let v = |t: &str| {
                            field
                                .and_then(|f| f.mask(t))
                                .unwrap_or_else(|| t.to_string())
                        };
                        row.col(|ui| {
                            let exclusion = e.field_index.is_none();
                            let text = match (&e.old_value, &e.new_value, &e.reason) {
                                (_, Some(n), Some(r)) if exclusion && n == "excluded" => {
                                    format!("excluded: {r}")
                                }
                                (_, Some(n), None) if exclusion && n == "excluded" => {
                                    "excluded".to_string()
                                }
                                (_, _, _) if exclusion => "included again".to_string(),
                                (Some(o), Some(n), _) => format!("\"{}\" » \"{}\"", v(o), v(n)),
                                (None, Some(n), _) => format!("» \"{}\"", v(n)),
                                _ => String::new(),
                            };
                            ui.label(text);
                        });
                    });
                });
        });
    }
}

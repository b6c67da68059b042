//! The mapping screen: a workbook (or a CSV with a local system's own columns) is shown as
//! the layout's fields, each with the column proposed for it and a few of that column's
//! values, for the officer to confirm or change before anything is imported. Required fields
//! without a column are flagged; columns no field reads are listed as ignored; header values a
//! sheet cannot hold are typed here; a saved mapping is reused with a banner saying so.

use super::app::{Command, Data};
use crate::layout::{Layout, LayoutSet};
use crate::mapping::{Mapping, TableImport, TablePreview, mappable};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The mapping screen's state for one file.
#[derive(Debug, Clone)]
pub struct MappingDialog {
    /// The file.
    pub path: PathBuf,
    /// Waiting for the worker to read it.
    pub loading: bool,
    /// Why it could not be read.
    pub error: Option<String>,
    /// What was read.
    pub preview: Option<TablePreview>,
    /// Per field of the record type: the column chosen.
    pub picks: Vec<Option<usize>>,
    /// Header values typed.
    pub header: BTreeMap<String, String>,
    /// Remember the mapping (and sheet) for next time.
    pub remember: bool,
}

impl MappingDialog {
    /// A dialog waiting for `path` to be read.
    pub fn loading(path: PathBuf) -> Self {
        Self {
            path,
            loading: true,
            error: None,
            preview: None,
            picks: Vec::new(),
            header: BTreeMap::new(),
            remember: true,
        }
    }

    /// The worker's reading arrived.
    pub fn set(&mut self, result: Result<TablePreview, String>, layouts: &LayoutSet) {
        self.loading = false;
        match result {
            Ok(p) => {
                self.picks = p.proposal.picks.iter().map(|x| x.map(|(c, _)| c)).collect();
                self.header = p.header.clone();
                if let Some(l) = layouts.get(&p.interface) {
                    for f in crate::mapping::header_fields(l) {
                        self.header.entry(f.name.clone()).or_default();
                    }
                }
                self.error = None;
                self.preview = Some(p);
            }
            Err(e) => {
                self.error = Some(e);
                self.preview = None;
            }
        }
    }

    fn file_name(&self) -> String {
        crate::validate::file_name(&self.path)
    }

    /// Required fields with no column chosen, and required header values not typed.
    fn unmatched(&self, l: &Layout, record: usize) -> Vec<String> {
        self.chosen(record)
            .unmatched(l)
            .into_iter()
            .chain(
                crate::mapping::header_unfilled(l, &self.header)
                    .into_iter()
                    .map(|n| format!("{n} (header)")),
            )
            .collect()
    }

    /// The columns chosen, as a proposal.
    fn chosen(&self, record: usize) -> crate::mapping::Proposal {
        crate::mapping::Proposal {
            record,
            picks: self
                .picks
                .iter()
                .map(|c| c.map(|c| (c, crate::mapping::Why::Saved)))
                .collect(),
        }
    }

    /// The mapping as confirmed.
    fn mapping(&self, l: &Layout, p: &TablePreview) -> Mapping {
        let mut m = self
            .chosen(p.proposal.record)
            .to_mapping(l, &p.columns, p.sheet.clone());
        m.header = self
            .header
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect();
        m
    }

    /// Draws the screen. Returns false when it is to close.
    pub fn ui(&mut self, ctx: &egui::Context, layouts: &LayoutSet, cmds: &mut Vec<Command>) {
        let screen = ctx.content_rect();
        let width = (screen.width() - 40.0).clamp(320.0, 900.0);
        let height = (screen.height() - 90.0).max(240.0);
        egui::Window::new(format!("Map the columns of {}", self.file_name()))
            .collapsible(false)
            .resizable(false)
            .fixed_size([width, height])
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| self.body(ui, layouts, cmds));
    }

    fn body(&mut self, ui: &mut egui::Ui, layouts: &LayoutSet, cmds: &mut Vec<Command>) {
        if self.loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the file…");
            });
            return;
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            ui.add_space(6.0);
            if ui.button("Close").clicked() {
                cmds.push(Command::Data(Data::SkipFile));
            }
            return;
        }
        // Drawn from the preview in place (not a copy each frame); put back afterwards unless
        // the drawing asked for a new one.
        let Some(p) = self.preview.take() else {
            return;
        };
        self.preview_ui(ui, layouts, cmds, &p);
        if self.preview.is_none() && !self.loading {
            self.preview = Some(p);
        }
    }

    fn preview_ui(
        &mut self,
        ui: &mut egui::Ui,
        layouts: &LayoutSet,
        cmds: &mut Vec<Command>,
        p: &TablePreview,
    ) {
        let Some(layout) = layouts.get(&p.interface) else {
            ui.label(format!("There is no layout for {}.", p.interface));
            return;
        };
        ui.label("Each field of the interface is read from the column chosen beside it. Check the values shown, change any column that is wrong, then import.");
        if let Some(b) = &p.saved {
            ui.colored_label(egui::Color32::from_rgb(0, 110, 170), b.clone());
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Interface:");
            let mut chosen = p.interface.clone();
            egui::ComboBox::from_id_salt("mapping-interface")
                .selected_text(&layout.name)
                .width(260.0)
                .show_ui(ui, |ui| {
                    for l in &layouts.layouts {
                        ui.selectable_value(&mut chosen, l.id.clone(), &l.name);
                    }
                })
                .response
                .labelled_by(label.id);
            if chosen != p.interface {
                self.loading = true;
                cmds.push(Command::Data(Data::ReadTable {
                    path: self.path.clone(),
                    interface: Some(chosen),
                    sheet: p.sheet.clone(),
                }));
            }
            if !p.sheets.is_empty() {
                let label = ui.label("Sheet:");
                let mut sheet = p.sheet.clone().unwrap_or_default();
                egui::ComboBox::from_id_salt("mapping-sheet")
                    .selected_text(&sheet)
                    .width(180.0)
                    .show_ui(ui, |ui| {
                        for s in &p.sheets {
                            ui.selectable_value(&mut sheet, s.clone(), s);
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if Some(&sheet) != p.sheet.as_ref() {
                    self.loading = true;
                    cmds.push(Command::Data(Data::ReadTable {
                        path: self.path.clone(),
                        interface: Some(p.interface.clone()),
                        sheet: Some(sheet),
                    }));
                }
            }
            ui.weak(format!(
                "{} rows; column names in row {}",
                p.rows, p.header_row
            ));
        });
        for n in &p.notes {
            ui.weak(n);
        }
        let record = p.proposal.record;
        let rt = &layout.records[record];
        let unmatched = self.unmatched(layout, record);
        ui.separator();
        // The field list takes what the buttons below leave.
        let list_h = (ui.available_height() - 150.0).max(120.0);
        egui::ScrollArea::vertical()
            .id_salt("mapping-fields")
            .max_height(list_h)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                egui::Grid::new("mapping-grid")
                    .num_columns(3)
                    .striped(true)
                    .spacing([10.0, 4.0])
                    .show(ui, |ui| {
                        ui.strong(format!("Field of {}", rt.name));
                        ui.strong("Column in the sheet");
                        ui.strong("Values in that column");
                        ui.end_row();
                        for (fi, f) in rt.fields.iter().enumerate() {
                            if !mappable(layout, f, fi) {
                                continue;
                            }
                            let pick = self.picks.get(fi).copied().flatten();
                            let name = if f.required {
                                format!("{} *", f.name)
                            } else {
                                f.name.clone()
                            };
                            let label = if f.required && pick.is_none() {
                                ui.colored_label(ui.visuals().error_fg_color, name)
                                    .on_hover_text("Required: choose the column that holds it")
                            } else {
                                ui.label(name).on_hover_text(format!(
                                    "{} {}",
                                    f.format,
                                    f.description.as_deref().unwrap_or("")
                                ))
                            };
                            let mut chosen = pick;
                            let text = chosen
                                .and_then(|c| p.columns.get(c))
                                .map_or_else(|| "— not in the sheet —".to_string(), Clone::clone);
                            egui::ComboBox::from_id_salt(("mapping-col", fi))
                                .selected_text(text)
                                .width(200.0)
                                .show_ui(ui, |ui| {
                                    ui.selectable_value(&mut chosen, None, "— not in the sheet —");
                                    for (c, col) in p.columns.iter().enumerate() {
                                        if !col.is_empty() {
                                            ui.selectable_value(&mut chosen, Some(c), col);
                                        }
                                    }
                                })
                                .response
                                .labelled_by(label.id);
                            if chosen != pick && fi < self.picks.len() {
                                // A column feeds one field: taking it frees it elsewhere.
                                if let Some(c) = chosen {
                                    for other in self.picks.iter_mut() {
                                        if *other == Some(c) {
                                            *other = None;
                                        }
                                    }
                                }
                                self.picks[fi] = chosen;
                            }
                            let why = p
                                .proposal
                                .picks
                                .get(fi)
                                .copied()
                                .flatten()
                                .filter(|(c, _)| Some(*c) == chosen)
                                .map(|(_, w)| format!(" ({})", w.words()))
                                .unwrap_or_default();
                            // Personal data is not shown here at all: the values are
                            // not yet in the field's form, so no mask could be trusted.
                            let values = match chosen.and_then(|c| p.samples.get(c)) {
                                Some(v) if f.sensitive.is_some() && !v.is_empty() => {
                                    "(personal data, not shown)".to_string()
                                }
                                Some(v) => v.join(" · "),
                                None => String::new(),
                            };
                            ui.add(egui::Label::new(format!("{values}{why}")).truncate());
                            ui.end_row();
                        }
                    });
                let header_fields: Vec<String> = self.header.keys().cloned().collect();
                if !header_fields.is_empty() {
                    ui.add_space(6.0);
                    ui.strong("The file's header (a sheet does not hold it)");
                    if let Some(h) = layout.header() {
                        egui::Grid::new("mapping-header")
                            .num_columns(2)
                            .show(ui, |ui| {
                                for name in header_fields {
                                    let f =
                                        layout.records[h].fields.iter().find(|f| f.name == name);
                                    let req = f.is_some_and(|f| f.required);
                                    let label = ui.label(if req {
                                        format!("{name} *")
                                    } else {
                                        name.clone()
                                    });
                                    let hint = f
                                        .and_then(|f| f.sample.as_deref())
                                        .and_then(|s| s.split('|').next())
                                        .map(|s| format!("e.g. {s}"))
                                        .unwrap_or_default();
                                    if let Some(v) = self.header.get_mut(&name) {
                                        ui.add(
                                            egui::TextEdit::singleline(v)
                                                .hint_text(hint)
                                                .desired_width(220.0),
                                        )
                                        .labelled_by(label.id);
                                    }
                                    ui.end_row();
                                }
                            });
                    }
                }
            });
        ui.separator();
        let used: Vec<usize> = self.picks.iter().flatten().copied().collect();
        let ignored: Vec<&str> = p
            .columns
            .iter()
            .enumerate()
            .filter(|(c, n)| !n.is_empty() && !used.contains(c))
            .map(|(_, n)| n.as_str())
            .collect();
        if !ignored.is_empty() {
            ui.add(
                egui::Label::new(format!(
                    "Columns not used (ignored): {}",
                    ignored.join(", ")
                ))
                .truncate(),
            );
        }
        if !unmatched.is_empty() {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!(
                    "Choose a column for each required field (*), and fill the header's: {}",
                    unmatched.join(", ")
                ),
            );
        }
        ui.checkbox(
            &mut self.remember,
            "Remember this mapping for files with these columns (and this sheet for files named like this one)",
        );
        ui.horizontal(|ui| {
            let ok = unmatched.is_empty();
            if ui
                .add_enabled(ok, egui::Button::new(format!("Import {} rows", p.rows)))
                .on_disabled_hover_text("Every required field needs a column first")
                .clicked()
            {
                cmds.push(Command::Data(Data::ImportAs {
                    path: self.path.clone(),
                    interface: layout.id.clone(),
                    force: false,
                    chosen: None,
                    table: Some(Box::new(TableImport {
                        sheet: p.sheet.clone(),
                        mapping: self.mapping(layout, p),
                        remember: self.remember,
                    })),
                }));
            }
            if ui.button("Cancel").clicked() {
                cmds.push(Command::Data(Data::SkipFile));
            }
        });
    }
}

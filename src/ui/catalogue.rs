//! Home screen: every interface of the catalogue, searchable and filterable, with the number
//! of batches held for each batch interface and the state of the latest.

use super::app::{Command, View};
use crate::catalogue::{Catalogue, DirectionFilter, Interface, Kind, KindFilter};
use crate::layout::LayoutSet;
use crate::store::BatchInfo;
use std::collections::HashMap;

/// Batches held for one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Number of batches.
    pub count: usize,
    /// The latest.
    pub latest: Option<BatchInfo>,
}

/// State of the catalogue screen.
pub struct CatalogueScreen {
    /// The catalogue.
    pub catalogue: Catalogue,
    /// Layouts known (bundled and the trust's own).
    pub layouts: LayoutSet,
    /// Search text.
    pub search: String,
    /// Kind filter.
    pub kind: KindFilter,
    /// Direction filter.
    pub direction: DirectionFilter,
    /// Number of rows shown after filtering (for tests and the status line).
    pub rows_shown: usize,
    /// The interface selected, if any.
    pub selected: Option<String>,
    /// Batches held, by interface id.
    pub held: HashMap<String, Held>,
}

impl Default for CatalogueScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl CatalogueScreen {
    /// A screen over the bundled catalogue and the layouts in use.
    pub fn new() -> Self {
        let layouts = crate::paths::layout_set().unwrap_or_default();
        Self {
            catalogue: Catalogue::bundled(),
            layouts,
            search: String::new(),
            kind: KindFilter::All,
            direction: DirectionFilter::All,
            rows_shown: 0,
            selected: None,
            held: HashMap::new(),
        }
    }

    /// Sets the batch counts from the store's list (newest first).
    pub fn set_batches(&mut self, batches: &[BatchInfo]) {
        self.held.clear();
        for b in batches {
            let h = self.held.entry(b.interface.clone()).or_default();
            if h.count == 0 {
                h.latest = Some(b.clone());
            }
            h.count += 1;
        }
    }

    /// A line for the status bar about layouts.
    pub fn layout_status(&self) -> String {
        let batch = self.catalogue.batch().count();
        let with = self
            .catalogue
            .batch()
            .filter(|i| self.layouts.get(&i.id).is_some())
            .count();
        let public = self
            .catalogue
            .batch()
            .filter_map(|i| self.layouts.get(&i.id))
            .filter(|l| l.evidence != crate::layout::Evidence::Representative)
            .count();
        let mut s = format!(
            "{with} of {batch} batch interfaces have a layout; {public} follow public evidence, the rest are representative, not the official ESR specification."
        );
        for w in &self.layouts.warnings {
            s.push_str("  Warning: ");
            s.push_str(w);
        }
        s
    }

    /// Draws the screen (tests call this with a throw-away command list).
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Interfaces");
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Search:");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("name, id or description")
                    .desired_width(260.0),
            )
            .labelled_by(label.id);
            ui.separator();
            ui.label("Kind:");
            ui.selectable_value(&mut self.kind, KindFilter::All, "All kinds");
            ui.selectable_value(&mut self.kind, KindFilter::Batch, "Batch files");
            ui.selectable_value(&mut self.kind, KindFilter::Api, "APIs");
            ui.separator();
            ui.label("Direction:");
            ui.selectable_value(&mut self.direction, DirectionFilter::All, "All directions");
            ui.selectable_value(&mut self.direction, DirectionFilter::IntoEsr, "Into ESR");
            ui.selectable_value(&mut self.direction, DirectionFilter::OutOfEsr, "Out of ESR");
        });
        ui.add_space(4.0);
        let rows: Vec<Interface> = self
            .catalogue
            .filter(&self.search, self.kind, self.direction)
            .into_iter()
            .cloned()
            .collect();
        self.rows_shown = rows.len();
        ui.label(format!(
            "{} of {} interfaces",
            rows.len(),
            self.catalogue.interfaces.len()
        ));
        // The interface clicked: what it is, and what can be done with it.
        if let Some(i) = self
            .selected
            .as_ref()
            .and_then(|id| rows.iter().find(|r| &r.id == id))
            .cloned()
        {
            egui::Panel::bottom("catalogue-detail")
                .resizable(true)
                .default_size(150.0)
                .show(ui, |ui| self.detail_ui(ui, &i, cmds));
        }
        let layouts = &self.layouts;
        let selected = &mut self.selected;
        let held = &self.held;
        egui::ScrollArea::horizontal()
            .id_salt("catalogue-hscroll")
            .show(ui, |ui| {
                // A click anywhere on a row selects it: the cells' text is not selectable,
                // so it never takes the click for itself.
                ui.style_mut().interaction.selectable_labels = false;
                egui_extras::TableBuilder::new(ui)
                    .id_salt("catalogue-table")
                    .striped(true)
                    .resizable(true)
                    .sense(egui::Sense::click())
                    .column(egui_extras::Column::initial(300.0).at_least(120.0))
                    .column(egui_extras::Column::initial(60.0))
                    .column(egui_extras::Column::initial(90.0))
                    .column(egui_extras::Column::initial(80.0))
                    .column(egui_extras::Column::initial(130.0))
                    .column(egui_extras::Column::initial(110.0))
                    .column(egui_extras::Column::initial(70.0))
                    .column(egui_extras::Column::initial(110.0))
                    .column(egui_extras::Column::initial(420.0).at_least(160.0))
                    .header(22.0, |mut h| {
                        for t in [
                            "Interface",
                            "Kind",
                            "Direction",
                            "Frequency",
                            "Funding",
                            "Status",
                            "Layout",
                            "Batches held",
                            "Description",
                        ] {
                            h.col(|ui| {
                                ui.add(
                                    egui::Label::new(egui::RichText::new(t).strong()).truncate(),
                                );
                            });
                        }
                    })
                    .body(|body| {
                        body.rows(22.0, rows.len(), |mut row| {
                            let i = &rows[row.index()];
                            row.set_selected(selected.as_deref() == Some(i.id.as_str()));
                            row.col(|ui| {
                                let mut title = egui::RichText::new(i.title());
                                if i.is_decommissioned() {
                                    title = title.strikethrough().weak();
                                }
                                ui.add(
                                    egui::Label::new(title)
                                        .truncate()
                                        .show_tooltip_when_elided(false),
                                )
                                .on_hover_text(format!(
                                    "{} (id: {})",
                                    i.title(),
                                    i.id
                                ));
                            });
                            row.col(|ui| {
                                ui.label(if i.kind == Kind::Api { "API" } else { "Batch" });
                            });
                            row.col(|ui| {
                                ui.label(i.direction.label());
                            });
                            row.col(|ui| {
                                ui.label(&i.frequency);
                            });
                            row.col(|ui| {
                                ui.add(
                                    egui::Label::new(&i.funding)
                                        .truncate()
                                        .show_tooltip_when_elided(false),
                                )
                                .on_hover_text(&i.funding);
                            });
                            row.col(|ui| {
                                if i.is_decommissioned() {
                                    ui.colored_label(ui.visuals().warn_fg_color, "Decommissioned");
                                } else {
                                    ui.label("In service");
                                }
                            });
                            row.col(|ui| {
                                let text = match (i.kind, i.is_decommissioned()) {
                                    (_, true) => "n/a".to_string(),
                                    (Kind::Api, _) => "API".to_string(),
                                    (Kind::Batch, _) => match layouts.get(&i.id) {
                                        Some(l) => l.evidence.label(),
                                        None => "None yet",
                                    }
                                    .to_string(),
                                };
                                ui.label(text);
                            });
                            row.col(|ui| match held.get(&i.id) {
                                Some(h) => {
                                    ui.horizontal(|ui| {
                                        if ui
                                            .link(h.count.to_string())
                                            .on_hover_text("Show these batches")
                                            .clicked()
                                        {
                                            cmds.push(Command::View(View::ShowBatchesOf(Some(
                                                i.id.clone(),
                                            ))));
                                        }
                                        if let Some(b) = &h.latest {
                                            super::batches::status_label(ui, b);
                                        }
                                    });
                                }
                                None if i.kind == Kind::Batch => {
                                    ui.weak("none");
                                }
                                None => {}
                            });
                            row.col(|ui| {
                                let mut d = i.description.clone();
                                if let Some(n) = &i.notes {
                                    d.push_str("  Note: ");
                                    d.push_str(n);
                                }
                                ui.add(
                                    egui::Label::new(&i.description)
                                        .truncate()
                                        .show_tooltip_when_elided(false),
                                )
                                .on_hover_text(d);
                            });
                            if row.response().clicked() {
                                *selected = Some(i.id.clone());
                            }
                        });
                    });
            });
    }

    /// The selected interface: its description, layout and batches, with what can be done.
    fn detail_ui(&mut self, ui: &mut egui::Ui, i: &Interface, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.strong(i.title());
            ui.weak(format!("({})", i.id));
            if ui.small_button("Close").clicked() {
                self.selected = None;
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("catalogue-detail-scroll")
            .show(ui, |ui| {
                ui.label(&i.description);
                if let Some(n) = &i.notes {
                    ui.weak(format!("Note: {n}"));
                }
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!("{} · {} · {}", i.direction.label(), i.frequency, i.funding));
                });
                if i.kind == Kind::Batch && !i.is_decommissioned() {
                    // Every layout of the interface: one, or one each way, and ESR's answers.
                    let mine: Vec<&crate::layout::Layout> =
                        self.layouts.of_interface(&i.id).collect();
                    if mine.is_empty() {
                        ui.label("No layout yet: files of this interface cannot be checked until one is added (Layouts).");
                    }
                    for l in &mine {
                        let way = match (&l.answer, l.direction) {
                            (Some(_), _) => "ESR's answer, out of ESR".to_string(),
                            (None, Some(d)) => d.words().to_string(),
                            (None, None) => i.direction.label().to_string(),
                        };
                        ui.label(format!(
                            "Layout {} ({way}; version {}): {} record type(s). File names like {}.",
                            l.name,
                            l.version,
                            l.records.len(),
                            l.file_name.text
                        ));
                    }
                    if let Some(l) = mine.first() {
                        ui.weak(format!("Evidence: {}.", l.evidence.words()));
                        if let Some(s) = l.sources.first() {
                            ui.weak(format!(
                                "Source: {}{}",
                                s.cite(),
                                if l.sources.len() > 1 {
                                    format!(" (and {} more on the Layouts screen)", l.sources.len() - 1)
                                } else {
                                    String::new()
                                }
                            ));
                        }
                        if !l.representative.is_empty() {
                            ui.weak(&l.representative);
                        }
                    }
                }
                ui.horizontal_wrapped(|ui| {
                    if i.kind == Kind::Batch && ui.button("Open a file…").clicked() {
                        cmds.push(Command::View(View::OpenDialog));
                    }
                    if self.held.contains_key(&i.id)
                        && ui.button("Show its batches").clicked()
                    {
                        cmds.push(Command::View(View::ShowBatchesOf(Some(i.id.clone()))));
                    }
                    if self.layouts.get(&i.id).is_some() && ui.button("See its layout").clicked() {
                        cmds.push(Command::View(View::Show(super::app::Screen::Layouts)));
                    }
                });
            });
    }
}

//! Layouts screen: each layout as a table (record type, field, ESR notation, required, rules,
//! codes) to compare line by line with the specification issued to the trust; edit a layout
//! or open a trust's layout file and reload it without restarting. An invalid edit is refused
//! with the reason and the old layout stays in use.

use super::task::Tasks;
use crate::layout::{
    Layout, LayoutSet, LayoutSource, describe, install_override, remove_override, rule_lines,
};
use std::path::PathBuf;

/// What the screen's file work (on a thread of its own) hands back.
enum Done {
    /// The folder re-read; the message to show.
    Reloaded(Result<LayoutSet, String>, Option<String>),
    /// A layout saved and in use, or why not.
    Saved(Result<Box<Layout>, String>),
    /// A layout file's text, read for saving.
    Opened(Result<String, String>),
}

/// State of the layouts screen.
pub struct LayoutsScreen {
    /// Layouts in use.
    pub set: LayoutSet,
    /// The trust's layouts folder.
    pub dir: PathBuf,
    /// Layout shown.
    pub selected: Option<String>,
    /// Text being edited, when editing.
    pub editing: Option<String>,
    /// Last result, in words: (is an error, message).
    pub message: Option<(bool, String)>,
    /// Filter on the field list.
    pub filter: String,
    /// The list is scrolled to the layout shown on the next frame.
    reveal: bool,
    io: Tasks<Done>,
}

impl LayoutsScreen {
    /// A screen over the layouts in `dir` (and the bundled ones).
    pub fn new(dir: PathBuf) -> Self {
        // The bundled layouts at once (no file is read here); the trust's folder on a thread.
        let set = LayoutSet::bundled().unwrap_or_default();
        let selected = set.layouts.first().map(|l| l.id.clone());
        let mut s = Self {
            set,
            dir,
            selected,
            editing: None,
            message: None,
            filter: String::new(),
            reveal: false,
            io: Tasks::default(),
        };
        s.reload_saying(Some(String::new()));
        s
    }

    /// True while the screen's file work is under way.
    pub fn busy(&self) -> bool {
        self.io.busy()
    }

    fn in_background(&mut self, work: impl FnOnce() -> Done + Send + 'static) {
        self.io.spawn(work);
    }

    /// Takes what the screen's thread finished.
    pub fn poll(&mut self) {
        let done = self.io.take();
        for d in done {
            match d {
                Done::Reloaded(Ok(set), note) => {
                    self.message = if !set.warnings.is_empty() {
                        Some((true, set.warnings.join("\n")))
                    } else {
                        match note {
                            Some(n) if n.is_empty() => None,
                            Some(n) => Some((false, n)),
                            None => {
                                Some((false, format!("Reloaded {} layouts.", set.layouts.len())))
                            }
                        }
                    };
                    self.set = set;
                }
                Done::Reloaded(Err(e), _) => self.message = Some((true, e)),
                Done::Saved(Ok(layout)) => {
                    self.message = Some((
                        false,
                        format!(
                            "Saved and in use: {} ({}), version {}.",
                            layout.name, layout.id, layout.version
                        ),
                    ));
                    self.selected = Some(layout.id.clone());
                    self.set.insert(*layout);
                    self.editing = None;
                }
                Done::Saved(Err(e)) => {
                    self.message = Some((true, format!("The layout was not changed: {e}")));
                }
                Done::Opened(Ok(text)) => self.save_text(&text),
                Done::Opened(Err(e)) => self.message = Some((true, e)),
            }
        }
    }

    /// Re-reads the layouts folder (on a thread).
    pub fn reload(&mut self) {
        self.reload_saying(None);
    }

    fn reload_saying(&mut self, note: Option<String>) {
        let dir = self.dir.clone();
        self.in_background(move || {
            Done::Reloaded(
                LayoutSet::with_overrides(Some(&dir)).map_err(|e| e.to_string()),
                note,
            )
        });
    }

    /// Saves edited or opened layout text (on a thread): installed and in use when valid,
    /// refused with the reason otherwise (the old layout stays in use).
    pub fn save_text(&mut self, text: &str) {
        let (dir, text) = (self.dir.clone(), text.to_string());
        self.message = Some((false, "Checking and saving…".into()));
        self.in_background(move || {
            Done::Saved(
                install_override(&dir, &text)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// Goes back to the bundled layout of the selected id.
    pub fn use_bundled(&mut self) {
        let Some(id) = self.selected.clone() else {
            return;
        };
        let dir = self.dir.clone();
        self.in_background(move || match remove_override(&dir, &id) {
            Ok(_) => Done::Reloaded(
                LayoutSet::with_overrides(Some(&dir)).map_err(|e| e.to_string()),
                Some(format!("{id}: the bundled layout is in use again.")),
            ),
            Err(e) => Done::Reloaded(
                Err(format!("Could not remove the trust's layout file: {e}")),
                None,
            ),
        });
    }

    /// Shows the layout `id`, its entry scrolled into the list's view.
    pub fn show_layout(&mut self, id: &str) {
        self.selected = Some(id.to_string());
        self.editing = None;
        self.reveal = true;
    }

    fn current(&self) -> Option<&Layout> {
        self.selected.as_deref().and_then(|id| self.set.get(id))
    }

    /// Draws the screen; `batches` are the store's batches, newest first (each says the
    /// version of its layout it was read with).
    pub fn ui(&mut self, ui: &mut egui::Ui, batches: &[crate::store::BatchInfo]) {
        if self.busy() {
            self.poll();
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        ui.horizontal_wrapped(|ui| {
            ui.heading("Layouts");
            if ui.button("Open layout file…").on_hover_text("Load a layout file your trust holds; it replaces the bundled layout with the same id").clicked() {
                use super::files::{Picked, Purpose, native};
                match native(&Purpose::Open, Some(&self.dir), "") {
                    Picked::Paths(p) => {
                        if let Some(path) = p.first().cloned() {
                            self.in_background(move || {
                                Done::Opened(std::fs::read_to_string(&path).map_err(|e| {
                                    format!("Could not read {}: {e}", path.display())
                                }))
                            });
                        }
                    }
                    Picked::Cancelled => {}
                    Picked::Unavailable(why) => {
                        self.message = Some((
                            true,
                            format!("{why}: put the layout file in the layouts folder ({}) and press Reload.", self.dir.display()),
                        ));
                    }
                }
            }
            if ui.button("Reload layouts folder").clicked() {
                self.reload();
            }
            ui.label(format!("Folder: {}", self.dir.display()));
        });
        if let Some((is_err, msg)) = &self.message {
            let color = if *is_err {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.colored_label(color, msg);
        }
        ui.separator();
        let ids: Vec<(String, String, bool)> = self
            .set
            .layouts
            .iter()
            .map(|l| {
                (
                    l.id.clone(),
                    l.name.clone(),
                    matches!(l.source, LayoutSource::File(_)),
                )
            })
            .collect();
        egui::Panel::left("layout-list")
            .resizable(true)
            .default_size(260.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for (id, name, own) in &ids {
                        let label = if *own {
                            format!("{name}  (trust's own)")
                        } else {
                            name.clone()
                        };
                        let chosen = self.selected.as_deref() == Some(id.as_str());
                        let r = ui.selectable_label(chosen, label).on_hover_text(id);
                        if chosen && std::mem::take(&mut self.reveal) {
                            r.scroll_to_me(Some(egui::Align::Center));
                        }
                        if r.clicked() {
                            self.selected = Some(id.clone());
                            self.editing = None;
                        }
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(text) = self.editing.as_mut() {
                let label = ui.label("Edit the layout (format: docs/layouts.md). Saving checks it first; an invalid layout is not used.");
                let mut save = false;
                let mut cancel = false;
                ui.horizontal(|ui| {
                    save = ui.button("Save and reload").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
                egui::ScrollArea::both().show(ui, |ui| {
                    ui.add(egui::TextEdit::multiline(text).code_editor().desired_width(f32::INFINITY).desired_rows(30)).labelled_by(label.id);
                });
                if save {
                    let t = text.clone();
                    self.save_text(&t);
                } else if cancel {
                    self.editing = None;
                }
                return;
            }
            let Some(layout) = self.current().cloned() else {
                ui.label("No layout selected.");
                return;
            };
            ui.heading(format!("{} — version {}", layout.name, layout.version));
            evidence_ui(ui, &layout, batches);
            let d = &layout.dialect;
            ui.label(format!(
                "Delimiter {:?} · quoting {} · {} · {} line endings · file name {}{}",
                d.delimiter as char,
                d.quote.map_or("none".to_string(), |q| format!("{:?}", q as char)),
                d.encoding.name(),
                d.line_ending.name(),
                layout.file_name.text,
                if layout.column_names { " · first line: column names" } else { "" }
            ));
            ui.horizontal(|ui| {
                if ui.button("Edit this layout").clicked() {
                    self.editing = Some(layout.text.clone());
                }
                if matches!(layout.source, LayoutSource::File(_)) && ui.button("Use the bundled layout").clicked() {
                    self.use_bundled();
                }
                let label = ui.label("Find field:");
                ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(180.0)).labelled_by(label.id);
            });
            // The rules across fields and records, in plain words, above the field table.
            let lines = rule_lines(&layout);
            egui::CollapsingHeader::new(format!("Rules across fields and records ({})", lines.len()))
                .id_salt("layout-rules")
                .default_open(true)
                .show(ui, |ui| {
                    if lines.is_empty() {
                        ui.label("This layout has no rules across fields or records.");
                    }
                    // A quarter of the screen's height at most, so the field table keeps the rest.
                    let most = (ui.ctx().content_rect().height() * 0.25).max(110.0);
                    egui::ScrollArea::vertical().id_salt("layout-rules-scroll").max_height(most).show(ui, |ui| {
                        for (code, text) in &lines {
                            // Said in full, wrapped beside its record type: a long rule must
                            // not widen the screen past the window.
                            ui.horizontal_top(|ui| {
                                let who = if code.is_empty() { "All records".to_string() } else { code.clone() };
                                ui.add_sized([70.0, 18.0], egui::Label::new(egui::RichText::new(who).weak()).truncate());
                                let rest = ui.available_width().max(120.0);
                                ui.allocate_ui_with_layout(egui::vec2(rest, 0.0), egui::Layout::top_down(egui::Align::Min), |ui| {
                                    ui.set_width(rest);
                                    ui.add(egui::Label::new(text.as_str()).wrap());
                                });
                            });
                        }
                    });
                });
            let needle = self.filter.to_lowercase();
            let rows: Vec<_> = describe(&layout).into_iter().filter(|r| needle.is_empty() || r.field.to_lowercase().contains(&needle) || r.record_type.to_lowercase().contains(&needle)).collect();
            fields_ui(ui, &rows);
        });
    }
}

/// The layout's fields as a table that fits the width (nothing scrolls sideways, so a field's
/// name stays beside its rules), every rule and code in full, wrapped; the header stays
/// while the rows scroll. Whether a field is required and its codes are said with its rules,
/// so that column has the room.
fn fields_ui(ui: &mut egui::Ui, rows: &[crate::layout::LayoutRow]) {
    let gap = ui.spacing().item_spacing.x;
    let fixed = [48.0, 170.0, 120.0];
    let rest = (ui.available_width() - fixed.iter().sum::<f32>() - gap * 4.0 - 16.0).max(200.0);
    let widths = [fixed[0], fixed[1], fixed[2], rest];
    let row_ui = |ui: &mut egui::Ui, cells: [egui::WidgetText; 4]| {
        ui.horizontal_top(|ui| {
            for (w, text) in widths.iter().zip(cells) {
                ui.allocate_ui_with_layout(
                    egui::vec2(*w, 0.0),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_width(*w);
                        ui.add(egui::Label::new(text).wrap());
                    },
                );
            }
        });
    };
    let strong = |t: &str| egui::WidgetText::from(egui::RichText::new(t).strong());
    row_ui(
        ui,
        [
            strong("Record"),
            strong("Field"),
            strong("ESR notation"),
            strong("Rules and codes"),
        ],
    );
    ui.separator();
    let stripe = ui.visuals().faint_bg_color;
    egui::ScrollArea::vertical()
        .id_salt("layout-fields")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (i, r) in rows.iter().enumerate() {
                let fill = if i % 2 == 1 {
                    stripe
                } else {
                    egui::Color32::TRANSPARENT
                };
                let mut said: Vec<String> = Vec::new();
                if r.required {
                    said.push("Required".into());
                }
                if !r.rules.is_empty() {
                    said.push(r.rules.clone());
                }
                if !r.codes.is_empty() {
                    said.push(format!("Codes: {}", r.codes));
                }
                egui::Frame::new().fill(fill).show(ui, |ui| {
                    row_ui(
                        ui,
                        [
                            r.record_type.as_str().into(),
                            format!("{}. {}", r.position, r.field).into(),
                            egui::RichText::new(&r.notation).monospace().into(),
                            said.join("; ").into(),
                        ],
                    );
                });
            }
        });
}

/// How far a layout can be trusted and where its facts come from: its evidence, the sources
/// it cites, the earlier releases it also reads, what it keeps as warnings, and the version
/// each of its batches was read with.
fn evidence_ui(ui: &mut egui::Ui, layout: &Layout, batches: &[crate::store::BatchInfo]) {
    use crate::layout::Evidence;
    let color = match layout.evidence {
        Evidence::Representative => ui.visuals().warn_fg_color,
        _ => ui.visuals().text_color(),
    };
    ui.colored_label(color, format!("Evidence: {}.", layout.evidence.words()));
    if !layout.representative.is_empty() {
        ui.colored_label(ui.visuals().warn_fg_color, &layout.representative);
    }
    if let Some(g) = &layout.grounding {
        ui.label(egui::RichText::new(g).weak());
    }
    if !layout.sources.is_empty() {
        egui::CollapsingHeader::new(format!("Sources ({})", layout.sources.len()))
            .id_salt("layout-sources")
            .show(ui, |ui| {
                for s in &layout.sources {
                    ui.label(s.cite());
                }
            });
    }
    let mut versions = vec![format!("{} (current)", layout.version)];
    for r in &layout.releases {
        let counts = crate::layout::release_counts(layout, r);
        versions.push(format!("{} ({counts} fields)", r.name));
    }
    if versions.len() > 1 {
        ui.label(format!("Versions it reads: {}.", versions.join("; ")));
    }
    let kept = crate::layout::tolerated_words(layout);
    if !kept.is_empty() {
        ui.label(format!(
            "Said as warnings, kept and exported as received: {}.",
            kept.join("; ")
        ));
    }
    let mine: Vec<String> = batches
        .iter()
        .filter(|b| b.layout_id == layout.id)
        .take(8)
        .map(|b| {
            format!(
                "batch {} ({}): read as {}",
                b.id,
                b.source_name,
                b.read_as.clone().unwrap_or_else(|| b
                    .layout
                    .rsplit(' ')
                    .next()
                    .unwrap_or("")
                    .to_string())
            )
        })
        .collect();
    if !mine.is_empty() {
        ui.label(egui::RichText::new(format!("Batches read with it: {}.", mine.join("; "))).weak());
    }
}

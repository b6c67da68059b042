//! Loading files: the queue of files to import, the progress bar with Cancel, the "which
//! interface is this?" dialog when detection fails, and the "already imported" dialog.

use super::app::{Command, Data, View};
use crate::layout::LayoutSet;
use std::collections::VecDeque;
use std::path::PathBuf;

/// An import under way.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The file.
    pub path: PathBuf,
    /// Interface id.
    pub interface: String,
    /// Bytes read.
    pub bytes: u64,
    /// File size.
    pub total: u64,
    /// Lines (records) read.
    pub lines: u64,
    /// Cancel was pressed.
    pub cancelling: bool,
    /// The officer named the interface of a file that was not recognised (what the program
    /// had said).
    pub chosen: Option<String>,
    /// A workbook or foreign CSV: the sheet and mapping confirmed.
    pub table: Option<Box<crate::mapping::TableImport>>,
}

impl Progress {
    /// A new import of a file of `total` bytes.
    pub fn new(path: PathBuf, interface: &str, total: u64) -> Self {
        Self {
            path,
            interface: interface.to_string(),
            bytes: 0,
            total: total.max(1),
            lines: 0,
            cancelling: false,
            chosen: None,
            table: None,
        }
    }

    /// Share done, 0 to 1.
    pub fn fraction(&self) -> f32 {
        (self.bytes as f64 / self.total.max(1) as f64).clamp(0.0, 1.0) as f32
    }

    /// Draws the progress bar and the Cancel button.
    pub fn ui(&self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.bytes >= self.total {
            // Every line is read and judged: the batch is being saved.
            ui.spinner();
            ui.label(format!(
                "Saving {name}: {} records read and checked; storing them and their key index",
                self.lines
            ));
        } else {
            ui.label(format!("Importing {name}"));
            ui.add(
                egui::ProgressBar::new(self.fraction())
                    .desired_width(220.0)
                    .show_percentage(),
            );
            ui.label(format!("{} records read", self.lines));
        }
        if self.cancelling {
            ui.label("Cancelling… (if the import is already being saved, you will be told)");
        } else if ui
            .button("Cancel")
            .on_hover_text("Stop the import; nothing is stored")
            .clicked()
        {
            cmds.push(Command::Data(Data::CancelImport));
        }
    }
}

/// A file whose interface the user must pick.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The file.
    pub path: PathBuf,
    /// Why detection failed.
    pub reason: String,
    /// Interface picked so far.
    pub picked: Option<String>,
    /// The file plausibly fits no interface: it can only be imported "anyway".
    pub fits_none: bool,
}

impl Choice {
    /// A new choice for `path`.
    pub fn new(path: PathBuf, reason: String, fits_none: bool) -> Self {
        Self {
            path,
            reason,
            picked: None,
            fits_none,
        }
    }
}

/// Loading state: queue, progress and dialogs.
#[derive(Debug, Default)]
pub struct ImportUi {
    /// Files waiting to be imported.
    pub queue: VecDeque<PathBuf>,
    /// The import running.
    pub running: Option<Progress>,
    /// A file waiting for the user to pick its interface.
    pub choice: Option<Choice>,
    /// A file already imported: (file, interface, earlier batch, the officer's choice of
    /// interface when the file was not recognised, the mapping of a workbook).
    pub duplicate: Option<Duplicate>,
    /// A workbook or foreign CSV whose columns are being mapped.
    pub mapping: Option<super::mapping::MappingDialog>,
}

/// A file already imported: (file, interface, earlier batch, the officer's choice of
/// interface when the file was not recognised, the mapping of a workbook).
pub type Duplicate = (
    PathBuf,
    String,
    i64,
    Option<String>,
    Option<Box<crate::mapping::TableImport>>,
);

impl ImportUi {
    /// Draws the dialogs waiting for an answer.
    pub fn dialogs_ui(
        &mut self,
        ctx: &egui::Context,
        layouts: &LayoutSet,
        cmds: &mut Vec<Command>,
    ) {
        if let Some(c) = &mut self.choice {
            let title = if c.fits_none {
                "This file does not look like an ESR interface file"
            } else {
                "Which interface is this file?"
            };
            egui::Window::new(title)
                .collapsible(false)
                .default_width(520.0)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ctx, |ui| {
                    ui.strong(c.path.display().to_string());
                    ui.label(&c.reason);
                    ui.add_space(6.0);
                    if c.fits_none {
                        ui.label("It can still be imported as an interface you name. That choice is kept with the batch, and every record will be judged against that interface's layout.");
                    }
                    let label = ui.label("Interface:");
                    let text = c
                        .picked
                        .as_ref()
                        .and_then(|id| layouts.get(id))
                        .map_or_else(|| "Choose…".to_string(), |l| l.name.clone());
                    egui::ComboBox::from_id_salt("pick-interface")
                        .selected_text(text)
                        .width(360.0)
                        .show_ui(ui, |ui| {
                            for l in &layouts.layouts {
                                ui.selectable_value(&mut c.picked, Some(l.id.clone()), &l.name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    ui.add_space(6.0);
                    ui.horizontal(|ui| {
                        let name = c
                            .picked
                            .as_ref()
                            .and_then(|id| layouts.get(id))
                            .map_or_else(String::new, |l| l.name.clone());
                        let text = match (c.fits_none, c.picked.is_some()) {
                            (true, true) => format!("Import anyway as {name}"),
                            (true, false) => "Import anyway as …".to_string(),
                            (false, _) => "Import".to_string(),
                        };
                        if ui
                            .add_enabled(c.picked.is_some(), egui::Button::new(text))
                            .clicked()
                            && let Some(id) = &c.picked
                        {
                            cmds.push(Command::Data(Data::ImportAs {
                                path: c.path.clone(),
                                interface: id.clone(),
                                force: false,
                                chosen: Some(c.reason.clone()),
                                table: None,
                            }));
                        }
                        // A CSV with a local system's own columns: map them to the interface.
                        if ui
                            .button("Map its columns…")
                            .on_hover_text("The file has its own column names: choose which column fills each field of the interface")
                            .clicked()
                        {
                            cmds.push(Command::Data(Data::ReadTable {
                                path: c.path.clone(),
                                interface: c.picked.clone(),
                                sheet: None,
                            }));
                        }
                        if ui.button("Skip this file").clicked() {
                            cmds.push(Command::Data(Data::SkipFile));
                        }
                    });
                });
        }
        if let Some((path, interface, existing, chosen, table)) = &self.duplicate {
            egui::Window::new("Already imported")
                .collapsible(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ctx, |ui| {
                    ui.label(format!(
                        "{} was imported before, as batch {existing}.",
                        path.display()
                    ));
                    ui.horizontal(|ui| {
                        if ui.button(format!("Open batch {existing}")).clicked() {
                            cmds.push(Command::Data(Data::SkipFile));
                            cmds.push(Command::View(View::OpenBatch(*existing)));
                        }
                        if ui.button("Import it again").clicked() {
                            cmds.push(Command::Data(Data::ImportAs {
                                path: path.clone(),
                                interface: interface.clone(),
                                force: true,
                                chosen: chosen.clone(),
                                table: table.clone(),
                            }));
                        }
                        if ui.button("Skip").clicked() {
                            cmds.push(Command::Data(Data::SkipFile));
                        }
                    });
                });
        }
    }
}

//! The application shell: menu bar, status bar and the current screen.

use super::catalogue::CatalogueScreen;
use std::path::PathBuf;

/// The running application.
pub struct App {
    /// The catalogue screen.
    pub catalogue: CatalogueScreen,
    /// Files named on the command line, waiting to be opened.
    pub pending_files: Vec<PathBuf>,
    /// Store path chosen on the command line.
    pub db: Option<PathBuf>,
    /// Message for the status bar.
    pub status: String,
}

impl App {
    /// Builds the app; `cc` gives access to persisted state.
    pub fn new(
        _cc: &eframe::CreationContext<'_>,
        files: Vec<PathBuf>,
        db: Option<PathBuf>,
    ) -> Self {
        Self::headless(files, db)
    }

    /// Builds the app without an eframe context (tests).
    pub fn headless(files: Vec<PathBuf>, db: Option<PathBuf>) -> Self {
        let catalogue = CatalogueScreen::new();
        let status = catalogue.layout_status();
        Self {
            catalogue,
            pending_files: files,
            db,
            status,
        }
    }

    /// Draws one frame.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    if ui.button("Quit").clicked() {
                        ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                });
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.label(&self.status);
        });
        egui::CentralPanel::default().show(ui, |ui| {
            self.catalogue.ui(ui);
        });
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

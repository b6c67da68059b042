//! The window: egui screens over the core. One file a screen; no business rule lives here.
//!
//! `run` starts eframe with the glow renderer (no GPU needed, works under Xvfb). The screens:
//! [`catalogue`] (home), [`batches`] (import history), [`batch`] (the table, with [`issues`]
//! and [`audit`] beside it), [`import`] (loading), [`layouts`] (view and edit layouts) and
//! [`schedules`] (scheduled exports); [`app`] holds them and applies every user action.

pub mod access;
pub mod app;
pub mod audit;
pub mod batch;
pub mod batches;
pub mod catalogue;
pub mod files;
pub mod hub;
pub mod import;
pub mod issues;
pub mod layouts;
pub mod mapping;
pub mod model;
pub mod reports;
pub mod schedules;
pub mod task;

use std::path::PathBuf;

/// Opens the window; returns when it is closed.
pub fn run(files: Vec<PathBuf>, db: Option<PathBuf>) -> Result<(), String> {
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title("ESR Interface Desk")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "ESR Interface Desk",
        options,
        Box::new(move |cc| Ok(Box::new(app::App::new(cc, files, db)))),
    )
    .map_err(|e| e.to_string())
}

//! The window, driven through egui_kittest (no GPU, no display).

use egui_kittest::{Harness, kittest::Queryable as _};
use esr_desk::ui::catalogue::CatalogueScreen;

#[test]
fn catalogue_screen_searches_and_filters() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, s: &mut CatalogueScreen| s.ui(ui),
            CatalogueScreen::new(),
        );
    h.run();
    assert_eq!(h.state().rows_shown, 42);
    h.get_by_label("APIs").click();
    h.run();
    assert_eq!(h.state().rows_shown, 5);
    h.get_by_label("All kinds").click();
    h.run();
    h.get_by_label("Search:").click();
    h.run();
    h.get_by_label("Search:").type_text("pension");
    h.run();
    assert_eq!(h.state().rows_shown, 6);
    h.get_by_label("Into ESR").click();
    h.run();
    assert_eq!(
        h.state().rows_shown,
        0,
        "every pension interface is ticked Out in the seed"
    );
}

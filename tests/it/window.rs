//! What the window tests share: a harness over the real app at a given size, waiting until
//! the app has nothing left to do, and finding a field of the open batch.

use egui_kittest::Harness;
use esr_desk::ui::app::App;
use esr_desk::ui::batch::BatchView;
use std::time::{Duration, Instant};

/// The real app in a harness of `w`×`h` points. A frame may ask for another whenever the
/// worker answers, and on a loaded machine its answers arrive over more frames: `run` is
/// given room for them rather than failing on the fourth.
pub fn harness_sized(app: App, w: f32, h: f32) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(w, h))
        .with_max_steps(64)
        .build_ui_state(|ui, app: &mut App| app.frame(ui), app)
}

/// Runs frames until the worker, the page reader and the panels have had nothing to do for a
/// few frames running (a frame may ask for more: the issues panel re-reads after a change).
pub fn settle(h: &mut Harness<'static, App>) {
    let start = Instant::now();
    let mut idle = 0;
    while idle < 3 {
        h.step();
        if h.state().busy() {
            idle = 0;
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the worker did not finish"
            );
            std::thread::sleep(Duration::from_millis(5));
        } else {
            idle += 1;
        }
    }
    h.run();
}

/// The open batch.
pub fn view<'a>(h: &'a Harness<'static, App>) -> &'a BatchView {
    h.state().view.as_ref().expect("a batch is open")
}

/// The position of the open tab's field called `name`.
pub fn field_index(h: &Harness<'static, App>, name: &str) -> usize {
    view(h)
        .fields()
        .iter()
        .position(|f| f.name == name)
        .expect("field")
}

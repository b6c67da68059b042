//! Schedules screen: each interface's scheduled run (cadence in UK time, inbox, outbox, what
//! to do with rejects), when it is next due, "run due now", and the run history with a chart
//! of runs and outcomes by day. The runs themselves happen off this thread.

use super::task::Tasks;
use crate::catalogue::Catalogue;
use crate::schedule::{
    Cadence, OnRejects, RunEntry, RunReport, Schedule, ScheduleSettings, SystemClock, run_due,
    run_history, save_schedule,
};
use crate::store::Store;
use chrono_tz::Europe::London;
use std::path::PathBuf;

/// The form for one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleForm {
    /// Interface id.
    pub interface: String,
    /// Cadence text.
    pub cadence: String,
    /// Inbox folder.
    pub inbox: String,
    /// Outbox folder.
    pub outbox: String,
    /// Export the valid rows instead of holding.
    pub valid_rows_only: bool,
    /// Check references against the latest batch of the referenced interface.
    pub check_references: bool,
    /// Switched on.
    pub enabled: bool,
    /// Pull from this organisation's hub (VPD; empty: no).
    pub hub_from: String,
    /// Deliver to this organisation's hub (VPD; empty: no).
    pub hub_to: String,
}

/// Schedules (readable and not) and the run history, as read.
type Loaded = (
    Vec<Schedule>,
    Vec<crate::schedule::Unreadable>,
    Vec<RunEntry>,
);

/// What the screen's background thread hands back.
enum Done {
    /// Schedules (readable, unreadable) and history, read.
    Loaded(Result<Loaded, String>),
    /// A schedule saved (with warnings about its folders), or why not.
    Saved(Result<(Schedule, Vec<String>), String>),
}

/// State of the schedules screen. Every read and write of the store happens on a thread of
/// its own; the screen only draws and starts them.
pub struct SchedulesScreen {
    /// The store file.
    pub db: PathBuf,
    /// Schedules, as last read.
    pub rows: Vec<Schedule>,
    /// Recent runs.
    pub history: Vec<RunEntry>,
    /// The form, when adding or changing a schedule.
    pub form: Option<ScheduleForm>,
    /// Last result in words: (is an error, message).
    pub message: Option<(bool, String)>,
    /// Interface names by id (the catalogue's titles).
    pub names: std::collections::HashMap<String, String>,
    running: Tasks<Result<Vec<RunReport>, String>>,
    io: Tasks<Done>,
}

impl SchedulesScreen {
    /// A screen over the store at `db`.
    pub fn new(db: PathBuf) -> Self {
        let mut s = Self {
            db,
            rows: Vec::new(),
            history: Vec::new(),
            form: None,
            message: None,
            names: Catalogue::bundled()
                .interfaces
                .iter()
                .map(|i| (i.id.clone(), i.title()))
                .collect(),
            running: Tasks::default(),
            io: Tasks::default(),
        };
        s.refresh();
        s
    }

    /// The name of an interface (its id when unknown).
    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// Runs `work` over the store on a thread of its own; its answer is picked up by `poll`.
    fn in_background(
        &mut self,
        work: impl FnOnce(&Store) -> Done + Send + 'static,
        failed: fn(String) -> Done,
    ) {
        let db = self.db.clone();
        self.io.spawn(move || match Store::open(&db) {
            Ok(store) => work(&store),
            Err(e) => failed(e.to_string()),
        });
    }

    /// Re-reads schedules and history (on a thread).
    pub fn refresh(&mut self) {
        self.in_background(
            |store| {
                Done::Loaded(
                    crate::schedule::read_schedules(store)
                        .map_err(|e| e.to_string())
                        .map(|(rows, bad)| {
                            (rows, bad, run_history(store, 500).unwrap_or_default())
                        }),
                )
            },
            |e| Done::Loaded(Err(e)),
        );
    }

    fn on_done(&mut self, d: Done) {
        match d {
            Done::Loaded(Ok((rows, bad, history))) => {
                self.rows = rows;
                self.history = history;
                if let Some(u) = bad.first() {
                    self.message = Some((
                        true,
                        format!(
                            "Schedule {} ({}) cannot be read: {}. Open it and save it again.",
                            u.id, u.interface, u.why
                        ),
                    ));
                }
            }
            Done::Loaded(Err(e)) => self.message = Some((true, e)),
            Done::Saved(Ok((s, warnings))) => {
                let mut msg = format!(
                    "Saved: {} runs {}; next {}.",
                    self.name(&s.interface),
                    s.cadence,
                    uk(s.next_due())
                );
                let warn = !warnings.is_empty();
                for w in warnings {
                    msg.push_str(&format!(" Note: {w}."));
                }
                self.message = Some((warn, msg));
                self.form = None;
                self.refresh();
            }
            Done::Saved(Err(e)) => self.message = Some((true, e)),
        }
    }

    /// Saves the form; on a bad cadence or unknown interface says why and keeps the form.
    pub fn save_form(&mut self) -> bool {
        let Some(f) = self.form.clone() else {
            return false;
        };
        let cadence = match f.cadence.parse::<Cadence>() {
            Ok(c) => c,
            Err(e) => {
                self.message = Some((true, e.to_string()));
                return false;
            }
        };
        let path = |s: &str| (!s.trim().is_empty()).then(|| PathBuf::from(s.trim()));
        let settings = ScheduleSettings {
            interface: f.interface.clone(),
            enabled: f.enabled,
            cadence,
            inbox: path(&f.inbox),
            outbox: path(&f.outbox),
            on_rejects: if f.valid_rows_only {
                OnRejects::ValidRowsOnly
            } else {
                OnRejects::Hold
            },
            check_references: f.check_references,
            hub_from: (!f.hub_from.trim().is_empty()).then(|| f.hub_from.trim().to_string()),
            hub_to: (!f.hub_to.trim().is_empty()).then(|| f.hub_to.trim().to_string()),
        };
        self.message = Some((false, "Saving…".into()));
        self.in_background(
            move |store| {
                Done::Saved(
                    save_schedule(store, &settings, &SystemClock)
                        .map(|s| (s, settings.folder_warnings()))
                        .map_err(|e| e.to_string()),
                )
            },
            |e| Done::Saved(Err(e)),
        );
        true
    }

    /// True while a run, a read or a save started from this screen is going on.
    pub fn busy(&self) -> bool {
        self.running.busy() || self.io.busy()
    }

    /// Starts "run due now" on a worker thread.
    pub fn run_now(&mut self) {
        self.start(None);
    }

    /// Runs every due schedule (None) or one schedule now (its id) on a worker thread,
    /// through the same lease, steps and history as `run-due` and `schedule run ID`.
    fn start(&mut self, one: Option<i64>) {
        if self.running.busy() {
            return;
        }
        let db = self.db.clone();
        self.running.spawn(move || {
            Store::open(&db)
                .map_err(|e| e.to_string())
                .and_then(|mut store| {
                    let layouts = crate::paths::layout_set().unwrap_or_default();
                    match one {
                        None => run_due(
                            &mut store,
                            &layouts,
                            &SystemClock,
                            &crate::schedule::lease_owner("Run due now in the window"),
                        ),
                        Some(id) => crate::schedule::run_now(
                            &mut store,
                            id,
                            &layouts,
                            &SystemClock,
                            &crate::schedule::lease_owner("Run now in the window"),
                        )
                        .map(|r| vec![r]),
                    }
                    .map_err(|e| e.to_string())
                })
        });
        self.message = Some((
            false,
            match one {
                None => "Running the schedules that are due…".into(),
                Some(id) => format!("Running schedule {id} now…"),
            },
        ));
    }

    /// Picks up what the screen's threads finished; true when a run finished this call.
    pub fn poll(&mut self) -> bool {
        for d in self.io.take() {
            self.on_done(d);
        }
        let Some(result) = self.running.take().pop() else {
            return false;
        };
        self.message = Some(match result {
            Ok(r) if r.is_empty() => (false, "Nothing was due.".into()),
            Ok(r) => (
                r.iter()
                    .any(|x| x.outcome == crate::store::RunOutcome::Failed),
                r.iter()
                    .map(crate::schedule::RunReport::summary)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Err(e) => (true, e),
        });
        self.refresh();
        true
    }

    /// Runs by day and outcome for the chart, for the 14 days up to the latest run (days
    /// without runs included): (day, [ok, held, failed]).
    pub fn runs_by_day(&self) -> Vec<(chrono::NaiveDate, [u32; 3])> {
        let day_of =
            |t: &str| chrono::NaiveDate::parse_from_str(t.get(..10).unwrap_or(""), "%Y-%m-%d").ok();
        let Some(last) = self
            .history
            .iter()
            .filter_map(|r| day_of(&r.started_at))
            .max()
        else {
            return Vec::new();
        };
        let mut days: Vec<(chrono::NaiveDate, [u32; 3])> = (0..14)
            .rev()
            .map(|k| (last - chrono::Duration::days(k), [0; 3]))
            .collect();
        for r in &self.history {
            if let Some(d) = day_of(&r.started_at)
                && let Some((_, n)) = days.iter_mut().find(|(day, _)| *day == d)
            {
                match r.outcome {
                    crate::store::RunOutcome::Failed => n[2] += 1,
                    crate::store::RunOutcome::Held | crate::store::RunOutcome::AlreadyImported => {
                        n[1] += 1
                    }
                    _ => n[0] += 1,
                }
            }
        }
        days
    }

    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.busy() {
            self.poll();
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        ui.horizontal_wrapped(|ui| {
            ui.heading("Scheduled runs");
            if ui.button("Add schedule…").clicked() {
                let first = Catalogue::bundled()
                    .batch()
                    .next()
                    .map(|i| i.id.clone())
                    .unwrap_or_default();
                self.form = Some(form_for(&first, None));
            }
            let run = ui.add_enabled(!self.running.busy(), egui::Button::new("Run due now"));
            if run.clicked() {
                self.run_now();
            }
            if ui.button("Refresh").clicked() {
                self.refresh();
            }
        });
        ui.label("Times are UK time. While this window is open due schedules run by themselves; otherwise `esr-desk run-due` runs them (see the README for cron and Task Scheduler).");
        if let Some((is_err, msg)) = &self.message {
            let color = if *is_err {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.colored_label(color, msg);
        }
        if self.form.is_some() {
            self.form_ui(ui);
        }
        ui.separator();
        if self.rows.is_empty() {
            ui.label("No schedules yet. Use \"Add schedule…\" to have an interface's files picked up, checked and exported by themselves.");
        }
        let mut edit: Option<ScheduleForm> = None;
        let mut run_one: Option<i64> = None;
        let names = &self.names;
        egui::ScrollArea::horizontal()
            .id_salt("schedules-hscroll")
            .show(ui, |ui| {
                egui::Grid::new("schedules-grid")
                    .striped(true)
                    .num_columns(8)
                    .show(ui, |ui| {
                        for h in [
                            "Interface",
                            "When",
                            "On",
                            "Next due",
                            "Last checked",
                            "Inbox",
                            "Outbox",
                            "",
                        ] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for s in &self.rows {
                            ui.label(
                                names
                                    .get(&s.interface)
                                    .map_or(s.interface.as_str(), String::as_str),
                            )
                            .on_hover_text(format!("id: {}", s.interface));
                            ui.label(s.cadence.to_string());
                            ui.label(if s.enabled { "Yes" } else { "No" });
                            ui.label(if s.enabled {
                                uk(s.next_due())
                            } else {
                                "—".into()
                            });
                            ui.label(s.last_checked_at.map_or("never".into(), uk));
                            ui.label(with_hub(s.inbox.as_deref(), s.hub_from.as_deref()));
                            ui.label(with_hub(s.outbox.as_deref(), s.hub_to.as_deref()));
                            ui.horizontal(|ui| {
                                if ui.button("Change…").clicked() {
                                    edit = Some(form_for(&s.interface, Some(s)));
                                }
                                if ui
                                    .add_enabled(!self.running.busy(), egui::Button::new("Run now"))
                                    .on_hover_text("Run this schedule now, whatever its cadence")
                                    .clicked()
                                {
                                    run_one = Some(s.id);
                                }
                            });
                            ui.end_row();
                        }
                    });
            });
        if edit.is_some() {
            self.form = edit;
        }
        if let Some(id) = run_one {
            self.start(Some(id));
        }
        ui.separator();
        ui.strong("Run history");
        let by_day = self.runs_by_day();
        if !by_day.is_empty() {
            let mk = |k: usize, name: &str, color: egui::Color32| {
                let bars: Vec<egui_plot::Bar> = by_day
                    .iter()
                    .enumerate()
                    .map(|(i, (day, n))| {
                        egui_plot::Bar::new(i as f64, f64::from(n[k]))
                            .width(0.7)
                            .name(day.format("%d/%m").to_string())
                    })
                    .collect();
                egui_plot::BarChart::new(name, bars).color(color)
            };
            let ok = mk(0, "ok", egui::Color32::from_rgb(60, 150, 90));
            let held = mk(1, "held", egui::Color32::from_rgb(220, 160, 40)).stack_on(&[&ok]);
            let failed =
                mk(2, "failed", egui::Color32::from_rgb(200, 60, 60)).stack_on(&[&ok, &held]);
            let labels: Vec<String> = by_day
                .iter()
                .map(|(d, _)| d.format("%d/%m").to_string())
                .collect();
            let most = by_day
                .iter()
                .map(|(_, n)| n.iter().sum::<u32>())
                .max()
                .unwrap_or(1);
            egui_plot::Plot::new("runs-chart")
                .height(140.0)
                .legend(egui_plot::Legend::default())
                .allow_zoom(false)
                .allow_drag(false)
                .allow_scroll(false)
                .include_x(-0.6)
                .include_x(by_day.len() as f64 - 0.4)
                .include_y(0.0)
                .include_y(f64::from(most) + 0.5)
                .x_axis_formatter(move |mark, _| {
                    let i = mark.value.round();
                    if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                        labels.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_axis_label("runs")
                .show(ui, |p| {
                    p.bar_chart(ok);
                    p.bar_chart(held);
                    p.bar_chart(failed);
                });
        }
        if self.history.is_empty() {
            ui.label("No runs yet.");
            return;
        }
        egui::ScrollArea::both().id_salt("runs").show(ui, |ui| {
            egui::Grid::new("runs-grid")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in [
                        "Started",
                        "Interface",
                        "Outcome",
                        "Files",
                        "Exports",
                        "What happened",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in &self.history {
                        ui.label(
                            r.started_at
                                .get(..16)
                                .unwrap_or(&r.started_at)
                                .replace('T', " "),
                        );
                        ui.label(self.name(&r.interface));
                        ui.label(r.outcome.as_str());
                        ui.label(r.files.to_string());
                        ui.label(r.exports.to_string());
                        // Every file's fate, one line each.
                        ui.label(r.message.clone().unwrap_or_default());
                        ui.end_row();
                    }
                });
        });
    }

    fn form_ui(&mut self, ui: &mut egui::Ui) {
        let mut save = false;
        let mut cancel = false;
        let mut note: Option<String> = None;
        if let Some(f) = self.form.as_mut() {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                egui::Grid::new("schedule-form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        let l = ui.label("Interface");
                        let shown = Catalogue::bundled()
                            .get(&f.interface)
                            .map_or_else(|| f.interface.clone(), |i| i.title());
                        egui::ComboBox::from_id_salt("form-interface")
                            .selected_text(shown)
                            .show_ui(ui, |ui| {
                                for i in Catalogue::bundled().batch() {
                                    ui.selectable_value(&mut f.interface, i.id.clone(), i.title());
                                }
                            })
                            .response
                            .labelled_by(l.id);
                        ui.end_row();
                        let l = ui.label("When");
                        ui.add(
                            egui::TextEdit::singleline(&mut f.cadence).hint_text("daily at 06:00"),
                        )
                        .labelled_by(l.id);
                        ui.end_row();
                        let l = ui.label("Inbox folder");
                        ui.horizontal(|ui| {
                            ui.add(egui::TextEdit::singleline(&mut f.inbox).desired_width(320.0))
                                .labelled_by(l.id);
                            if ui.button("Browse…").clicked() {
                                browse(&mut f.inbox, &mut note);
                            }
                        });
                        ui.end_row();
                        let l = ui.label("Outbox folder");
                        ui.horizontal(|ui| {
                            ui.add(egui::TextEdit::singleline(&mut f.outbox).desired_width(320.0))
                                .labelled_by(l.id);
                            if ui.button("Browse…").clicked() {
                                browse(&mut f.outbox, &mut note);
                            }
                        });
                        ui.end_row();
                        let l = ui.label("Also pull from the hub of");
                        ui.add(
                            egui::TextEdit::singleline(&mut f.hub_from)
                                .hint_text("VPD code, e.g. RX1")
                                .desired_width(160.0),
                        )
                        .labelled_by(l.id)
                        .on_hover_text("Download this interface's new files from that organisation's NHS Interface Hub (Out) at each run");
                        ui.end_row();
                        let l = ui.label("Deliver to the hub of");
                        ui.add(
                            egui::TextEdit::singleline(&mut f.hub_to)
                                .hint_text("VPD code, e.g. RX1")
                                .desired_width(160.0),
                        )
                        .labelled_by(l.id)
                        .on_hover_text("Upload each clean batch to that organisation's NHS Interface Hub (In), exactly once");
                        ui.end_row();
                        ui.label("When a file has rejects");
                        ui.horizontal(|ui| {
                            ui.radio_value(&mut f.valid_rows_only, false, "Hold it for review");
                            ui.radio_value(&mut f.valid_rows_only, true, "Export the valid rows");
                        });
                        ui.end_row();
                        ui.label("References");
                        ui.checkbox(
                            &mut f.check_references,
                            "Check against the latest stored batch of the referenced interface",
                        );
                        ui.end_row();
                        ui.label("");
                        ui.checkbox(&mut f.enabled, "Switched on");
                        ui.end_row();
                    });
                ui.horizontal(|ui| {
                    save = ui.button("Save schedule").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            });
        }
        if let Some(n) = note {
            self.message = Some((true, n));
        }
        if save {
            self.save_form();
        } else if cancel {
            self.form = None;
        }
    }
}

/// "Browse…" for a folder: the system's dialog, or when it cannot open, a note to type it.
fn browse(field: &mut String, note: &mut Option<String>) {
    use super::files::{Picked, Purpose, native};
    let start = std::path::PathBuf::from(field.trim());
    match native(&Purpose::ExportFolder, Some(&start), "") {
        Picked::Paths(p) => {
            if let Some(first) = p.first() {
                *field = first.display().to_string();
            }
        }
        Picked::Cancelled => {}
        Picked::Unavailable(why) => {
            *note = Some(format!(
                "{why}: type or paste the folder's path in the box."
            ));
        }
    }
}

fn uk(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&London)
        .format("%a %d/%m/%Y %H:%M")
        .to_string()
}

/// A schedule's folder and hub, as its row shows them: "folder", "hub RX1", "folder + hub RX1".
fn with_hub(folder: Option<&std::path::Path>, hub: Option<&str>) -> String {
    match (folder, hub) {
        (Some(f), Some(h)) => format!("{} + hub {h}", f.display()),
        (Some(f), None) => f.display().to_string(),
        (None, Some(h)) => format!("hub {h}"),
        (None, None) => "—".into(),
    }
}

fn form_for(interface: &str, existing: Option<&Schedule>) -> ScheduleForm {
    match existing {
        Some(s) => ScheduleForm {
            interface: s.interface.clone(),
            cadence: s.cadence.to_string(),
            inbox: s
                .inbox
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            outbox: s
                .outbox
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            valid_rows_only: s.on_rejects == OnRejects::ValidRowsOnly,
            check_references: s.check_references,
            enabled: s.enabled,
            hub_from: s.hub_from.clone().unwrap_or_default(),
            hub_to: s.hub_to.clone().unwrap_or_default(),
        },
        None => {
            let freq = Catalogue::bundled()
                .get(interface)
                .map(|i| i.frequency.clone())
                .unwrap_or_default();
            let (c, on) = Cadence::for_frequency(&freq);
            ScheduleForm {
                interface: interface.to_string(),
                cadence: c.to_string(),
                inbox: String::new(),
                outbox: String::new(),
                valid_rows_only: false,
                check_references: false,
                enabled: on,
                hub_from: String::new(),
                hub_to: String::new(),
            }
        }
    }
}

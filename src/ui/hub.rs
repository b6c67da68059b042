//! The Hub screen: the dashboard (each interface in use: last file in and out, next due,
//! overdue, sequence state, ESR's rejections outstanding, and the warnings that need an
//! officer), the organisations with their NHS Interface Hub connections ("Test connection",
//! "Pull now"), and the latest hub transfers. Every read, save and network step runs on a
//! thread of its own; the screen only draws and starts them.

use super::task::Tasks;
use crate::hub::dashboard::Dashboard;
use crate::hub::{Face, Org, secret, transfer};
use crate::store::Store;
use crate::store::hub::Transfer;
use std::path::PathBuf;

/// The organisation form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgForm {
    /// VPD code.
    pub vpd: String,
    /// Name.
    pub name: String,
    /// `ftps://USER@HOST:PORT/`.
    pub hub: String,
    /// Extra CA file.
    pub ca_file: String,
    /// A new password (empty: keep the saved one). Cleared once saved.
    pub password: String,
}

/// What was read for the screen.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The dashboard.
    pub dashboard: Dashboard,
    /// Organisations, each with whether a password is saved for its hub account.
    pub orgs: Vec<(Org, bool)>,
    /// The latest hub transfers.
    pub transfers: Vec<Transfer>,
}

enum Done {
    Loaded(Result<Loaded, String>),
    /// The form saved (it closes) or why not (it stays, without the password typed).
    Saved(Result<String, String>),
    /// (is an error, message); reload after.
    Said(bool, String),
}

/// State of the Hub screen.
pub struct HubScreen {
    /// The store file.
    pub db: PathBuf,
    /// As last read.
    pub loaded: Loaded,
    /// The organisation form, when adding or changing one.
    pub form: Option<OrgForm>,
    /// Last result in words: (is an error, message).
    pub message: Option<(bool, String)>,
    io: Tasks<Done>,
}

fn load(db: &std::path::Path) -> Result<Loaded, String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let layouts = crate::paths::layout_set().unwrap_or_default();
    let dashboard = crate::hub::dashboard::build(&store, &layouts, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    let orgs = Org::all(&store)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|o| {
            let has = o
                .hub
                .as_ref()
                .is_some_and(|h| secret::has_password(&store, &o.vpd, &h.user));
            (o, has)
        })
        .collect();
    let transfers = store.transfers(30).map_err(|e| e.to_string())?;
    Ok(Loaded {
        dashboard,
        orgs,
        transfers,
    })
}

impl HubScreen {
    /// A screen over the store at `db`; starts reading.
    pub fn new(db: PathBuf) -> Self {
        let mut s = Self {
            db,
            loaded: Loaded::default(),
            form: None,
            message: None,
            io: Tasks::default(),
        };
        s.refresh();
        s
    }

    /// Reads everything again (on a thread).
    pub fn refresh(&mut self) {
        let db = self.db.clone();
        self.io.spawn(move || Done::Loaded(load(&db)));
    }

    /// True while a read, a save or a network step is going on.
    pub fn busy(&self) -> bool {
        self.io.busy()
    }

    /// Picks up what the screen's threads finished.
    pub fn poll(&mut self) {
        let mut again = false;
        for d in self.io.take() {
            match d {
                Done::Loaded(Ok(l)) => self.loaded = l,
                Done::Loaded(Err(e)) => {
                    self.message = Some((true, format!("The hub's state could not be read: {e}")));
                }
                Done::Said(bad, m) => {
                    self.message = Some((bad, m));
                    again = true;
                }
                Done::Saved(r) => {
                    if r.is_ok() {
                        self.form = None;
                    }
                    self.message = Some(match r {
                        Ok(m) => (false, m),
                        Err(e) => (true, e),
                    });
                    again = true;
                }
            }
        }
        if again {
            self.refresh();
        }
    }

    fn act(
        &mut self,
        what: String,
        work: impl FnOnce(&mut Store) -> Result<String, String> + Send + 'static,
    ) {
        let db = self.db.clone();
        self.message = Some((false, what));
        self.io.spawn(move || {
            match Store::open(&db)
                .map_err(|e| e.to_string())
                .and_then(|mut s| work(&mut s))
            {
                Ok(m) => Done::Said(false, m),
                Err(e) => Done::Said(true, e),
            }
        });
    }

    /// Saves the form (and the password, in the credential store) on a thread; the password
    /// typed leaves the form at once.
    pub fn save_form(&mut self) {
        let Some(f) = &mut self.form else { return };
        let form = f.clone();
        f.password.clear();
        let db = self.db.clone();
        self.message = Some((false, "Saving…".into()));
        self.io.spawn(move || {
            Done::Saved(
                Store::open(&db)
                    .map_err(|e| e.to_string())
                    .and_then(|store| {
                        let ca = (!form.ca_file.trim().is_empty())
                            .then(|| PathBuf::from(form.ca_file.trim()));
                        let org = Org::save(
                            &store,
                            &form.vpd,
                            &form.name,
                            Some(&form.hub),
                            ca.as_deref(),
                        )
                        .map_err(|e| e.to_string())?;
                        let mut said = format!("Organisation {} ({}) saved.", org.vpd, org.name);
                        if !form.password.is_empty() {
                            let Some(h) = &org.hub else {
                                return Err(
                                    "A password needs a hub address: it belongs to a hub account."
                                        .into(),
                                );
                            };
                            let kept = secret::save(&store, &org.vpd, &h.user, &form.password)
                                .map_err(|e| e.to_string())?;
                            said.push_str(&format!(" Password kept {kept}."));
                        }
                        Ok(said)
                    }),
            )
        });
    }

    /// "Test connection" for an organisation.
    pub fn test(&mut self, vpd: String) {
        self.act(format!("Testing the connection of {vpd}…"), move |store| {
            let org = Org::get(store, &vpd).map_err(|e| e.to_string())?;
            org.test(store)
                .map(|m| format!("{vpd}: {m}."))
                .map_err(|e| format!("{vpd}: the test failed: {}.", e.say(Face::Window)))
        });
    }

    /// "Pull now": downloads and imports the new files in an organisation's `Out`.
    pub fn pull(&mut self, vpd: String) {
        self.act(format!("Pulling new files for {vpd}…"), move |store| {
            let org = Org::get(store, &vpd).map_err(|e| e.to_string())?;
            let layouts = crate::paths::layout_set().unwrap_or_default();
            let r = transfer::pull(store, &layouts, &org, &transfer::HubOptions::default())
                .map_err(|e| {
                    format!(
                        "{vpd}: {}. Nothing was lost: pull again later.",
                        e.say(Face::Window)
                    )
                })?;
            let mut lines = Vec::new();
            for p in &r.pulled {
                lines.push(format!(
                    "{} as batch {}{}",
                    p.name,
                    p.batch,
                    if p.notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", p.notes.join("; "))
                    }
                ));
                transfer::finish_pull(store, p.transfer).map_err(|e| e.to_string())?;
            }
            for (n, why) in &r.failed {
                lines.push(format!("{n} not finished: {why}"));
            }
            if lines.is_empty() {
                return Ok(format!("Nothing new in {} for {vpd}.", crate::hub::OUT));
            }
            Ok(format!("{vpd}: {}", lines.join("; ")))
        });
    }

    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<super::app::Command>) {
        if self.busy() {
            self.poll();
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        ui.horizontal_wrapped(|ui| {
            ui.heading("Hub and dashboard");
            if ui.button("Refresh").clicked() {
                self.refresh();
            }
            if self.busy() {
                ui.spinner();
            }
        });
        if let Some((bad, m)) = &self.message {
            let c = if *bad {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(c, m);
        }
        egui::ScrollArea::both()
            .id_salt("hub-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.dashboard_ui(ui, cmds);
                ui.separator();
                self.orgs_ui(ui);
                ui.separator();
                self.transfers_ui(ui);
            });
    }

    fn dashboard_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<super::app::Command>) {
        let mut refresh = None;
        self.dashboard_grid(ui, cmds, &mut refresh);
        if let Some((vpd, interface)) = refresh {
            self.act(
                format!("Asking ESR for a full {interface} extract for {vpd}…"),
                move |store| {
                    let org = Org::get(store, &vpd).map_err(|e| e.to_string())?;
                    let layouts = crate::paths::layout_set().unwrap_or_default();
                    transfer::request_refresh(
                        store,
                        &layouts,
                        &org,
                        &interface,
                        &transfer::HubOptions::default(),
                    )
                    .map(|p| {
                        format!(
                            "Full refresh requested: {} delivered to {}.",
                            p.name,
                            crate::hub::IN
                        )
                    })
                    .map_err(|e| e.say(Face::Window))
                },
            );
        }
    }

    fn dashboard_grid(
        &self,
        ui: &mut egui::Ui,
        cmds: &mut Vec<super::app::Command>,
        refresh: &mut Option<(String, String)>,
    ) {
        let d = &self.loaded.dashboard;
        ui.strong("Needs you");
        if d.warnings.is_empty() {
            ui.label("Nothing: no sequence gap, no overdue file, no rejection outstanding, no transfer failing.");
        }
        for w in &d.warnings {
            ui.colored_label(ui.visuals().warn_fg_color, w);
        }
        ui.add_space(6.0);
        ui.strong("Interfaces in use");
        if d.lines.is_empty() {
            ui.label("None yet: import a file, pull from a hub or set up a schedule.");
            return;
        }
        egui::Grid::new("dashboard-grid")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for h in [
                    "Interface",
                    "Last in",
                    "Last out",
                    "Next due",
                    "Overdue",
                    "Sequence",
                    "ESR rejections",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for l in &d.lines {
                    if ui.link(&l.title).on_hover_text("Its batches").clicked() {
                        cmds.push(super::app::Command::View(super::app::View::ShowBatchesOf(
                            Some(l.interface.clone()),
                        )));
                    }
                    match &l.last_in {
                        Some((at, f, b)) => {
                            ui.label(format!("{} · batch {b}", short(at))).on_hover_text(f);
                        }
                        None => {
                            ui.label("–");
                        }
                    }
                    match &l.last_out {
                        Some((at, f)) => {
                            ui.label(short(at)).on_hover_text(f);
                        }
                        None => {
                            ui.label("–");
                        }
                    }
                    ui.label(l.next_due.map_or_else(
                        || "–".into(),
                        |t| {
                            t.with_timezone(&chrono_tz::Europe::London)
                                .format("%d/%m %H:%M")
                                .to_string()
                        },
                    ));
                    match &l.overdue {
                        Some(o) => ui.colored_label(ui.visuals().warn_fg_color, o),
                        None => ui.label("–"),
                    };
                    let mut asked = None;
                    ui.horizontal(|ui| {
                        match (&l.sequence, &l.sequence_note) {
                        (Some(s), Some(n)) => ui
                            .colored_label(ui.visuals().warn_fg_color, format!("{s} (out of step)"))
                            .on_hover_text(n),
                        (Some(s), None) => ui.label(s).on_hover_text("In step"),
                        _ => ui.label("–"),
                    };
                        for v in &l.refresh {
                            if ui
                                .small_button(format!("Request full refresh ({v})"))
                                .on_hover_text("Uploads to the hub a file holding only the extract's header: ESR then sends a full extract")
                                .clicked()
                            {
                                asked = Some(v.clone());
                            }
                        }
                    });
                    if let Some(v) = asked {
                        *refresh = Some((v, l.interface.clone()));
                    }
                    let n: u64 = l.rejections.iter().map(|(_, n)| n).sum();
                    if n > 0 {
                        let (b, _) = l.rejections[0];
                        if ui
                            .link(format!("{n} row(s)"))
                            .on_hover_text("Open the batch ESR answered")
                            .clicked()
                        {
                            cmds.push(super::app::Command::View(super::app::View::OpenBatch(b)));
                        }
                    } else {
                        ui.label("–");
                    }
                    ui.end_row();
                }
            });
    }

    fn orgs_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Organisations");
            if ui.button("Add organisation…").clicked() {
                self.form = Some(OrgForm::default());
            }
        });
        if self.loaded.orgs.is_empty() && self.form.is_none() {
            ui.label("None yet. Each organisation has its VPD code, its own sequence numbers and, to exchange files with ESR, an NHS Interface Hub account (FTP with TLS).");
        }
        let mut test = None;
        let mut pull = None;
        let mut edit = None;
        egui::Grid::new("org-grid")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for (o, has_pw) in &self.loaded.orgs {
                    ui.label(format!("{} · {}", o.vpd, o.name));
                    ui.label(
                        o.hub
                            .as_ref()
                            .map_or_else(|| "no hub".into(), ToString::to_string),
                    );
                    ui.label(match (&o.hub, has_pw) {
                        (None, _) => "",
                        (Some(_), true) => "password saved",
                        (Some(_), false) => "no password saved",
                    });
                    ui.horizontal(|ui| {
                        let can = o.hub.is_some() && !self.io.busy();
                        if ui
                            .add_enabled(can, egui::Button::new("Test connection"))
                            .clicked()
                        {
                            test = Some(o.vpd.clone());
                        }
                        if ui
                            .add_enabled(can, egui::Button::new("Pull now"))
                            .on_hover_text(
                                "Download and import the new files in the hub's Out folder",
                            )
                            .clicked()
                        {
                            pull = Some(o.vpd.clone());
                        }
                        if ui.button("Change…").clicked() {
                            edit = Some(o.clone());
                        }
                    });
                    ui.end_row();
                }
            });
        if let Some(v) = test {
            self.test(v);
        }
        if let Some(v) = pull {
            self.pull(v);
        }
        if let Some(o) = edit {
            self.form = Some(OrgForm {
                vpd: o.vpd.clone(),
                name: o.name.clone(),
                hub: o.hub.as_ref().map(ToString::to_string).unwrap_or_default(),
                ca_file: o
                    .ca_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                password: String::new(),
            });
        }
        let mut save = false;
        let mut cancel = false;
        if let Some(f) = &mut self.form {
            ui.add_space(6.0);
            egui::Grid::new("org-form").num_columns(2).show(ui, |ui| {
                let l = ui.label("VPD code");
                ui.add(egui::TextEdit::singleline(&mut f.vpd).desired_width(60.0)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Name");
                ui.add(egui::TextEdit::singleline(&mut f.name).desired_width(280.0)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Hub address");
                ui.add(egui::TextEdit::singleline(&mut f.hub).hint_text("ftps://account@hub.example.nhs.uk:21/").desired_width(280.0)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label("Hub password");
                ui.add(egui::TextEdit::singleline(&mut f.password).password(true).hint_text("leave empty to keep the saved one").desired_width(280.0))
                    .labelled_by(l.id)
                    .on_hover_text("Kept in the system's credential store (or, where none runs, a file only you can read); never in the store or the logs");
                ui.end_row();
                let l = ui.label("Extra CA certificate (PEM)");
                ui.add(egui::TextEdit::singleline(&mut f.ca_file).hint_text("only for a test or private hub").desired_width(280.0)).labelled_by(l.id);
                ui.end_row();
            });
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    save = true;
                }
                if ui.button("Cancel").clicked() {
                    cancel = true;
                }
            });
        }
        if save {
            self.save_form();
        }
        if cancel {
            self.form = None;
        }
    }

    fn transfers_ui(&mut self, ui: &mut egui::Ui) {
        ui.strong("Latest hub transfers");
        if self.loaded.transfers.is_empty() {
            ui.label("None yet.");
            return;
        }
        egui::Grid::new("transfer-grid")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for h in ["When", "Organisation", "File", "Step", "Last problem"] {
                    ui.strong(h);
                }
                ui.end_row();
                for t in &self.loaded.transfers {
                    ui.label(short(&t.updated_at));
                    ui.label(format!(
                        "{} {}",
                        t.vpd,
                        if t.way == crate::store::hub::Way::Pull {
                            "pull"
                        } else {
                            "push"
                        }
                    ));
                    ui.label(&t.remote_name);
                    ui.label(if t.state == "done" {
                        "done".to_string()
                    } else {
                        format!("after '{}'", t.state)
                    });
                    match &t.last_error {
                        Some(e) if t.state != "done" => {
                            ui.colored_label(ui.visuals().error_fg_color, e)
                        }
                        _ => ui.label("–"),
                    };
                    ui.end_row();
                }
            });
    }
}

fn short(t: &str) -> String {
    crate::hub::dashboard::uk_time(t, "%d/%m %H:%M")
}

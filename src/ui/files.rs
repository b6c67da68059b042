//! Choosing files and folders: the system's dialog when it can open, and when it cannot (a
//! Linux desktop without a portal, a remote session), an in-app path box with the recent
//! folders, so Open, Export and Save as always answer. The one place the window asks for a path.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the path is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Files to import.
    Open,
    /// The folder an export writes into.
    ExportFolder,
    /// Where to save the joiners, movers and leavers report.
    SaveReport,
}

impl Purpose {
    /// Title of the dialog.
    pub fn title(&self) -> &'static str {
        match self {
            Purpose::Open => "Open ESR interface files",
            Purpose::ExportFolder => "Export to which folder?",
            Purpose::SaveReport => "Save the report as CSV",
        }
    }

    /// Label of the button that takes the path.
    pub fn action(&self) -> &'static str {
        match self {
            Purpose::Open => "Open",
            Purpose::ExportFolder => "Use this folder",
            Purpose::SaveReport => "Save",
        }
    }

    fn wants_folder(&self) -> bool {
        matches!(self, Purpose::ExportFolder)
    }
}

/// What asking for a path gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// The paths chosen.
    Paths(Vec<PathBuf>),
    /// The officer closed the dialog without choosing.
    Cancelled,
    /// The system's dialog could not open; the reason in words.
    Unavailable(String),
}

/// A system dialog that answers "nothing chosen" faster than this did not open: nobody
/// cancels a dialog in a quarter of a second.
const TOO_FAST: Duration = Duration::from_millis(250);

/// Whether the system's dialog can be tried at all: on Linux it goes through the desktop
/// portal over the session bus, so without a session bus it cannot open.
pub fn native_available() -> Result<(), String> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
    {
        return Err("the system's file dialog cannot open here (no desktop session bus)".into());
    }
    Ok(())
}

/// Asks with the system's dialog, starting in `start`.
pub fn native(purpose: &Purpose, start: Option<&Path>, file_name: &str) -> Picked {
    if let Err(why) = native_available() {
        return Picked::Unavailable(why);
    }
    let mut d = rfd::FileDialog::new().set_title(purpose.title());
    if let Some(s) = start.filter(|s| s.is_dir()) {
        d = d.set_directory(s);
    }
    let began = Instant::now();
    let got: Option<Vec<PathBuf>> = match purpose {
        Purpose::Open => d
            .add_filter("Interface files", &["csv", "txt", "dat", "psv"])
            .add_filter("All files", &["*"])
            .pick_files(),
        Purpose::ExportFolder => d.pick_folder().map(|p| vec![p]),
        Purpose::SaveReport => d
            .set_file_name(file_name)
            .add_filter("CSV", &["csv"])
            .save_file()
            .map(|p| vec![p]),
    };
    match got {
        Some(p) if !p.is_empty() => Picked::Paths(p),
        _ if began.elapsed() < TOO_FAST => Picked::Unavailable(
            "the system's file dialog did not open (no desktop portal is running)".into(),
        ),
        _ => Picked::Cancelled,
    }
}

/// The in-app path box shown when the system's dialog cannot open.
#[derive(Debug, Clone)]
pub struct PathBox {
    /// What the path is for.
    pub purpose: Purpose,
    /// Why the box is shown.
    pub why: String,
    /// The path typed.
    pub text: String,
    /// Folders to start from (recent first).
    pub folders: Vec<PathBuf>,
    /// A problem with the path typed.
    pub problem: Option<String>,
    /// The files of the folder typed (for Open), read when the text changes.
    listing: Option<(String, Vec<PathBuf>)>,
    /// The keyboard has been given to the path field (once, when the box opens).
    focused: bool,
}

impl PathBox {
    /// A box for `purpose`, starting at `start`, offering `folders`.
    pub fn new(purpose: Purpose, why: String, start: String, folders: Vec<PathBuf>) -> Self {
        Self {
            purpose,
            why,
            text: start,
            folders,
            problem: None,
            listing: None,
            focused: false,
        }
    }

    /// Checks the path typed; the paths to use when it will do.
    pub fn check(&self) -> Result<Vec<PathBuf>, String> {
        let t = self.text.trim();
        if t.is_empty() {
            return Err("Type or paste a path first.".into());
        }
        let p = PathBuf::from(t);
        match self.purpose {
            Purpose::Open if p.is_file() => Ok(vec![p]),
            Purpose::Open if p.is_dir() => {
                Err("That is a folder: pick one of its files below, or type a file's path.".into())
            }
            Purpose::Open => Err(format!("There is no file at {t}.")),
            Purpose::ExportFolder if p.is_dir() => Ok(vec![p]),
            Purpose::ExportFolder => Err(format!("There is no folder at {t}.")),
            Purpose::SaveReport => match p.parent() {
                Some(d) if d.as_os_str().is_empty() || d.is_dir() => {
                    if p.is_dir() {
                        Err("That is a folder: add a file name, e.g. report.csv.".into())
                    } else {
                        Ok(vec![p])
                    }
                }
                _ => Err(format!("The folder of {t} does not exist.")),
            },
        }
    }

    /// Draws the box; the paths chosen when the officer confirms, `Some(vec![])` when they
    /// close it.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Vec<PathBuf>> {
        let mut done = None;
        let mut open = true;
        egui::Window::new(self.purpose.title())
            .collapsible(false)
            .open(&mut open)
            .default_width(560.0)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 90.0])
            .show(ctx, |ui| {
                ui.label(format!(
                    "{}{}. Type or paste the path instead.",
                    self.why.get(..1).unwrap_or("").to_uppercase(),
                    self.why.get(1..).unwrap_or("")
                ));
                ui.add_space(4.0);
                let what = if self.purpose.wants_folder() {
                    "Folder path:"
                } else {
                    "File path:"
                };
                let l = ui.label(what);
                let field = egui::Id::unique("path-box-field");
                if !self.focused {
                    // The box takes the keyboard as it opens, its text selected (as a location
                    // bar does): what is typed is the path.
                    ui.memory_mut(|m| m.request_focus(field));
                    let mut state =
                        egui::text_edit::TextEditState::load(ui.ctx(), field).unwrap_or_default();
                    state
                        .cursor
                        .set_char_range(Some(egui::text::CCursorRange::two(
                            egui::text::CCursor::new(0),
                            egui::text::CCursor::new(self.text.chars().count()),
                        )));
                    state.store(ui.ctx(), field);
                }
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.text)
                            .id(field)
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(l.id);
                self.focused |= r.has_focus();
                if r.changed() {
                    self.problem = None;
                }
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if !self.folders.is_empty() {
                    ui.add_space(4.0);
                    ui.label("Recent folders:");
                    for f in self.folders.clone() {
                        if ui
                            .add(egui::Button::new(f.display().to_string()).frame(false))
                            .clicked()
                        {
                            self.text = f.display().to_string();
                            if matches!(self.purpose, Purpose::SaveReport) {
                                self.text =
                                    f.join("joiners-movers-leavers.csv").display().to_string();
                            }
                            self.problem = None;
                        }
                    }
                }
                if self.purpose == Purpose::Open {
                    self.listing_ui(ui, &mut done);
                }
                if let Some(p) = &self.problem {
                    ui.colored_label(ui.visuals().error_fg_color, p);
                }
                ui.horizontal(|ui| {
                    if ui.button(self.purpose.action()).clicked() || enter {
                        match self.check() {
                            Ok(p) => done = Some(p),
                            Err(e) => self.problem = Some(e),
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        done = Some(Vec::new());
                    }
                });
            });
        if !open {
            done = Some(Vec::new());
        }
        done
    }

    /// For Open: the files of the folder typed, each a button (read when the text changes).
    fn listing_ui(&mut self, ui: &mut egui::Ui, done: &mut Option<Vec<PathBuf>>) {
        let dir = PathBuf::from(self.text.trim());
        if !dir.is_dir() {
            return;
        }
        if self.listing.as_ref().is_none_or(|(t, _)| *t != self.text) {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            self.listing = Some((self.text.clone(), files));
        }
        let Some((_, files)) = &self.listing else {
            return;
        };
        ui.add_space(4.0);
        ui.label(format!("Files in this folder ({}):", files.len()));
        egui::ScrollArea::vertical()
            .id_salt("path-box-files")
            .max_height(180.0)
            .show(ui, |ui| {
                for f in files {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if ui.add(egui::Button::new(name).frame(false)).clicked() {
                        *done = Some(vec![f.clone()]);
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_box_checks_what_it_is_given() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "x").expect("write");
        let mut b = PathBox::new(Purpose::Open, "no portal".into(), String::new(), vec![]);
        assert!(b.check().is_err());
        b.text = file.display().to_string();
        assert_eq!(b.check(), Ok(vec![file.clone()]));
        b.text = dir.path().display().to_string();
        assert!(b.check().is_err());
        let mut f = PathBox::new(Purpose::ExportFolder, "x".into(), String::new(), vec![]);
        f.text = dir.path().display().to_string();
        assert_eq!(f.check(), Ok(vec![dir.path().to_path_buf()]));
        f.text = file.display().to_string();
        assert!(f.check().is_err());
        let mut s = PathBox::new(Purpose::SaveReport, "x".into(), String::new(), vec![]);
        s.text = dir.path().join("r.csv").display().to_string();
        assert!(s.check().is_ok());
        s.text = dir.path().join("nowhere/r.csv").display().to_string();
        assert!(s.check().is_err());
    }
}

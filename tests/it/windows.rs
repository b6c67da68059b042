//! The Windows build, run here under Wine: the command-line contract gives the Linux build's
//! exit codes and `--json` on every sample, import, edit, export and a scheduled run make the
//! same bytes, and the hub is reached over FTPS on 127.0.0.1.
//!
//! The binary is the cross build `cargo build --release --target x86_64-pc-windows-gnu` (or
//! the debug one, when it is the newer), and the packages are scripts/package-windows.sh's.
//! `.ci/run` makes both before the tests and sets `ESR_DESK_WINDOWS_TESTS=1`, so there a
//! missing piece fails; elsewhere the tests skip, saying why. Wine is Debian's (`/usr/lib/wine/wine64`)
//! with a prefix of its own under the target folder. Rust's standard library asks for
//! `bcryptprimitives.dll`, which Windows 10 and 11 have and Debian 12's Wine 8 lacks: a shim
//! built here with mingw (tests/windows/processprng.c) is put beside the test binary only.

use crate::ftps_server::{Hub, PASSWORD};
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

const WINE: &str = "/usr/lib/wine/wine64";
const MINGW: &str = "x86_64-w64-mingw32-gcc";

/// The Windows binary, ready to run under Wine.
#[derive(Debug)]
struct Windows {
    exe: PathBuf,
    prefix: PathBuf,
}

/// The folder cargo builds into (the test binary's `target`).
fn target_dir() -> PathBuf {
    bin()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the target folder")
}

/// The newest change to what the binary is built from.
fn newest_source() -> SystemTime {
    fn walk(dir: &Path, newest: &mut SystemTime) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, newest);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(t);
            }
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    for d in ["src", "assets"] {
        walk(&root().join(d), &mut newest);
    }
    newest
}

/// Finds the Windows binary and readies Wine, once; or says why it cannot.
fn prepare() -> Result<Windows, String> {
    // The release build (what the packages carry) when it is up to date, else the debug one.
    let sources = newest_source();
    let built = |profile: &str| {
        let exe = target_dir().join(format!("x86_64-pc-windows-gnu/{profile}/esr-desk.exe"));
        let t = std::fs::metadata(&exe).and_then(|m| m.modified()).ok()?;
        (t >= sources).then_some(exe)
    };
    let exe = built("release").or_else(|| built("debug")).ok_or_else(|| {
        "the Windows build is missing or older than the sources: cargo build --release \
         --target x86_64-pc-windows-gnu"
            .to_string()
    })?;
    if !Path::new(WINE).exists() {
        return Err(format!("{WINE} is missing: apt-get install wine wine64"));
    }
    // The shim, beside the binary under test (never in a package).
    let shim_src = root().join("tests/windows/processprng.c");
    let shim = exe.with_file_name("bcryptprimitives.dll");
    let stale = match (shim.metadata(), shim_src.metadata()) {
        (Ok(d), Ok(s)) => d.modified().ok() < s.modified().ok(),
        _ => true,
    };
    if stale {
        let o = Command::new(MINGW)
            .args(["-shared", "-O2", "-o"])
            .arg(&shim)
            .arg(&shim_src)
            .arg("-ladvapi32")
            .output()
            .map_err(|e| format!("{MINGW} could not run ({e}): apt-get install mingw-w64"))?;
        if !o.status.success() {
            return Err(format!("the shim did not build: {}", stderr(&o)));
        }
    }
    let w = Windows {
        exe,
        prefix: target_dir().join("wine-prefix"),
    };
    // The first run makes the prefix (several seconds); later runs share it.
    let o = w.cmd(&["--version"]).output().map_err(|e| e.to_string())?;
    if !o.status.success() || !String::from_utf8_lossy(&o.stdout).starts_with("esr-desk ") {
        return Err(format!(
            "the Windows binary did not start under Wine: {}",
            stderr(&o)
        ));
    }
    Ok(w)
}

/// The Windows binary under Wine, or None (and the reason said) where this machine cannot run
/// it; where CI asks for these tests, that is a failure.
fn windows() -> Option<&'static Windows> {
    static READY: OnceLock<Result<Windows, String>> = OnceLock::new();
    match READY.get_or_init(prepare) {
        Ok(w) => Some(w),
        Err(why) if std::env::var_os("ESR_DESK_WINDOWS_TESTS").is_some() => {
            panic!("the Windows tests were asked for: {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

impl Windows {
    /// A Windows program (a path, or one of Wine's own such as `reg`) in this prefix.
    fn wine(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(WINE);
        c.arg(program)
            .args(args)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No offer to install Mono or Gecko into a new prefix.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
        c
    }

    /// The binary under test, as the tests run every build.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.wine(self.exe.to_str().expect("path"), args);
        as_tests_run(&mut c);
        c
    }
}

/// What every run of either build gets: no keyring, no hub password unless given, and the
/// bundled layouts alone.
fn as_tests_run(c: &mut Command) {
    c.env("ESR_DESK_NO_KEYRING", "1")
        .env_remove("ESR_DESK_HUB_PASSWORD")
        .env(
            "ESR_DESK_LAYOUTS",
            std::env::temp_dir().join("esr-desk-tests-no-layouts"),
        );
}

/// Which build runs a command.
#[derive(Clone, Copy, Debug)]
enum Build {
    Linux,
    Windows(&'static Windows),
}

impl Build {
    fn run(self, db: &Path, password: Option<&str>, args: &[&str]) -> Output {
        let mut c = match self {
            Build::Linux => {
                let mut c = Command::new(bin());
                c.args(args);
                as_tests_run(&mut c);
                c
            }
            Build::Windows(w) => w.cmd(args),
        };
        c.env("ESR_DESK_DB", db);
        if let Some(p) = password {
            c.env("ESR_DESK_HUB_PASSWORD", p);
        }
        c.output().expect("runs")
    }
}

fn ok(o: &Output) -> String {
    assert_eq!(
        code(o),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every sample's file (its seeded defects' lists aside).
fn samples() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in std::fs::read_dir(root().join("sample-data"))
        .expect("samples")
        .flatten()
    {
        for f in std::fs::read_dir(d.path()).expect("dir").flatten() {
            let p = f.path();
            if !p.to_string_lossy().ends_with(".defects.json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_windows_build_gives_the_linux_verdict_and_json_on_every_sample() {
    let Some(w) = windows() else { return };
    let files = samples();
    assert!(files.len() >= 100, "{} samples", files.len());
    let unused = std::env::temp_dir().join("esr-desk-tests-unused.sqlite");
    // Two at a time: each is a Wine process of its own against one wineserver.
    let results: Vec<(PathBuf, Output, Output)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let unused = &unused;
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            let p = f.to_str().expect("path");
                            let args = ["validate", p, "--json"];
                            (
                                f.clone(),
                                Build::Linux.run(unused, None, &args),
                                Build::Windows(w).run(unused, None, &args),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut exits = [0usize; 3];
    for (f, linux, win) in &results {
        assert_eq!(code(win), code(linux), "{}: {}", f.display(), stderr(win));
        assert_eq!(
            String::from_utf8_lossy(&win.stdout),
            String::from_utf8_lossy(&linux.stdout),
            "{}",
            f.display()
        );
        if let Some(c @ 0..=2) = code(linux) {
            exits[c as usize] += 1;
        }
    }
    // Both kinds of verdict were compared, not only clean files.
    assert!(exits[0] > 30 && exits[1] > 30, "exit codes {exits:?}");
}

/// A store's folder, with its inbox and outbox.
struct Desk {
    dir: tempfile::TempDir,
}

impl Desk {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        for f in ["in", "out", "export"] {
            std::fs::create_dir_all(dir.path().join(f)).expect("dir");
        }
        Desk { dir }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("store.sqlite")
    }
    fn at(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
}

/// The files in a folder, by name, with their bytes.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

/// Import, edit, export and a scheduled run, all by one build; what it wrote.
fn day_at_the_desk(build: Build, desk: &Desk, arriving: &Path) -> Vec<(String, Vec<u8>)> {
    let db = desk.db();
    let s = |p: PathBuf| p.display().to_string();
    // A file of ESR's own, with an edit.
    let file = sample("absences", false);
    let o = build.run(&db, None, &["import", &s(file.clone())]);
    let batch = ok(&o).lines().next().expect("id").trim().to_string();
    // The first record's last name, changed to one with accents.
    let line = "2";
    ok(&build.run(
        &db,
        None,
        &[
            "edit",
            &batch,
            "--line",
            line,
            "--field",
            "Last Name",
            "--value",
            "Okonkwo-Ñúñez",
        ],
    ));
    ok(&build.run(
        &db,
        None,
        &["export", &batch, "--out", &s(desk.at("export"))],
    ));
    // A scheduled run: a file waiting in the inbox (written an hour ago).
    let waiting = desk.at("in").join(arriving.file_name().expect("name"));
    std::fs::copy(arriving, &waiting).expect("copy");
    std::fs::File::options()
        .write(true)
        .open(&waiting)
        .expect("open")
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("time");
    ok(&build.run(
        &db,
        None,
        &[
            "schedule",
            "set",
            "absences",
            "--cadence",
            "daily at 01:30",
            "--inbox",
            &s(desk.at("in")),
            "--outbox",
            &s(desk.at("out")),
        ],
    ));
    let listed = ok(&build.run(&db, None, &["schedule", "list"]));
    let id = listed
        .lines()
        .find(|l| l.contains("absences"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the schedule's id")
        .to_string();
    let said = ok(&build.run(&db, None, &["schedule", "run", &id]));
    assert!(said.contains("ok"), "{said}");
    let mut made = files_in(&desk.at("export"));
    made.extend(files_in(&desk.at("out")));
    made
}

#[test]
fn import_edit_export_and_a_scheduled_run_make_the_same_bytes_on_windows() {
    let Some(w) = windows() else { return };
    // The file the schedule finds: generated once, the same for both.
    let tmp = tempfile::tempdir().expect("tmp");
    let arriving = tmp.path().join("ABS_RX1_20261103_000007.csv");
    let o = run(&[
        "gen-sample",
        "--interface",
        "absences",
        "--rows",
        "40",
        "--defect-rate",
        "0",
        "--seed",
        "7",
        "--out",
        &arriving.display().to_string(),
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let (linux, win) = (Desk::new(), Desk::new());
    let on_linux = day_at_the_desk(Build::Linux, &linux, &arriving);
    let on_windows = day_at_the_desk(Build::Windows(w), &win, &arriving);
    let names: Vec<&str> = on_linux.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.iter().filter(|n| n.starts_with("ABS_RX1_")).count() >= 2,
        "the export and the scheduled run's file: {names:?}"
    );
    assert_eq!(
        on_windows
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        names
    );
    for ((name, a), (_, b)) in on_linux.iter().zip(&on_windows) {
        assert!(a == b, "{name} differs between the builds");
    }
    // The edit, with its accented name, is in the export.
    let export = &on_windows
        .iter()
        .find(|(n, _)| n.starts_with("ABS_RX1_") && n.ends_with(".csv"))
        .expect("the export")
        .1;
    assert!(String::from_utf8_lossy(export).contains("Okonkwo-Ñúñez"));
    // The scheduled run archived its source and recorded the run, as on Linux.
    assert!(files_in(&win.at("in")).is_empty(), "the inbox was emptied");
    let history = ok(&Build::Windows(w).run(&win.db(), None, &["schedule", "history"]));
    assert!(history.contains("ok"), "{history}");
}

#[test]
fn hub_pull_and_push_work_from_windows_against_the_ftps_server() {
    let Some(w) = windows() else { return };
    let win = Build::Windows(w);
    let hub = Hub::start();
    let desk = Desk::new();
    let db = desk.db();
    ok(&win.run(
        &db,
        None,
        &[
            "org",
            "set",
            "RX1",
            "--name",
            "Synthetic Trust",
            "--hub",
            &hub.url(),
            "--ca-file",
            &hub.ca.display().to_string(),
        ],
    ));
    // Pull: an extract ESR left in the Out folder.
    let extract = crate::hub::extract(&hub.dir("Out"), "GOC", 1);
    let name = extract
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let o = win.run(&db, Some(PASSWORD), &["hub", "pull", "RX1"]);
    let said = ok(&o);
    assert!(said.contains(&format!("{name}\tbatch 1")), "{said}");
    assert_eq!(
        std::fs::read(desk.dir.path().join("hub/RX1/in").join(&name)).expect("pulled"),
        std::fs::read(&extract).expect("source"),
        "what was pulled is what the hub held"
    );
    // Push: a clean batch, delivered once.
    let o = win.run(
        &db,
        None,
        &["import", &sample("absences", false).display().to_string()],
    );
    let batch = ok(&o).lines().next().expect("id").trim().to_string();
    ok(&win.run(
        &db,
        Some(PASSWORD),
        &["hub", "push", &batch, "--org", "RX1"],
    ));
    let sent = hub.names("In");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("ABS_RX1_"), "{sent:?}");
    let again = ok(&win.run(
        &db,
        Some(PASSWORD),
        &["hub", "push", &batch, "--org", "RX1"],
    ));
    assert!(again.contains("never sent twice"), "{again}");
    assert_eq!(hub.names("In").len(), 1);
}

#[test]
fn on_windows_the_store_is_in_appdata_and_its_logs_in_localappdata() {
    let Some(w) = windows() else { return };
    // Without --db or ESR_DESK_DB: the per-user folders Windows gives the signed-in user.
    let users = w.prefix.join("drive_c/users");
    let profiles = || {
        std::fs::read_dir(&users)
            .expect("users")
            .flatten()
            .map(|e| e.path().join("AppData"))
            .filter(|p| p.is_dir())
            .collect::<Vec<_>>()
    };
    for p in profiles() {
        for sub in ["Roaming", "Local"] {
            let _ = std::fs::remove_dir_all(p.join(sub).join("ESR Interface Desk"));
        }
    }
    let o = w
        .cmd(&["settings", "vpd", "RX1"])
        .env_remove("ESR_DESK_DB")
        .output()
        .expect("runs");
    ok(&o);
    let app = profiles()
        .into_iter()
        .find(|p| p.join("Roaming/ESR Interface Desk").exists())
        .expect("a profile with the program's folder");
    let data = app.join("Roaming/ESR Interface Desk/esr-desk/data");
    assert!(
        data.join("esr-desk.sqlite").is_file(),
        "the store in %APPDATA%"
    );
    assert!(!data.join("logs").exists(), "no log in the roaming profile");
    let logs = app.join("Local/ESR Interface Desk/esr-desk/data/logs");
    let days: Vec<String> = std::fs::read_dir(&logs)
        .expect("the logs in %LOCALAPPDATA%")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        days.iter().any(|d| d.starts_with("esr-desk.log.")),
        "{days:?}"
    );
    // The same store is found again, with what was set.
    let o = w
        .cmd(&["settings"])
        .env_remove("ESR_DESK_DB")
        .output()
        .expect("runs");
    assert!(
        ok(&o).contains("RX1"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// The packages scripts/package-windows.sh made, when they are newer than the binary.
fn packages(w: &Windows) -> Option<(PathBuf, PathBuf)> {
    let version = env!("CARGO_PKG_VERSION");
    let dist = target_dir().join("windows-dist");
    let setup = dist.join(format!("esr-desk-{version}-setup.exe"));
    let zip = dist.join(format!("esr-desk-{version}-portable.zip"));
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = [&setup, &zip]
        .iter()
        .all(|p| time(p).is_some_and(|t| Some(t) >= time(&w.exe)));
    if fresh {
        return Some((setup, zip));
    }
    let why = format!(
        "{} is missing or older than the binary: scripts/package-windows.sh",
        setup.display()
    );
    if std::env::var_os("ESR_DESK_WINDOWS_TESTS").is_some() {
        panic!("the Windows tests were asked for: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Waits until `done` holds (a Wine process may return before the program it started ends).
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_installer_needs_no_admin_installs_silently_for_the_user_and_uninstalls_cleanly() {
    let Some(w) = windows() else { return };
    let Some((setup, zip)) = packages(w) else {
        return;
    };
    // Both packages carry the program, the licence and the README, under the version.
    let listed = Command::new("7z")
        .arg("l")
        .arg(&setup)
        .output()
        .expect("7z runs (apt-get install p7zip-full)");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    for name in [
        "esr-desk.exe",
        "README.md",
        "LICENSE.txt",
        "NSIS-3 Unicode 64-bit",
    ] {
        assert!(listed.contains(name), "{name} in the installer: {listed}");
    }
    assert!(!listed.contains("bcryptprimitives"), "never the test shim");
    let version = env!("CARGO_PKG_VERSION");
    let mut names: Vec<String> = {
        let f = std::fs::File::open(&zip).expect("zip");
        let z = zip::ZipArchive::new(f).expect("a zip");
        z.file_names()
            .map(|n| n.expect("a name").into_owned())
            .collect()
    };
    names.sort();
    let top = format!("ESR Interface Desk {version}");
    assert_eq!(
        names,
        ["LICENSE.txt", "README.md", "esr-desk.exe"]
            .map(|n| format!("{top}/{n}"))
            .to_vec()
    );
    // Installed silently (/S) as the user: into %LOCALAPPDATA%\Programs, with a Start-menu
    // entry, "Open with" for the officer's files and an entry in Apps & features.
    let wine = |args: &[&str]| w.wine(args[0], &args[1..]).output().expect("wine runs");
    let o = wine(&[setup.to_str().expect("path"), "/S"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let profile = std::fs::read_dir(w.prefix.join("drive_c/users"))
        .expect("users")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("AppData/Local/Programs").is_dir())
        .expect("the user's profile");
    let home = profile.join("AppData/Local/Programs/ESR Interface Desk");
    wait_for("the installer put the program in place", || {
        home.join("uninstall.exe").is_file()
    });
    for f in ["esr-desk.exe", "README.md", "LICENSE.txt"] {
        assert!(home.join(f).is_file(), "{f} installed");
    }
    let menu = profile
        .join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/ESR Interface Desk.lnk");
    assert!(menu.is_file(), "a Start-menu entry");
    let query = |key: &str| {
        let o = wine(&["reg", "query", key]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let apps =
        query(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\ESR Interface Desk");
    assert!(
        apps.contains(version) && apps.contains("uninstall.exe"),
        "{apps}"
    );
    for ext in [".csv", ".txt", ".dat"] {
        let with = query(&format!(r"HKCU\Software\Classes\{ext}\OpenWithList"));
        assert!(with.contains("esr-desk.exe"), "{ext}: {with}");
    }
    let command = query(r"HKCU\Software\Classes\Applications\esr-desk.exe\shell\open\command");
    assert!(command.contains(r#"\esr-desk.exe" "%1""#), "{command}");
    // The installed program runs (Windows has the DLL the test shim stands in for).
    let shim = w.exe.with_file_name("bcryptprimitives.dll");
    std::fs::copy(&shim, home.join("bcryptprimitives.dll")).expect("shim");
    let o = wine(&[
        home.join("esr-desk.exe").to_str().expect("path"),
        "--version",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("esr-desk {version}")
    );
    std::fs::remove_file(home.join("bcryptprimitives.dll")).expect("shim out");
    // Uninstalled silently: everything it added goes.
    let o = wine(&[home.join("uninstall.exe").to_str().expect("path"), "/S"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // It ends after the files; its last step is the entry in Apps & features.
    let apps_key = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\ESR Interface Desk";
    wait_for("the uninstaller finished", || {
        !home.exists() && !query(apps_key).contains("DisplayName")
    });
    assert!(!menu.exists(), "the Start-menu entry is gone");
    assert!(!query(r"HKCU\Software\Classes\.csv\OpenWithList").contains("esr-desk.exe"));
    assert!(!query(r"HKCU\Software\Classes\Applications").contains("esr-desk.exe"));
}

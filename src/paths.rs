//! Where the tool keeps things: the store file and the trust's own layouts folder.
//!
//! The store's default place is the platform's per-user data folder; `--db` and the
//! environment variable `ESR_DESK_DB` override it (DESIGN.md). Layout files placed in the
//! layouts folder (`ESR_DESK_LAYOUTS`, or `layouts/` beside the store) replace bundled layouts
//! of the same id without a rebuild.

use std::path::{Path, PathBuf};

/// The per-user data folder, e.g. `~/.local/share/esr-desk` on Linux.
pub fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("uk.nhs", "ESR Interface Desk", "esr-desk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The per-user folder for what stays on this computer: on Windows
/// `%LOCALAPPDATA%\ESR Interface Desk\esr-desk\data` (never the roaming profile, which is
/// copied to a server at every sign-out); on Linux the same folder as [`data_dir`].
pub fn local_dir() -> PathBuf {
    directories::ProjectDirs::from("uk.nhs", "ESR Interface Desk", "esr-desk")
        .map(|d| d.data_local_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the logs of the store at `store` are written, decided here alone: the default
/// store's in the local folder ([`local_dir`]), any other store's in `logs/` beside it.
pub fn logs_dir(store: &Path) -> PathBuf {
    let dir = store.parent().filter(|d| !d.as_os_str().is_empty());
    if dir == Some(data_dir().as_path()) {
        local_dir().join("logs")
    } else {
        dir.unwrap_or(Path::new(".")).join("logs")
    }
}

/// Makes a folder (with its parents) that only its owner can open, whatever the umask: the
/// data folder, the logs and the archive hold staff data. On other systems the folder is
/// made as the system makes it (NTFS folders under the user's profile are private already).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    make_dirs(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes the folders of `dir` that are missing, each the owner's alone from the moment it
/// exists (whatever the umask); folders that were there already are left as they are (an
/// outbox the officer chose, shared with a local system, keeps its own rights).
pub fn make_dirs(dir: &Path) -> std::io::Result<()> {
    let mut missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    missing.reverse();
    for d in missing {
        #[cfg(unix)]
        let b = {
            use std::os::unix::fs::DirBuilderExt;
            let mut b = std::fs::DirBuilder::new();
            b.mode(0o700);
            b
        };
        #[cfg(not(unix))]
        let b = std::fs::DirBuilder::new();
        match b.create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        #[cfg(unix)]
        {
            // The umask can only take bits away; 0700 under any umask but 0077-and-more is
            // 0700 already, and this makes sure of it.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes the folder a store lives in: a folder made here, or the program's own data folder, is
/// the owner's alone; a folder the officer chose that already exists is left as it is. The
/// one place this is decided (the store and its logs both call it).
pub fn store_dir(store: &Path) -> std::io::Result<()> {
    let Some(dir) = store.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() || dir == data_dir() {
        private_dir(dir)
    } else {
        Ok(())
    }
}

/// Opens a file for writing, making it if it is missing: owner-only from the moment it exists
/// (whatever the umask), never truncated (a lock file another process holds, a log being
/// appended to). One that was there already is tightened.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    make_private(path)?;
    Ok(f)
}

/// Opens a file to append to, making it if it is missing: owner-only from the moment it
/// exists, whatever the umask (a log).
pub fn private_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    make_private(path)?;
    Ok(f)
}

/// Says in a lock file, once its lock is held, who holds it: what is under way, the process,
/// the user and since when (never a field's value). [`holders`] reads it back for a
/// message about a busy store.
pub fn hold_note(lock: &std::fs::File, what: &str) {
    use std::io::{Seek, Write};
    let note = format!(
        "{what} (process {}, {}, since {})",
        std::process::id(),
        whoami::username().unwrap_or_else(|_| "someone".into()),
        chrono::Local::now().format("%H:%M:%S")
    );
    let mut f = lock;
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = f.write_all(note.as_bytes());
    let _ = f.flush();
}

/// Who holds the locks of the store at `store`: the window, an export, a scheduled run, as
/// each said in its lock file (see [`hold_note`]). Empty when no lock is held.
pub fn holders(store: &Path) -> Vec<String> {
    let dir = store
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files = vec![store.with_extension("window-lock")];
    if let Ok(entries) = std::fs::read_dir(dir.join("locks")) {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    let mut out = Vec::new();
    for p in files {
        let Ok(f) = std::fs::File::open(&p) else {
            continue;
        };
        if let Err(std::fs::TryLockError::WouldBlock) = f.try_lock_shared() {
            let note = std::fs::read_to_string(&p).unwrap_or_default();
            out.push(if note.trim().is_empty() {
                "another program".to_string()
            } else {
                note.trim().to_string()
            });
        }
    }
    out
}

/// How [`atomic_write`] names its temporary files.
pub const WRITE_PREFIX: &str = ".esr-desk-write-";

/// Writes a whole file at once, safely: into a temporary file beside it (owner-only from its
/// creation), synced, renamed over `path`, and the folder synced, so `path` always holds the
/// old bytes or the new, never a part, and its mode is the owner's alone whatever the umask.
/// The folders missing on the way are made owner-only. The one way the program writes a
/// whole file (a re-send, a refresh request, a saved password, a mapping or a schema).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    make_dirs(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(WRITE_PREFIX)
        .tempfile_in(dir)?;
    // Held while it is written: a later command's clean-up knows it is not left over.
    tmp.as_file().lock()?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates (or empties) a file to write, owner-only from the moment it exists.
pub fn private_create(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    make_private(path)?;
    Ok(f)
}

/// Makes a file readable and writable by its owner only; true when it was open to others.
pub fn make_private(file: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            return Ok(true);
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(false)
}

/// The officer's Documents folder (else their home folder): where the first export goes,
/// rather than the folder the file came from.
pub fn documents_dir() -> Option<PathBuf> {
    let d = directories::UserDirs::new()?;
    d.document_dir()
        .filter(|p| p.is_dir())
        .map(Path::to_path_buf)
        .or_else(|| Some(d.home_dir().to_path_buf()))
}

/// The store path: `--db`, else `ESR_DESK_DB`, else the data folder's `esr-desk.sqlite`.
pub fn store_path(cli: Option<&Path>) -> PathBuf {
    if let Some(p) = cli {
        return p.to_path_buf();
    }
    match std::env::var_os("ESR_DESK_DB") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => data_dir().join("esr-desk.sqlite"),
    }
}

/// The trust's layouts folder: `ESR_DESK_LAYOUTS`, else `layouts/` in the data folder.
pub fn layouts_dir() -> PathBuf {
    match std::env::var_os("ESR_DESK_LAYOUTS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => data_dir().join("layouts"),
    }
}

/// Bundled layouts with the trust's replacements applied.
pub fn layout_set() -> Result<crate::layout::LayoutSet, crate::layout::LayoutError> {
    crate::layout::LayoutSet::with_overrides(Some(&layouts_dir()))
}

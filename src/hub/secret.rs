//! Hub passwords: never in the store, never in logs. In order:
//! 1. `ESR_DESK_HUB_PASSWORD`, for scripts and tests;
//! 2. the operating system's credential store (Windows Credential Manager, macOS Keychain,
//!    the Secret Service on a Linux desktop), through the `keyring` crate;
//! 3. where no credential store runs (a headless Linux box), a file readable by its owner
//!    only (0600) in the data folder beside the store — and the program says so when it
//!    saves there.

use super::HubError;
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The variable a script or test sets the password with.
pub const ENV: &str = "ESR_DESK_HUB_PASSWORD";
const SERVICE: &str = "esr-desk NHS Interface Hub";

/// Where a password was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The operating system's credential store.
    CredentialStore,
    /// The private file, because no credential store runs here.
    File(PathBuf),
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::CredentialStore => write!(f, "in the system's credential store"),
            Kept::File(p) => write!(
                f,
                "in {} (readable by you only), because this computer has no credential store running",
                p.display()
            ),
        }
    }
}

fn account(vpd: &str, user: &str) -> String {
    format!("{vpd}/{user}")
}

/// The private file's path: beside the store.
pub fn file_path(store: &Store) -> PathBuf {
    store.dir().join("hub-passwords.toml")
}

fn read_file(path: &std::path::Path) -> Result<BTreeMap<String, String>, HubError> {
    match std::fs::read_to_string(path) {
        Ok(t) => toml::from_str(&t).map_err(|e| {
            HubError::Setup(format!(
                "{} cannot be read: {}",
                path.display(),
                e.message()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(HubError::Local(format!(
            "{} cannot be read: {e}",
            path.display()
        ))),
    }
}

fn keyring_entry(vpd: &str, user: &str) -> Option<keyring::Entry> {
    if std::env::var_os("ESR_DESK_NO_KEYRING").is_some() {
        return None;
    }
    keyring::Entry::new(SERVICE, &account(vpd, user)).ok()
}

/// Saves a hub password: in the credential store where one runs, else in the private file.
pub fn save(store: &Store, vpd: &str, user: &str, password: &str) -> Result<Kept, HubError> {
    if password.is_empty() {
        return Err(HubError::Setup("the password is empty".into()));
    }
    if let Some(e) = keyring_entry(vpd, user)
        && e.set_password(password).is_ok()
        && e.get_password().is_ok_and(|p| p == password)
    {
        tracing::info!(vpd, "hub password saved in the credential store");
        return Ok(Kept::CredentialStore);
    }
    let path = file_path(store);
    let mut all = read_file(&path)?;
    all.insert(account(vpd, user), password.to_string());
    let text = toml::to_string(&all)
        .map_err(|e| HubError::Local(format!("the password file cannot be written: {e}")))?;
    crate::paths::atomic_write(&path, text.as_bytes())
        .map_err(|e| HubError::Local(format!("could not save {}: {e}", path.display())))?;
    tracing::warn!(
        vpd,
        "no credential store: hub password saved in a private file"
    );
    Ok(Kept::File(path))
}

/// The password for an organisation's hub account.
pub fn password(store: &Store, vpd: &str, user: &str) -> Result<String, HubError> {
    if let Ok(p) = std::env::var(ENV)
        && !p.is_empty()
    {
        return Ok(p);
    }
    if let Some(e) = keyring_entry(vpd, user)
        && let Ok(p) = e.get_password()
    {
        return Ok(p);
    }
    let path = file_path(store);
    if let Some(p) = read_file(&path)?.remove(&account(vpd, user)) {
        return Ok(p);
    }
    Err(HubError::Setup(format!(
        "no password is saved for {user} at organisation {vpd}: set it with `esr-desk org set {vpd} --name ... --password-stdin` or in the Organisations screen (or set {ENV} for a script)"
    )))
}

/// Whether a password is saved (anywhere this module looks).
pub fn has_password(store: &Store, vpd: &str, user: &str) -> bool {
    password(store, vpd, user).is_ok()
}

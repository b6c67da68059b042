//! The NHS Interface Hub: organisations, their hub connections and credentials, pulling ESR's
//! extracts from `Out` and pushing files into `In`, each transfer a persisted state machine
//! that a killed process resumes exactly once (see [`transfer`]); sequence watch on numbered
//! extracts ([`sequence`]) and ESR's answers matched back to the rows sent ([`answers`]).
//!
//! No egui here: the window, the command line and the scheduler share this module.

pub mod answers;
pub mod dashboard;
pub mod ftps;
pub mod org;
pub mod secret;
pub mod sequence;
pub mod transfer;

pub use ftps::{HubUrl, Session};
pub use org::Org;

use std::time::Duration;

/// What failed on the network, in words an officer can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The host name could not be found.
    Dns(String),
    /// Nothing listens at the address (or a firewall refused).
    Refused,
    /// The secure connection could not be made (certificate, protocol).
    Tls(String),
    /// The account name or password was not accepted.
    Login,
    /// A folder the hub should have is missing.
    MissingFolder(String),
    /// The connection was cut or timed out during an exchange.
    Dropped(String),
    /// The hub refused a request.
    Remote(String),
}

impl Failure {
    /// Worth trying again at once (with a pause): the network may come back. A refused login,
    /// a TLS problem or a missing folder will not mend by itself.
    pub fn transient(&self) -> bool {
        matches!(self, Failure::Refused | Failure::Dropped(_))
    }

    /// One word for logs and the dashboard.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Dns(_) => "dns",
            Failure::Refused => "refused",
            Failure::Tls(_) => "tls",
            Failure::Login => "login",
            Failure::MissingFolder(_) => "missing folder",
            Failure::Dropped(_) => "dropped",
            Failure::Remote(_) => "refused request",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Dns(h) => write!(
                f,
                "the hub's name could not be found ({h}): check the address, and that this computer is on the network"
            ),
            Failure::Refused => write!(
                f,
                "the hub refused the connection: nothing answers at that address and port, or a firewall blocks it"
            ),
            Failure::Tls(m) => write!(
                f,
                "the secure (TLS) connection failed: {m}. Check the hub's certificate, or trust its CA with --ca-file"
            ),
            Failure::Login => write!(
                f,
                "the hub did not accept the account name or password: set the password again"
            ),
            Failure::MissingFolder(d) => {
                write!(f, "the hub has no folder {d} for this account")
            }
            Failure::Dropped(m) => write!(f, "the connection was lost ({m})"),
            Failure::Remote(m) => write!(f, "{m}"),
        }
    }
}

/// Errors of hub work.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The network or the hub failed.
    #[error("{0}")]
    Net(Failure),
    /// Something about the set-up (organisation, address, CA file, password) is wrong.
    #[error("{0}")]
    Setup(String),
    /// A local file or folder problem.
    #[error("{0}")]
    Local(String),
    /// The request cannot be carried out as it stands (a batch not clean, sent already...).
    #[error("{0}")]
    Refused(String),
    /// Another run is transferring the file now.
    #[error(
        "another run (the window, a schedule or a command) is transferring {0} now; it is left to that run"
    )]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// SQLite failed.
    #[error("the store could not be read or written: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The export failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
}

impl HubError {
    /// True for failures worth retrying at once.
    pub fn transient(&self) -> bool {
        matches!(self, HubError::Net(f) if f.transient())
    }
}

/// How often and how patiently a network step is tried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// The pause before the second try; doubled before each further one.
    pub first_pause: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_pause: Duration::from_secs(2),
        }
    }
}

impl Retry {
    /// Runs `step` until it succeeds, fails for a reason a retry cannot mend, or the tries
    /// run out (each failed try is logged).
    pub fn run<T>(&self, mut step: impl FnMut() -> Result<T, HubError>) -> Result<T, HubError> {
        let mut pause = self.first_pause;
        let mut tried = 0;
        loop {
            tried += 1;
            match step() {
                Ok(v) => return Ok(v),
                Err(e) if e.transient() && tried < self.attempts.max(1) => {
                    tracing::warn!(try_ = tried, error = %e, "hub step failed; trying again");
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The folder ESR's extracts wait in.
pub const OUT: &str = "Out";
/// The folder that takes files into ESR.
pub const IN: &str = "In";

/// The local working folder for one organisation's hub files (downloads and files sent),
/// beside the store and the owner's alone.
pub fn work_dir(
    store: &crate::store::Store,
    vpd: &str,
    part: &str,
) -> Result<std::path::PathBuf, HubError> {
    let dir = store.dir().join("hub").join(vpd).join(part);
    crate::paths::private_dir(&dir).map_err(|e| {
        HubError::Local(format!("could not make the folder {}: {e}", dir.display()))
    })?;
    Ok(dir)
}

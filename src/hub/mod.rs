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
    Tls(TlsProblem),
    /// The account name or password was not accepted.
    Login,
    /// A folder the hub should have is missing.
    MissingFolder(String),
    /// The connection was cut during an exchange (reset, closed, a transfer cut short).
    Dropped(String),
    /// The hub accepted the connection, then said nothing for this long (during this step).
    NoAnswer {
        /// The step.
        during: String,
        /// How long it was given, in seconds (the `hub.timeout-seconds` setting).
        secs: u64,
    },
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
            Failure::NoAnswer { .. } => "no answer",
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
            Failure::Tls(p) => write!(f, "the secure (TLS) connection failed: {p}"),
            Failure::Login => write!(
                f,
                "the hub did not accept the account name or password: set the password again"
            ),
            Failure::MissingFolder(d) => {
                write!(f, "the hub has no folder {d} for this account")
            }
            Failure::Dropped(m) => write!(f, "the connection was lost ({m})"),
            Failure::NoAnswer { during, secs } => write!(
                f,
                "the hub took the connection but did not answer within {secs} s ({during}): it may be overloaded or down, and the next run tries again"
            ),
            Failure::Remote(m) => write!(f, "{m}"),
        }
    }
}

/// Who a message is for: the command line names its flags, the window its controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The command line.
    Cli,
    /// The window.
    Window,
}

/// Why a secure (TLS) connection to a hub could not be made, sorted from the TLS library's
/// own error type (never from its text), so it can be said in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// The hub presents a certificate authority's certificate instead of one of its own.
    CaAsServer,
    /// The hub's certificate was issued by an authority this computer does not trust.
    UnknownIssuer,
    /// The hub's certificate has expired.
    Expired,
    /// The hub's certificate is not valid yet (or this computer's clock is wrong).
    NotYetValid,
    /// The hub's certificate is for another name.
    WrongName,
    /// The certificate's signature does not check out: damaged, or not what it claims.
    BadSignature,
    /// The hub's certificate was revoked.
    Revoked,
    /// The certificate is not one for a server.
    WrongPurpose,
    /// The hub presented no certificate.
    NoCertificate,
    /// The hub does not offer a secure connection (it answered the request for one with an
    /// error).
    NotOffered(String),
    /// The two sides could not agree on how to talk securely.
    Incompatible(String),
    /// The hub ended the secure connection with an alert.
    Alert(String),
    /// Another TLS failure, in the library's words.
    Other(String),
}

impl TlsProblem {
    /// Sorts a TLS library error.
    pub fn of(e: &rustls::Error) -> Self {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::UnknownIssuer => TlsProblem::UnknownIssuer,
                C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::WrongName,
                C::BadSignature => TlsProblem::BadSignature,
                C::Revoked => TlsProblem::Revoked,
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => TlsProblem::WrongPurpose,
                // The web PKI's "a CA's certificate used as a server's" arrives as Other.
                other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                    TlsProblem::CaAsServer
                }
                other => TlsProblem::Other(format!("{other:?}")),
            },
            rustls::Error::NoCertificatesPresented => TlsProblem::NoCertificate,
            rustls::Error::PeerIncompatible(p) => TlsProblem::Incompatible(format!("{p:?}")),
            rustls::Error::AlertReceived(a) => TlsProblem::Alert(format!("{a:?}")),
            other => TlsProblem::Other(other.to_string()),
        }
    }

    /// The certificate itself is at fault (not the protocol).
    fn about_certificate(&self) -> bool {
        !matches!(
            self,
            TlsProblem::NotOffered(_)
                | TlsProblem::Incompatible(_)
                | TlsProblem::Alert(_)
                | TlsProblem::Other(_)
        )
    }
}

impl std::fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsProblem::CaAsServer => write!(
                f,
                "the hub presents a certificate authority's certificate instead of a certificate of its own; whoever runs the hub must give it a server certificate"
            ),
            TlsProblem::UnknownIssuer => write!(
                f,
                "the hub's certificate was issued by an authority this computer does not trust"
            ),
            TlsProblem::Expired => write!(
                f,
                "the hub's certificate has expired; whoever runs the hub must renew it"
            ),
            TlsProblem::NotYetValid => write!(
                f,
                "the hub's certificate is not valid yet: check this computer's date and time"
            ),
            TlsProblem::WrongName => write!(
                f,
                "the hub's certificate was made for another name: check the hub address"
            ),
            TlsProblem::BadSignature => write!(
                f,
                "the hub's certificate is not signed as it claims (damaged, or not the hub's): do not send files until whoever runs the hub has checked it"
            ),
            TlsProblem::Revoked => write!(
                f,
                "the hub's certificate has been withdrawn by its authority; whoever runs the hub must replace it"
            ),
            TlsProblem::WrongPurpose => {
                write!(f, "the hub's certificate is not one made for a server")
            }
            TlsProblem::NoCertificate => write!(f, "the hub presented no certificate"),
            TlsProblem::NotOffered(m) => write!(
                f,
                "the hub does not offer a secure connection (it answered: {m}); check the address and port"
            ),
            TlsProblem::Incompatible(m) => write!(
                f,
                "this computer and the hub could not agree how to talk securely ({m})"
            ),
            TlsProblem::Alert(m) => write!(f, "the hub ended the secure connection ({m})"),
            TlsProblem::Other(m) => write!(f, "{m}"),
        }
    }
}

impl Failure {
    /// The failure in words for a face: what to do names that face's own control.
    pub fn say(&self, face: Face) -> String {
        match self {
            Failure::Tls(p) => {
                let mut s = format!("the secure (TLS) connection failed: {p}");
                if matches!(p, TlsProblem::UnknownIssuer) {
                    s.push_str(match face {
                        Face::Cli => ". If your trust runs its own or a test hub, trust its CA certificate with `esr-desk org set VPD --name NAME --ca-file CA.pem`",
                        Face::Window => ". If your trust runs its own or a test hub, give its CA certificate in the organisation's \"Extra CA certificate (PEM)\" box (Hub screen, Edit)",
                    });
                } else if !p.about_certificate() {
                    s.push_str(". Check the hub address and port");
                }
                s
            }
            other => other.to_string(),
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
    /// The error in words for a face (see [`Failure::say`]).
    pub fn say(&self, face: Face) -> String {
        match self {
            HubError::Net(f) => f.say(face),
            other => other.to_string(),
        }
    }

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
    /// Four tries, 2, 4 and 8 seconds apart: a connection dropped by a hub restarting in a
    /// few seconds is taken up again within the command.
    fn default() -> Self {
        Self {
            attempts: 4,
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
    // What a killed run left behind goes as the folder is used again.
    crate::export::clean_orphans(&dir);
    Ok(dir)
}

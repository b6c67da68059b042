//! The hub connection: FTP with explicit TLS (AUTH TLS on the control port), passive mode,
//! binary transfers, through `suppaftp` with rustls. Every failure is sorted into what an
//! officer can act on ([`Failure`]): the name not found, the server refusing, TLS, the login,
//! a missing folder, a transfer cut off.

use super::{Failure, HubError};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use suppaftp::rustls::pki_types::CertificateDer;
use suppaftp::rustls::pki_types::pem::PemObject;
use suppaftp::rustls::{ClientConfig, RootCertStore};
use suppaftp::types::FileType;
use suppaftp::{FtpError, RustlsConnector, RustlsFtpStream, Status};

/// How long a connection or a read waits for the hub before the step fails (30 s;
/// `ESR_DESK_HUB_TIMEOUT` seconds sets another, for a slow link or a test).
pub fn timeout() -> Duration {
    static T: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("ESR_DESK_HUB_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map_or(Duration::from_secs(30), Duration::from_secs)
    })
}

/// Where a hub is and who logs in: `ftps://USER@HOST:PORT/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    /// Account name.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// Control port (21 by default).
    pub port: u16,
}

impl HubUrl {
    /// Parses `ftps://USER@HOST[:PORT][/]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        // An address is said back without any password written in it.
        let shown = redact_url(s);
        let bad = |why: &str| {
            format!(
                "hub address {shown:?} {why}: write it as ftps://USER@HOST:PORT/, e.g. ftps://rx1ftp@hub.example.nhs.uk:21/"
            )
        };
        let rest = s
            .trim()
            .strip_prefix("ftps://")
            .ok_or_else(|| bad("does not start with ftps://"))?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(bad("has a path; the folders are always Out and In"));
        }
        let (user, hostport) = rest
            .rsplit_once('@')
            .ok_or_else(|| bad("names no account (USER@)"))?;
        if user.contains(':') {
            return Err(bad(
                "holds a password, which was not kept: name the account only (ftps://USER@HOST:PORT/) and give the password with --password-stdin or in the Hub screen, where it goes to the system's credential store",
            ));
        }
        if user.is_empty() {
            return Err(bad("names no account (USER@)"));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("has a port that is not a number from 1 to 65535"))?,
            ),
            None => (hostport, 21),
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        Ok(Self {
            user: user.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

/// A URL as it may be shown: a password written in it (`scheme://user:password@host`) is
/// replaced by `•••`. The one place an address is made safe to print (in messages and logs).
pub fn redact_url(s: &str) -> String {
    let Some(at_scheme) = s.find("://") else {
        return s.to_string();
    };
    let start = at_scheme + 3;
    let authority_end = s[start..].find('/').map_or(s.len(), |i| start + i);
    let authority = &s[start..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:•••{}",
                &s[..start],
                &authority[..colon],
                &s[start + at..]
            ),
            None => s.to_string(),
        },
        None => s.to_string(),
    }
}

impl std::fmt::Display for HubUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ftps://{}@{}:{}/", self.user, self.host, self.port)
    }
}

/// An open, logged-in session with a hub.
pub struct Session {
    ftp: RustlsFtpStream,
    url: HubUrl,
}

fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, HubError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(p) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
            .map_err(|e| {
                HubError::Setup(format!("the CA file {} cannot be read: {e}", p.display()))
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| {
                HubError::Setup(format!(
                    "the CA file {} is not PEM certificates: {e}",
                    p.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(HubError::Setup(format!(
                "the CA file {} holds no certificate",
                p.display()
            )));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                HubError::Setup(format!(
                    "a certificate in {} cannot be used: {e}",
                    p.display()
                ))
            })?;
        }
    }
    let provider = Arc::new(suppaftp::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HubError::Setup(format!("TLS cannot be set up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Sorts a library error into what failed.
pub(super) fn failure(e: &FtpError, during: &str) -> Failure {
    match e {
        FtpError::ConnectionError(io) => {
            use std::io::ErrorKind as K;
            // A TLS failure is told by the TLS library's own error inside; anything else on
            // the line (a reset, a cut-off transfer, a close without TLS's goodbye) is a
            // dropped connection, worth trying again.
            if let Some(t) = io
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .filter(|t| !matches!(t, rustls::Error::General(_)))
            {
                return Failure::Tls(super::TlsProblem::of(t));
            }
            match io.kind() {
                K::ConnectionRefused => Failure::Refused,
                K::TimedOut | K::WouldBlock => Failure::NoAnswer {
                    during: during.to_string(),
                    secs: timeout().as_secs(),
                },
                _ => Failure::Dropped(format!("{during}: {io}")),
            }
        }
        FtpError::SecureError(m) => Failure::Tls(super::TlsProblem::Other(m.clone())),
        FtpError::UnexpectedResponse(r) => {
            let body = String::from_utf8_lossy(&r.body).trim().to_string();
            match r.status {
                Status::NotLoggedIn | Status::LoginNeedAccount | Status::InvalidCredentials => {
                    Failure::Login
                }
                Status::FileUnavailable | Status::BadFilename
                    if during.starts_with("opening the folder") =>
                {
                    Failure::MissingFolder(
                        during.trim_start_matches("opening the folder ").to_string(),
                    )
                }
                Status::NotAvailable
                | Status::CannotOpenDataConnection
                | Status::TransferAborted
                | Status::RequestFileActionIgnored
                | Status::ActionAborted => Failure::Dropped(format!("{during}: {body}")),
                _ => Failure::Remote(format!("{during}: {}", plain_reply(r.status.code(), &body))),
            }
        }
        FtpError::BadResponse => {
            Failure::Dropped(format!("{during}: the hub's answer was cut off"))
        }
        FtpError::InvalidAddress(e) => Failure::Dns(e.to_string()),
        FtpError::DataConnectionAlreadyOpen => {
            Failure::Remote(format!("{during}: a transfer was still open"))
        }
    }
}

/// A hub's reply in words: what its code means, then what it said (kept for the service desk).
fn plain_reply(code: u32, said: &str) -> String {
    let said = said
        .trim()
        .trim_start_matches(code.to_string().as_str())
        .trim_start_matches(['-', ' '])
        .trim();
    let what = match code {
        421 => "the hub is not taking connections now (it may be restarting)",
        450 | 550 => "the file is not there, or this account may not use it",
        451 => "the hub had a problem of its own with the request",
        452 | 552 => "the hub has no room for the file",
        553 => "the hub does not accept a file of that name",
        530 | 532 => "the hub did not accept the login for this request",
        500..=504 => "the hub did not understand the request",
        _ => "the hub refused the request",
    };
    if said.is_empty() {
        format!("{what} (the hub's reply: {code})")
    } else {
        format!("{what} (the hub's reply: {code} {said})")
    }
}

fn net(e: FtpError, during: &str) -> HubError {
    HubError::Net(failure(&e, during))
}

impl Session {
    /// Connects, secures the control connection, logs in and checks both folders exist.
    pub fn open(url: &HubUrl, password: &str, ca_file: Option<&Path>) -> Result<Self, HubError> {
        let config = tls_config(ca_file)?;
        let addrs: Vec<_> = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| HubError::Net(Failure::Dns(format!("{}: {e}", url.host))))?
            .collect();
        let Some(addr) = addrs.first().copied() else {
            return Err(HubError::Net(Failure::Dns(url.host.clone())));
        };
        let tcp = TcpStream::connect_timeout(&addr, timeout()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                HubError::Net(Failure::Refused)
            } else if e.kind() == std::io::ErrorKind::TimedOut {
                HubError::Net(Failure::NoAnswer {
                    during: format!("connecting to {addr}"),
                    secs: timeout().as_secs(),
                })
            } else {
                HubError::Net(Failure::Dropped(format!("connecting to {addr}: {e}")))
            }
        })?;
        let _ = tcp.set_read_timeout(Some(timeout()));
        let _ = tcp.set_write_timeout(Some(timeout()));
        let ftp = RustlsFtpStream::connect_with_stream(tcp)
            .map_err(|e| net(e, "greeting"))?
            .passive_stream_builder(|addr| {
                let s = TcpStream::connect_timeout(&addr, timeout())
                    .map_err(FtpError::ConnectionError)?;
                let _ = s.set_read_timeout(Some(timeout()));
                let _ = s.set_write_timeout(Some(timeout()));
                Ok(s)
            });
        let mut ftp = ftp
            .into_secure(RustlsConnector::from(config), &url.host)
            .map_err(|e| match failure(&e, "starting TLS") {
                // A server that does not speak TLS answers AUTH TLS with an error.
                Failure::Remote(m) => HubError::Net(Failure::Tls(super::TlsProblem::NotOffered(m))),
                f => HubError::Net(f),
            })?;
        ftp.login(url.user.as_str(), password)
            .map_err(|e| match failure(&e, "logging in") {
                Failure::Remote(_) => HubError::Net(Failure::Login),
                f => HubError::Net(f),
            })?;
        ftp.transfer_type(FileType::Binary)
            .map_err(|e| net(e, "choosing binary transfers"))?;
        Ok(Self {
            ftp,
            url: url.clone(),
        })
    }

    /// The hub's address.
    pub fn url(&self) -> &HubUrl {
        &self.url
    }

    /// Checks that a folder exists (and can be opened), returning to the top.
    pub fn check_folder(&mut self, folder: &str) -> Result<(), HubError> {
        self.ftp
            .cwd(folder)
            .map_err(|e| net(e, &format!("opening the folder {folder}")))?;
        self.ftp
            .cdup()
            .map_err(|e| net(e, "returning to the top folder"))
    }

    /// The plain file names in a folder.
    pub fn list(&mut self, folder: &str) -> Result<Vec<String>, HubError> {
        self.check_folder(folder)?;
        let names = match self.ftp.nlst(Some(folder)) {
            Ok(n) => n,
            // Some servers answer a listing of an empty folder (which exists: it was just
            // opened) with 450 or 550 "no files found".
            Err(FtpError::UnexpectedResponse(r))
                if matches!(
                    r.status,
                    Status::RequestFileActionIgnored | Status::FileUnavailable
                ) =>
            {
                Vec::new()
            }
            Err(e) => return Err(net(e, &format!("listing {folder}"))),
        };
        let mut out: Vec<String> = names
            .into_iter()
            .map(|n| n.rsplit('/').next().unwrap_or(&n).trim().to_string())
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The size of a remote file, or None when it is not there.
    pub fn size(&mut self, path: &str) -> Result<Option<u64>, HubError> {
        match self.ftp.size(path) {
            Ok(n) => Ok(Some(n as u64)),
            Err(FtpError::UnexpectedResponse(r))
                if matches!(r.status, Status::FileUnavailable | Status::BadFilename) =>
            {
                Ok(None)
            }
            Err(e) => Err(net(e, &format!("asking the size of {path}"))),
        }
    }

    /// Downloads a remote file into `to` (which is truncated first); the byte count.
    pub fn download(&mut self, path: &str, to: &mut impl Write) -> Result<u64, HubError> {
        let during = format!("downloading {path}");
        let mut stream = self.ftp.retr_as_stream(path).map_err(|e| net(e, &during))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(net(FtpError::ConnectionError(e), &during)),
            };
            to.write_all(&buf[..n])
                .map_err(|e| HubError::Local(format!("writing the download of {path}: {e}")))?;
            total += n as u64;
        }
        stream.finish().map_err(|e| net(e, &during))?;
        Ok(total)
    }

    /// Uploads `from` to a remote path (replacing a file of that name); the byte count.
    pub fn upload(&mut self, path: &str, from: &mut impl Read) -> Result<u64, HubError> {
        let during = format!("uploading {path}");
        let mut stream = self
            .ftp
            .put_with_stream(path)
            .map_err(|e| net(e, &during))?;
        let n = std::io::copy(from, &mut stream)
            .map_err(|e| net(FtpError::ConnectionError(e), &during))?;
        stream.finish().map_err(|e| net(e, &during))?;
        Ok(n)
    }

    /// Renames a remote file.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), HubError> {
        self.ftp
            .rename(from, to)
            .map_err(|e| net(e, &format!("renaming {from} to {to}")))
    }

    /// Removes a remote file.
    pub fn remove(&mut self, path: &str) -> Result<(), HubError> {
        self.ftp
            .rm(path)
            .map_err(|e| net(e, &format!("removing {path}")))
    }

    /// Says goodbye (a failure here changes nothing).
    pub fn close(mut self) {
        let _ = self.ftp.quit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_addresses_parse_or_say_why_not() {
        let u = HubUrl::parse("ftps://rx1ftp@hub.example.nhs.uk:2121/").expect("parses");
        assert_eq!(
            (u.user.as_str(), u.host.as_str(), u.port),
            ("rx1ftp", "hub.example.nhs.uk", 2121)
        );
        assert_eq!(HubUrl::parse("ftps://a@h").expect("parses").port, 21);
        assert_eq!(u.to_string(), "ftps://rx1ftp@hub.example.nhs.uk:2121/");
        for bad in [
            "ftp://a@h/",
            "ftps://h:21/",
            "ftps://a:pw@h/",
            "ftps://a@h:0/",
            "ftps://a@h/Out",
        ] {
            assert!(HubUrl::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod replies {
    use super::{plain_reply, redact_url};

    #[test]
    fn a_hub_s_reply_is_said_in_words_with_its_code_kept() {
        assert_eq!(
            plain_reply(550, "550 No such file or directory"),
            "the file is not there, or this account may not use it (the hub's reply: 550 No such file or directory)"
        );
        assert_eq!(
            plain_reply(550, ""),
            "the file is not there, or this account may not use it (the hub's reply: 550)"
        );
        assert!(plain_reply(452, "").starts_with("the hub has no room"));
    }

    #[test]
    fn a_password_in_an_address_is_never_shown() {
        assert_eq!(
            redact_url("ftps://trust:SECRET@host:21/"),
            "ftps://trust:•••@host:21/"
        );
        assert_eq!(
            redact_url("postgres://officer:p%40ss@db:5432/esr?sslmode=require"),
            "postgres://officer:•••@db:5432/esr?sslmode=require"
        );
        assert_eq!(redact_url("ftps://trust@host:21/"), "ftps://trust@host:21/");
        assert_eq!(redact_url("no url here"), "no url here");
    }
}

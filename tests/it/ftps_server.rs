//! A real FTPS server on 127.0.0.1 for the hub tests: libunftp with its file-system back end,
//! explicit TLS with a certificate made for the test (a CA of its own and a leaf for
//! 127.0.0.1), one account with a password. Faults are injected in the server's storage, so
//! the client meets them over the real protocol: a download or an upload cut off part-way.

use async_trait::async_trait;
use libunftp::ServerBuilder;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, DefaultUser, Principal};
use unftp_core::storage::{Result as SResult, StorageBackend};
use unftp_sbe_fs::Filesystem;

/// The account every test uses.
pub const USER: &str = "rx1hub";
/// Its password.
pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug)]
struct OneAccount;

#[async_trait]
impl Authenticator for OneAccount {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        if username == USER && creds.password.as_deref() == Some(PASSWORD) {
            Ok(Principal {
                username: username.to_string(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

/// Faults the server injects: the next N downloads (or uploads) are cut off after half the
/// bytes.
#[derive(Debug, Default)]
pub struct Faults {
    /// Downloads still to cut off.
    pub cut_downloads: AtomicUsize,
    /// Uploads still to cut off.
    pub cut_uploads: AtomicUsize,
    /// Uploads (STOR) received, by any name.
    pub stores: AtomicUsize,
    /// Renames received.
    pub renames: AtomicUsize,
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

/// The file-system back end with the faults.
#[derive(Debug)]
struct Faulty {
    fs: Filesystem,
    faults: Arc<Faults>,
}

/// A reader that gives up after `left` bytes, with an error (the connection dropped).
struct Cut<R> {
    inner: R,
    left: u64,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Cut<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped (injected)",
            )));
        }
        let want = (buf.remaining() as u64).min(self.left) as usize;
        let mut tmp = vec![0u8; want];
        let mut sub = tokio::io::ReadBuf::new(&mut tmp);
        let me = &mut *self;
        match std::pin::Pin::new(&mut me.inner).poll_read(cx, &mut sub) {
            std::task::Poll::Ready(Ok(())) => {
                let n = sub.filled().len();
                buf.put_slice(sub.filled());
                me.left -= n as u64;
                std::task::Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[async_trait]
impl StorageBackend<DefaultUser> for Faulty {
    type Metadata = <Filesystem as StorageBackend<DefaultUser>>::Metadata;

    async fn metadata<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> SResult<Self::Metadata> {
        self.fs.metadata(user, path).await
    }

    async fn list<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> SResult<Vec<unftp_core::storage::Fileinfo<PathBuf, Self::Metadata>>>
    where
        Self::Metadata: unftp_core::storage::Metadata,
    {
        self.fs.list(user, path).await
    }

    async fn get<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
        start_pos: u64,
    ) -> SResult<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        let size = self.fs.metadata(user, path.as_ref()).await.map(|m| {
            use unftp_core::storage::Metadata;
            m.len()
        })?;
        let r = self.fs.get(user, path, start_pos).await?;
        if take(&self.faults.cut_downloads) {
            return Ok(Box::new(Cut {
                inner: r,
                left: size / 2,
            }));
        }
        Ok(r)
    }

    async fn put<
        P: AsRef<Path> + Send + Debug,
        R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
    >(
        &self,
        user: &DefaultUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> SResult<u64> {
        self.faults.stores.fetch_add(1, Ordering::SeqCst);
        if take(&self.faults.cut_uploads) {
            // Half the bytes reach the disk, then the connection drops.
            let mut r = input;
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut r, &mut all)
                .await
                .map_err(unftp_core::storage::Error::from)?;
            let half = all[..all.len() / 2].to_vec();
            let _ = self
                .fs
                .put(user, std::io::Cursor::new(half), path, start_pos)
                .await;
            return Err(unftp_core::storage::Error::from(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped (injected)",
            )));
        }
        self.fs.put(user, input, path, start_pos).await
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> SResult<()> {
        self.fs.del(user, path).await
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> SResult<()> {
        self.fs.mkd(user, path).await
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        from: P,
        to: P,
    ) -> SResult<()> {
        self.faults.renames.fetch_add(1, Ordering::SeqCst);
        self.fs.rename(user, from, to).await
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> SResult<()> {
        self.fs.rmd(user, path).await
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> SResult<()> {
        self.fs.cwd(user, path).await
    }
}

/// Relays one client to the server. libunftp switches its control connection to TLS a moment
/// after it has answered AUTH TLS (234), and reads a TLS hello that comes in before that as a
/// command (its control loop races the two); a client as quick as ours then meets a plain
/// text answer some of the time. So the relay holds what the client sends after a 234 back
/// for a moment, as a slower network would.
fn relay(client: std::net::TcpStream, port: u16) {
    use std::io::{Read, Write};
    let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let authed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (mut c_in, mut s_out) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    let (mut s_in, mut c_out) = (server, client);
    let seen = authed.clone();
    let down = std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = s_in.read(&mut buf) {
            if n == 0 {
                break;
            }
            if buf[..n].starts_with(b"234 ") {
                seen.store(true, Ordering::SeqCst);
            }
            if c_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_out.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = c_in.read(&mut buf) {
        if n == 0 {
            break;
        }
        if authed.swap(false, Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(40));
        }
        if s_out.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = s_out.shutdown(std::net::Shutdown::Write);
    let _ = down.join();
}

/// A running server. Dropping it stops it.
pub struct Hub {
    /// The server's root (its `Out` and `In` folders are here).
    pub root: tempfile::TempDir,
    /// Where the CA certificate the client must trust is.
    pub ca: PathBuf,
    /// Its control port.
    pub port: u16,
    /// The faults to inject.
    pub faults: Arc<Faults>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _certs: tempfile::TempDir,
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Passive (data) ports for one server: 40 of their own, below the range the system hands
/// out for `free_port`, so one server's data ports are never another's control port.
fn passive_ports() -> std::ops::RangeInclusive<u16> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let slot = NEXT.fetch_add(1, Ordering::SeqCst) % 100;
    let base = 20_000 + (std::process::id() as usize % 2) * 4_000 + slot * 40;
    let base = u16::try_from(base).expect("port");
    base..=base + 39
}

fn certificates(dir: &Path, ca_as_server: bool) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "esr-desk test hub CA");
    let ca_key = KeyPair::generate().expect("ca key");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    if ca_as_server {
        // A hub set up wrongly: it presents its authority's own certificate.
        let (ca_pem, key_pem) = (dir.join("ca.pem"), dir.join("ca.key"));
        std::fs::write(&ca_pem, ca.pem()).expect("write ca");
        std::fs::write(&key_pem, ca_key.serialize_pem()).expect("write key");
        return (ca_pem.clone(), ca_pem, key_pem);
    }
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("leaf params");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("leaf cert");
    let (ca_pem, cert_pem, key_pem) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&ca_pem, ca.pem()).expect("write ca");
    std::fs::write(&cert_pem, leaf.pem()).expect("write cert");
    std::fs::write(&key_pem, leaf_key.serialize_pem()).expect("write key");
    (ca_pem, cert_pem, key_pem)
}

impl Hub {
    /// Starts a server with `Out` and `In` folders.
    pub fn start() -> Self {
        Self::start_with(&["Out", "In"])
    }

    /// Starts a server that presents its certificate authority's certificate as its own.
    pub fn start_presenting_its_ca() -> Self {
        Self::start_opts(&["Out", "In"], true)
    }

    /// Starts a server with these folders only.
    pub fn start_with(folders: &[&str]) -> Self {
        Self::start_opts(folders, false)
    }

    fn start_opts(folders: &[&str], ca_as_server: bool) -> Self {
        let root = tempfile::tempdir().expect("root");
        for f in folders {
            std::fs::create_dir_all(root.path().join(f)).expect("folder");
        }
        let certs = tempfile::tempdir().expect("certs");
        let (ca, cert, key) = certificates(certs.path(), ca_as_server);
        let faults = Arc::new(Faults::default());
        let inner = free_port();
        let passive = passive_ports();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let home = root.path().to_path_buf();
        let f2 = faults.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let server = ServerBuilder::with_authenticator(
                    Box::new(move || Faulty {
                        fs: Filesystem::new(home.clone()).expect("fs"),
                        faults: f2.clone(),
                    }),
                    Arc::new(OneAccount),
                )
                .ftps(cert, key)
                .passive_ports(passive)
                .passive_host([127, 0, 0, 1])
                .shutdown_indicator(async move {
                    let _ = stop_rx.await;
                    libunftp::options::Shutdown::new()
                        .grace_period(std::time::Duration::from_millis(200))
                })
                .build()
                .expect("server");
                let _ = ready_tx.send(());
                let _ = server.listen(format!("127.0.0.1:{inner}")).await;
            });
        });
        ready_rx.recv().expect("server built");
        // Wait until it accepts connections.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", inner)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let front = std::net::TcpListener::bind("127.0.0.1:0").expect("relay");
        let port = front.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for c in front.incoming().flatten() {
                std::thread::spawn(move || relay(c, inner));
            }
        });
        Hub {
            root,
            ca,
            port,
            faults,
            stop: Some(stop_tx),
            thread: Some(thread),
            _certs: certs,
        }
    }

    /// `ftps://USER@127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ftps://{USER}@127.0.0.1:{}/", self.port)
    }

    /// A folder of the server.
    pub fn dir(&self, f: &str) -> PathBuf {
        self.root.path().join(f)
    }

    /// The names in a folder, sorted.
    pub fn names(&self, f: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir(f))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! TLS of director's listeners and peer links (rustls with ring; no OpenSSL), and the lab CA of `director
//! cert` ([`cert`]).
//!
//! Architecture invariant: a leaf among the daemon's crates. It knows certificates, keys and sockets; of
//! director it imports only the model's name check (a node's name), never the store, the service layer or an
//! edge. The edges (HTTP, gRPC, the peer listener) and the binary import it.
//!
//! - [`ReloadingCert`]: a certificate chain and its key, read from PEM files and re-read when the files change
//!   or on SIGHUP ([`spawn_reloader`]), without a restart and without dropping a connection. A file that does
//!   not load (half written, a key that does not match) leaves the previous certificate in place, loudly.
//! - [`server_config`] and [`mutual_server_config`]: the rustls configurations of the HTTPS and gRPC listeners
//!   (no client certificate) and of the peer listener (a client certificate signed by the cluster CA, or no
//!   handshake at all).
//! - [`TlsIncoming`]: a TCP listener whose connections come out after their handshake; handshakes run
//!   concurrently (a slow client holds up no other) with a deadline and a bound on how many run at once.
//!   It is an `axum::serve::Listener` and, through [`TlsIncoming::into_stream`], tonic's incoming stream.

pub mod cert;

use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once per listener; past it, accepting waits.
const MAX_HANDSHAKES: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A certificate (PEM, the chain from the leaf up) and its private key (PEM: PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The certificates of a PEM file, in order.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no CERTIFICATE block"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|e| file_error(path, e))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        file_error(
            path,
            format!(
                "holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY): {e}"
            ),
        )
    })
}

/// The trust anchors of a PEM file of CA certificates.
pub fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(path)? {
        roots
            .add(cert)
            .map_err(|e| file_error(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// What the log says of a certificate: its subject, names and expiry.
pub fn describe(cert: &CertificateDer<'_>) -> String {
    use x509_parser::prelude::*;
    match X509Certificate::from_der(cert) {
        Ok((_, c)) => {
            let names: Vec<String> = c
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|san| {
                    san.value
                        .general_names
                        .iter()
                        .map(|n| match n {
                            GeneralName::DNSName(d) => d.to_string(),
                            GeneralName::IPAddress(ip) => match ip.len() {
                                4 => std::net::Ipv4Addr::from(
                                    <[u8; 4]>::try_from(*ip).unwrap_or_default(),
                                )
                                .to_string(),
                                16 => std::net::Ipv6Addr::from(
                                    <[u8; 16]>::try_from(*ip).unwrap_or_default(),
                                )
                                .to_string(),
                                _ => "?".to_string(),
                            },
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "subject {}, names [{}], expires {}",
                c.subject(),
                names.join(", "),
                c.validity().not_after
            )
        }
        Err(e) => format!("unreadable certificate: {e}"),
    }
}

/// The DNS names (subjectAltName) of a certificate, in order: a peer's node name is the first.
pub fn dns_names(cert: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    let ee = webpki::EndEntityCert::try_from(cert).map_err(|e| format!("{e:?}"))?;
    Ok(ee.valid_dns_names().map(str::to_string).collect())
}

fn load(files: &CertFiles) -> Result<CertifiedKey, TlsError> {
    let chain = read_certificates(&files.cert)?;
    let key = read_key(&files.key)?;
    let signing = provider::sign::any_supported_type(&key)
        .map_err(|e| file_error(&files.key, format!("unsupported private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        file_error(
            &files.key,
            format!(
                "does not belong to the certificate in {}: {e}",
                files.cert.display()
            ),
        )
    })?;
    Ok(certified)
}

/// A digest of both files' contents: a change of either means "read them again" (modification times can
/// repeat within a clock tick, contents cannot).
type Stamp = Option<[[u8; 32]; 2]>;

fn stamp(files: &CertFiles) -> Stamp {
    use sha2::{Digest, Sha256};
    let one = |p: &Path| std::fs::read(p).ok().map(|b| Sha256::digest(b).into());
    Some([one(&files.cert)?, one(&files.key)?])
}

/// A server certificate that follows its files.
pub struct ReloadingCert {
    /// The flag that named the files (for the log): `--tls-cert`, `--peer-cert`.
    flag: &'static str,
    files: CertFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files as last read (loaded or not: a broken file is reported once, not at every look).
    seen: Mutex<Stamp>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("flag", &self.flag)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Reads the files; fails if they do not make a certificate with its key.
    pub fn load(flag: &'static str, files: CertFiles) -> Result<Arc<Self>, TlsError> {
        let seen = stamp(&files);
        let certified = load(&files)?;
        tracing::info!(
            cert = %files.cert.display(),
            "{flag}: {}",
            certified.cert.first().map(describe).unwrap_or_default()
        );
        Ok(Arc::new(ReloadingCert {
            flag,
            files,
            current: RwLock::new(Arc::new(certified)),
            seen: Mutex::new(seen),
        }))
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the files again and serves what they hold; on an error the previous certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let seen = stamp(&self.files);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = seen;
        let certified = load(&self.files)?;
        tracing::info!(
            cert = %self.files.cert.display(),
            "{}: now serving {}",
            self.flag,
            certified.cert.first().map(describe).unwrap_or_default()
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        Ok(())
    }

    /// Reloads when either file changed since it was last read; `None` when neither did.
    pub fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let now = stamp(&self.files);
        let changed = *self.seen.lock().unwrap_or_else(|p| p.into_inner()) != now;
        changed.then(|| self.reload())
    }

    fn report(&self, why: &str, result: Result<(), TlsError>) {
        if let Err(e) = result {
            tracing::error!(
                "{}: cannot use the new files ({why}): {e}; still serving the previous certificate",
                self.flag
            );
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Re-reads the certificates on SIGHUP, and whenever their files change (looked at every `every`).
pub fn spawn_reloader(
    certs: Vec<Arc<ReloadingCert>>,
    every: Duration,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP: reading the TLS certificates again");
                    for c in &certs {
                        c.report("SIGHUP", c.reload());
                    }
                }
                _ = tick.tick() => {
                    for c in &certs {
                        if let Some(result) = c.reload_if_changed() {
                            c.report("the files changed", result);
                        }
                    }
                }
            }
        }
    }))
}

fn builder() -> Result<rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier>, TlsError> {
    ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// A listener that asks for no client certificate; `alpn` lists the protocols it speaks, preferred first.
pub fn server_config(
    cert: Arc<ReloadingCert>,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = builder()?.with_no_client_auth().with_cert_resolver(cert);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A listener that completes a handshake only with a client certificate signed by one of `roots` and valid
/// now (HTTP/2 only: the peer listener speaks gRPC).
pub fn mutual_server_config(
    cert: Arc<ReloadingCert>,
    roots: RootCertStore,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(provider::default_provider()),
    )
    .build()
    .map_err(|e| TlsError::Config(format!("the peer CA: {e}")))?;
    let mut config = builder()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Ends the accepting task with its listener.
struct AcceptTask(tokio::task::AbortHandle);

impl Drop for AcceptTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// TLS connections of a TCP listener, each handed out once its handshake is done.
pub struct TlsIncoming {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept: AcceptTask,
}

impl TlsIncoming {
    /// Accepts on `listener`; `name` says which listener in the log. Failed handshakes are logged at
    /// `warn` when `loud` (the peer listener: a refused peer must be seen), else at `debug`.
    pub fn new(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        name: &'static str,
        loud: bool,
    ) -> std::io::Result<TlsIncoming> {
        let local = listener.local_addr()?;
        let (tx, connections) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let accept = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (tcp, client) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of descriptors, for example: wait a little rather than spin.
                        tracing::warn!(listener = name, error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY");
                }
                let (tx, acceptor) = (tx.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, client)).await;
                        }
                        Ok(Err(e)) if loud => {
                            tracing::warn!(listener = name, %client, "TLS handshake refused: {e}")
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(listener = name, %client, "TLS handshake failed: {e}")
                        }
                        Err(_) => tracing::debug!(
                            listener = name,
                            %client,
                            "TLS handshake not done after {} s",
                            HANDSHAKE_TIMEOUT.as_secs()
                        ),
                    }
                });
            }
        })
        .abort_handle();
        Ok(TlsIncoming {
            connections,
            local,
            accept: AcceptTask(accept),
        })
    }

    /// The connections as tonic's server takes them.
    pub fn into_stream(
        self,
    ) -> impl tokio_stream::Stream<Item = std::io::Result<TlsStream<TcpStream>>> {
        use tokio_stream::StreamExt as _;
        let TlsIncoming {
            connections,
            accept,
            ..
        } = self;
        tokio_stream::wrappers::ReceiverStream::new(connections).map(move |(stream, _)| {
            let _accepting = &accept;
            Ok(stream)
        })
    }
}

impl axum::serve::Listener for TlsIncoming {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(c) => c,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str, ca: &crate::cert::Authority) -> CertFiles {
        let node = ca
            .node(name, &["127.0.0.1".to_string()], 30)
            .expect("node cert");
        let files = CertFiles {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}-key.pem")),
        };
        std::fs::write(&files.cert, &node.cert_pem).unwrap();
        std::fs::write(&files.key, &node.key_pem).unwrap();
        files
    }

    #[test]
    fn a_certificate_follows_its_files_and_survives_a_bad_write() {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::cert::Authority::new("test", 30).unwrap();
        let files = write_pair(dir.path(), "one", &ca);
        let cert = ReloadingCert::load("--tls-cert", files.clone()).unwrap();
        let first = cert.current().cert[0].clone();
        assert!(cert.reload_if_changed().is_none(), "nothing changed");

        // A key that does not match the certificate: refused, the old pair stays, and it is said once.
        let other = ca.node("two", &[], 30).unwrap();
        std::fs::write(&files.key, &other.key_pem).unwrap();
        let err = cert.reload_if_changed().expect("changed").unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
        assert_eq!(cert.current().cert[0], first);
        assert!(cert.reload_if_changed().is_none(), "reported once");

        // A whole new pair: served.
        write_pair(dir.path(), "one", &ca);
        assert!(matches!(cert.reload_if_changed(), Some(Ok(()))));
        assert_ne!(cert.current().cert[0], first);
    }

    #[test]
    fn files_that_are_not_certificates_or_keys_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello\n").unwrap();
        let err = ReloadingCert::load(
            "--tls-cert",
            CertFiles {
                cert: junk.clone(),
                key: junk.clone(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("junk.pem"), "{err}");
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
        let missing = dir.path().join("missing.pem");
        assert!(read_roots(&missing)
            .unwrap_err()
            .to_string()
            .contains("missing.pem"));
    }

    #[test]
    fn the_node_name_is_the_first_dns_name() {
        let ca = crate::cert::Authority::new("test", 30).unwrap();
        let node = ca
            .node("lvs-01", &["10.0.0.1".into(), "lb.example".into()], 30)
            .unwrap();
        let der = CertificateDer::from_pem_slice(node.cert_pem.as_bytes()).unwrap();
        assert_eq!(dns_names(&der).unwrap(), vec!["lvs-01", "lb.example"]);
        assert!(describe(&der).contains("10.0.0.1"), "{}", describe(&der));
    }
}

//! Real servers for the tests, on loopback: a TCP listener that can be closed and reopened, an HTTP(S) server
//! whose answer can be switched, and helpers to wait for a state with a generous deadline.

use director_core::model::{CheckKind, HealthCheck};
use director_health::{Engine, HealthState, Options, Status, Target, TargetId, Transition};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a test waits for a state before failing. Generous: the tests run on loaded 2-core machines.
pub const DEADLINE: Duration = Duration::from_secs(15);

pub const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A check with test-friendly timings: checks every 100 ms, with a timeout far above what loopback needs.
pub fn check(kind: CheckKind) -> HealthCheck {
    let mut hc = HealthCheck::new(kind);
    hc.interval_ms = 100;
    hc.timeout_ms = 2000;
    hc.rise = 1;
    hc.fall = 1;
    hc
}

pub fn target(port: u16, check: HealthCheck) -> Target {
    Target::new("web", LOCALHOST, port, check)
}

pub fn engine() -> Engine {
    Engine::start(Options::default())
}

/// Polls the engine until `id`'s state satisfies `ok`, failing after [`DEADLINE`] with the last state seen.
pub async fn wait_for(
    engine: &Engine,
    id: &TargetId,
    what: &str,
    ok: impl Fn(&HealthState) -> bool,
) -> HealthState {
    let start = Instant::now();
    loop {
        let state = engine.state(id);
        if let Some(s) = &state {
            if ok(s) {
                return s.clone();
            }
        }
        if start.elapsed() > DEADLINE {
            panic!("{id} never became {what} within {DEADLINE:?}; last state: {state:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_status(engine: &Engine, id: &TargetId, status: Status) -> HealthState {
    wait_for(engine, id, status.as_str(), |s| s.status == status).await
}

/// Receives the next transition, failing after [`DEADLINE`].
pub async fn next_transition(rx: &mut broadcast::Receiver<Transition>) -> Transition {
    match tokio::time::timeout(DEADLINE, rx.recv()).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => panic!("transitions channel: {e}"),
        Err(_) => panic!("no transition within {DEADLINE:?}"),
    }
}

/// A port nothing listens on (bound then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind((LOCALHOST, 0))
        .await
        .expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

/// A TCP listener that accepts and drops connections, recording their source addresses.
pub struct TcpServer {
    pub port: u16,
    pub accepted: Arc<Mutex<Vec<SocketAddr>>>,
    task: Option<JoinHandle<()>>,
}

impl TcpServer {
    pub async fn start() -> TcpServer {
        let listener = TcpListener::bind((LOCALHOST, 0))
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let mut s = TcpServer {
            port,
            accepted: Arc::default(),
            task: None,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: TcpListener) {
        let accepted = self.accepted.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((conn, peer)) = listener.accept().await {
                accepted.lock().unwrap().push(peer);
                drop(conn);
            }
        }));
    }

    /// Stops listening: connects are refused.
    pub async fn close(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same port.
    pub async fn reopen(&mut self) {
        let listener = TcpListener::bind((LOCALHOST, self.port))
            .await
            .unwrap_or_else(|e| panic!("cannot listen on port {} again: {e}", self.port));
        self.serve(listener);
    }

    pub fn connections(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// What the HTTP server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status and a body with Content-Length (or chunked).
    Status {
        status: u16,
        body: Vec<u8>,
        chunked: bool,
    },
    /// Accept, read the request, never answer.
    Hang,
}

impl Reply {
    pub fn ok(body: &str) -> Reply {
        Reply::Status {
            status: 200,
            body: body.as_bytes().to_vec(),
            chunked: false,
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply::Status {
            status,
            body: format!("status {status}\n").into_bytes(),
            chunked: false,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    pub host: Option<String>,
    pub connection: Option<String>,
    /// The TLS server name (SNI) the client sent, for https.
    pub sni: Option<String>,
}

#[derive(Clone)]
struct HttpState {
    reply: Arc<Mutex<Reply>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// An HTTP server, or HTTPS with a certificate generated for the test.
pub struct HttpServer {
    pub port: u16,
    state: HttpState,
    task: JoinHandle<()>,
}

impl HttpServer {
    pub async fn start(reply: Reply) -> HttpServer {
        Self::start_inner(reply, false).await
    }

    /// HTTPS with a self-signed certificate for `localhost` and `www.example.test`.
    pub async fn start_tls(reply: Reply) -> HttpServer {
        Self::start_inner(reply, true).await
    }

    async fn start_inner(reply: Reply, tls: bool) -> HttpServer {
        let listener = TcpListener::bind((LOCALHOST, 0))
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let state = HttpState {
            reply: Arc::new(Mutex::new(reply)),
            seen: Arc::default(),
        };
        let acceptor = tls.then(tls_acceptor);
        let st = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let st = st.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        None => serve(conn, None, st).await,
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(conn).await {
                                let sni = tls.get_ref().1.server_name().map(str::to_string);
                                serve(tls, sni, st).await;
                            }
                        }
                    }
                });
            }
        });
        HttpServer { port, state, task }
    }

    pub fn set(&self, reply: Reply) {
        *self.state.reply.lock().unwrap() = reply;
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let cert = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "www.example.test".to_string(),
    ])
    .expect("generate a certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server certificate");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S, sni: Option<String>, st: HttpState) {
    // Read the request head.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let header = |name: &str| {
        text.split("\r\n").skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let http10 = request_line.ends_with("HTTP/1.0");
    st.seen.lock().unwrap().push(Seen {
        request_line: request_line.clone(),
        host: header("host"),
        connection: header("connection"),
        sni,
    });
    let reply = st.reply.lock().unwrap().clone();
    let out = match reply {
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Reply::Status { status, body, .. } if http10 => {
            // An HTTP/1.0 server: no length, the body ends at close.
            let mut out =
                format!("HTTP/1.0 {status} Whatever\r\nServer: test\r\n\r\n").into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Reply::Status {
            status,
            body,
            chunked: false,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Reply::Status {
            status,
            body,
            chunked: true,
        } => {
            let mut out =
                format!("HTTP/1.1 {status} Whatever\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                    .into_bytes();
            for chunk in body.chunks(3) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        }
    };
    let _ = conn.write_all(&out).await;
    let _ = conn.shutdown().await;
}

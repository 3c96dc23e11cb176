//! One `director serve` process.

use crate::{director_bin, free_port};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a daemon may take to answer /healthz after it was started.
const READY_BOUND: Duration = Duration::from_secs(120);

pub const ADMIN_PASSWORD: &str = "admin-password-1";

#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// Reuse this data directory (for restarts); a fresh temporary one otherwise.
    pub data_dir: Option<PathBuf>,
    pub node_name: Option<String>,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `--dataplane` (default `none`).
    pub dataplane: Option<String>,
    /// Run inside this network namespace, serving HTTP on an address of it; VRRP then runs. Without it the
    /// daemon serves on loopback with `--vrrp off`, so that a test never touches the host's interfaces.
    pub netns: Option<InNamespace>,
    /// The gRPC port (default: a free one). In a namespace the gRPC API listens on the namespace's address.
    pub grpc_port: Option<u16>,
    /// Serve peer sync on this port (`--peer-listen`, on the namespace's address in a namespace).
    pub peer_port: Option<u16>,
    /// Serve HTTPS and gRPC over TLS with this certificate; the test's clients trust `ca`.
    pub tls: Option<Tls>,
}

/// The certificate of a daemon's HTTP and gRPC listeners, and the CA its clients trust.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Where a daemon runs when it runs in a network namespace (see `crate::netns`).
#[derive(Debug, Clone)]
pub struct InNamespace {
    /// The namespace (`ip netns exec <name> director serve ...`).
    pub name: String,
    /// The address of the namespace the HTTP API listens on (reachable from the test process).
    pub address: std::net::IpAddr,
}

/// The environment that runs a daemon with its wall clock `offset` off (`+2h`, `-30s`), its monotonic clock
/// (timers, timeouts) left true: libfaketime preloaded (Debian's `faketime`, which `tests/setup.sh`
/// installs). Preloaded directly rather than through the `faketime` command, which would run the daemon as
/// its child (a signal to it would not reach the daemon).
pub fn faketime(offset: &str) -> Vec<(String, String)> {
    let lib = ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .flat_map(|dir| {
            let arch = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path());
            std::iter::once(std::path::PathBuf::from(dir)).chain(arch)
        })
        .map(|dir| dir.join("faketime/libfaketime.so.1"))
        .find(|lib| lib.exists())
        .expect("libfaketime.so.1 not found: install faketime (tests/setup.sh)");
    [
        ("LD_PRELOAD", lib.to_string_lossy().as_ref()),
        ("FAKETIME", offset),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec()
}

pub struct Daemon {
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    pub port: u16,
    /// The port of the gRPC API (`--grpc-listen 127.0.0.1:<grpc_port>`).
    pub grpc_port: u16,
    /// The port of peer sync, if it serves it.
    pub peer_port: Option<u16>,
    /// The CA the clients trust when the daemon serves TLS.
    pub ca: Option<PathBuf>,
    pub base: String,
    pub http: Client,
    pub admin_token: String,
    log: PathBuf,
}

impl Daemon {
    pub async fn start() -> Daemon {
        Self::start_with(DaemonOptions::default()).await
    }

    pub async fn start_with(opts: DaemonOptions) -> Daemon {
        let (tmp, data_dir) = match &opts.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("director-test-")
                    .tempdir()
                    .expect("temp dir");
                let p = t.path().join("data");
                (Some(t), p)
            }
        };
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let port = free_port();
        let grpc_port = opts.grpc_port.unwrap_or_else(|| free_port_except(port));
        let log = data_dir.join(format!("daemon-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let host: std::net::IpAddr = opts
            .netns
            .as_ref()
            .map_or([127, 0, 0, 1].into(), |n| n.address);
        let http_addr = std::net::SocketAddr::new(host, port);
        let mut cmd = match &opts.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &ns.name]).arg(director_bin());
                c
            }
            None => Command::new(director_bin()),
        };
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--http-listen")
            .arg(http_addr.to_string())
            .arg("--grpc-listen")
            .arg(
                std::net::SocketAddr::new(
                    opts.netns
                        .as_ref()
                        .map_or([127, 0, 0, 1].into(), |n| n.address),
                    grpc_port,
                )
                .to_string(),
            )
            .arg("--dataplane")
            .arg(opts.dataplane.as_deref().unwrap_or("none"))
            .args(if opts.netns.is_none() {
                &["--vrrp", "off"][..]
            } else {
                &[]
            })
            .args(&opts.extra_args)
            .env("DIRECTOR_INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "DIRECTOR_NODE_NAME",
                opts.node_name.clone().unwrap_or_else(|| "test-node".into()),
            )
            .env("RUST_LOG", "info,tower_http=warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file);
        if let Some(p) = opts.peer_port {
            cmd.arg("--peer-listen")
                .arg(std::net::SocketAddr::new(host, p).to_string());
        }
        match &opts.tls {
            Some(tls) => {
                cmd.arg("--tls-cert")
                    .arg(&tls.cert)
                    .arg("--tls-key")
                    .arg(&tls.key);
            }
            // A namespace's LAN is the test's own, between namespaces it made: plain text is allowed there.
            None if opts.netns.is_some() => {
                cmd.arg("--allow-plaintext");
            }
            None => {}
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn director");
        let mut http = Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy();
        if let Some(tls) = &opts.tls {
            let pem = std::fs::read(&tls.ca).expect("read the CA");
            http = http
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA"));
        }
        let http = http.build().expect("http client");
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        let mut d = Daemon {
            child: Some(child),
            _tmp: tmp,
            data_dir,
            port,
            grpc_port,
            peer_port: opts.peer_port,
            ca: opts.tls.as_ref().map(|t| t.ca.clone()),
            base: format!("{scheme}://{http_addr}"),
            http,
            admin_token: String::new(),
            log,
        };
        d.wait_ready().await;
        d.admin_token = d.login("admin", ADMIN_PASSWORD).await;
        d
    }

    async fn wait_ready(&mut self) {
        // A bound, not a timing: a debug build starting in the TCG kernel VM while other jobs load the host
        // has been seen to need more than 20 s.
        let deadline = Instant::now() + READY_BOUND;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "director exited with {status} before it was ready:\n{}",
                    self.log_text()
                );
            }
            // Liveness, not readiness: a daemon may be up and rightly unready (`--dataplane auto` without
            // IPVS), and the tests look at /readyz themselves.
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "director not ready after {} s:\n{}",
                READY_BOUND.as_secs(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The gRPC endpoint, e.g. `http://127.0.0.1:50051` (`https://` under TLS).
    pub fn grpc_url(&self) -> String {
        let (scheme, rest) = self.base.split_once("://").unwrap_or(("http", &self.base));
        let host = rest.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
        format!("{scheme}://{host}:{}", self.grpc_port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(r.status(), 200, "login of {user} failed");
        let body: Value = r.json().await.expect("login body");
        body["token"].as_str().expect("token").to_string()
    }

    /// Creates a user with `role` (through the admin) and returns its token.
    pub async fn token_for(&self, role: &str) -> String {
        let name = format!("{role}-user");
        let password = format!("{role}-password");
        let r = self
            .req(Method::POST, "/api/v1/users", &self.admin_token)
            .json(&serde_json::json!({"name": name, "password": password, "role": role}))
            .send()
            .await
            .expect("create user");
        assert!(
            r.status() == 201 || r.status() == 409,
            "creating {name}: {}",
            r.status()
        );
        self.login(&name, &password).await
    }

    pub fn req(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        let b = self.http.request(method, self.url(path));
        if token.is_empty() {
            b
        } else {
            b.bearer_auth(token)
        }
    }

    /// Sends as admin and returns (status, JSON body or Null).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.admin_token.clone();
        self.call_as(&token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut b = self.req(method.clone(), path, token);
        if let Some(body) = body {
            let ct = if method == Method::PATCH {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            b = b.header("content-type", ct).body(body.to_string());
        }
        let r = b.send().await.expect("request");
        decode(r).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The global revision, the number of audit entries (but logins) and the declared objects (without the
    /// run-time health): what a rejected request must not change, and what a restart must keep.
    pub async fn fingerprint(&self) -> Fingerprint {
        let status = self.get("/api/v1/status").await;
        let audit = self.get("/api/v1/audit?limit=1000").await;
        let mut objects = self.get("/api/v1/virtual-servers?limit=1000").await["items"].clone();
        for vs in objects.as_array_mut().into_iter().flatten() {
            for rs in vs["real_servers"].as_array_mut().into_iter().flatten() {
                if let Some(m) = rs.as_object_mut() {
                    m.remove("health");
                }
            }
        }
        let groups = self.get("/api/v1/vrrp-groups").await["items"].clone();
        Fingerprint {
            revision: status["revision"].as_u64().unwrap_or(0),
            // Logins and logouts are audited too, but change nothing.
            audit_entries: audit["items"].as_array().map_or(0, |items| {
                items.iter().filter(|e| e["kind"] != "login").count()
            }),
            objects: serde_json::json!({"virtual_servers": objects, "vrrp_groups": groups}),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// Keeps the data directory alive beyond this daemon (for a restart in the same directory).
    pub fn keep_data(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }

    pub fn data_path(&self) -> &Path {
        &self.data_dir
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A free port other than `taken` (two listeners of one daemon must not get the same one).
fn free_port_except(taken: u16) -> u16 {
    loop {
        let port = free_port();
        if port != taken {
            return port;
        }
    }
}

/// What must stay the same; compared whole, reported briefly.
#[derive(Clone, PartialEq)]
pub struct Fingerprint {
    pub revision: u64,
    pub audit_entries: usize,
    pub objects: Value,
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.objects.to_string();
        let digest = text
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        write!(
            f,
            "revision {}, {} audit entries, objects {:016x} ({} bytes)",
            self.revision,
            self.audit_entries,
            digest,
            text.len()
        )
    }
}

pub async fn decode(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

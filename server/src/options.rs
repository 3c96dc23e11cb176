//! The options of the binary: those every command shares ([`GlobalOpts`]) and the daemon's ([`ServeOpts`]),
//! with what turns them into the settings of the parts they configure. The parts take plain settings; only
//! this module knows clap.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use director_http::metrics::MetricsAccess;
use director_service::auth::Tokens;
use director_service::store::Store;
use director_service::Service;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Where the database and the token secret live.
    #[arg(
        long,
        env = "DIRECTOR_DATA_DIR",
        default_value = "./director-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// This node's name in the cluster (default: the host name).
    #[arg(long, env = "DIRECTOR_NODE_NAME", global = true)]
    pub node_name: Option<String>,
    /// File holding the token signing secret (default: <data-dir>/token-secret, created on first start).
    #[arg(long, env = "DIRECTOR_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,
    /// The token signing secret itself (at least 32 characters); overrides the file.
    #[arg(
        long,
        env = "DIRECTOR_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// Log format.
    #[arg(
        long,
        env = "DIRECTOR_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataplaneMode {
    /// IPVS when the kernel has it, otherwise none (loudly).
    Auto,
    /// IPVS, or fail at start.
    Ipvs,
    /// Reconcile against an IPVS table in memory: the kernel's is not touched (tests, hosts without IPVS);
    /// addresses are bound.
    Memory,
    /// No IPVS table: the reconciler binds only the addresses of VRRP groups.
    None,
}

#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address of the REST API and the web UI.
    #[arg(long, env = "DIRECTOR_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Address of the gRPC API (pipelines, directorctl; health and reflection services included).
    #[arg(long, env = "DIRECTOR_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,
    #[arg(long, env = "DIRECTOR_DATAPLANE", value_enum, default_value = "auto")]
    pub dataplane: DataplaneMode,
    /// Lifetime of a login session, e.g. 12h, 30m.
    #[arg(long, env = "DIRECTOR_SESSION_TTL", default_value = "12h", value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// The first lockout after too many failed logins (it doubles with each further failure, up to
    /// --login-lockout-max).
    #[arg(long, env = "DIRECTOR_LOGIN_LOCKOUT_BASE", default_value = "1s", value_parser = parse_duration)]
    pub login_lockout_base: Duration,
    /// The longest lockout after failed logins.
    #[arg(long, env = "DIRECTOR_LOGIN_LOCKOUT_MAX", default_value = "5m", value_parser = parse_duration)]
    pub login_lockout_max: Duration,
    /// Requests that take longer are answered 408.
    #[arg(long, env = "DIRECTOR_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Largest request body, in bytes.
    #[arg(long, env = "DIRECTOR_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Reconcile at least this often, to repair drift made by hand.
    #[arg(long, env = "DIRECTOR_RESYNC_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Interface where the addresses of virtual servers without a VRRP group are bound (none: not bound).
    #[arg(long, env = "DIRECTOR_VIP_INTERFACE")]
    pub vip_interface: Option<String>,
    /// Delete IPVS services that director did not create and does not want (default: leave them alone).
    #[arg(long, env = "DIRECTOR_REMOVE_UNMANAGED")]
    pub remove_unmanaged: bool,
    /// On stop, remove the services and VIPs director owns (default: leave them, traffic flows on).
    #[arg(long, env = "DIRECTOR_CLEAR_ON_STOP")]
    pub clear_on_stop: bool,
    /// Run the VRRP groups this node is a member of (`off`: take part in none and touch no interface).
    #[arg(long, env = "DIRECTOR_VRRP", value_enum, default_value = "on")]
    pub vrrp: Switch,
    /// How often VRRP track scripts run; also their timeout.
    #[arg(long, env = "DIRECTOR_VRRP_TRACK_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub vrrp_track_interval: Duration,
    /// Bound on each VRRP transition notification (webhook call or notify script).
    #[arg(long, env = "DIRECTOR_VRRP_NOTIFY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub vrrp_notify_timeout: Duration,
    /// Certificate (PEM, leaf first) of the HTTP and gRPC listeners; with --tls-key, both serve TLS only.
    /// Re-read when the file changes or on SIGHUP.
    #[arg(long, env = "DIRECTOR_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "DIRECTOR_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP and gRPC on an address other than loopback (refused by default: passwords and tokens
    /// would cross the network in clear).
    #[arg(long, env = "DIRECTOR_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,
    /// How often the certificate files are looked at for a change (SIGHUP re-reads them at once).
    #[arg(long, env = "DIRECTOR_TLS_RELOAD_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub tls_reload_interval: Duration,
    /// The other directors of the cluster, `node=host:peer-port` (their --peer-listen), comma-separated
    /// (this node's own entry, if listed, is skipped: every node can share one list). Changes made on any of
    /// them reach every other. Needs --peer-listen, --peer-ca, --peer-cert and --peer-key.
    #[arg(long, env = "DIRECTOR_PEERS", default_value = "")]
    pub peers: String,
    /// Where this node serves peer sync to the other directors (mutual TLS only).
    #[arg(long, env = "DIRECTOR_PEER_LISTEN")]
    pub peer_listen: Option<SocketAddr>,
    /// The cluster CA (PEM): a peer's certificate must be signed by it, both ways.
    #[arg(long, env = "DIRECTOR_PEER_CA")]
    pub peer_ca: Option<PathBuf>,
    /// This node's certificate (PEM), signed by the cluster CA, naming this node first among its DNS names
    /// (`director cert node`). Re-read when the file changes or on SIGHUP.
    #[arg(long, env = "DIRECTOR_PEER_CERT")]
    pub peer_cert: Option<PathBuf>,
    /// Private key (PEM) of --peer-cert.
    #[arg(long, env = "DIRECTOR_PEER_KEY")]
    pub peer_key: Option<PathBuf>,
    /// How far ahead of this node's clock a peer's changes may be stamped. A peer whose clock runs further
    /// ahead has its changes refused (none applied, its status says why, audited once) until they are
    /// within it; this node's clock is not moved by them.
    #[arg(long, env = "DIRECTOR_MAX_CLOCK_SKEW", default_value = "60s", value_parser = parse_duration)]
    pub max_clock_skew: Duration,
    /// Who may read `GET /metrics`: `open` (no credentials, as Prometheus scrapes by default), `token` (a
    /// bearer token of any role), `off` (not served).
    #[arg(long, env = "DIRECTOR_METRICS", value_enum, default_value = "open")]
    pub metrics: MetricsMode,
}

/// Who may read `GET /metrics` (`--metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsMode {
    Open,
    Token,
    Off,
}

impl From<MetricsMode> for MetricsAccess {
    fn from(m: MetricsMode) -> Self {
        match m {
            MetricsMode::Open => MetricsAccess::Open,
            MetricsMode::Token => MetricsAccess::Token,
            MetricsMode::Off => MetricsAccess::Off,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl ServeOpts {
    /// The limits of failed logins (the defaults, with the lockouts of the flags).
    pub fn login_limits(&self) -> director_service::auth::LimiterConfig {
        let base = self.login_lockout_base.max(Duration::from_millis(10));
        director_service::auth::LimiterConfig {
            lockout_base: base,
            lockout_max: self.login_lockout_max.max(base),
            ..Default::default()
        }
    }

    /// The bound on a peer's clock (`--max-clock-skew`).
    pub fn clock_skew_bound(&self) -> director_sync::SkewBound {
        director_sync::SkewBound::from_millis(
            u64::try_from(self.max_clock_skew.as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// The peers other than `node` and how to reach them. `None` without peers: sync is off.
    pub fn sync_settings(
        &self,
        node: &str,
    ) -> anyhow::Result<Option<director_runtime::sync::SyncSettings>> {
        for gone in ["DIRECTOR_CLUSTER_SECRET", "DIRECTOR_CLUSTER_SECRET_FILE"] {
            if std::env::var_os(gone).is_some() {
                anyhow::bail!(
                    "{gone} is set, but the cluster secret is gone: peers authenticate with mutual TLS \
                     (--peer-ca, --peer-cert, --peer-key; `director cert` makes them for a lab)"
                );
            }
        }
        let mut peers = Vec::new();
        for entry in self
            .peers
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let peer: director_runtime::sync::Peer =
                entry.parse().map_err(|e| anyhow::anyhow!("--peers: {e}"))?;
            if peer.node != node {
                peers.push(peer);
            }
        }
        if peers.is_empty() {
            return Ok(None);
        }
        let need = |value: &Option<PathBuf>, flag: &str| {
            value.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "--peers needs {flag}: peers authenticate each other with certificates signed by one \
                     cluster CA (--peer-ca, --peer-cert, --peer-key; `director cert` makes them for a lab)"
                )
            })
        };
        let listen = self.peer_listen.ok_or_else(|| {
            anyhow::anyhow!("--peers needs --peer-listen ADDRESS:PORT: where the other directors reach this one")
        })?;
        Ok(Some(director_runtime::sync::SyncSettings {
            listen,
            peers,
            tls: director_runtime::sync::PeerTls {
                ca: need(&self.peer_ca, "--peer-ca")?,
                files: director_tls::CertFiles {
                    cert: need(&self.peer_cert, "--peer-cert")?,
                    key: need(&self.peer_key, "--peer-key")?,
                },
            },
        }))
    }

    /// The certificate of the HTTP and gRPC listeners, if any; refuses plain text on a non-loopback address
    /// unless --allow-plaintext.
    pub fn tls_files(&self) -> anyhow::Result<Option<director_tls::CertFiles>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return Ok(Some(director_tls::CertFiles {
                cert: cert.clone(),
                key: key.clone(),
            }));
        }
        if !self.allow_plaintext {
            for (flag, addr) in [
                ("--http-listen", self.http_listen),
                ("--grpc-listen", self.grpc_listen),
            ] {
                if !addr.ip().is_loopback() {
                    anyhow::bail!(
                        "refusing to serve plain text on {flag} {addr}, which is not a loopback address: \
                         passwords and tokens would cross the network in clear. Give --tls-cert and \
                         --tls-key (`director cert` makes a lab CA and certificates), or add \
                         --allow-plaintext if something else encrypts the traffic"
                    );
                }
            }
        }
        Ok(None)
    }

    /// The VRRP settings (intervals of at least 100 ms).
    pub fn vrrp_options(&self) -> director_runtime::vrrp::VrrpOptions {
        director_runtime::vrrp::VrrpOptions {
            enabled: self.vrrp == Switch::On,
            track_interval: self.vrrp_track_interval.max(Duration::from_millis(100)),
            notify_timeout: self.vrrp_notify_timeout.max(Duration::from_millis(100)),
        }
    }
}

/// `90s`, `30m`, `12h`, `7d`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 90s, 30m, 12h or 7d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        "ms" => return Ok(Duration::from_millis(n)),
        _ => return Err(format!("{s:?} has an unknown unit: use ms, s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

impl GlobalOpts {
    pub fn node(&self) -> String {
        self.node_name.clone().unwrap_or_else(|| {
            hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "director".to_string())
        })
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("director.db")
    }

    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if !self.data_dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.data_dir)
                .with_context(|| {
                    format!("creating the data directory {}", self.data_dir.display())
                })?;
        }
        Ok(())
    }

    pub fn tokens(&self) -> anyhow::Result<Tokens> {
        if let Some(secret) = &self.jwt_secret {
            if secret.len() < 32 {
                bail!("DIRECTOR_JWT_SECRET must have at least 32 characters");
            }
            return Ok(Tokens::new(secret.as_bytes()));
        }
        let file = self
            .jwt_secret_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("token-secret"));
        Tokens::load_or_create(&file)
    }

    /// The service over this data directory, for the admin commands.
    pub async fn open_service(&self, session_ttl: Duration) -> anyhow::Result<Service> {
        self.ensure_data_dir()?;
        let store = Store::open(&self.database()).await?;
        Ok(Service::open(
            store,
            self.node(),
            self.tokens()?,
            session_ttl.as_secs() as i64,
        )
        .await?)
    }
}

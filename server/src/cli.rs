//! The command line: `director serve | user add | token create | import | export | plan | version`. Every
//! setting is a flag with an environment twin.

use crate::auth::{TokenKind, Tokens};
use crate::service::{Actor, Service, Via};
use crate::store::Store;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use director_core::model::Role;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "director",
    version,
    about = "Manages Linux IPVS load balancers through a REST API, with VRRP failover and an audit log"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Serve(Box<ServeOpts>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue, list and revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print what the next reconcile pass of the running daemon would change.
    Plan(PlanOpts),
    /// Import a configuration written for another tool (keepalived.conf).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print the configuration in another tool's format (keepalived.conf, ipvsadm-save).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Make a certificate authority and node certificates for a lab cluster (TLS, peer mutual TLS).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Make a CA: `ca.pem` (give it to every node as --peer-ca, and to clients as their CA) and `ca-key.pem`
    /// (mode 0600; keep it off the nodes).
    Ca {
        /// The directory to write into.
        #[arg(long, default_value = "./director-certs")]
        out: PathBuf,
        /// A name for the CA (its subject is "director cluster CA <name>").
        #[arg(long, default_value = "lab")]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Make a node certificate signed by the CA: `<node>.pem` and `<node>-key.pem` (mode 0600). The node name
    /// is its first DNS name; add the addresses and host names clients connect to with --san to use it for
    /// HTTPS and gRPC too.
    Node {
        /// The node's name (its --node-name).
        node: String,
        /// Where `ca.pem` and `ca-key.pem` are.
        #[arg(long, default_value = "./director-certs")]
        ca_dir: PathBuf,
        /// The directory to write into (default: the CA's).
        #[arg(long)]
        out: Option<PathBuf>,
        /// More names: IP addresses or DNS names (repeat, or separate with commas).
        #[arg(long, value_delimiter = ',')]
        san: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct PlanOpts {
    /// The daemon's HTTP address (its --http-listen).
    #[arg(long, env = "DIRECTOR_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: String,
    /// The daemon serves HTTPS with this certificate (its --tls-cert): ask over HTTPS, trusting the
    /// certificates of this file unless --ca is given.
    #[arg(long, env = "DIRECTOR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The CA (PEM) that signed the daemon's certificate; implies HTTPS.
    #[arg(long, env = "DIRECTOR_CA")]
    pub ca: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import one node's keepalived.conf (and the files it includes) as VRRP groups and virtual servers.
    /// The second node's file of a VRRP pair adds that node to the same groups. Refuses while a daemon
    /// has the data directory open (stop it, import, start it: the kernel table stays in place).
    Keepalived {
        /// The keepalived.conf to read.
        file: PathBuf,
        /// Print what would be created or updated, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The node the file belongs to (default: its global_defs router_id, else --node-name).
        #[arg(long)]
        node: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Print a keepalived.conf for one node (keepalived -t accepts it; importing it gives the same objects).
    Keepalived {
        /// The node (default: --node-name).
        #[arg(long)]
        node: Option<String>,
    },
    /// Print the IPVS table director programs on a node, in ipvsadm-save -n format (for ipvsadm-restore).
    Ipvsadm {
        /// The node (default: --node-name).
        #[arg(long)]
        node: Option<String>,
    },
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
    pub metrics: crate::metrics::MetricsAccess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl ServeOpts {
    /// The limits of failed logins (the defaults, with the lockouts of the flags).
    pub fn login_limits(&self) -> crate::auth::LimiterConfig {
        let base = self.login_lockout_base.max(Duration::from_millis(10));
        crate::auth::LimiterConfig {
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
    pub fn sync_settings(&self, node: &str) -> anyhow::Result<Option<crate::sync::SyncSettings>> {
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
            let peer: crate::sync::Peer =
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
        Ok(Some(crate::sync::SyncSettings {
            listen,
            peers,
            tls: crate::sync::PeerTls {
                ca: need(&self.peer_ca, "--peer-ca")?,
                files: crate::tls::CertFiles {
                    cert: need(&self.peer_cert, "--peer-cert")?,
                    key: need(&self.peer_key, "--peer-key")?,
                },
            },
        }))
    }

    /// The certificate of the HTTP and gRPC listeners, if any; refuses plain text on a non-loopback address
    /// unless --allow-plaintext.
    pub fn tls_files(&self) -> anyhow::Result<Option<crate::tls::CertFiles>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return Ok(Some(crate::tls::CertFiles {
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
    pub fn vrrp_options(&self) -> crate::vrrp::VrrpOptions {
        crate::vrrp::VrrpOptions {
            enabled: self.vrrp == Switch::On,
            track_interval: self.vrrp_track_interval.max(Duration::from_millis(100)),
            notify_timeout: self.vrrp_notify_timeout.max(Duration::from_millis(100)),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a service token (a bearer token with a fixed role) for a pipeline.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Lifetime, e.g. 1h, 30d.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: Duration,
        /// What the token is for; it is the actor in the audit log.
        #[arg(long, default_value = "pipeline")]
        name: String,
    },
    /// List the tokens that have not expired (login sessions and service tokens), revoked ones included.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `token list` or GET /api/v1/tokens). A running daemon refuses it within
    /// a second and sends the revocation to its peers (a stopped one does both when it starts).
    Revoke { id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Operator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
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

/// The person at the terminal, as the audit log names them.
fn cli_actor() -> Actor {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into());
    Actor::new(format!("cli:{user}"), Role::Admin, Via::Cli)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(opts) => crate::serve::run(cli.global, *opts).await,
        Command::Plan(opts) => plan(&cli.global, &opts).await,
        Command::Import(ImportCommand::Keepalived {
            file,
            dry_run,
            node,
        }) => crate::import::run::keepalived(&cli.global, &file, dry_run, node).await,
        Command::Export(ExportCommand::Keepalived { node }) => {
            crate::export::run::keepalived(&cli.global, node).await
        }
        Command::Export(ExportCommand::Ipvsadm { node }) => {
            crate::export::run::ipvsadm(&cli.global, node).await
        }
        Command::Cert(CertCommand::Ca {
            out,
            name,
            days,
            force,
        }) => {
            let cert = crate::cert::make_ca(&out, &name, days, force)?;
            println!(
                "wrote {} and {}",
                cert.display(),
                out.join("ca-key.pem").display()
            );
            Ok(())
        }
        Command::Cert(CertCommand::Node {
            node,
            ca_dir,
            out,
            san,
            days,
            force,
        }) => {
            let out = out.unwrap_or_else(|| ca_dir.clone());
            let (cert, key) = crate::cert::make_node(&ca_dir, &out, &node, &san, days, force)?;
            println!("wrote {} and {}", cert.display(), key.display());
            Ok(())
        }
        Command::Version => {
            println!("director {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::User(UserCommand::Add {
            name,
            role,
            password_stdin,
        }) => {
            if !password_stdin {
                bail!("pass --password-stdin and the password on standard input");
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let service = cli.global.open_service(Duration::from_secs(3600)).await?;
            let user = service
                .create_user(&cli_actor(), &name, password, role.into())
                .await?;
            println!("created user {} with role {}", user.name, user.role);
            service.store().close().await;
            Ok(())
        }
        Command::Token(TokenCommand::Create { role, ttl, name }) => {
            director_core::model::validate_name("name", &name)
                .map_err(|e| anyhow::anyhow!("--{e}"))?;
            let service = cli.global.open_service(Duration::from_secs(3600)).await?;
            let issued = service
                .create_service_token(&cli_actor(), &name, role.into(), ttl)
                .await;
            service.store().close().await;
            let (token, view) = issued?;
            eprintln!("token id {} (director token revoke {0})", view.id);
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List { json }) => {
            let service = cli.global.open_service(Duration::from_secs(3600)).await?;
            let tokens = service.list_tokens(&cli_actor()).await;
            service.store().close().await;
            let tokens = tokens?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
                return Ok(());
            }
            println!(
                "{:<24}  {:<7}  {:<24}  {:<8}  {:<20}  {:<20}  REVOKED",
                "ID", "KIND", "SUBJECT", "ROLE", "CREATED", "EXPIRES"
            );
            for t in tokens {
                let revoked = match (&t.revoked_at, &t.revoked_by) {
                    (Some(at), Some(by)) => format!("{at} by {by}"),
                    (Some(at), None) => at.clone(),
                    _ => "-".to_string(),
                };
                println!(
                    "{:<24}  {:<7}  {:<24}  {:<8}  {:<20}  {:<20}  {revoked}",
                    t.id,
                    t.kind,
                    t.subject,
                    t.role.to_string(),
                    t.created_at.get(..19).unwrap_or(&t.created_at),
                    t.expires_at.get(..19).unwrap_or(&t.expires_at),
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let service = cli.global.open_service(Duration::from_secs(3600)).await?;
            let revoked = service.revoke_token(&cli_actor(), &id).await;
            service.store().close().await;
            let t = revoked?;
            println!(
                "revoked token {} ({} {}, role {})",
                t.id, t.kind, t.subject, t.role
            );
            Ok(())
        }
    }
}

/// Asks the running daemon for its plan, with a short-lived viewer token signed with the data directory's
/// secret (the command runs on the director's own host).
async fn plan(global: &GlobalOpts, opts: &PlanOpts) -> anyhow::Result<()> {
    let tokens = global.tokens()?;
    let token = tokens.issue(
        "cli:plan",
        Role::Viewer,
        TokenKind::Service,
        chrono::Utc::now().timestamp(),
        60,
    );
    // A daemon listening on every address is asked on loopback.
    let host = match opts.http_listen.parse::<SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() => {
            let lo: std::net::IpAddr = if a.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            SocketAddr::new(lo, a.port()).to_string()
        }
        _ => opts.http_listen.clone(),
    };
    let mut client = reqwest::Client::builder();
    let trusted = opts.ca.as_ref().or(opts.tls_cert.as_ref());
    if let Some(file) = trusted {
        let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} holds no PEM certificate", file.display()))?
        {
            client = client.add_root_certificate(cert);
        }
    }
    let scheme = if trusted.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{host}/api/v1/plan");
    let response = client
        .build()
        .context("the HTTP client")?
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| {
            format!(
                "asking the daemon at {url} (is `director serve` running there? --http-listen names its \
                 address, --ca its CA when it serves HTTPS)"
            )
        })?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading the daemon's answer")?;
    if !status.is_success() {
        bail!(
            "{}",
            body["error"]["message"]
                .as_str()
                .unwrap_or("the daemon refused")
        );
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    let lines: Vec<&str> = body["summary"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str())
        .collect();
    println!(
        "plan at revision {}: {} operation(s)",
        body["revision"],
        lines.len()
    );
    for l in &lines {
        println!("  {l}");
    }
    for (title, key) in [
        ("adopted (already in the kernel)", "adopted"),
        ("unmanaged (left alone)", "unmanaged"),
    ] {
        let items: Vec<&str> = body[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str())
            .collect();
        if !items.is_empty() {
            println!("{title}:");
            for i in items {
                println!("  {i}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604800)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
    }
}

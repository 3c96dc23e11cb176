//! The command line: `director serve | user add | token create | import | export | plan | version`. Every
//! setting is a flag with an environment twin.

use crate::options::{parse_duration, GlobalOpts, ServeOpts};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use director_core::model::Role;
use director_service::auth::TokenKind;
use director_service::{Actor, Via};
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
    /// Import nodes' keepalived.conf files (and the files they include) as VRRP groups and virtual
    /// servers. The second node's file of a VRRP pair adds that node to the same groups (a group is
    /// known by its VRID and addresses, not by its name). Refuses while a daemon
    /// has the data directory open (stop it, import, start it: the kernel table stays in place).
    Keepalived {
        /// The keepalived.conf files to read, one per node (one change; a conflict between two names both
        /// lines).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print what would be created or updated, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The node the file belongs to (default: its global_defs router_id, else --node-name); with one
        /// file only. Conditional lines (`@NAME ...`, keepalived's -i) are read for this name, else for
        /// --node-name.
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
            files,
            dry_run,
            node,
        }) => crate::import::keepalived(&cli.global, &files, dry_run, node).await,
        Command::Export(ExportCommand::Keepalived { node }) => {
            crate::export::keepalived(&cli.global, node).await
        }
        Command::Export(ExportCommand::Ipvsadm { node }) => {
            crate::export::ipvsadm(&cli.global, node).await
        }
        Command::Cert(CertCommand::Ca {
            out,
            name,
            days,
            force,
        }) => {
            let cert = director_tls::cert::make_ca(&out, &name, days, force)?;
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
            let (cert, key) =
                director_tls::cert::make_node(&ca_dir, &out, &node, &san, days, force)?;
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
/// Why `director plan` found no daemon, and what to pass: the daemon it asks is the one on `--http-listen`.
fn unreachable(url: &str, http_listen: &str, error: &reqwest::Error) -> String {
    let mut cause = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    format!(
        "no director daemon answers at {url} ({cause}). `director plan` asks the daemon on --http-listen \
         (default 127.0.0.1:8080, or DIRECTOR_HTTP_LISTEN), here {http_listen}: pass the address the daemon \
         listens on, such as `director plan --http-listen 127.0.0.1:9090`, and --ca when it serves HTTPS"
    )
}

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
        .map_err(|e| anyhow::anyhow!("{}", unreachable(&url, &opts.http_listen, &e)))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|_| {
        anyhow::anyhow!(
            "the answer of {url} is not director's (is another program listening on {}?): pass the address \
             of the daemon's --http-listen with `director plan --http-listen ADDRESS:PORT`",
            opts.http_listen
        )
    })?;
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

//! The command line. Every global option has an environment twin.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  usage error, unreadable or invalid file, or input the server refused (INVALID_ARGUMENT)
  2  not found (NOT_FOUND)
  3  not authenticated or not allowed (UNAUTHENTICATED, PERMISSION_DENIED)
  4  conflict: already exists, stale revision, object in use (ALREADY_EXISTS, ABORTED, stale FAILED_PRECONDITION)
  5  a wait timed out (DEADLINE_EXCEEDED)
  6  the server is unavailable: cannot connect, or it is shutting down (UNAVAILABLE)
  7  the server cannot do this now: no dataplane runs (other FAILED_PRECONDITION)
  8  internal or unexpected error";

#[derive(Debug, Parser)]
#[command(
    name = "directorctl",
    version,
    about = "Drives a director daemon over its gRPC API: read and change virtual servers, real servers and VRRP \
             groups, drain, wait until the kernel has a revision, apply files of desired objects",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The daemon's gRPC address: http://HOST:PORT, https://HOST:PORT, or HOST:PORT (https with --tls or
    /// --ca).
    #[arg(
        short,
        long,
        env = "DIRECTOR_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// A bearer token (`director token create --role operator`, or POST /api/v1/auth/login).
    #[arg(
        short,
        long,
        env = "DIRECTOR_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    /// Output format.
    #[arg(
        short,
        long,
        value_enum,
        env = "DIRECTOR_OUTPUT",
        default_value = "table",
        global = true
    )]
    pub output: Output,
    /// Speak TLS to the daemon (its --tls-cert), checking its certificate against the system's CAs, or
    /// --ca.
    #[arg(long, env = "DIRECTOR_TLS", global = true)]
    pub tls: bool,
    /// The CA (PEM) that signed the daemon's certificate; implies --tls.
    #[arg(long, env = "DIRECTOR_CA", global = true)]
    pub ca: Option<std::path::PathBuf>,
    /// How long to try to connect, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration, global = true)]
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON in the shape of the REST API's objects (one JSON document per line for `watch`).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: node, version, revisions, dataplane, counts.
    Status,
    /// List virtual servers, the real servers of one, or VRRP groups.
    #[command(subcommand)]
    List(ListWhat),
    /// Show one virtual server, real server or VRRP group.
    #[command(subcommand)]
    Get(GetWhat),
    /// Set the weight of a real server (0..65535; 0 takes no new connections).
    SetWeight {
        /// The virtual server's name.
        virtual_server: String,
        /// The real server, ADDR:PORT (IPv6 as [2001:db8::1]:80).
        real_server: String,
        weight: u32,
        /// Refuse (exit 4) unless the real server is at this revision.
        #[arg(long)]
        expect_revision: Option<u64>,
    },
    /// Drain a real server: weight 0, existing connections continue.
    Drain {
        virtual_server: String,
        real_server: String,
        /// Wait until the kernel has weight 0 and the real server's active connections reached 0.
        #[arg(long)]
        wait: bool,
        /// How long to wait (exit 5 after that; the weight stays 0).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Drain a host everywhere: every real server with the address (any port), in every virtual server, gets
    /// weight 0 in one change. A drained host is left as it is. Exit 2 when no real server has the address.
    DrainHost {
        /// IPv4 or IPv6 address of the host.
        address: String,
        /// Wait until the kernel has the change and the active connections to the host reached 0.
        #[arg(long)]
        wait: bool,
        /// How long to wait (exit 5 after that; the weights stay 0).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Undrain a host everywhere: each of its real servers at weight 0 gets back its weight from before its
    /// last drain (1 when none is recorded), in one change.
    UndrainHost {
        /// IPv4 or IPv6 address of the host.
        address: String,
    },
    /// Enable a real server, or a whole virtual server when no real server is named.
    Enable {
        virtual_server: String,
        real_server: Option<String>,
    },
    /// Disable a real server (it leaves the kernel table), or a whole virtual server.
    Disable {
        virtual_server: String,
        real_server: Option<String>,
    },
    /// Wait until the kernel has reached a revision (the one a change answered with).
    WaitApplied {
        revision: u64,
        /// Exit 5 after this long.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Create or update the objects of a YAML or JSON file (keys `vrrp_groups` and `virtual_servers`, each a
    /// list of objects as the REST API shows them). The whole file is checked before anything is sent.
    Apply {
        /// The file; `-` reads standard input.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Change nothing: print what would be created, updated (each field before and after), removed and
        /// kept.
        #[arg(long)]
        dry_run: bool,
        /// Remove the real servers of each declared virtual server that the file does not list (without it
        /// they are kept, and the output says so).
        #[arg(long)]
        prune: bool,
    },
    /// The audit log, newest first: the changes, or the streams --source names.
    Audit(Box<AuditArgs>),
    /// The kernel's connection table on the daemon's node (ipvsadm -Lnc), a page at a time.
    Connections {
        /// Only the entries that reached this virtual server.
        #[arg(long)]
        virtual_server: Option<String>,
        /// Only those bound to this real server (an address, or address:port).
        #[arg(long)]
        real_server: Option<String>,
        /// Only those of this client (an address, or address:port).
        #[arg(long)]
        client: Option<String>,
        /// 1..1000 (default 100).
        #[arg(long)]
        limit: Option<u32>,
        /// The next cursor a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Print the changes of the desired state as they happen (after a revision: replay the ones since).
    Watch {
        /// Start after this revision (default: only changes from now on).
        #[arg(long)]
        after: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ListWhat {
    /// Virtual servers, by name.
    #[command(visible_alias = "vs")]
    VirtualServers {
        /// At most this many (1..1000); `--cursor` continues.
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// The real servers of a virtual server.
    #[command(visible_alias = "rs")]
    RealServers { virtual_server: String },
    /// VRRP groups, by name.
    #[command(visible_alias = "groups")]
    VrrpGroups,
}

#[derive(Debug, Subcommand)]
pub enum GetWhat {
    #[command(visible_alias = "vs")]
    VirtualServer { name: String },
    #[command(visible_alias = "rs")]
    RealServer {
        virtual_server: String,
        real_server: String,
    },
    #[command(visible_alias = "group")]
    VrrpGroup { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// virtual_server, real_server, vrrp_group, user, token.
    #[arg(long)]
    pub kind: Option<String>,
    /// An object and, for a virtual server, its real servers.
    #[arg(long)]
    pub name: Option<String>,
    /// An exact object, e.g. web/192.168.10.120:80.
    #[arg(long)]
    pub object: Option<String>,
    #[arg(long)]
    pub actor: Option<String>,
    /// create, update, delete...
    #[arg(long)]
    pub action: Option<String>,
    /// rest, grpc, ui, sync, import, cli, health, vrrp.
    #[arg(long)]
    pub via: Option<String>,
    /// Which streams: change (the default), health, vrrp, or all; several separated by commas or repeated.
    /// Without it, the changes only, or every stream when --via is given.
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Only updates that changed this field, e.g. weight.
    #[arg(long)]
    pub field: Option<String>,
    /// RFC 3339 lower bound.
    #[arg(long)]
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// 1..1000 (default 100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// The next cursor a previous page printed.
    #[arg(long)]
    pub cursor: Option<String>,
}

/// `500ms`, `30s`, `5m`, `2h`, or bare seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 30s, 5m or 1h"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}

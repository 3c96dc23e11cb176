//! The typed keepalived configuration: what LVS users write in keepalived.conf.
//!
//! `Option` fields are `None` when the keyword is absent (keepalived's default applies,
//! or for real servers and checkers, the enclosing block's value). Lists keep the order of
//! the file. Durations have microsecond resolution, like keepalived's timers; the writer
//! renders them in seconds with up to six decimals.
//!
//! [`crate::parse_file`] / [`crate::parse_str`] build a [`Config`] (see
//! [`crate::mapping`] for which keywords are mapped); [`crate::writer::write`] renders one
//! back to text.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// A whole keepalived configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `global_defs { ... }` (several blocks are merged).
    pub global_defs: GlobalDefs,
    /// `vrrp_script NAME { ... }`
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `vrrp_sync_group NAME { ... }`
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    /// `vrrp_instance NAME { ... }`
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `virtual_server IP [PORT] { ... }` and `virtual_server fwmark N { ... }`
    pub virtual_servers: Vec<VirtualServer>,
}

/// `global_defs { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalDefs {
    /// `router_id STRING`
    pub router_id: Option<String>,
    /// `notification_email { ADDRESS ... }`
    pub notification_email: Vec<String>,
    /// `notification_email_from ADDRESS`
    pub notification_email_from: Option<String>,
    /// `smtp_server HOST [PORT]`
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name STRING`
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout SECONDS` (whole seconds)
    pub smtp_connect_timeout: Option<Duration>,
    /// `smtp_alert [BOOL]`
    pub smtp_alert: Option<bool>,
    /// `enable_script_security`
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`
    pub script_user: Option<ScriptUser>,
    /// `default_interface IFNAME`
    pub default_interface: Option<String>,
    /// `lvs_flush`
    pub lvs_flush: bool,
    /// `vrrp_version 2|3`
    pub vrrp_version: Option<VrrpVersion>,
    /// `vrrp_strict`
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr`
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_mcast_group4 ADDRESS`
    pub vrrp_mcast_group4: Option<Ipv4Addr>,
    /// `vrrp_mcast_group6 ADDRESS`
    pub vrrp_mcast_group6: Option<Ipv6Addr>,
    /// `vrrp_garp_interval SECONDS` (fractional, > 0; `0`, keepalived's default, reads as unset)
    pub vrrp_garp_interval: Option<Duration>,
    /// `vrrp_gna_interval SECONDS` (fractional, > 0; `0`, keepalived's default, reads as unset)
    pub vrrp_gna_interval: Option<Duration>,
    /// `vrrp_garp_master_delay SECONDS` (whole seconds)
    pub vrrp_garp_master_delay: Option<Duration>,
    /// `vrrp_garp_master_repeat COUNT`
    pub vrrp_garp_master_repeat: Option<u32>,
    /// `vrrp_garp_master_refresh SECONDS` (whole seconds)
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id SYNC_ID] [maxlen LEN] [port PORT] [ttl TTL]
    /// [group ADDRESS]`
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
}

/// `lvs_sync_daemon`: IPVS connection synchronisation, master while the instance is MASTER, backup
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// The interface of the sync daemons.
    pub interface: String,
    /// The `vrrp_instance` whose state drives them.
    pub instance: String,
    /// `id 0..255` (keepalived's default: the instance's `virtual_router_id`).
    pub id: Option<u8>,
    /// `maxlen 1..65507`
    pub maxlen: Option<u16>,
    /// `port 1..65535`
    pub port: Option<u16>,
    /// `ttl 1..255`
    pub ttl: Option<u8>,
    /// `group ADDRESS` (multicast, IPv4 or IPv6)
    pub group: Option<std::net::IpAddr>,
}

/// `smtp_server HOST [PORT]`: an IP address or a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// IP address or host name.
    pub host: String,
    /// Port (keepalived's default is 25).
    pub port: Option<u16>,
}

/// `USER [GROUP]` for scripts (`script_user`, `user`, the user of notify scripts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUser {
    /// User name.
    pub user: String,
    /// Group name, as written (keepalived allows a leading `:`).
    pub group: Option<String>,
}

/// A notify script: `KEYWORD COMMAND [USER [GROUP]]`.
///
/// `command` is the command line as keepalived sees it: written in double quotes when it
/// has arguments, which keepalived splits itself (honouring `'...'` inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyScript {
    /// The command line.
    pub command: String,
    /// The user (and group) to run it as.
    pub user: Option<ScriptUser>,
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VrrpVersion {
    /// VRRPv2 (RFC 3768).
    V2,
    /// VRRPv3 (RFC 5798).
    V3,
}

impl VrrpVersion {
    /// 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// `vrrp_script NAME { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpScript {
    /// The name tracked by `track_script`.
    pub name: String,
    /// `script COMMAND`
    pub script: Option<String>,
    /// `interval SECONDS`
    pub interval: Option<Duration>,
    /// `timeout SECONDS`
    pub timeout: Option<Duration>,
    /// `weight -254..254 [reverse]`
    pub weight: Option<i32>,
    /// The `reverse` flag of `weight`.
    pub weight_reverse: bool,
    /// `rise COUNT`
    pub rise: Option<u32>,
    /// `fall COUNT`
    pub fall: Option<u32>,
    /// `user USER [GROUP]`
    pub user: Option<ScriptUser>,
    /// `init_fail`
    pub init_fail: bool,
}

impl VrrpScript {
    /// A script with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            script: None,
            interval: None,
            timeout: None,
            weight: None,
            weight_reverse: false,
            rise: None,
            fall: None,
            user: None,
            init_fail: false,
        }
    }
}

/// `vrrp_sync_group NAME { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpSyncGroup {
    /// Name.
    pub name: String,
    /// `group { INSTANCE ... }`
    pub group: Vec<String>,
    /// `track_interface { ... }`
    pub track_interface: Vec<TrackInterface>,
    /// `track_script { ... }`
    pub track_script: Vec<TrackScript>,
    /// `notify_master`
    pub notify_master: Option<NotifyScript>,
    /// `notify_backup`
    pub notify_backup: Option<NotifyScript>,
    /// `notify_fault`
    pub notify_fault: Option<NotifyScript>,
    /// `notify_stop`
    pub notify_stop: Option<NotifyScript>,
    /// `notify`
    pub notify: Option<NotifyScript>,
    /// `smtp_alert [BOOL]`
    pub smtp_alert: Option<bool>,
}

impl VrrpSyncGroup {
    /// A group with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            group: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            smtp_alert: None,
        }
    }
}

/// A line of `track_interface { IFNAME [weight W] [reverse] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// `weight -254..254`; `None` means a failure puts the instance in FAULT.
    pub weight: Option<i32>,
    /// `reverse`
    pub reverse: bool,
}

/// A line of `track_script { NAME [weight W] [reverse|noreverse] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackScript {
    /// The `vrrp_script` name.
    pub name: String,
    /// `weight -254..254`; `None` uses the script's own weight.
    pub weight: Option<i32>,
    /// `reverse` (`Some(true)`) or `noreverse` (`Some(false)`).
    pub reverse: Option<bool>,
}

/// `state MASTER|BACKUP`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VrrpState {
    /// `MASTER`
    Master,
    /// `BACKUP`
    Backup,
}

/// `auth_type PASS|AH`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// Simple password.
    Pass,
    /// IPsec AH.
    Ah,
}

/// `authentication { auth_type ... auth_pass ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authentication {
    /// `auth_type`
    pub auth_type: Option<AuthType>,
    /// `auth_pass` (keepalived uses the first 8 characters).
    pub auth_pass: Option<String>,
}

/// A line of `virtual_ipaddress` / `virtual_ipaddress_excluded`:
/// `ADDRESS[/PREFIX] [brd ADDRESS|+|-] [dev IFNAME] [scope SCOPE] [label LABEL] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualIp {
    /// The address.
    pub address: IpAddr,
    /// The prefix length (0..32 or 0..128).
    pub prefix_len: Option<u8>,
    /// `brd`
    pub brd: Option<Broadcast>,
    /// `dev`
    pub dev: Option<String>,
    /// `scope`
    pub scope: Option<Scope>,
    /// `label`
    pub label: Option<String>,
    /// `no_track`
    pub no_track: bool,
}

impl VirtualIp {
    /// An address with no options.
    pub fn new(address: IpAddr) -> Self {
        Self {
            address,
            prefix_len: None,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            no_track: false,
        }
    }
}

/// The value of `brd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Broadcast {
    /// An explicit broadcast address.
    Address(IpAddr),
    /// `+`: the address with its host bits set.
    SetHostBits,
    /// `-`: the address with its host bits cleared.
    ClearHostBits,
}

/// Address scope (`scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `global`
    Global,
    /// `site`
    Site,
    /// `link`
    Link,
    /// `host`
    Host,
    /// `nowhere`
    Nowhere,
}

impl Scope {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Site => "site",
            Self::Link => "link",
            Self::Host => "host",
            Self::Nowhere => "nowhere",
        }
    }
}

/// `vrrp_instance NAME { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpInstance {
    /// Name.
    pub name: String,
    /// `state MASTER|BACKUP`
    pub state: Option<VrrpState>,
    /// `interface IFNAME`
    pub interface: Option<String>,
    /// `virtual_router_id 1..255`
    pub virtual_router_id: Option<u8>,
    /// `priority 1..255`
    pub priority: Option<u8>,
    /// `advert_int SECONDS` (fractional seconds are meaningful for VRRPv3)
    pub advert_int: Option<Duration>,
    /// `version 2|3`
    pub version: Option<VrrpVersion>,
    /// `nopreempt`
    pub nopreempt: bool,
    /// `preempt_delay SECONDS` (0..1000)
    pub preempt_delay: Option<Duration>,
    /// `dont_track_primary`
    pub dont_track_primary: bool,
    /// `mcast_src_ip ADDRESS`
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_src_ip ADDRESS`
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer { ADDRESS ... }`
    pub unicast_peer: Vec<IpAddr>,
    /// `authentication { ... }`
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress { ... }`
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded { ... }`
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// `track_interface { ... }`
    pub track_interface: Vec<TrackInterface>,
    /// `track_script { ... }`
    pub track_script: Vec<TrackScript>,
    /// `garp_master_delay SECONDS` (whole seconds)
    pub garp_master_delay: Option<Duration>,
    /// `garp_master_repeat COUNT`
    pub garp_master_repeat: Option<u32>,
    /// `garp_master_refresh SECONDS` (whole seconds)
    pub garp_master_refresh: Option<Duration>,
    /// `smtp_alert [BOOL]`
    pub smtp_alert: Option<bool>,
    /// `notify_master`
    pub notify_master: Option<NotifyScript>,
    /// `notify_backup`
    pub notify_backup: Option<NotifyScript>,
    /// `notify_fault`
    pub notify_fault: Option<NotifyScript>,
    /// `notify_stop`
    pub notify_stop: Option<NotifyScript>,
    /// `notify`
    pub notify: Option<NotifyScript>,
}

impl VrrpInstance {
    /// An instance with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            state: None,
            interface: None,
            virtual_router_id: None,
            priority: None,
            advert_int: None,
            version: None,
            nopreempt: false,
            preempt_delay: None,
            dont_track_primary: false,
            mcast_src_ip: None,
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            smtp_alert: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
        }
    }
}

/// What a virtual server is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VirtualServerKey {
    /// `virtual_server ADDRESS [PORT]` (the port may be omitted for persistent services).
    Address {
        /// IPv4 or IPv6 address.
        address: IpAddr,
        /// Port.
        port: Option<u16>,
    },
    /// `virtual_server fwmark MARK`
    Fwmark(u32),
}

impl fmt::Display for VirtualServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address {
                address,
                port: Some(port),
            } => write!(f, "{address} {port}"),
            Self::Address {
                address,
                port: None,
            } => write!(f, "{address}"),
            Self::Fwmark(mark) => write!(f, "fwmark {mark}"),
        }
    }
}

/// `protocol TCP|UDP|SCTP`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP
    Tcp,
    /// UDP
    Udp,
    /// SCTP
    Sctp,
}

impl Protocol {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        }
    }
}

/// IPVS scheduler (`lvs_sched` / `lb_algo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// All schedulers, in a stable order.
    pub const ALL: [Scheduler; 14] = [
        Self::Rr,
        Self::Wrr,
        Self::Lc,
        Self::Wlc,
        Self::Lblc,
        Self::Lblcr,
        Self::Dh,
        Self::Sh,
        Self::Sed,
        Self::Nq,
        Self::Fo,
        Self::Ovf,
        Self::Mh,
        Self::Twos,
    ];

    /// The IPVS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rr => "rr",
            Self::Wrr => "wrr",
            Self::Lc => "lc",
            Self::Wlc => "wlc",
            Self::Lblc => "lblc",
            Self::Lblcr => "lblcr",
            Self::Dh => "dh",
            Self::Sh => "sh",
            Self::Sed => "sed",
            Self::Nq => "nq",
            Self::Fo => "fo",
            Self::Ovf => "ovf",
            Self::Mh => "mh",
            Self::Twos => "twos",
        }
    }
}

/// Scheduler flag keywords of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchedulerFlag {
    /// `flag-1`
    Flag1,
    /// `flag-2`
    Flag2,
    /// `flag-3`
    Flag3,
    /// `sh-port`
    ShPort,
    /// `sh-fallback`
    ShFallback,
    /// `mh-port`
    MhPort,
    /// `mh-fallback`
    MhFallback,
}

impl SchedulerFlag {
    /// All flags, in a stable order.
    pub const ALL: [SchedulerFlag; 7] = [
        Self::Flag1,
        Self::Flag2,
        Self::Flag3,
        Self::ShPort,
        Self::ShFallback,
        Self::MhPort,
        Self::MhFallback,
    ];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag1 => "flag-1",
            Self::Flag2 => "flag-2",
            Self::Flag3 => "flag-3",
            Self::ShPort => "sh-port",
            Self::ShFallback => "sh-fallback",
            Self::MhPort => "mh-port",
            Self::MhFallback => "mh-fallback",
        }
    }
}

/// Forwarding method (`lvs_method` / `lb_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LvsMethod {
    /// `NAT` (masquerading)
    Nat,
    /// `DR` (direct routing)
    Dr,
    /// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` (tunnelling)
    Tun(TunnelOptions),
}

/// Options of `lvs_method TUN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelOptions {
    /// `type`
    pub tunnel_type: TunnelType,
    /// `nocsum`, `csum` or `remcsum`
    pub checksum: Option<TunnelChecksum>,
}

/// `type` of a TUN forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// `ipip` (the default)
    #[default]
    Ipip,
    /// `gue port N`
    Gue {
        /// UDP port of the GUE encapsulation.
        port: u16,
    },
    /// `gre`
    Gre,
}

/// Checksum option of a TUN forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelChecksum {
    /// `nocsum`
    NoCsum,
    /// `csum`
    Csum,
    /// `remcsum`
    RemCsum,
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersistenceGranularity {
    /// IPv4 netmask, e.g. `255.255.255.0`.
    Netmask(Ipv4Addr),
    /// IPv6 prefix length, 1..128.
    PrefixLen(u8),
}

/// `ip_family inet|inet6`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// `inet`
    Inet,
    /// `inet6`
    Inet6,
}

/// `sorry_server ADDRESS [PORT]` with `sorry_server_inhibit` and `sorry_server_lvs_method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServer {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: Option<u16>,
    /// `sorry_server_inhibit`
    pub inhibit: bool,
    /// `sorry_server_lvs_method`
    pub lvs_method: Option<LvsMethod>,
}

/// `virtual_server ... { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address and port, or firewall mark.
    pub key: VirtualServerKey,
    /// `ip_family inet|inet6`
    pub ip_family: Option<IpFamily>,
    /// `protocol TCP|UDP|SCTP`
    pub protocol: Option<Protocol>,
    /// `lvs_sched` / `lb_algo`
    pub lvs_sched: Option<Scheduler>,
    /// `flag-1`, `sh-port`, ...
    pub sched_flags: BTreeSet<SchedulerFlag>,
    /// `ops` (one-packet scheduling)
    pub ops: bool,
    /// `lvs_method` / `lb_kind`
    pub lvs_method: Option<LvsMethod>,
    /// `persistence_timeout [SECONDS]` (without a value: 360)
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`
    pub persistence_granularity: Option<PersistenceGranularity>,
    /// `persistence_engine NAME`
    pub persistence_engine: Option<String>,
    /// `delay_loop SECONDS`
    pub delay_loop: Option<Duration>,
    /// `connect_timeout SECONDS`
    pub connect_timeout: Option<Duration>,
    /// `retry COUNT`
    pub retry: Option<u32>,
    /// `delay_before_retry SECONDS`
    pub delay_before_retry: Option<Duration>,
    /// `warmup SECONDS`
    pub warmup: Option<Duration>,
    /// `ha_suspend`
    pub ha_suspend: bool,
    /// `virtualhost NAME`
    pub virtualhost: Option<String>,
    /// `alpha`
    pub alpha: bool,
    /// `omega`
    pub omega: bool,
    /// `quorum WEIGHT` (>= 1)
    pub quorum: Option<u32>,
    /// `hysteresis WEIGHT`
    pub hysteresis: Option<u32>,
    /// `quorum_up`
    pub quorum_up: Option<NotifyScript>,
    /// `quorum_down`
    pub quorum_down: Option<NotifyScript>,
    /// `sorry_server`
    pub sorry_server: Option<SorryServer>,
    /// `inhibit_on_failure`
    pub inhibit_on_failure: bool,
    /// `smtp_alert [BOOL]`
    pub smtp_alert: Option<bool>,
    /// `real_server ... { ... }`
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    /// A virtual server with only its key.
    pub fn new(key: VirtualServerKey) -> Self {
        Self {
            key,
            ip_family: None,
            protocol: None,
            lvs_sched: None,
            sched_flags: BTreeSet::new(),
            ops: false,
            lvs_method: None,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            ha_suspend: false,
            virtualhost: None,
            alpha: false,
            omega: false,
            quorum: None,
            hysteresis: None,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            inhibit_on_failure: false,
            smtp_alert: None,
            real_servers: Vec::new(),
        }
    }
}

/// `real_server ADDRESS [PORT] { ... }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: Option<u16>,
    /// `weight 0..2147483647` (keepalived's default is 1)
    pub weight: Option<u32>,
    /// `lvs_method` (overrides the virtual server's)
    pub lvs_method: Option<LvsMethod>,
    /// `uthreshold`
    pub uthreshold: Option<u32>,
    /// `lthreshold`
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure [BOOL]`
    pub inhibit_on_failure: Option<bool>,
    /// `notify_up`
    pub notify_up: Option<NotifyScript>,
    /// `notify_down`
    pub notify_down: Option<NotifyScript>,
    /// `smtp_alert [BOOL]`
    pub smtp_alert: Option<bool>,
    /// `virtualhost NAME`
    pub virtualhost: Option<String>,
    /// `alpha [BOOL]`
    pub alpha: Option<bool>,
    /// `connect_timeout SECONDS`
    pub connect_timeout: Option<Duration>,
    /// `retry COUNT`
    pub retry: Option<u32>,
    /// `delay_before_retry SECONDS`
    pub delay_before_retry: Option<Duration>,
    /// `warmup SECONDS`
    pub warmup: Option<Duration>,
    /// `delay_loop SECONDS`
    pub delay_loop: Option<Duration>,
    /// The health checkers, in file order.
    pub checks: Vec<HealthCheck>,
}

impl RealServer {
    /// A real server with only its address and port.
    pub fn new(address: IpAddr, port: Option<u16>) -> Self {
        Self {
            address,
            port,
            weight: None,
            lvs_method: None,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            smtp_alert: None,
            virtualhost: None,
            alpha: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            checks: Vec::new(),
        }
    }
}

/// A health checker of a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `TCP_CHECK { ... }`
    Tcp(TcpCheck),
    /// `HTTP_GET { ... }`
    HttpGet(HttpCheck),
    /// `SSL_GET { ... }`
    SslGet(HttpCheck),
    /// `MISC_CHECK { ... }`
    Misc(MiscCheck),
}

/// Where a connecting checker connects from and to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connection {
    /// `connect_ip ADDRESS` (default: the real server's)
    pub connect_ip: Option<IpAddr>,
    /// `connect_port PORT` (default: the real server's)
    pub connect_port: Option<u16>,
    /// `bindto ADDRESS`
    pub bindto: Option<IpAddr>,
    /// `bind_if IFNAME`
    pub bind_if: Option<String>,
    /// `bind_port PORT`
    pub bind_port: Option<u16>,
    /// `fwmark MARK` on the checker's packets
    pub fwmark: Option<u32>,
}

/// Timing options every checker has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckOptions {
    /// `alpha [BOOL]`
    pub alpha: Option<bool>,
    /// `connect_timeout SECONDS`
    pub connect_timeout: Option<Duration>,
    /// `retry COUNT` (old name: `nb_get_retry`)
    pub retry: Option<u32>,
    /// `delay_before_retry SECONDS`
    pub delay_before_retry: Option<Duration>,
    /// `warmup SECONDS`
    pub warmup: Option<Duration>,
    /// `delay_loop SECONDS`
    pub delay_loop: Option<Duration>,
    /// `log_all_failures [BOOL]`
    pub log_all_failures: Option<bool>,
}

/// `TCP_CHECK { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpCheck {
    /// Connection options.
    pub connection: Connection,
    /// Timing options.
    pub options: CheckOptions,
}

/// `HTTP_GET { ... }` / `SSL_GET { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    /// Connection options.
    pub connection: Connection,
    /// Timing options.
    pub options: CheckOptions,
    /// `url { ... }` blocks, in file order.
    pub urls: Vec<HttpUrl>,
    /// `virtualhost NAME`
    pub virtualhost: Option<String>,
    /// `http_protocol 1.0|1.0C|1.1`
    pub http_protocol: Option<HttpProtocol>,
    /// `fast_recovery [BOOL]`
    pub fast_recovery: Option<bool>,
    /// `enable_sni` (SSL_GET only)
    pub enable_sni: bool,
    /// `sni_name NAME` (SSL_GET only)
    pub sni_name: Option<String>,
    /// `tls_compliant` (SSL_GET only)
    pub tls_compliant: bool,
}

/// `http_protocol`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// `1.0`
    Http10,
    /// `1.0C` (1.0 with `Connection: close`)
    Http10Close,
    /// `1.1`
    Http11,
}

impl HttpProtocol {
    /// The keyword value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "1.0",
            Self::Http10Close => "1.0C",
            Self::Http11 => "1.1",
        }
    }
}

/// `url { path ... digest ... status_code ... virtualhost ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpUrl {
    /// `path`
    pub path: Option<String>,
    /// `digest` (MD5 of the body, 32 hex digits, as produced by genhash)
    pub digest: Option<String>,
    /// `status_code CODE|FIRST-LAST ...` (keepalived's default is 200-299)
    pub status_code: Vec<StatusCodeRange>,
    /// `virtualhost NAME`
    pub virtualhost: Option<String>,
}

/// An HTTP status code or an inclusive range of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCodeRange {
    /// First code.
    pub first: u16,
    /// Last code (equal to `first` for a single code).
    pub last: u16,
}

/// `MISC_CHECK { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    /// Timing options.
    pub options: CheckOptions,
    /// `misc_path COMMAND`
    pub misc_path: Option<String>,
    /// `misc_timeout SECONDS` (whole seconds)
    pub misc_timeout: Option<Duration>,
    /// `misc_dynamic`
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`
    pub user: Option<ScriptUser>,
}

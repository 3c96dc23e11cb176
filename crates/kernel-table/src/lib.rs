//! The kernel IPVS table as director models it. Pure data, no IO.
//!
//! These types mirror what the kernel stores (`ipvsadm -Ln`), not director's
//! desired-state model: the reconciler maps one onto the other.
//!
//! Owns: the table's types (services, destinations, their keys, flags and counters).
//! Shared by `director-ipvs` (which reads and writes them over netlink) and the pure
//! planner `director-reconcile`. Invariant: this crate depends on nothing but `std` and
//! `serde` — no netlink, no IO — so the planner stays pure (`cargo tree -p
//! director-reconcile` shows no netlink crate).

#![warn(missing_docs)]

pub mod connections;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Transport protocol of an address-based virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `IPPROTO_TCP`
    Tcp,
    /// `IPPROTO_UDP`
    Udp,
    /// `IPPROTO_SCTP`
    Sctp,
}

impl Protocol {
    /// The IP protocol number the kernel uses (`IPPROTO_*`).
    pub const fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The protocol of an IP protocol number, if IPVS serves it.
    pub const fn from_number(n: u16) -> Option<Self> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `AF_INET`
    Inet,
    /// `AF_INET6`
    Inet6,
}

impl Family {
    /// Linux's `AF_INET`.
    pub const AF_INET: u16 = 2;
    /// Linux's `AF_INET6`.
    pub const AF_INET6: u16 = 10;

    /// The family of an address.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The address family number the kernel uses.
    pub const fn number(self) -> u16 {
        match self {
            Family::Inet => Self::AF_INET,
            Family::Inet6 => Self::AF_INET6,
        }
    }

    /// The family of a kernel address family number.
    pub const fn from_number(n: u16) -> Option<Self> {
        match n {
            Self::AF_INET => Some(Family::Inet),
            Self::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceKey {
    /// Protocol + virtual address + port (`ipvsadm -t|-u|--sctp-service`).
    Address {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual IP (v4 or v6).
        address: IpAddr,
        /// Port (0 with the persistent flag means "all ports").
        port: u16,
    },
    /// Firewall mark (`ipvsadm -f`). The mark must not be 0.
    Fwmark {
        /// The mark.
        mark: u32,
        /// The family of the traffic the mark selects.
        family: Family,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Address { address, .. } => Family::of(*address),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

/// `tcp 10.0.0.1:80`, `udp [2001:db8::1]:53`, `fwmark 7 inet6`.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Address {
                protocol,
                address,
                port,
            } => write!(
                f,
                "{} {}",
                protocol.name(),
                SocketAddr::new(*address, *port)
            ),
            ServiceKey::Fwmark { mark, family } => write!(f, "fwmark {mark} {}", family.name()),
        }
    }
}

/// Virtual service flags (`IP_VS_SVC_F_*`). The kernel-internal `HASHED` bit is not
/// modelled: it is dropped when decoding and never sent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT` (`ipvsadm -p`).
    pub persistent: bool,
    /// `IP_VS_SVC_F_ONEPACKET` (`ipvsadm -o`): one-packet scheduling, for UDP.
    pub one_packet: bool,
    /// `IP_VS_SVC_F_SCHED1` (sh-fallback / mh-fallback).
    pub sched_flag_1: bool,
    /// `IP_VS_SVC_F_SCHED2` (sh-port / mh-port).
    pub sched_flag_2: bool,
    /// `IP_VS_SVC_F_SCHED3`.
    pub sched_flag_3: bool,
}

/// A virtual service as the kernel stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wrr`, `wlc`, `mh`...; at most 15 bytes).
    pub scheduler: String,
    /// Flags.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `flags.persistent`).
    pub timeout: u32,
    /// Persistence netmask, as the kernel wants it: for IPv4 the mask as a host-order
    /// integer (`0xffff_ff00` for /24, `u32::from(Ipv4Addr)`), for IPv6 the prefix
    /// length (1..=128). [`Service::new`] fills in the host-only default.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with no flags, no persistence and the default (host) netmask.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Self {
        let netmask = Self::default_netmask(key.family());
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask,
            pe_name: None,
        }
    }

    /// The netmask `ipvsadm` uses when none is given: 255.255.255.255 or /128.
    pub fn default_netmask(family: Family) -> u32 {
        match family {
            Family::Inet => u32::from(Ipv4Addr::BROADCAST),
            Family::Inet6 => 128,
        }
    }
}

/// Packet forwarding method of a destination (`IP_VS_CONN_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forwarding {
    /// NAT (`-m`).
    Masq,
    /// Local node.
    Local,
    /// IP tunnelling (`-i`).
    Tunnel,
    /// Direct routing (`-g`).
    Route,
    /// Cache bypass.
    Bypass,
}

/// Tunnel encapsulation of a [`Forwarding::Tunnel`] destination (Linux >= 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelType {
    /// IP in IP (the kernel's default).
    Ipip,
    /// Generic UDP Encapsulation.
    Gue,
    /// GRE.
    Gre,
}

/// Tunnel options (`IPVS_DEST_ATTR_TUN_*`, Linux >= 5.2).
///
/// `Destination::tunnel == None` means the kernel defaults: IPIP, port 0, no
/// checksum options. The decoder maps exactly those defaults back to `None`, so a
/// table read from the kernel compares equal to the desired one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// Destination UDP port for GUE.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
    pub csum: bool,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
    pub remcsum: bool,
}

/// A real server of a virtual service. Its address family is that of `address`
/// (it may differ from the service's only with [`Forwarding::Tunnel`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Destination {
    /// Real server address.
    pub address: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Weight; 0 = drained (kept, no new connections). At most `i32::MAX`.
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
    /// Tunnel options; `None` = kernel defaults.
    pub tunnel: Option<Tunnel>,
}

impl Destination {
    /// A destination without thresholds or tunnel options.
    pub fn new(address: IpAddr, port: u16, forwarding: Forwarding, weight: u32) -> Self {
        Destination {
            address,
            port,
            forwarding,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: None,
        }
    }

    /// The destination's address family.
    pub fn family(&self) -> Family {
        Family::of(self.address)
    }

    /// `10.0.0.2:80`, `[2001:db8::2]:80`.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// Traffic counters and rate estimates (the 64-bit `IPVS_*_ATTR_STATS64` set).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Current connection rate (per second).
    pub cps: u64,
    /// Current incoming packet rate.
    pub inpps: u64,
    /// Current outgoing packet rate.
    pub outpps: u64,
    /// Current incoming byte rate.
    pub inbps: u64,
    /// Current outgoing byte rate.
    pub outbps: u64,
}

/// Live state of a destination.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct DestinationStatus {
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters.
    pub stats: Stats,
}

/// `IPVS_CMD_GET_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. `0x010201` for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as `major.minor.patch`.
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// A destination and its live state, as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DestinationEntry {
    /// Configuration.
    pub destination: Destination,
    /// Counters and connection counts.
    pub status: DestinationStatus,
}

/// A service with its destinations and counters, as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// Configuration.
    pub service: Service,
    /// Counters.
    pub stats: Stats,
    /// Destinations, sorted by address then port.
    pub destinations: Vec<DestinationEntry>,
}

/// The role of an IPVS connection-synchronisation daemon (`IP_VS_STATE_MASTER`, `IP_VS_STATE_BACKUP`). The
/// kernel runs at most one of each per network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Sends this node's connections to the backups (multicast).
    Master,
    /// Receives the master's connections into this node's connection table.
    Backup,
}

impl SyncState {
    /// Both states, in the kernel's order.
    pub const ALL: [SyncState; 2] = [SyncState::Master, SyncState::Backup];

    /// The kernel's number: `IP_VS_STATE_MASTER` 1, `IP_VS_STATE_BACKUP` 2.
    pub const fn number(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }

    /// `master` or `backup`.
    pub const fn name(self) -> &'static str {
        match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        }
    }
}

/// An IPVS connection-synchronisation daemon (`ipvsadm --start-daemon`).
///
/// Wanted (the reconciler's side), an optional field is the kernel's default, not sent. Observed (a dump),
/// it is what the kernel reports; `None` where the kernel reports nothing (before Linux 4.3 only the state,
/// the interface and the sync id are reported).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The interface it sends or receives on (`--mcast-interface`).
    pub interface: String,
    /// The sync id (`--syncid`, 0..255): a backup takes only messages with its id (0: any).
    pub sync_id: u32,
    /// The largest sync message, bytes (`--sync-maxlen`; kernel default: from the interface's MTU).
    #[serde(default)]
    pub max_packet_len: Option<u16>,
    /// Multicast group (`--mcast-group`; kernel default 224.0.0.81).
    #[serde(default)]
    pub mcast_group: Option<IpAddr>,
    /// UDP port (`--mcast-port`; kernel default 8848).
    #[serde(default)]
    pub mcast_port: Option<u16>,
    /// Multicast TTL (`--mcast-ttl`; kernel default 1).
    #[serde(default)]
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// The kernel's multicast group when none is given (`IP_VS_SYNC_GROUP`).
    pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
    /// The kernel's port when none is given (`IP_VS_SYNC_PORT`).
    pub const DEFAULT_PORT: u16 = 8848;
    /// The kernel's TTL when none is given.
    pub const DEFAULT_TTL: u8 = 1;

    /// A daemon with the kernel's defaults.
    pub fn new(state: SyncState, interface: impl Into<String>, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.into(),
            sync_id,
            max_packet_len: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }

    /// Whether `observed` (as the kernel reports it) runs as `self` (as wanted) asks: same state, interface
    /// and sync id; the multicast group, port and TTL equal to the wanted ones or the kernel's defaults; the
    /// packet length equal when one is wanted (the kernel picks its own otherwise). A field the kernel does
    /// not report matches anything.
    pub fn satisfied_by(&self, observed: &SyncDaemon) -> bool {
        fn same<T: PartialEq>(wanted: Option<T>, observed: Option<T>) -> bool {
            match (wanted, observed) {
                (Some(w), Some(o)) => w == o,
                _ => true,
            }
        }
        self.state == observed.state
            && self.interface == observed.interface
            && self.sync_id == observed.sync_id
            && same(self.max_packet_len, observed.max_packet_len)
            && same(
                Some(self.mcast_group.unwrap_or(IpAddr::V4(Self::DEFAULT_GROUP))),
                observed.mcast_group,
            )
            && same(
                Some(self.mcast_port.unwrap_or(Self::DEFAULT_PORT)),
                observed.mcast_port,
            )
            && same(
                Some(self.mcast_ttl.unwrap_or(Self::DEFAULT_TTL)),
                observed.mcast_ttl,
            )
    }
}

/// `master on eth1 sync id 51` (with the settings that differ from the kernel's defaults).
impl fmt::Display for SyncDaemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} sync id {}",
            self.state.name(),
            self.interface,
            self.sync_id
        )?;
        if let Some(len) = self.max_packet_len {
            write!(f, " max packet {len}")?;
        }
        if let Some(group) = self.mcast_group {
            write!(f, " group {group}")?;
        }
        if let Some(port) = self.mcast_port {
            write!(f, " port {port}")?;
        }
        if let Some(ttl) = self.mcast_ttl {
            write!(f, " ttl {ttl}")?;
        }
        Ok(())
    }
}

/// The whole kernel IPVS table, the result of one dump. Services are sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Table {
    /// Services.
    pub services: Vec<ServiceEntry>,
    /// The connection-synchronisation daemons running (at most a master and a backup), master first.
    #[serde(default)]
    pub sync_daemons: Vec<SyncDaemon>,
}

impl Table {
    /// The entry of a service, if present.
    pub fn get(&self, key: &ServiceKey) -> Option<&ServiceEntry> {
        self.services.iter().find(|e| &e.service.key == key)
    }

    /// The daemon running in `state`, if any.
    pub fn sync_daemon(&self, state: SyncState) -> Option<&SyncDaemon> {
        self.sync_daemons.iter().find(|d| d.state == state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let k = ServiceKey::Address {
            protocol: Protocol::Tcp,
            address: "10.0.0.1".parse().unwrap(),
            port: 80,
        };
        assert_eq!(k.to_string(), "tcp 10.0.0.1:80");
        let k = ServiceKey::Address {
            protocol: Protocol::Udp,
            address: "2001:db8::1".parse().unwrap(),
            port: 53,
        };
        assert_eq!(k.to_string(), "udp [2001:db8::1]:53");
        let k = ServiceKey::Fwmark {
            mark: 7,
            family: Family::Inet6,
        };
        assert_eq!(k.to_string(), "fwmark 7 inet6");
        assert_eq!(
            Info {
                version: 0x010201,
                conn_tab_size: 4096
            }
            .version_string(),
            "1.2.1"
        );
    }

    #[test]
    fn defaults() {
        let v4 = Service::new(
            ServiceKey::Fwmark {
                mark: 1,
                family: Family::Inet,
            },
            "wrr",
        );
        assert_eq!(v4.netmask, 0xffff_ffff);
        let v6 = Service::new(
            ServiceKey::Fwmark {
                mark: 1,
                family: Family::Inet6,
            },
            "wrr",
        );
        assert_eq!(v6.netmask, 128);
    }

    #[test]
    fn a_sync_daemon_is_satisfied_by_what_the_kernel_reports() {
        let wanted = SyncDaemon::new(SyncState::Backup, "eth1", 51);
        // Linux 6.x reports every setting, the defaults filled in.
        let reported = SyncDaemon {
            max_packet_len: Some(1472),
            mcast_group: Some(IpAddr::V4(SyncDaemon::DEFAULT_GROUP)),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            ..wanted.clone()
        };
        assert!(wanted.satisfied_by(&reported));
        // Before 4.3 only the state, the interface and the sync id.
        assert!(wanted.satisfied_by(&SyncDaemon::new(SyncState::Backup, "eth1", 51)));
        for other in [
            SyncDaemon::new(SyncState::Master, "eth1", 51),
            SyncDaemon::new(SyncState::Backup, "eth2", 51),
            SyncDaemon::new(SyncState::Backup, "eth1", 52),
            SyncDaemon {
                mcast_port: Some(9000),
                ..reported.clone()
            },
            SyncDaemon {
                mcast_ttl: Some(2),
                ..reported.clone()
            },
            SyncDaemon {
                mcast_group: Some("239.1.1.1".parse().unwrap()),
                ..reported.clone()
            },
        ] {
            assert!(!wanted.satisfied_by(&other), "{other}");
        }
        let tuned = SyncDaemon {
            max_packet_len: Some(1400),
            mcast_port: Some(9000),
            ..wanted.clone()
        };
        assert!(
            !tuned.satisfied_by(&reported),
            "packet length and port differ"
        );
        assert!(tuned.satisfied_by(&SyncDaemon {
            max_packet_len: Some(1400),
            mcast_port: Some(9000),
            ..reported
        }));
        assert_eq!(
            tuned.to_string(),
            "backup on eth1 sync id 51 max packet 1400 port 9000"
        );
    }

    #[test]
    fn serde_round_trip() {
        let mut svc = Service::new(
            ServiceKey::Address {
                protocol: Protocol::Sctp,
                address: "2001:db8::1".parse().unwrap(),
                port: 9,
            },
            "mh",
        );
        svc.flags.sched_flag_2 = true;
        svc.pe_name = Some("sip".into());
        let mut dest = Destination::new("10.0.0.2".parse().unwrap(), 80, Forwarding::Tunnel, 3);
        dest.tunnel = Some(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            csum: true,
            remcsum: false,
        });
        let table = Table {
            services: vec![ServiceEntry {
                service: svc,
                stats: Stats {
                    inbytes: u64::MAX,
                    ..Stats::default()
                },
                destinations: vec![DestinationEntry {
                    destination: dest,
                    status: DestinationStatus {
                        active_conns: 1,
                        ..Default::default()
                    },
                }],
            }],
            sync_daemons: vec![SyncDaemon::new(SyncState::Master, "eth0", 7)],
        };
        let json = serde_json::to_string(&table).unwrap();
        assert!(
            json.contains(r#""type":"address","protocol":"sctp""#),
            "{json}"
        );
        let back: Table = serde_json::from_str(&json).unwrap();
        assert_eq!(back, table);
    }
}

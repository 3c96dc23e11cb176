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

/// The whole kernel IPVS table, the result of one dump. Services are sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Table {
    /// Services.
    pub services: Vec<ServiceEntry>,
}

impl Table {
    /// The entry of a service, if present.
    pub fn get(&self, key: &ServiceKey) -> Option<&ServiceEntry> {
        self.services.iter().find(|e| &e.service.key == key)
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

//! Virtual servers: the services IPVS balances.

use super::health_check::HealthCheck;
use super::real_server::{Forwarding, RealServer, RealServerKey};
use super::{default_true, name::validate_name};
use crate::error::{check_range, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

/// Transport protocol of an address-based virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
}

/// IPVS schedulers, by their kernel module names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The name the kernel knows the scheduler by (`ip_vs_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    pub fn from_name(name: &str) -> Option<Scheduler> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Scheduler flags. `sh-*` and `mh-*` are the kernel's names for scheduler flags 1 and 2 of those schedulers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SchedulerFlag {
    #[serde(rename = "sh-fallback")]
    ShFallback,
    #[serde(rename = "sh-port")]
    ShPort,
    #[serde(rename = "mh-fallback")]
    MhFallback,
    #[serde(rename = "mh-port")]
    MhPort,
    #[serde(rename = "flag-1")]
    Flag1,
    #[serde(rename = "flag-2")]
    Flag2,
    #[serde(rename = "flag-3")]
    Flag3,
}

impl SchedulerFlag {
    /// Which of the kernel's three scheduler flag bits (1, 2 or 3) this sets.
    pub fn bit(self) -> u8 {
        match self {
            SchedulerFlag::ShFallback | SchedulerFlag::MhFallback | SchedulerFlag::Flag1 => 1,
            SchedulerFlag::ShPort | SchedulerFlag::MhPort | SchedulerFlag::Flag2 => 2,
            SchedulerFlag::Flag3 => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerFlag::ShFallback => "sh-fallback",
            SchedulerFlag::ShPort => "sh-port",
            SchedulerFlag::MhFallback => "mh-fallback",
            SchedulerFlag::MhPort => "mh-port",
            SchedulerFlag::Flag1 => "flag-1",
            SchedulerFlag::Flag2 => "flag-2",
            SchedulerFlag::Flag3 => "flag-3",
        }
    }
}

/// Client affinity: connections from one client (network) go to the same real server for `timeout_s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Persistence {
    /// Seconds, 1 to 2678400 (31 days).
    pub timeout_s: u32,
    /// IPv4: a contiguous dotted netmask (default 255.255.255.255); IPv6: a prefix length 1..128 (default 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
}

pub const MAX_PERSISTENCE_S: u32 = 31 * 24 * 3600;

impl Persistence {
    fn validate(&self, family: Family) -> Result<()> {
        check_range("timeout_s", self.timeout_s, 1, MAX_PERSISTENCE_S)?;
        if let Some(mask) = &self.netmask {
            parse_netmask(family, mask).map_err(|m| ModelError::invalid("netmask", m))?;
        }
        Ok(())
    }

    /// The netmask as the kernel wants it: an IPv4 mask in host order, or an IPv6 prefix length.
    pub fn kernel_netmask(&self, family: Family) -> u32 {
        match &self.netmask {
            Some(mask) => parse_netmask(family, mask).unwrap_or(u32::MAX),
            None => match family {
                Family::Inet => u32::MAX,
                Family::Inet6 => 128,
            },
        }
    }
}

/// Parses a persistence netmask of the given family.
pub fn parse_netmask(family: Family, mask: &str) -> std::result::Result<u32, String> {
    match family {
        Family::Inet => {
            let addr: std::net::Ipv4Addr = mask
                .parse()
                .map_err(|_| format!("{mask:?} is not a dotted IPv4 netmask"))?;
            let bits = u32::from(addr);
            if bits.leading_ones() + bits.trailing_zeros() != 32 || bits == 0 {
                return Err(format!("{mask:?} is not a contiguous netmask"));
            }
            Ok(bits)
        }
        Family::Inet6 => {
            let len: u32 = mask
                .trim_start_matches('/')
                .parse()
                .map_err(|_| format!("{mask:?} is not an IPv6 prefix length"))?;
            if !(1..=128).contains(&len) {
                return Err(format!(
                    "prefix length must be between 1 and 128, got {len}"
                ));
            }
            Ok(len)
        }
    }
}

/// Where traffic goes when fewer than `quorum` real servers are up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SorryServer {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "192.168.10.200"))]
    pub address: IpAddr,
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
}

/// A virtual server as declared. Either `protocol`+`address`+`port` or `fwmark`+`family`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VirtualServer {
    pub name: String,
    #[serde(default)]
    pub protocol: Option<Protocol>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "192.168.10.180"))]
    pub address: Option<IpAddr>,
    #[serde(default)]
    pub port: Option<u32>,
    /// Firewall mark, 1 to 4294967295; excludes protocol, address and port.
    #[serde(default)]
    pub fwmark: Option<u32>,
    /// Derived from the address when one is given; required context for fwmark services (default inet).
    #[serde(default)]
    pub family: Option<Family>,
    #[serde(default)]
    pub scheduler: Scheduler,
    #[serde(default)]
    pub scheduler_flags: Vec<SchedulerFlag>,
    #[serde(default)]
    pub forwarding: Forwarding,
    #[serde(default)]
    pub persistence: Option<Persistence>,
    #[serde(default)]
    pub one_packet: bool,
    #[serde(default)]
    pub vrrp_group: Option<String>,
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    #[serde(default)]
    pub sorry_server: Option<SorryServer>,
    /// How many real servers must be up for the virtual server to be "up" (else the sorry server is used).
    #[serde(default = "default_quorum")]
    pub quorum: u32,
    #[serde(default)]
    pub hysteresis: u32,
    /// Until a real server's first successful check, send it no traffic (keepalived's `alpha`). Default true.
    #[serde(default = "default_true")]
    pub alpha: bool,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub real_servers: Vec<RealServer>,
}

fn default_quorum() -> u32 {
    1
}

/// What makes a virtual server unique in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        address: IpAddr,
        port: u16,
    },
    Fwmark {
        mark: u32,
        family: Family,
    },
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                address: IpAddr::V6(a),
                port,
            } => {
                write!(f, "{} [{a}]:{port}", protocol.as_str())
            }
            ServiceKey::Addr {
                protocol,
                address,
                port,
            } => write!(f, "{} {address}:{port}", protocol.as_str()),
            ServiceKey::Fwmark { mark, family } => write!(f, "fwmark {mark} ({})", family.as_str()),
        }
    }
}

pub const MAX_REAL_SERVERS: usize = 10_000;

impl VirtualServer {
    /// The family of the service: the address's, or the declared one for fwmark services.
    pub fn effective_family(&self) -> Family {
        match (&self.address, self.family) {
            (Some(a), _) => Family::of(a),
            (None, Some(f)) => f,
            (None, None) => Family::Inet,
        }
    }

    /// The kernel identity, once validated.
    pub fn key(&self) -> Option<ServiceKey> {
        if let Some(mark) = self.fwmark {
            return Some(ServiceKey::Fwmark {
                mark,
                family: self.effective_family(),
            });
        }
        let port = u16::try_from(self.port?).ok()?;
        Some(ServiceKey::Addr {
            protocol: self.protocol?,
            address: self.address?,
            port,
        })
    }

    /// Fills the derived fields so that what is stored and shown is explicit: `family`.
    pub fn normalize(&mut self) {
        self.family = Some(self.effective_family());
        self.scheduler_flags.sort();
    }

    pub fn real_server(&self, key: &RealServerKey) -> Option<&RealServer> {
        self.real_servers.iter().find(|r| r.key() == *key)
    }

    /// Whether the two differ at most in their real servers (a weight change leaves the rest alone). Every
    /// field is named, so a new field cannot be forgotten here.
    pub fn same_own_fields(&self, other: &VirtualServer) -> bool {
        let VirtualServer {
            name,
            protocol,
            address,
            port,
            fwmark,
            family,
            scheduler,
            scheduler_flags,
            forwarding,
            persistence,
            one_packet,
            vrrp_group,
            health_check,
            sorry_server,
            quorum,
            hysteresis,
            alpha,
            enabled,
            real_servers: _,
        } = self;
        *name == other.name
            && *protocol == other.protocol
            && *address == other.address
            && *port == other.port
            && *fwmark == other.fwmark
            && *family == other.family
            && *scheduler == other.scheduler
            && *scheduler_flags == other.scheduler_flags
            && *forwarding == other.forwarding
            && *persistence == other.persistence
            && *one_packet == other.one_packet
            && *vrrp_group == other.vrrp_group
            && *health_check == other.health_check
            && *sorry_server == other.sorry_server
            && *quorum == other.quorum
            && *hysteresis == other.hysteresis
            && *alpha == other.alpha
            && *enabled == other.enabled
    }

    /// Field checks of the virtual server and its real servers, without looking at other objects.
    pub fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        match self.fwmark {
            Some(mark) => {
                for (field, set) in [
                    ("protocol", self.protocol.is_some()),
                    ("address", self.address.is_some()),
                    ("port", self.port.is_some()),
                ] {
                    if set {
                        return Err(ModelError::invalid(
                            field,
                            "a fwmark virtual server has no protocol, address or port",
                        ));
                    }
                }
                check_range("fwmark", mark, 1, u32::MAX)?;
            }
            None => {
                if self.protocol.is_none() {
                    return Err(ModelError::invalid(
                        "protocol",
                        "required (tcp, udp or sctp) unless fwmark is set",
                    ));
                }
                let Some(address) = self.address else {
                    return Err(ModelError::invalid(
                        "address",
                        "required unless fwmark is set",
                    ));
                };
                let Some(port) = self.port else {
                    return Err(ModelError::invalid("port", "required unless fwmark is set"));
                };
                check_range("port", port, 0, 65535)?;
                if port == 0 && self.persistence.is_none() {
                    return Err(ModelError::invalid(
                        "port",
                        "port 0 (all ports) is only allowed for a persistent virtual server",
                    ));
                }
                if address.is_unspecified() || address.is_multicast() {
                    return Err(ModelError::invalid(
                        "address",
                        format!("{address} cannot be a virtual address"),
                    ));
                }
                if let Some(f) = self.family {
                    if f != Family::of(&address) {
                        return Err(ModelError::invalid(
                            "family",
                            format!("{} does not match the address {address}", f.as_str()),
                        ));
                    }
                }
            }
        }
        self.validate_scheduler_flags()?;
        let family = self.effective_family();
        if let Some(p) = &self.persistence {
            p.validate(family).map_err(|e| e.within("persistence"))?;
        }
        if let Some(group) = &self.vrrp_group {
            validate_name("vrrp_group", group)?;
        }
        if let Some(hc) = &self.health_check {
            hc.validate().map_err(|e| e.within("health_check"))?;
        }
        if let Some(sorry) = &self.sorry_server {
            check_range("sorry_server.port", sorry.port, 0, 65535)?;
            let fwd = sorry.forwarding.unwrap_or(self.forwarding);
            if Family::of(&sorry.address) != family && fwd != Forwarding::Tunnel {
                return Err(ModelError::invalid(
                    "sorry_server.address",
                    format!(
                        "{} is not of the virtual server's family {}",
                        sorry.address,
                        family.as_str()
                    ),
                ));
            }
        }
        check_range("quorum", self.quorum, 1, MAX_REAL_SERVERS as u32)?;
        if self.hysteresis >= self.quorum {
            return Err(ModelError::invalid(
                "hysteresis",
                format!(
                    "must be smaller than quorum ({}), got {}",
                    self.quorum, self.hysteresis
                ),
            ));
        }
        if self.real_servers.len() > MAX_REAL_SERVERS {
            return Err(ModelError::invalid(
                "real_servers",
                format!("at most {MAX_REAL_SERVERS} real servers per virtual server"),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, rs) in self.real_servers.iter().enumerate() {
            let prefix = format!("real_servers[{i}]");
            self.validate_real_server(rs)
                .map_err(|e| e.within(&prefix))?;
            if !seen.insert(rs.key()) {
                return Err(ModelError::conflict(
                    prefix,
                    format!("{} is listed twice", rs.key()),
                ));
            }
        }
        Ok(())
    }

    fn validate_scheduler_flags(&self) -> Result<()> {
        let mut bits = [false; 4];
        for flag in &self.scheduler_flags {
            let needs = match flag {
                SchedulerFlag::ShFallback | SchedulerFlag::ShPort => Some(Scheduler::Sh),
                SchedulerFlag::MhFallback | SchedulerFlag::MhPort => Some(Scheduler::Mh),
                _ => None,
            };
            if let Some(needs) = needs {
                if needs != self.scheduler {
                    return Err(ModelError::invalid(
                        "scheduler_flags",
                        format!("{} only applies to the {needs} scheduler", flag.as_str()),
                    ));
                }
            }
            let bit = usize::from(flag.bit());
            if std::mem::replace(&mut bits[bit], true) {
                return Err(ModelError::invalid(
                    "scheduler_flags",
                    format!("{} sets scheduler flag {bit} a second time", flag.as_str()),
                ));
            }
        }
        Ok(())
    }

    /// Checks one real server in the context of this virtual server (family, ports, forwarding).
    pub fn validate_real_server(&self, rs: &RealServer) -> Result<()> {
        rs.validate()?;
        let forwarding = rs.forwarding.unwrap_or(self.forwarding);
        let family = self.effective_family();
        if Family::of(&rs.address) != family && forwarding != Forwarding::Tunnel {
            return Err(ModelError::invalid(
                "address",
                format!(
                    "{} is not of the virtual server's family {}; only tunnel forwarding mixes families",
                    rs.address,
                    family.as_str()
                ),
            ));
        }
        if self.fwmark.is_none() && rs.port == 0 {
            return Err(ModelError::invalid(
                "port",
                "must be between 1 and 65535 for an address-based virtual server",
            ));
        }
        if let (Some(vport), Forwarding::Dr | Forwarding::Tunnel) = (self.port, forwarding) {
            if vport != 0 && rs.port != vport {
                return Err(ModelError::invalid(
                    "port",
                    format!(
                        "must equal the virtual server's port {vport} with {} forwarding: only NAT translates ports",
                        forwarding.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Default for VirtualServer {
    fn default() -> Self {
        VirtualServer {
            name: String::new(),
            protocol: None,
            address: None,
            port: None,
            fwmark: None,
            family: None,
            scheduler: Scheduler::default(),
            scheduler_flags: Vec::new(),
            forwarding: Forwarding::default(),
            persistence: None,
            one_packet: false,
            vrrp_group: None,
            health_check: None,
            sorry_server: None,
            quorum: default_quorum(),
            hysteresis: 0,
            alpha: true,
            enabled: true,
            real_servers: Vec::new(),
        }
    }
}

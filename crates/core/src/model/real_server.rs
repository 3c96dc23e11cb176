//! Real servers: the backends of a virtual server.

use super::default_true;
use super::health_check::HealthCheck;
use crate::error::{check_range, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

pub const MAX_WEIGHT: u32 = 65535;

/// A real server as declared inside its virtual server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RealServer {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "192.168.10.120"))]
    pub address: IpAddr,
    /// 1..65535; 0 only under a fwmark virtual server (keep the packet's port).
    pub port: u32,
    /// 0..65535; 0 means drained: kept in the table, no new connections.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Overrides the virtual server's forwarding method.
    #[serde(default)]
    pub forwarding: Option<Forwarding>,
    /// Maximum connections (0 = unlimited).
    #[serde(default)]
    pub upper_threshold: u32,
    /// Connections below which an overloaded server takes traffic again (0 = unset).
    #[serde(default)]
    pub lower_threshold: u32,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// When the server fails its check, keep it with weight 0 instead of removing it.
    #[serde(default)]
    pub inhibit_on_failure: bool,
    /// Overrides the virtual server's health check; `null` inherits it.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
}

fn default_weight() -> u32 {
    1
}

impl RealServer {
    pub fn new(address: IpAddr, port: u16) -> Self {
        RealServer {
            address,
            port: u32::from(port),
            weight: default_weight(),
            forwarding: None,
            upper_threshold: 0,
            lower_threshold: 0,
            enabled: true,
            inhibit_on_failure: false,
            health_check: None,
        }
    }

    pub fn key(&self) -> RealServerKey {
        RealServerKey {
            address: self.address,
            port: u16::try_from(self.port).unwrap_or(0),
        }
    }

    /// Field checks that need no context.
    pub fn validate(&self) -> Result<()> {
        check_range("port", self.port, 0, 65535)?;
        check_range("weight", self.weight, 0, MAX_WEIGHT)?;
        if self.address.is_unspecified() || self.address.is_multicast() {
            return Err(ModelError::invalid(
                "address",
                format!("{} cannot be a real server", self.address),
            ));
        }
        if self.upper_threshold > 0 && self.lower_threshold > self.upper_threshold {
            return Err(ModelError::invalid(
                "lower_threshold",
                format!("must not exceed upper_threshold ({})", self.upper_threshold),
            ));
        }
        if let Some(hc) = &self.health_check {
            hc.validate().map_err(|e| e.within("health_check"))?;
        }
        Ok(())
    }
}

/// A real server's identity within its virtual server: `192.168.10.120:80` or `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealServerKey {
    pub address: IpAddr,
    pub port: u16,
}

impl fmt::Display for RealServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", SocketAddr::new(self.address, self.port))
    }
}

impl FromStr for RealServerKey {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let sa: SocketAddr = s
            .parse()
            .map_err(|_| format!("{s:?} is not ADDRESS:PORT (IPv6 as [2001:db8::1]:80)"))?;
        Ok(RealServerKey {
            address: sa.ip(),
            port: sa.port(),
        })
    }
}

/// Packet forwarding method: NAT (masquerading), direct routing, or IP-in-IP tunnelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Forwarding {
    Nat,
    /// Direct routing, the default of ipvsadm.
    #[default]
    Dr,
    Tunnel,
}

impl Forwarding {
    pub fn as_str(self) -> &'static str {
        match self {
            Forwarding::Nat => "nat",
            Forwarding::Dr => "dr",
            Forwarding::Tunnel => "tunnel",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_v4_and_v6() {
        for s in ["192.168.10.120:80", "[2001:db8::1]:443"] {
            let k: RealServerKey = s.parse().unwrap();
            assert_eq!(k.to_string(), s);
        }
        assert!("2001:db8::1:80".parse::<RealServerKey>().is_err());
        assert!("10.0.0.1".parse::<RealServerKey>().is_err());
    }

    #[test]
    fn weight_and_thresholds_are_checked() {
        let mut rs = RealServer::new("10.0.0.1".parse().unwrap(), 80);
        rs.weight = 70000;
        assert_eq!(rs.validate().unwrap_err().field, "weight");
        rs.weight = 0;
        rs.upper_threshold = 10;
        rs.lower_threshold = 11;
        assert_eq!(rs.validate().unwrap_err().field, "lower_threshold");
        rs.lower_threshold = 5;
        rs.validate().unwrap();
    }
}

//! What the engine checks: a real server of a virtual server, with its effective check.

use director_core::model::{HealthCheck, RealServerKey};
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Identifies a checked real server: `web/10.0.0.1:80` (IPv6 as `web/[2001:db8::1]:80`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetId {
    pub virtual_server: String,
    pub real_server: RealServerKey,
}

impl TargetId {
    pub fn new(virtual_server: impl Into<String>, real_server: RealServerKey) -> Self {
        TargetId {
            virtual_server: virtual_server.into(),
            real_server,
        }
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.virtual_server, self.real_server)
    }
}

/// Serialized as its display form, `web/10.0.0.1:80`.
impl Serialize for TargetId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One real server to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: TargetId,
    /// The real server's address (checked unless `check.connect_address` overrides it).
    pub address: IpAddr,
    /// The real server's port (checked unless `check.connect_port` overrides it).
    pub port: u16,
    /// The effective check: the real server's own, or the one it inherits from its virtual server.
    pub check: HealthCheck,
}

impl Target {
    /// A target whose id is made of `virtual_server` and the address and port checked.
    pub fn new(
        virtual_server: impl Into<String>,
        address: IpAddr,
        port: u16,
        check: HealthCheck,
    ) -> Self {
        Target {
            id: TargetId::new(virtual_server, RealServerKey { address, port }),
            address,
            port,
            check,
        }
    }

    /// Where the check connects: the real server, or `connect_address` / `connect_port` when set.
    /// A `connect_port` outside 1..65535 (refused by validation) falls back to the real server's port.
    pub fn connect_to(&self) -> SocketAddr {
        let address = self.check.connect_address.unwrap_or(self.address);
        let port = self
            .check
            .connect_port
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .unwrap_or(self.port);
        SocketAddr::new(address, port)
    }
}

/// One target per real server of an enabled virtual server whose effective check is not `none` (disabled real
/// servers are checked too, so an operator sees their health before enabling them).
pub fn targets(state: &director_core::DesiredState) -> Vec<Target> {
    let mut out = Vec::new();
    for (name, record) in &state.virtual_servers {
        let vs = &record.spec;
        if !vs.enabled {
            continue;
        }
        for rs in &vs.real_servers {
            let Some(check) = rs.health_check.as_ref().or(vs.health_check.as_ref()) else {
                continue;
            };
            if check.kind == director_core::model::CheckKind::None {
                continue;
            }
            let key = rs.key();
            out.push(Target::new(
                name.clone(),
                key.address,
                key.port,
                check.clone(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::CheckKind;

    #[test]
    fn ids_display_like_the_api_and_sort_by_virtual_server_first() {
        let a = TargetId::new("web", "10.0.0.1:80".parse().unwrap());
        let b = TargetId::new("web", "[2001:db8::1]:80".parse().unwrap());
        let c = TargetId::new("api", "10.0.0.9:80".parse().unwrap());
        assert_eq!(a.to_string(), "web/10.0.0.1:80");
        assert_eq!(b.to_string(), "web/[2001:db8::1]:80");
        let mut ids = vec![b.clone(), a.clone(), c.clone()];
        ids.sort();
        assert_eq!(ids, vec![c, a, b]);
    }

    #[test]
    fn connect_overrides_apply() {
        let mut check = HealthCheck::new(CheckKind::Tcp);
        let t = Target::new("web", "10.0.0.1".parse().unwrap(), 80, check.clone());
        assert_eq!(t.connect_to().to_string(), "10.0.0.1:80");
        check.connect_port = Some(8080);
        check.connect_address = Some("10.0.0.2".parse().unwrap());
        let t = Target::new("web", "10.0.0.1".parse().unwrap(), 80, check);
        assert_eq!(t.connect_to().to_string(), "10.0.0.2:8080");
        assert_eq!(t.id.to_string(), "web/10.0.0.1:80");
    }
}

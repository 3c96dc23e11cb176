//! The peers of a node, as `--peers` lists them: `node=host:port`, comma-separated.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub node: String,
    /// `host:port` of the peer's gRPC API.
    pub address: String,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.node, self.address)
    }
}

impl FromStr for Peer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (node, address) = s
            .split_once('=')
            .ok_or_else(|| format!("peer {s:?}: expected node=host:port"))?;
        let slug = !node.is_empty()
            && node.len() <= 63
            && node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !slug {
            return Err(format!("peer {s:?}: {node:?} is not a node name"));
        }
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("peer {s:?}: {address:?} has no port"))?;
        if host.is_empty() {
            return Err(format!("peer {s:?}: no host"));
        }
        port.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("peer {s:?}: {port:?} is not a port"))?;
        Ok(Peer {
            node: node.to_string(),
            address: address.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_what_is_wrong() {
        let p: Peer = "lvs-02=10.0.0.2:50051".parse().expect("peer");
        assert_eq!(p.node, "lvs-02");
        assert_eq!(p.address, "10.0.0.2:50051");
        assert_eq!(
            "b=[::1]:7".parse::<Peer>().map(|p| p.address),
            Ok("[::1]:7".into())
        );
        for bad in ["lvs-02", "=h:1", "a=h", "a=h:0", "a=h:x", "a=:5", "a b=h:1"] {
            assert!(bad.parse::<Peer>().is_err(), "{bad} accepted");
        }
    }
}

//! The objects sync carries, as registers: a virtual server's own fields, each of its real servers, each VRRP
//! group, and each token revocation. Real servers are registers of their own so that two nodes changing the
//! weights of two different real servers of one virtual server at the same time do not conflict.

use crate::clock::Stamp;
use crate::SyncError;
use director_core::model::{RealServerKey, VirtualServer, VrrpGroup};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Longest token id a revocation names.
pub const MAX_TOKEN_ID: usize = 64;
/// Whether `id` can be a token id (a JWT's `jti`): 1 to 64 ASCII letters, digits, `-` or `_`.
pub fn valid_token_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TOKEN_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which object a register holds: `vs/NAME`, `rs/NAME/ADDRESS:PORT`, `group/NAME` or `revoked/TOKEN-ID`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKey {
    VirtualServer(String),
    RealServer(String, RealServerKey),
    VrrpGroup(String),
    /// The revocation of the token whose id (`jti`) this is (see [`crate::revocation`]).
    Revocation(String),
}

impl ObjectKey {
    /// The virtual server this object belongs to, if any.
    pub fn virtual_server(&self) -> Option<&str> {
        match self {
            ObjectKey::VirtualServer(n) | ObjectKey::RealServer(n, _) => Some(n),
            ObjectKey::VrrpGroup(_) | ObjectKey::Revocation(_) => None,
        }
    }

    /// Whether the register is part of the desired state (a revocation is not).
    pub fn is_desired_state(&self) -> bool {
        !matches!(self, ObjectKey::Revocation(_))
    }
}

/// The prefix of the keys of revocation registers.
pub const REVOCATION_PREFIX: &str = "revoked/";

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::VirtualServer(n) => write!(f, "vs/{n}"),
            ObjectKey::RealServer(n, k) => write!(f, "rs/{n}/{k}"),
            ObjectKey::VrrpGroup(n) => write!(f, "group/{n}"),
            ObjectKey::Revocation(id) => write!(f, "{REVOCATION_PREFIX}{id}"),
        }
    }
}

impl FromStr for ObjectKey {
    type Err = SyncError;
    fn from_str(s: &str) -> Result<Self, SyncError> {
        let bad = || SyncError::Key(s.to_string());
        let slug = |n: &str| -> Result<String, SyncError> {
            let ok = !n.is_empty()
                && n.len() <= 63
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            ok.then(|| n.to_string()).ok_or_else(bad)
        };
        match s.split_once('/') {
            Some(("vs", n)) => Ok(ObjectKey::VirtualServer(slug(n)?)),
            Some(("group", n)) => Ok(ObjectKey::VrrpGroup(slug(n)?)),
            Some(("revoked", id)) if valid_token_id(id) => {
                Ok(ObjectKey::Revocation(id.to_string()))
            }
            Some(("rs", rest)) => {
                let (n, endpoint) = rest.split_once('/').ok_or_else(bad)?;
                let key = endpoint.parse().map_err(|_| bad())?;
                Ok(ObjectKey::RealServer(slug(n)?, key))
            }
            _ => Err(bad()),
        }
    }
}

/// A virtual server's own fields (without its real servers), and the stamp of the write that created it: real
/// servers written under an earlier life of the name (deleted, then created again) do not come back with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerValue {
    pub incarnation: Stamp,
    pub spec: Value,
}

/// A real server, the life of its virtual server it belongs to, and its place in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerValue {
    pub incarnation: Stamp,
    pub position: u32,
    pub spec: Value,
}

impl RealServerValue {
    /// The encoded value of a real server whose spec is already JSON text (compact, as `serde_json` writes
    /// a `Value`): the same text as [`encode`] of the value, without parsing the spec back.
    pub fn encode_with_spec_text(incarnation: &Stamp, position: u32, spec: &str) -> String {
        let stamp = encode(incarnation);
        let mut out = String::with_capacity(stamp.len() + spec.len() + 48);
        out.push_str("{\"incarnation\":");
        out.push_str(&stamp);
        out.push_str(",\"position\":");
        out.push_str(&position.to_string());
        out.push_str(",\"spec\":");
        out.push_str(spec);
        out.push('}');
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpGroupValue {
    pub spec: Value,
}

/// Encodes a value as the JSON text a register holds.
pub fn encode<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs of JSON values cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Decodes a register's value, naming the register when it is not what its key says.
pub fn decode<T: for<'de> Deserialize<'de>>(key: &ObjectKey, text: &str) -> Result<T, SyncError> {
    serde_json::from_str(text).map_err(|e| SyncError::Value {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// The virtual server `name` as its registers declare it: its own fields and the real servers of the same
/// life, in their declared order.
pub fn materialize<'a>(
    name: &str,
    own: &VirtualServerValue,
    real_servers: impl IntoIterator<Item = (&'a RealServerKey, &'a RealServerValue)>,
) -> Result<VirtualServer, SyncError> {
    let key = ObjectKey::VirtualServer(name.to_string());
    let mut members: Vec<(u32, &RealServerKey, &Value)> = real_servers
        .into_iter()
        .filter(|(_, rs)| rs.incarnation == own.incarnation)
        .map(|(k, rs)| (rs.position, k, &rs.spec))
        .collect();
    members.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut spec = own.spec.clone();
    let Value::Object(fields) = &mut spec else {
        return Err(SyncError::Value {
            key: key.to_string(),
            message: "the virtual server is not a JSON object".into(),
        });
    };
    fields.insert(
        "real_servers".into(),
        Value::Array(members.iter().map(|(_, _, s)| (*s).clone()).collect()),
    );
    let vs: VirtualServer = serde_json::from_value(spec).map_err(|e| SyncError::Value {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    if vs.name != name {
        return Err(SyncError::Value {
            key: key.to_string(),
            message: format!("holds the virtual server {:?}", vs.name),
        });
    }
    Ok(vs)
}

/// The VRRP group a register holds.
pub fn vrrp_group(name: &str, value: &VrrpGroupValue) -> Result<VrrpGroup, SyncError> {
    let key = ObjectKey::VrrpGroup(name.to_string());
    let group: VrrpGroup =
        serde_json::from_value(value.spec.clone()).map_err(|e| SyncError::Value {
            key: key.to_string(),
            message: e.to_string(),
        })?;
    if group.name != name {
        return Err(SyncError::Value {
            key: key.to_string(),
            message: format!("holds the VRRP group {:?}", group.name),
        });
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stamp(wall_ms: u64) -> Stamp {
        Stamp {
            wall_ms,
            logical: 0,
            node: "a".into(),
        }
    }

    #[test]
    fn a_real_server_encoded_from_spec_text_is_the_same_text() {
        let spec =
            json!({"address": "10.1.0.1", "port": 80, "weight": 5, "check": {"kind": "tcp"}});
        let value = RealServerValue {
            incarnation: stamp(1_700_000_000_000),
            position: 3,
            spec: spec.clone(),
        };
        assert_eq!(
            RealServerValue::encode_with_spec_text(&value.incarnation, 3, &spec.to_string()),
            encode(&value)
        );
    }

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        for k in [
            "vs/web",
            "rs/web/10.0.0.1:80",
            "rs/web/[2001:db8::1]:443",
            "group/vi-1",
            "revoked/0123456789abcdef01234567",
        ] {
            assert_eq!(k.parse::<ObjectKey>().expect(k).to_string(), k);
        }
        for k in [
            "",
            "vs/",
            "vs/Web",
            "rs/web",
            "rs/web/10.0.0.1",
            "user/x",
            "vs/a/b",
            "revoked/",
            "revoked/a/b",
            "revoked/id with spaces",
            &format!("revoked/{}", "a".repeat(65)),
        ] {
            assert!(k.parse::<ObjectKey>().is_err(), "{k} accepted");
        }
    }

    #[test]
    fn materializes_the_real_servers_of_the_same_life_in_order() {
        let own = VirtualServerValue {
            incarnation: stamp(5),
            spec: json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80}),
        };
        let rs = |addr: &str, position: u32, life: u64| {
            (
                format!("{addr}:80").parse::<RealServerKey>().expect("key"),
                RealServerValue {
                    incarnation: stamp(life),
                    position,
                    spec: json!({"address": addr, "port": 80, "weight": 3}),
                },
            )
        };
        let members = [
            rs("10.0.1.2", 1, 5),
            rs("10.0.1.1", 0, 5),
            rs("10.0.1.3", 1, 5),
            rs("10.0.1.9", 0, 1),
        ];
        let vs = materialize("web", &own, members.iter().map(|(k, v)| (k, v))).expect("vs");
        let order: Vec<String> = vs
            .real_servers
            .iter()
            .map(|r| r.key().to_string())
            .collect();
        assert_eq!(order, ["10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80"]);
        assert!(
            materialize("other", &own, []).is_err(),
            "a name that does not match"
        );
    }
}

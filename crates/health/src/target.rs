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
    state
        .virtual_servers
        .iter()
        .flat_map(|(name, record)| targets_of(name, &record.spec))
        .collect()
}

/// The targets of one virtual server (named `name`), as [`targets`] counts them.
pub fn targets_of(name: &str, vs: &director_core::model::VirtualServer) -> Vec<Target> {
    if !vs.enabled {
        return Vec::new();
    }
    vs.real_servers
        .iter()
        .filter_map(|rs| {
            let check = rs.health_check.as_ref().or(vs.health_check.as_ref())?;
            if check.kind == director_core::model::CheckKind::None {
                return None;
            }
            let key = rs.key();
            Some(Target::new(name, key.address, key.port, check.clone()))
        })
        .collect()
}

/// What the engine must change when the desired state goes from `before` to `after`: the targets of the
/// virtual servers that changed, to check (anew or with a changed check), and the ids to stop. Built from the
/// changed virtual servers only ([`DesiredState::virtual_server_changes`]), so a weight change among 50,000
/// virtual servers costs the same as among ten.
///
/// [`DesiredState::virtual_server_changes`]: director_core::DesiredState::virtual_server_changes
pub fn target_changes(
    before: &director_core::DesiredState,
    after: &director_core::DesiredState,
) -> TargetChanges {
    let mut out = TargetChanges::default();
    for change in before.virtual_server_changes(after) {
        let now = change
            .after
            .map(|r| targets_of(change.name, &r.spec))
            .unwrap_or_default();
        if let Some(r) = change.before {
            let kept: std::collections::HashSet<&TargetId> = now.iter().map(|t| &t.id).collect();
            out.remove.extend(
                targets_of(change.name, &r.spec)
                    .into_iter()
                    .map(|t| t.id)
                    .filter(|id| !kept.contains(id)),
            );
        }
        out.upsert.extend(now);
    }
    out
}

/// See [`target_changes`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetChanges {
    /// Targets no longer checked.
    pub remove: Vec<TargetId>,
    /// The current targets of every changed virtual server (the engine keeps those that did not change).
    pub upsert: Vec<Target>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::CheckKind;

    fn state(virtual_servers: &[serde_json::Value]) -> director_core::DesiredState {
        let mut state = director_core::DesiredState::default();
        for v in virtual_servers {
            let mut vs: director_core::model::VirtualServer =
                serde_json::from_value(v.clone()).unwrap();
            vs.normalize();
            let record = director_core::state::VirtualServerRecord {
                spec: vs,
                revision: 1,
                real_server_revisions: Default::default(),
            };
            state
                .virtual_servers
                .insert(record.spec.name.clone(), std::sync::Arc::new(record));
        }
        state
    }

    fn vs(name: &str, third: u8, check: &str, real: &[(&str, Option<&str>)]) -> serde_json::Value {
        serde_json::json!({
            "name": name, "protocol": "tcp", "address": format!("10.0.{third}.1"), "port": 80,
            "scheduler": "wrr",
            "health_check": {"type": check},
            "real_servers": real.iter().map(|(a, c)| match c {
                Some(c) => serde_json::json!({"address": a, "port": 80, "health_check": {"type": c}}),
                None => serde_json::json!({"address": a, "port": 80}),
            }).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn target_changes_follow_only_the_changed_virtual_servers() {
        let web = vs("web", 1, "tcp", &[("10.1.0.1", None), ("10.1.0.2", None)]);
        let api = vs("api", 2, "tcp", &[("10.2.0.1", None)]);
        let before = state(&[web.clone(), api.clone()]);

        // Nothing changed: nothing to do.
        assert_eq!(
            target_changes(&before, &before.clone()),
            TargetChanges::default()
        );

        // A real server added to web, its check turned off on another: web's targets again, one removed.
        let web2 = vs(
            "web",
            1,
            "tcp",
            &[
                ("10.1.0.1", Some("none")),
                ("10.1.0.2", None),
                ("10.1.0.3", None),
            ],
        );
        let after = state(&[web2, api.clone()]);
        let c = target_changes(&before, &after);
        let ids = |ts: &[Target]| ts.iter().map(|t| t.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&c.upsert), ["web/10.1.0.2:80", "web/10.1.0.3:80"]);
        assert_eq!(
            c.remove.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            ["web/10.1.0.1:80"]
        );

        // A virtual server removed, another added, one disabled: exactly their targets.
        let mut disabled = api.clone();
        disabled["enabled"] = serde_json::json!(false);
        let after = state(&[disabled, vs("new", 3, "http", &[("10.3.0.1", None)])]);
        let c = target_changes(&before, &after);
        assert_eq!(ids(&c.upsert), ["new/10.3.0.1:80"]);
        let mut removed: Vec<String> = c.remove.iter().map(|i| i.to_string()).collect();
        removed.sort();
        assert_eq!(
            removed,
            ["api/10.2.0.1:80", "web/10.1.0.1:80", "web/10.1.0.2:80"]
        );

        // Applied in sequence, the changes give the same set as computing it afresh.
        let mut set: std::collections::BTreeSet<TargetId> =
            targets(&before).into_iter().map(|t| t.id).collect();
        for id in &c.remove {
            set.remove(id);
        }
        set.extend(c.upsert.iter().map(|t| t.id.clone()));
        let fresh: std::collections::BTreeSet<TargetId> =
            targets(&after).into_iter().map(|t| t.id).collect();
        assert_eq!(set, fresh);
    }

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

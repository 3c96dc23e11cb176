//! What one VRRP instance of this node runs, derived from a group of the desired state and this node's
//! member entry (pure).

use crate::vrrp::track::TrackSpec;
use director_core::model::vrrp_group::{parse_vip, AuthType, Garp, Notify};
use director_core::model::{Member, VrrpGroup};
use director_vrrp::{Auth, Config, Family, Version};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    pub group: String,
    pub interface: String,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    /// Base priority.
    pub priority: u8,
    /// Centiseconds.
    pub advert_interval: u16,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub auth: Auth,
    pub vips: Vec<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub unicast_source: Option<IpAddr>,
    pub tracks: Vec<TrackSpec>,
    pub notify: Option<Notify>,
    pub sync_group: Option<String>,
    pub garp: Garp,
}

/// A group that cannot run on this node as declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The fields that identify an instance: a change to any needs a new instance (new sockets, new machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    interface: String,
    vrid: u8,
    version: Version,
    family: Family,
    unicast_source: Option<IpAddr>,
}

impl InstanceSpec {
    pub fn new(group: &VrrpGroup, member: &Member) -> Result<Self, SpecError> {
        let interface = member
            .interface
            .clone()
            .or_else(|| group.interface.clone())
            .ok_or_else(|| err("interface", "no interface for this node"))?;
        let vrid = u8::try_from(group.vrid)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| err("vrid", "must be 1 to 255"))?;
        let version = match group.version {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(err("version", format!("{v} is not 2 or 3"))),
        };
        let priority = member.priority.unwrap_or(group.priority);
        let priority = u8::try_from(priority)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| err("priority", "must be 1 to 255"))?;
        let advert_interval = u16::try_from(group.advert_interval_ms / 10)
            .map_err(|_| err("advert_interval_ms", "too large"))?;
        let auth = match &group.auth {
            Some(a) if a.kind == AuthType::Pass => {
                Auth::simple(a.password.as_deref().unwrap_or_default())
                    .map_err(|e| err("auth.password", e.to_string()))?
            }
            _ => Auth::None,
        };
        let mut vips = Vec::new();
        for (i, v) in group.virtual_addresses.iter().enumerate() {
            let (a, _) = parse_vip(v).map_err(|m| err(&format!("virtual_addresses[{i}]"), m))?;
            vips.push(a);
        }
        let family = vips
            .first()
            .map(Family::of)
            .ok_or_else(|| err("virtual_addresses", "no virtual address"))?;
        let spec = InstanceSpec {
            group: group.name.clone(),
            interface,
            vrid,
            version,
            family,
            priority,
            advert_interval,
            preempt: group.preempt,
            preempt_delay: Duration::from_secs(u64::from(group.preempt_delay_s)),
            auth,
            vips,
            unicast_peers: member.unicast_peers.clone(),
            unicast_source: member.unicast_source,
            tracks: group
                .track
                .iter()
                .filter_map(TrackSpec::from_model)
                .collect(),
            notify: group.notify.clone(),
            sync_group: group.sync_group.clone(),
            garp: group.garp.unwrap_or_default(),
        };
        // Everything the machine checks, checked now with a stand-in primary address of the right family.
        let probe = match family {
            Family::Ipv4 => IpAddr::from([192, 0, 2, 1]),
            Family::Ipv6 => IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
        };
        spec.machine_config(probe)
            .validate()
            .map_err(|e| err("group", e.to_string()))?;
        Ok(spec)
    }

    pub fn identity(&self) -> Identity {
        Identity {
            interface: self.interface.clone(),
            vrid: self.vrid,
            version: self.version,
            family: self.family,
            unicast_source: self.unicast_source,
        }
    }

    /// The state machine's configuration with `primary` as our address.
    pub fn machine_config(&self, primary: IpAddr) -> Config {
        Config {
            vrid: self.vrid,
            version: self.version,
            priority: self.priority,
            advert_interval: self.advert_interval,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            primary_address: primary,
            virtual_addresses: self.vips.clone(),
            auth: self.auth,
        }
    }

    /// Where advertisements go: the unicast peers, or the VRRP multicast group.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if self.unicast_peers.is_empty() {
            vec![self.family.vrrp_multicast()]
        } else {
            self.unicast_peers.clone()
        }
    }

    pub fn advert_interval_duration(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_interval) * 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(v: serde_json::Value) -> VrrpGroup {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_design_example_becomes_an_instance() {
        let g = group(serde_json::json!({
            "name": "vi-1", "vrid": 51, "version": 2, "advert_interval_ms": 1000,
            "preempt": true, "preempt_delay_s": 5,
            "auth": {"type": "pass", "password": "1111"},
            "virtual_addresses": ["192.168.10.180/32"], "interface": "eth0", "priority": 100,
            "members": [{"node": "lvs-01", "interface": "ens33", "priority": 100},
                        {"node": "lvs-02", "priority": 90, "unicast_peers": ["10.0.0.1"]}],
            "track": [{"virtual_server": "web", "weight": -20}, {"interface": "eth1", "weight": -30}],
            "sync_group": "pair"
        }));
        g.validate().unwrap();
        let s = InstanceSpec::new(&g, &g.member_for("lvs-01").unwrap()).unwrap();
        assert_eq!(s.interface, "ens33");
        assert_eq!(s.vrid, 51);
        assert_eq!(s.priority, 100);
        assert_eq!(s.advert_interval, 100);
        assert_eq!(s.preempt_delay, Duration::from_secs(5));
        assert_eq!(s.auth, Auth::simple("1111").unwrap());
        assert_eq!(s.vips, ["192.168.10.180".parse::<IpAddr>().unwrap()]);
        assert_eq!(s.family, Family::Ipv4);
        assert_eq!(s.tracks.len(), 2);
        assert_eq!(s.sync_group.as_deref(), Some("pair"));
        assert_eq!(s.garp, Garp::default());
        assert_eq!(s.destinations(), ["224.0.0.18".parse::<IpAddr>().unwrap()]);

        let b = InstanceSpec::new(&g, &g.member_for("lvs-02").unwrap()).unwrap();
        assert_eq!(b.interface, "eth0");
        assert_eq!(b.priority, 90);
        assert_eq!(b.destinations(), ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_ne!(s.identity(), b.identity());

        let mut g2 = g.clone();
        g2.virtual_addresses.push("192.168.10.181".into());
        let s2 = InstanceSpec::new(&g2, &g2.member_for("lvs-01").unwrap()).unwrap();
        assert_eq!(s.identity(), s2.identity(), "addresses do not identify");
    }

    #[test]
    fn v3_ipv6() {
        let g = group(serde_json::json!({
            "name": "v6", "vrid": 7, "version": 3, "advert_interval_ms": 100,
            "virtual_addresses": ["2001:db8::10"], "interface": "eth0"
        }));
        let s = InstanceSpec::new(&g, &g.member_for("any").unwrap()).unwrap();
        assert_eq!(s.family, Family::Ipv6);
        assert_eq!(s.advert_interval, 10);
        assert_eq!(s.destinations(), ["ff02::12".parse::<IpAddr>().unwrap()]);
        let c = s.machine_config("fe80::2".parse().unwrap());
        assert_eq!(c.validate(), Ok(()));
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "name": "web", "vrid": 51, "version": 2, "advert_interval_ms": 1000,
            "virtual_addresses": ["192.0.2.10/24"], "interface": "eth0", "priority": 100,
        })
    }

    /// The spec of `v` (a group) for a member `m` (its JSON; the group's defaults when `null`).
    fn spec(v: serde_json::Value, m: serde_json::Value) -> Result<InstanceSpec, SpecError> {
        let g = group(v);
        let member = if m.is_null() {
            g.member_for("lvs-01").unwrap()
        } else {
            serde_json::from_value(m).unwrap()
        };
        InstanceSpec::new(&g, &member)
    }

    fn with(changes: serde_json::Value) -> serde_json::Value {
        let mut v = base();
        for (k, x) in changes.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn a_group_that_cannot_run_is_refused_naming_the_field() {
        use serde_json::json;
        for (group, member, field, message) in [
            (
                with(json!({"interface": null})),
                json!(null),
                "interface",
                "no interface for this node",
            ),
            (
                with(json!({"vrid": 0})),
                json!(null),
                "vrid",
                "must be 1 to 255",
            ),
            (
                with(json!({"vrid": 256})),
                json!(null),
                "vrid",
                "must be 1 to 255",
            ),
            (
                with(json!({"version": 4})),
                json!(null),
                "version",
                "4 is not 2 or 3",
            ),
            (
                with(json!({"priority": 0})),
                json!(null),
                "priority",
                "must be 1 to 255",
            ),
            (
                base(),
                json!({"node": "lvs-01", "priority": 256}),
                "priority",
                "must be 1 to 255",
            ),
            (
                with(json!({"advert_interval_ms": 700_000})),
                json!(null),
                "advert_interval_ms",
                "too large",
            ),
            (
                with(json!({"auth": {"type": "pass", "password": "123456789"}})),
                json!(null),
                "auth.password",
                "",
            ),
            (
                with(json!({"virtual_addresses": ["192.0.2.10", "not-an-address"]})),
                json!(null),
                "virtual_addresses[1]",
                "",
            ),
            (
                with(json!({"virtual_addresses": []})),
                json!(null),
                "virtual_addresses",
                "no virtual address",
            ),
            // What the state machine checks is checked here too.
            (
                with(json!({"advert_interval_ms": 1500})),
                json!(null),
                "group",
                "advert_interval",
            ),
            (
                with(json!({"virtual_addresses": ["2001:db8::1"]})),
                json!(null),
                "group",
                "version: VRRPv2 only supports IPv4",
            ),
            (
                with(json!({"virtual_addresses": ["192.0.2.10", "2001:db8::1"], "version": 3})),
                json!(null),
                "group",
                "virtual_addresses: 2001:db8::1",
            ),
            (
                with(json!({"version": 3, "auth": {"type": "pass", "password": "x"}})),
                json!(null),
                "group",
                "auth: VRRPv3 has no authentication",
            ),
        ] {
            let what = format!("{group} {member}");
            let e = spec(group, member).expect_err(&what);
            assert_eq!(e.field, field, "{what}: {e}");
            assert!(e.message.contains(message), "{what}: {e}");
        }
    }

    #[test]
    fn defaults_and_what_the_member_overrides() {
        let s = spec(base(), serde_json::Value::Null).unwrap();
        assert_eq!(
            (
                s.interface.as_str(),
                s.priority,
                s.version,
                s.advert_interval
            ),
            ("eth0", 100, Version::V2, 100)
        );
        assert!(s.preempt, "preempt by default");
        assert_eq!(s.preempt_delay, Duration::ZERO);
        assert_eq!(s.auth, Auth::None);
        assert_eq!(s.garp, Garp::default());
        assert_eq!(s.notify, None);
        assert_eq!(s.advert_interval_duration(), Duration::from_secs(1));
        assert_eq!(s.destinations(), ["224.0.0.18".parse::<IpAddr>().unwrap()]);

        let m = serde_json::json!({
            "node": "lvs-01", "interface": "bond0", "priority": 200,
            "unicast_peers": ["192.0.2.2", "192.0.2.3"], "unicast_source": "192.0.2.1",
        });
        let g = with(serde_json::json!({
            "preempt": false, "garp": {"repeat": 2, "delay_s": 1, "refresh_s": 30},
            "track": [{"weight": 10}, {"script": ["/bin/check"], "weight": -5}],
            "notify": {"script": ["/bin/notify"]},
        }));
        let s = spec(g, m).unwrap();
        assert_eq!((s.interface.as_str(), s.priority), ("bond0", 200));
        assert!(!s.preempt);
        assert_eq!(
            s.destinations(),
            ["192.0.2.2", "192.0.2.3"].map(|a| a.parse::<IpAddr>().unwrap()),
            "unicast peers replace the multicast group"
        );
        assert_eq!(s.unicast_source, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            s.garp,
            Garp {
                repeat: 2,
                delay_s: 1,
                refresh_s: 30
            }
        );
        assert_eq!(s.tracks.len(), 1, "a track naming nothing is left out");
        assert_eq!(s.tracks[0].weight, -5);
        assert_eq!(
            s.notify.and_then(|n| n.script),
            Some(vec!["/bin/notify".to_string()])
        );
    }

    #[test]
    fn what_identifies_an_instance() {
        let id = |changes: serde_json::Value| {
            spec(with(changes), serde_json::Value::Null)
                .unwrap()
                .identity()
        };
        let same = id(serde_json::json!({}));
        for changes in [
            serde_json::json!({"priority": 50}),
            serde_json::json!({"advert_interval_ms": 2000}),
            serde_json::json!({"preempt": false}),
            serde_json::json!({"virtual_addresses": ["192.0.2.11"]}),
            serde_json::json!({"auth": {"type": "pass", "password": "x"}}),
        ] {
            assert_eq!(
                id(changes.clone()),
                same,
                "{changes}: the running instance takes it"
            );
        }
        for changes in [
            serde_json::json!({"interface": "eth1"}),
            serde_json::json!({"vrid": 52}),
            serde_json::json!({"version": 3}),
            serde_json::json!({"virtual_addresses": ["2001:db8::1"], "version": 3}),
        ] {
            assert_ne!(id(changes.clone()), same, "{changes}: a new instance");
        }
        let with_source = spec(
            base(),
            serde_json::json!({"node": "lvs-01", "unicast_source": "192.0.2.1"}),
        )
        .unwrap();
        assert_ne!(with_source.identity(), same, "unicast_source: a new socket");
    }
}

//! The kernel table this node should have.

use director_core::model::vrrp_group::parse_vip;
use director_core::model::{
    Family, Forwarding, Protocol, RealServerKey, SchedulerFlag, VirtualServer,
};
use director_core::DesiredState;
use director_kernel_table::{
    Destination, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncState,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A real server's health as the checker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
    /// Not checked yet.
    Unknown,
}

/// What the desired table depends on besides the declared state.
pub trait Inputs {
    /// The health of a real server (`Up` when it has no check).
    fn health(&self, virtual_server: &str, real_server: &RealServerKey) -> Health;
    /// A weight set by a script check with `dynamic_weight`.
    fn dynamic_weight(&self, virtual_server: &str, real_server: &RealServerKey) -> Option<u32>;
    /// Whether this node is master of the VRRP group; `None` when VRRP does not run on this node.
    fn is_master(&self, group: &str) -> Option<bool>;
    /// Whether the virtual server was below its quorum after the previous pass (for hysteresis).
    fn was_below_quorum(&self, virtual_server: &str) -> bool;
}

/// One service as it should be in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredService {
    /// The virtual server it comes from.
    pub owner: String,
    pub service: Service,
    /// Keyed by (address, port).
    pub destinations: BTreeMap<(IpAddr, u16), Destination>,
}

/// The whole table this node should have, its VIPs, and which virtual servers are below quorum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DesiredKernel {
    pub services: BTreeMap<ServiceKey, DesiredService>,
    /// The addresses to bind, by interface: those of virtual servers without a VRRP group on the VIP
    /// interface, and those of every VRRP group this node is master of on the group's interface here.
    pub vips: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Virtual servers with fewer up real servers than their quorum (hysteresis applied).
    pub below_quorum: BTreeSet<String>,
    /// The IPVS connection-synchronisation daemons to run: master while this node is master of a VRRP
    /// group with `connection_sync`, backup while it is backup of one; both when it masters some and backs
    /// up others.
    pub sync_daemons: BTreeMap<SyncState, SyncDaemon>,
}

/// This node, as its desired table depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host<'a> {
    /// The node's name (its member entry in VRRP groups).
    pub node: &'a str,
    /// Where the addresses of virtual servers without a VRRP group are bound (`--vip-interface`); `None`:
    /// nowhere.
    pub vip_interface: Option<&'a str>,
    /// Whether the node has an IPVS table. Without one no service is programmed, and only the addresses of
    /// VRRP groups are bound: a virtual server's address without its service would be answered by the host
    /// itself.
    pub ipvs: bool,
}

impl<'a> Host<'a> {
    /// A node with IPVS and no VIP interface.
    pub fn new(node: &'a str) -> Self {
        Host {
            node,
            vip_interface: None,
            ipvs: true,
        }
    }
}

/// Computes the kernel table of this node.
///
/// - A disabled virtual server, or one tied to a VRRP group this node is not master of (or not a member of),
///   is absent.
/// - A disabled real server is absent; a down one is absent, or kept with weight 0 when `inhibit_on_failure`;
///   an unknown one (never checked yet) is treated as down while the virtual server has `alpha`.
/// - Below quorum (with hysteresis), the sorry server is added.
/// - The address of a programmed virtual server without a VRRP group is bound on the VIP interface; the
///   addresses of a VRRP group only while VRRP runs here and this node is its master, on the group's
///   interface for this node.
/// - With IPVS and VRRP running here, a group with `connection_sync` asks for the master sync daemon while
///   this node is its master, for the backup one otherwise.
pub fn desired_kernel(state: &DesiredState, host: &Host<'_>, inputs: &dyn Inputs) -> DesiredKernel {
    let mut out = DesiredKernel::default();
    for (name, record) in &state.virtual_servers {
        let vs = &record.spec;
        let Some(key) = service_key(vs) else { continue };
        let (up, destinations) = destinations(name, vs, inputs);
        let below = below_quorum(vs, up, inputs.was_below_quorum(name));
        if below {
            out.below_quorum.insert(name.clone());
        }
        if !host.ipvs || !vs.enabled || !owned_here(state, vs, host.node, inputs) {
            continue;
        }
        let mut destinations = destinations;
        if let (true, Some(sorry)) = (below, &vs.sorry_server) {
            let port = u16::try_from(sorry.port).unwrap_or(0);
            let forwarding = kernel_forwarding(sorry.forwarding.unwrap_or(vs.forwarding));
            destinations
                .entry((sorry.address, port))
                .or_insert_with(|| Destination::new(sorry.address, port, forwarding, 1));
        }
        if let (None, Some(address), Some(interface)) =
            (&vs.vrrp_group, vs.address, host.vip_interface)
        {
            out.vips
                .entry(interface.to_string())
                .or_default()
                .insert(address);
        }
        out.services.insert(
            key.clone(),
            DesiredService {
                owner: name.clone(),
                service: kernel_service(vs, key),
                destinations,
            },
        );
    }
    for (interface, address) in vrrp_addresses(state, host.node, inputs) {
        out.vips.entry(interface).or_default().insert(address);
    }
    if host.ipvs {
        out.sync_daemons = sync_daemons(state, host.node, inputs);
    }
    out
}

/// The sync daemons the roles of this node's groups ask for. Groups sharing a node agree on their settings
/// there (`DesiredState::check_vrrp_group`); were they to differ, the first group by name decides.
fn sync_daemons(
    state: &DesiredState,
    node: &str,
    inputs: &dyn Inputs,
) -> BTreeMap<SyncState, SyncDaemon> {
    let mut out = BTreeMap::new();
    for (name, record) in &state.vrrp_groups {
        let Some(settings) = record.spec.sync_settings_for(node) else {
            continue;
        };
        let daemon_state = match inputs.is_master(name) {
            Some(true) => SyncState::Master,
            Some(false) => SyncState::Backup,
            None => continue,
        };
        out.entry(daemon_state).or_insert_with(|| SyncDaemon {
            state: daemon_state,
            interface: settings.interface,
            sync_id: settings.sync_id,
            max_packet_len: settings.max_packet_len.and_then(|l| u16::try_from(l).ok()),
            mcast_group: settings.mcast_group,
            mcast_port: settings.mcast_port.and_then(|p| u16::try_from(p).ok()),
            mcast_ttl: settings.mcast_ttl.and_then(|t| u8::try_from(t).ok()),
        });
    }
    out
}

/// The addresses of the VRRP groups this node is master of, each on the group's interface for this node.
/// None while VRRP does not run here: the addresses are VRRP's to hand out.
fn vrrp_addresses(state: &DesiredState, node: &str, inputs: &dyn Inputs) -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    for (name, record) in &state.vrrp_groups {
        if inputs.is_master(name) != Some(true) {
            continue;
        }
        let Some(interface) = record.spec.member_for(node).and_then(|m| m.interface) else {
            continue;
        };
        for v in &record.spec.virtual_addresses {
            if let Ok((address, _)) = parse_vip(v) {
                out.push((interface.clone(), address));
            }
        }
    }
    out
}

/// Whether this node should program the virtual server: always without a VRRP group; with one, only on the
/// master (and, while VRRP does not run here, on every member).
fn owned_here(state: &DesiredState, vs: &VirtualServer, node: &str, inputs: &dyn Inputs) -> bool {
    let Some(group) = &vs.vrrp_group else {
        return true;
    };
    let member = state
        .vrrp_groups
        .get(group)
        .is_some_and(|g| g.spec.member_for(node).is_some());
    member && inputs.is_master(group).unwrap_or(true)
}

/// The real servers that should be in the table, and how many of them are up.
fn destinations(
    name: &str,
    vs: &VirtualServer,
    inputs: &dyn Inputs,
) -> (usize, BTreeMap<(IpAddr, u16), Destination>) {
    let mut up = 0;
    let mut out = BTreeMap::new();
    for rs in &vs.real_servers {
        if !rs.enabled {
            continue;
        }
        let key = rs.key();
        let healthy = match inputs.health(name, &key) {
            Health::Up => true,
            Health::Down => false,
            Health::Unknown => !vs.alpha,
        };
        if healthy {
            up += 1;
        } else if !rs.inhibit_on_failure {
            continue;
        }
        let weight = if healthy {
            inputs.dynamic_weight(name, &key).unwrap_or(rs.weight)
        } else {
            0
        };
        let forwarding = kernel_forwarding(rs.forwarding.unwrap_or(vs.forwarding));
        let mut d = Destination::new(rs.address, key.port, forwarding, weight);
        d.upper_threshold = rs.upper_threshold;
        d.lower_threshold = rs.lower_threshold;
        out.insert((rs.address, key.port), d);
    }
    (up, out)
}

/// keepalived's quorum with hysteresis: lost below `quorum - hysteresis`, regained at `quorum + hysteresis`.
fn below_quorum(vs: &VirtualServer, up: usize, was_below: bool) -> bool {
    let up = up as u64;
    let (quorum, hysteresis) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
    if was_below {
        up < quorum + hysteresis
    } else {
        up < quorum.saturating_sub(hysteresis)
    }
}

/// The kernel identity of a virtual server.
pub fn service_key(vs: &VirtualServer) -> Option<ServiceKey> {
    if let Some(mark) = vs.fwmark {
        return Some(ServiceKey::Fwmark {
            mark,
            family: kernel_family(vs.effective_family()),
        });
    }
    let protocol = match vs.protocol? {
        Protocol::Tcp => director_kernel_table::Protocol::Tcp,
        Protocol::Udp => director_kernel_table::Protocol::Udp,
        Protocol::Sctp => director_kernel_table::Protocol::Sctp,
    };
    Some(ServiceKey::Address {
        protocol,
        address: vs.address?,
        port: u16::try_from(vs.port?).ok()?,
    })
}

fn kernel_family(f: Family) -> director_kernel_table::Family {
    match f {
        Family::Inet => director_kernel_table::Family::Inet,
        Family::Inet6 => director_kernel_table::Family::Inet6,
    }
}

fn kernel_forwarding(f: Forwarding) -> director_kernel_table::Forwarding {
    match f {
        Forwarding::Nat => director_kernel_table::Forwarding::Masq,
        Forwarding::Dr => director_kernel_table::Forwarding::Route,
        Forwarding::Tunnel => director_kernel_table::Forwarding::Tunnel,
    }
}

fn kernel_service(vs: &VirtualServer, key: ServiceKey) -> Service {
    let family = vs.effective_family();
    let mut s = Service::new(key, vs.scheduler.as_str());
    let bit = |n: u8| {
        vs.scheduler_flags
            .iter()
            .any(|f: &SchedulerFlag| f.bit() == n)
    };
    s.flags = ServiceFlags {
        persistent: vs.persistence.is_some(),
        one_packet: vs.one_packet,
        sched_flag_1: bit(1),
        sched_flag_2: bit(2),
        sched_flag_3: bit(3),
    };
    if let Some(p) = &vs.persistence {
        s.timeout = p.timeout_s;
        s.netmask = p.kernel_netmask(family);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[derive(Default)]
    struct World {
        health: BTreeMap<String, Health>,
        weights: BTreeMap<String, u32>,
        masters: BTreeMap<String, bool>,
        below: BTreeSet<String>,
        vrrp_running: bool,
    }

    impl Inputs for World {
        fn health(&self, vs: &str, rs: &RealServerKey) -> Health {
            self.health
                .get(&format!("{vs}/{rs}"))
                .copied()
                .unwrap_or(Health::Up)
        }
        fn dynamic_weight(&self, vs: &str, rs: &RealServerKey) -> Option<u32> {
            self.weights.get(&format!("{vs}/{rs}")).copied()
        }
        fn is_master(&self, group: &str) -> Option<bool> {
            self.vrrp_running
                .then(|| self.masters.get(group).copied().unwrap_or(false))
        }
        fn was_below_quorum(&self, vs: &str) -> bool {
            self.below.contains(vs)
        }
    }

    fn state(vss: &[serde_json::Value]) -> DesiredState {
        let mut s = DesiredState::default();
        for v in vss {
            let mut vs: VirtualServer = serde_json::from_value(v.clone()).unwrap();
            vs.normalize();
            vs.validate().unwrap();
            let rec = VirtualServerRecord {
                spec: vs,
                revision: 1,
                real_server_revisions: BTreeMap::new(),
            };
            s.virtual_servers
                .insert(rec.spec.name.clone(), Arc::new(rec));
        }
        s
    }

    fn web(extra: serde_json::Value) -> serde_json::Value {
        let mut v = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "scheduler": "wrr",
            "real_servers": [{"address": "10.0.1.1", "port": 80, "weight": 3}, {"address": "10.0.1.2", "port": 80, "weight": 1}]});
        if let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (&mut v, extra) {
            a.extend(b);
        }
        v
    }

    /// (interface, address) of every VIP.
    fn vips(k: &DesiredKernel) -> Vec<(String, String)> {
        k.vips
            .iter()
            .flat_map(|(i, a)| a.iter().map(move |a| (i.clone(), a.to_string())))
            .collect()
    }

    fn weights(k: &DesiredKernel) -> Vec<(String, u32)> {
        k.services
            .values()
            .flat_map(|s| {
                s.destinations
                    .values()
                    .map(|d| (d.socket_addr().to_string(), d.weight))
            })
            .collect()
    }

    #[test]
    fn maps_the_model_onto_the_kernel() {
        let s = state(&[web(
            json!({"persistence": {"timeout_s": 300, "netmask": "255.255.255.0"}, "forwarding": "nat",
            "scheduler": "sh", "scheduler_flags": ["sh-port"]}),
        )]);
        let host = Host {
            vip_interface: Some("eth0"),
            ..Host::new("n1")
        };
        let k = desired_kernel(&s, &host, &World::default());
        let svc = &k.services.values().next().unwrap().service;
        assert_eq!(svc.scheduler, "sh");
        assert!(svc.flags.persistent && svc.flags.sched_flag_2 && !svc.flags.sched_flag_1);
        assert_eq!((svc.timeout, svc.netmask), (300, 0xffff_ff00));
        let d = k
            .services
            .values()
            .next()
            .unwrap()
            .destinations
            .values()
            .next()
            .unwrap();
        assert_eq!(d.forwarding, director_kernel_table::Forwarding::Masq);
        assert_eq!(
            weights(&k),
            [
                ("10.0.1.1:80".to_string(), 3),
                ("10.0.1.2:80".to_string(), 1)
            ]
        );
        assert_eq!(vips(&k), [("eth0".to_string(), "10.0.0.1".to_string())]);
        let k = desired_kernel(&s, &Host::new("n1"), &World::default());
        assert!(k.vips.is_empty(), "no VIP interface: no VIP");
    }

    #[test]
    fn disabled_things_are_absent() {
        let s = state(&[web(json!({"enabled": false}))]);
        assert!(desired_kernel(&s, &Host::new("n1"), &World::default())
            .services
            .is_empty());
        let s = state(&[web(
            json!({"real_servers": [{"address": "10.0.1.1", "port": 80, "enabled": false}, {"address": "10.0.1.2", "port": 80}]}),
        )]);
        assert_eq!(
            weights(&desired_kernel(&s, &Host::new("n1"), &World::default())),
            [("10.0.1.2:80".to_string(), 1)]
        );
    }

    #[test]
    fn down_servers_leave_or_are_inhibited() {
        let s = state(&[web(
            json!({"real_servers": [{"address": "10.0.1.1", "port": 80, "weight": 3},
            {"address": "10.0.1.2", "port": 80, "weight": 2, "inhibit_on_failure": true}, {"address": "10.0.1.3", "port": 80}]}),
        )]);
        let mut w = World::default();
        w.health.insert("web/10.0.1.1:80".into(), Health::Down);
        w.health.insert("web/10.0.1.2:80".into(), Health::Down);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert_eq!(
            weights(&k),
            [
                ("10.0.1.2:80".to_string(), 0),
                ("10.0.1.3:80".to_string(), 1)
            ]
        );
    }

    #[test]
    fn unknown_servers_get_no_traffic_with_alpha() {
        let s = state(&[web(json!({}))]);
        let mut w = World::default();
        w.health.insert("web/10.0.1.1:80".into(), Health::Unknown);
        assert_eq!(
            weights(&desired_kernel(&s, &Host::new("n1"), &w)),
            [("10.0.1.2:80".to_string(), 1)]
        );
        let s = state(&[web(json!({"alpha": false}))]);
        assert_eq!(weights(&desired_kernel(&s, &Host::new("n1"), &w)).len(), 2);
    }

    #[test]
    fn dynamic_weights_apply_to_up_servers() {
        let s = state(&[web(json!({}))]);
        let mut w = World::default();
        w.weights.insert("web/10.0.1.1:80".into(), 17);
        assert_eq!(weights(&desired_kernel(&s, &Host::new("n1"), &w))[0].1, 17);
    }

    #[test]
    fn quorum_sorry_server_and_hysteresis() {
        let s = state(&[web(
            json!({"quorum": 2, "hysteresis": 1, "sorry_server": {"address": "10.0.9.9", "port": 80},
            "real_servers": [{"address": "10.0.1.1", "port": 80}, {"address": "10.0.1.2", "port": 80}, {"address": "10.0.1.3", "port": 80}]}),
        )]);
        let mut w = World::default();
        // 2 of 3 up: not below (2 >= 2 - 1).
        w.health.insert("web/10.0.1.1:80".into(), Health::Down);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert!(k.below_quorum.is_empty());
        // 0 up: below, the sorry server is in.
        w.health.insert("web/10.0.1.2:80".into(), Health::Down);
        w.health.insert("web/10.0.1.3:80".into(), Health::Down);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert!(k.below_quorum.contains("web"));
        assert_eq!(weights(&k), [("10.0.9.9:80".to_string(), 1)]);
        // 2 up after being below: still below until quorum + hysteresis = 3.
        w.below.insert("web".into());
        w.health.insert("web/10.0.1.2:80".into(), Health::Up);
        w.health.insert("web/10.0.1.3:80".into(), Health::Up);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert!(k.below_quorum.contains("web"));
        assert!(weights(&k).iter().any(|(a, _)| a == "10.0.9.9:80"));
        // All 3 up: regained, the sorry server goes.
        w.health.insert("web/10.0.1.1:80".into(), Health::Up);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert!(k.below_quorum.is_empty());
        assert!(!weights(&k).iter().any(|(a, _)| a == "10.0.9.9:80"));
    }

    #[test]
    fn vrrp_groups_decide_where_a_service_runs() {
        let mut s = state(&[web(json!({"vrrp_group": "vi-1"}))]);
        let g: director_core::model::VrrpGroup = serde_json::from_value(json!({"name": "vi-1", "vrid": 51,
            "virtual_addresses": ["10.0.0.1"], "interface": "eth0", "members": [{"node": "n1"}, {"node": "n2"}]})).unwrap();
        s.vrrp_groups.insert(
            "vi-1".into(),
            Arc::new(VrrpGroupRecord {
                spec: g,
                revision: 1,
            }),
        );
        // VRRP not running: every member programs it; a non-member never does.
        assert_eq!(
            desired_kernel(&s, &Host::new("n1"), &World::default())
                .services
                .len(),
            1
        );
        assert_eq!(
            desired_kernel(&s, &Host::new("n3"), &World::default())
                .services
                .len(),
            0
        );
        let mut w = World {
            vrrp_running: true,
            ..Default::default()
        };
        assert_eq!(
            desired_kernel(&s, &Host::new("n1"), &w).services.len(),
            0,
            "backup"
        );
        w.masters.insert("vi-1".into(), true);
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert_eq!(k.services.len(), 1, "master");
        assert_eq!(
            vips(&k),
            [("eth0".to_string(), "10.0.0.1".to_string())],
            "the master binds the group's addresses"
        );
    }

    fn group(v: serde_json::Value) -> Arc<VrrpGroupRecord> {
        let mut g: director_core::model::VrrpGroup = serde_json::from_value(v).unwrap();
        g.normalize();
        g.validate().unwrap();
        Arc::new(VrrpGroupRecord {
            spec: g,
            revision: 1,
        })
    }

    #[test]
    fn a_groups_addresses_are_bound_only_on_its_master_on_the_members_interface() {
        let mut s = state(&[web(json!({"vrrp_group": "vi-1"}))]);
        s.vrrp_groups.insert(
            "vi-1".into(),
            group(json!({"name": "vi-1", "vrid": 51, "interface": "eth0",
                "virtual_addresses": ["10.0.0.1", "10.0.0.2/24"],
                "members": [{"node": "n1", "interface": "bond0"}, {"node": "n2"}]})),
        );
        s.vrrp_groups.insert(
            "vi-6".into(),
            group(
                json!({"name": "vi-6", "vrid": 52, "version": 3, "interface": "eth1",
                "virtual_addresses": ["2001:db8::1"]}),
            ),
        );
        let host = Host {
            vip_interface: Some("eth0"),
            ..Host::new("n1")
        };
        // VRRP off: the addresses are nobody's to bind; the service runs on every member.
        let k = desired_kernel(&s, &host, &World::default());
        assert!(k.vips.is_empty(), "{:?}", k.vips);
        // Backup of both: nothing.
        let mut w = World {
            vrrp_running: true,
            ..Default::default()
        };
        assert!(desired_kernel(&s, &host, &w).vips.is_empty());
        // Master of both: each group's addresses (host addresses, whatever the prefix) on this node's
        // interface of it: the member's own (bond0), else the group's (eth1; a group without members has
        // every node as a member).
        w.masters.insert("vi-1".into(), true);
        w.masters.insert("vi-6".into(), true);
        let k = desired_kernel(&s, &host, &w);
        assert_eq!(
            vips(&k),
            [
                ("bond0".to_string(), "10.0.0.1".to_string()),
                ("bond0".to_string(), "10.0.0.2".to_string()),
                ("eth1".to_string(), "2001:db8::1".to_string()),
            ]
        );
        // n2 uses the group's interface; n3 is not a member of vi-1.
        let k = desired_kernel(&s, &Host { node: "n2", ..host }, &w);
        assert_eq!(k.vips.get("eth0").map(|a| a.len()), Some(2), "{:?}", k.vips);
        let k = desired_kernel(&s, &Host { node: "n3", ..host }, &w);
        assert_eq!(vips(&k), [("eth1".to_string(), "2001:db8::1".to_string())]);
    }

    #[test]
    fn without_ipvs_only_the_addresses_of_vrrp_groups_are_bound() {
        let mut s = state(&[
            web(json!({"vrrp_group": "vi-1", "quorum": 3})),
            json!({"name": "plain", "protocol": "tcp", "address": "10.0.0.9", "port": 80}),
        ]);
        s.vrrp_groups.insert(
            "vi-1".into(),
            group(json!({"name": "vi-1", "vrid": 51, "interface": "eth0",
                "virtual_addresses": ["10.0.0.1"]})),
        );
        let w = World {
            vrrp_running: true,
            masters: BTreeMap::from([("vi-1".to_string(), true)]),
            ..Default::default()
        };
        let host = Host {
            node: "n1",
            vip_interface: Some("eth0"),
            ipvs: false,
        };
        let k = desired_kernel(&s, &host, &w);
        assert!(k.services.is_empty(), "no IPVS: no service");
        assert_eq!(
            vips(&k),
            [("eth0".to_string(), "10.0.0.1".to_string())],
            "the group's address, not the plain virtual server's"
        );
        assert!(k.below_quorum.contains("web"), "quorum is still judged");
    }

    /// (state, interface, sync id) of every desired sync daemon.
    fn daemons(k: &DesiredKernel) -> Vec<(SyncState, String, u32)> {
        k.sync_daemons
            .values()
            .map(|d| (d.state, d.interface.clone(), d.sync_id))
            .collect()
    }

    #[test]
    fn roles_choose_the_sync_daemons() {
        let mut s = state(&[]);
        s.vrrp_groups.insert(
            "vi-1".into(),
            group(json!({"name": "vi-1", "vrid": 51, "interface": "eth0",
                "virtual_addresses": ["10.0.0.1"],
                "members": [{"node": "n1", "sync_interface": "bond1"}, {"node": "n2"}],
                "connection_sync": {"interface": "eth1", "sync_id": 7, "mcast_port": 9000}})),
        );
        s.vrrp_groups.insert(
            "vi-2".into(),
            group(json!({"name": "vi-2", "vrid": 52, "interface": "eth0",
                "virtual_addresses": ["10.0.0.2"],
                "members": [{"node": "n1", "sync_interface": "bond1"}, {"node": "n2"}],
                "connection_sync": {"interface": "eth1", "sync_id": 7, "mcast_port": 9000}})),
        );
        s.vrrp_groups.insert(
            "vi-3".into(),
            group(json!({"name": "vi-3", "vrid": 53, "interface": "eth0",
                "virtual_addresses": ["10.0.0.3"]})),
        );
        let n1 = Host::new("n1");
        // VRRP not running: no roles, no daemon.
        assert!(desired_kernel(&s, &n1, &World::default())
            .sync_daemons
            .is_empty());
        // Backup of both: the backup daemon, on this member's sync interface.
        let mut w = World {
            vrrp_running: true,
            ..Default::default()
        };
        let k = desired_kernel(&s, &n1, &w);
        assert_eq!(daemons(&k), [(SyncState::Backup, "bond1".into(), 7)]);
        assert_eq!(k.sync_daemons[&SyncState::Backup].mcast_port, Some(9000));
        // Master of one, backup of the other: both.
        w.masters.insert("vi-1".into(), true);
        assert_eq!(
            daemons(&desired_kernel(&s, &n1, &w)),
            [
                (SyncState::Master, "bond1".into(), 7),
                (SyncState::Backup, "bond1".into(), 7)
            ]
        );
        // Master of both: the master daemon alone. A group without connection_sync asks for nothing.
        w.masters.insert("vi-2".into(), true);
        w.masters.insert("vi-3".into(), true);
        assert_eq!(
            daemons(&desired_kernel(&s, &n1, &w)),
            [(SyncState::Master, "bond1".into(), 7)]
        );
        // n2 uses the group's interface; a node of neither group runs none; no IPVS, no daemon.
        assert_eq!(
            daemons(&desired_kernel(&s, &Host::new("n2"), &w)),
            [(SyncState::Master, "eth1".into(), 7)]
        );
        assert!(desired_kernel(&s, &Host::new("n9"), &w)
            .sync_daemons
            .is_empty());
        let no_ipvs = Host {
            ipvs: false,
            ..Host::new("n1")
        };
        assert!(desired_kernel(&s, &no_ipvs, &w).sync_daemons.is_empty());
    }

    #[test]
    fn the_sync_id_defaults_to_the_vrid() {
        let mut s = state(&[]);
        s.vrrp_groups.insert(
            "vi-1".into(),
            group(json!({"name": "vi-1", "vrid": 51, "interface": "eth0",
                "virtual_addresses": ["10.0.0.1"], "connection_sync": {"interface": "eth0"}})),
        );
        let w = World {
            vrrp_running: true,
            ..Default::default()
        };
        let k = desired_kernel(&s, &Host::new("n1"), &w);
        assert_eq!(
            k.sync_daemons.values().cloned().collect::<Vec<_>>(),
            [SyncDaemon::new(SyncState::Backup, "eth0", 51)]
        );
    }

    #[test]
    fn ipv6_and_fwmark_keys() {
        let s = state(&[
            json!({"name": "v6", "protocol": "udp", "address": "2001:db8::1", "port": 53, "persistence": {"timeout_s": 60, "netmask": "64"}}),
            json!({"name": "m", "fwmark": 9, "family": "inet6"}),
        ]);
        let k = desired_kernel(&s, &Host::new("n1"), &World::default());
        let keys: Vec<String> = k.services.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["udp [2001:db8::1]:53", "fwmark 9 inet6"]);
        let v6 = k.services.values().find(|s| s.owner == "v6").unwrap();
        assert_eq!(v6.service.netmask, 64);
    }
}

//! The minimal operations from the observed table to the desired one.

use crate::desired::DesiredKernel;
use director_kernel_table::{Destination, Service, ServiceKey, SyncDaemon, SyncState, Table};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// One kernel operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    NewService {
        service: Service,
    },
    SetService {
        service: Service,
    },
    DelService {
        key: ServiceKey,
    },
    NewDest {
        service: ServiceKey,
        destination: Destination,
    },
    SetDest {
        service: ServiceKey,
        destination: Destination,
    },
    DelDest {
        service: ServiceKey,
        address: IpAddr,
        port: u16,
    },
    AddVip {
        interface: String,
        address: IpAddr,
    },
    DelVip {
        interface: String,
        address: IpAddr,
    },
    /// Starts an IPVS connection-synchronisation daemon (`IPVS_CMD_NEW_DAEMON`).
    StartSyncDaemon {
        daemon: SyncDaemon,
    },
    /// Stops the sync daemon of that state (`IPVS_CMD_DEL_DAEMON`).
    StopSyncDaemon {
        state: SyncState,
    },
}

impl Op {
    /// The kernel command name, as the operation counters report it.
    /// Every value [`Op::kind`] gives.
    pub const KINDS: [&'static str; 10] = [
        "new_service",
        "set_service",
        "del_service",
        "new_dest",
        "set_dest",
        "del_dest",
        "add_vip",
        "del_vip",
        "start_sync_daemon",
        "stop_sync_daemon",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Op::NewService { .. } => "new_service",
            Op::SetService { .. } => "set_service",
            Op::DelService { .. } => "del_service",
            Op::NewDest { .. } => "new_dest",
            Op::SetDest { .. } => "set_dest",
            Op::DelDest { .. } => "del_dest",
            Op::AddVip { .. } => "add_vip",
            Op::DelVip { .. } => "del_vip",
            Op::StartSyncDaemon { .. } => "start_sync_daemon",
            Op::StopSyncDaemon { .. } => "stop_sync_daemon",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::NewService { service } => {
                write!(f, "NEW_SERVICE {} {}", service.key, service.scheduler)
            }
            Op::SetService { service } => {
                write!(f, "SET_SERVICE {} {}", service.key, service.scheduler)
            }
            Op::DelService { key } => write!(f, "DEL_SERVICE {key}"),
            Op::NewDest {
                service,
                destination: d,
            } => {
                write!(
                    f,
                    "NEW_DEST {} on {service} weight {}",
                    d.socket_addr(),
                    d.weight
                )
            }
            Op::SetDest {
                service,
                destination: d,
            } => {
                write!(
                    f,
                    "SET_DEST {} on {service} weight {}",
                    d.socket_addr(),
                    d.weight
                )
            }
            Op::DelDest {
                service,
                address,
                port,
            } => {
                write!(
                    f,
                    "DEL_DEST {} on {service}",
                    std::net::SocketAddr::new(*address, *port)
                )
            }
            Op::AddVip { interface, address } => write!(f, "ADD_VIP {address} on {interface}"),
            Op::DelVip { interface, address } => write!(f, "DEL_VIP {address} on {interface}"),
            Op::StartSyncDaemon { daemon } => write!(f, "NEW_DAEMON {daemon}"),
            Op::StopSyncDaemon { state } => write!(f, "DEL_DAEMON {}", state.name()),
        }
    }
}

/// What the planner needs besides the two tables.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// Services director created (or adopted) earlier: only these may be deleted.
    pub owned: BTreeSet<ServiceKey>,
    /// Remove services that director does not own and does not want (off by default).
    pub remove_unmanaged: bool,
    /// The addresses director bound earlier, by interface, as observed: every interface where it holds
    /// one, so that an address no longer wanted anywhere (a group this node no longer masters, deleted, or
    /// moved to another interface; a VIP interface changed) is removed wherever it is.
    pub bound_vips: BTreeMap<String, BTreeSet<IpAddr>>,
    /// The sync daemons director started (or adopted) earlier: only these are stopped when no longer
    /// wanted (unless `remove_unmanaged`).
    pub owned_sync_daemons: BTreeSet<SyncState>,
}

/// The operations, and what the planner noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub ops: Vec<Op>,
    /// Kernel services that are desired but were not created by director: taken over without disruption.
    pub adopted: Vec<ServiceKey>,
    /// Kernel services director neither owns nor wants: left alone (unless `remove_unmanaged`).
    pub unmanaged: Vec<ServiceKey>,
    /// Sync daemons director neither started nor wants (`ipvsadm --start-daemon` by hand): left alone
    /// (unless `remove_unmanaged`).
    pub unmanaged_sync_daemons: Vec<SyncState>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// How many operations of each kind.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for op in &self.ops {
            *m.entry(op.kind()).or_default() += 1;
        }
        m
    }
}

/// Diffs `desired` against `observed`. Deletions come first, then creations and changes, so that a plan
/// never asks the kernel for two conflicting things at once.
///
/// Addresses go first of all and come last: a node giving up a group releases its VIPs before it deletes
/// their services, and a new master programs the services before it binds the VIPs. A VIP bound without
/// its service is answered by the node's own TCP stack, which resets every connection whose packet arrives
/// then (in the kernel VM a planned failover reset a fifth of the connections that way).
pub fn plan(desired: &DesiredKernel, observed: &Table, ctx: &PlanContext) -> Plan {
    let mut out = Plan::default();
    let none = BTreeSet::new();
    for (interface, bound) in &ctx.bound_vips {
        let wanted = desired.vips.get(interface).unwrap_or(&none);
        for vip in bound.difference(wanted) {
            out.ops.push(Op::DelVip {
                interface: interface.clone(),
                address: *vip,
            });
        }
    }
    let observed_daemons = observed;
    let observed: BTreeMap<&ServiceKey, _> = observed
        .services
        .iter()
        .map(|e| (&e.service.key, e))
        .collect();

    // Services that should not be there.
    for (key, entry) in &observed {
        if desired.services.contains_key(*key) {
            continue;
        }
        if ctx.owned.contains(*key) || ctx.remove_unmanaged {
            out.ops.push(Op::DelService {
                key: entry.service.key.clone(),
            });
        } else {
            out.unmanaged.push((*key).clone());
        }
    }
    // Sync daemons that should not run, or run otherwise than wanted (a changed setting is a stop and a
    // start: the kernel changes no running daemon).
    let mut start = Vec::new();
    for state in SyncState::ALL {
        let want = desired.sync_daemons.get(&state);
        match (want, observed_daemons.sync_daemon(state)) {
            (Some(w), Some(o)) if w.satisfied_by(o) => {}
            (Some(w), Some(_)) => {
                out.ops.push(Op::StopSyncDaemon { state });
                start.push(w.clone());
            }
            (Some(w), None) => start.push(w.clone()),
            (None, Some(_)) if ctx.owned_sync_daemons.contains(&state) || ctx.remove_unmanaged => {
                out.ops.push(Op::StopSyncDaemon { state });
            }
            (None, Some(_)) => out.unmanaged_sync_daemons.push(state),
            (None, None) => {}
        }
    }
    for (key, want) in &desired.services {
        let Some(have) = observed.get(key) else {
            out.ops.push(Op::NewService {
                service: want.service.clone(),
            });
            for d in want.destinations.values() {
                out.ops.push(Op::NewDest {
                    service: key.clone(),
                    destination: d.clone(),
                });
            }
            continue;
        };
        if !ctx.owned.contains(key) {
            out.adopted.push(key.clone());
        }
        if have.service != want.service {
            out.ops.push(Op::SetService {
                service: want.service.clone(),
            });
        }
        let have_dests: BTreeMap<(IpAddr, u16), &Destination> = have
            .destinations
            .iter()
            .map(|d| ((d.destination.address, d.destination.port), &d.destination))
            .collect();
        for (addr, d) in &have_dests {
            if !want.destinations.contains_key(addr) {
                out.ops.push(Op::DelDest {
                    service: key.clone(),
                    address: d.address,
                    port: d.port,
                });
            }
        }
        for (addr, d) in &want.destinations {
            match have_dests.get(addr) {
                None => out.ops.push(Op::NewDest {
                    service: key.clone(),
                    destination: d.clone(),
                }),
                Some(h) if *h != d => out.ops.push(Op::SetDest {
                    service: key.clone(),
                    destination: d.clone(),
                }),
                Some(_) => {}
            }
        }
    }
    for (interface, wanted) in &desired.vips {
        let bound = ctx.bound_vips.get(interface).unwrap_or(&none);
        for vip in wanted.difference(bound) {
            out.ops.push(Op::AddVip {
                interface: interface.clone(),
                address: *vip,
            });
        }
    }
    out.ops.extend(
        start
            .into_iter()
            .map(|daemon| Op::StartSyncDaemon { daemon }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::DesiredService;
    use crate::simulate::apply_all;
    use director_kernel_table::{Forwarding, Protocol, ServiceFlags};
    use proptest::prelude::*;

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Address {
            protocol: Protocol::Tcp,
            address: "10.0.0.1".parse().unwrap(),
            port,
        }
    }

    fn dest(last: u8, weight: u32) -> Destination {
        Destination::new(
            IpAddr::from([10, 0, 1, last]),
            80,
            Forwarding::Route,
            weight,
        )
    }

    /// (port, scheduler, [(last octet of a destination, weight)])
    type ServiceSpec<'a> = (u16, &'a str, &'a [(u8, u32)]);

    fn desired(services: &[ServiceSpec]) -> DesiredKernel {
        let mut k = DesiredKernel::default();
        for (port, sched, dests) in services {
            let destinations = dests
                .iter()
                .map(|(l, w)| ((IpAddr::from([10, 0, 1, *l]), 80), dest(*l, *w)))
                .collect();
            k.services.insert(
                key(*port),
                DesiredService {
                    owner: format!("vs{port}"),
                    service: Service::new(key(*port), *sched),
                    destinations,
                },
            );
        }
        k
    }

    #[test]
    fn kinds_lists_every_operation_once_as_kind_names_it() {
        let service = Service::new(key(80), "wrr");
        let vip: IpAddr = "10.0.0.1".parse().unwrap();
        let every = [
            Op::NewService {
                service: service.clone(),
            },
            Op::SetService { service },
            Op::DelService { key: key(80) },
            Op::NewDest {
                service: key(80),
                destination: dest(1, 1),
            },
            Op::SetDest {
                service: key(80),
                destination: dest(1, 2),
            },
            Op::DelDest {
                service: key(80),
                address: vip,
                port: 80,
            },
            Op::AddVip {
                interface: "eth0".into(),
                address: vip,
            },
            Op::DelVip {
                interface: "eth0".into(),
                address: vip,
            },
            Op::StartSyncDaemon {
                daemon: SyncDaemon::new(SyncState::Master, "eth0", 1),
            },
            Op::StopSyncDaemon {
                state: SyncState::Master,
            },
        ];
        let kinds: Vec<&str> = every.iter().map(Op::kind).collect();
        assert_eq!(kinds, Op::KINDS);
        for op in &every {
            let tagged = serde_json::to_value(op).unwrap();
            assert_eq!(tagged["op"], op.kind(), "the JSON tag is the kind");
        }
    }

    fn owned(k: &DesiredKernel) -> PlanContext {
        PlanContext {
            owned: k.services.keys().cloned().collect(),
            ..Default::default()
        }
    }

    fn programmed(k: &DesiredKernel) -> Table {
        let p = plan(k, &Table::default(), &PlanContext::default());
        let mut t = Table::default();
        apply_all(&mut t, &p.ops).expect("a plan from an empty table applies");
        t
    }

    #[test]
    fn a_weight_change_is_one_set_dest() {
        let before = desired(&[(80, "wrr", &[(1, 1), (2, 1)])]);
        let table = programmed(&before);
        let after = desired(&[(80, "wrr", &[(1, 5), (2, 1)])]);
        let p = plan(&after, &table, &owned(&before));
        assert_eq!(
            p.ops,
            [Op::SetDest {
                service: key(80),
                destination: dest(1, 5)
            }]
        );
    }

    #[test]
    fn a_scheduler_change_is_one_set_service() {
        let before = desired(&[(80, "wrr", &[(1, 1)])]);
        let table = programmed(&before);
        let after = desired(&[(80, "rr", &[(1, 1)])]);
        let p = plan(&after, &table, &owned(&before));
        assert_eq!(p.counts(), BTreeMap::from([("set_service", 1)]));
    }

    #[test]
    fn a_removal_is_one_del_dest() {
        let before = desired(&[(80, "wrr", &[(1, 1), (2, 1)])]);
        let table = programmed(&before);
        let after = desired(&[(80, "wrr", &[(1, 1)])]);
        let p = plan(&after, &table, &owned(&before));
        assert_eq!(
            p.ops,
            [Op::DelDest {
                service: key(80),
                address: IpAddr::from([10, 0, 1, 2]),
                port: 80
            }]
        );
    }

    #[test]
    fn unmanaged_services_are_left_alone_unless_asked() {
        let mine = desired(&[(80, "wrr", &[(1, 1)])]);
        let theirs = desired(&[(8080, "rr", &[(9, 1)])]);
        let table = programmed(&theirs);
        let p = plan(&mine, &table, &owned(&mine));
        assert_eq!(p.unmanaged, [key(8080)]);
        assert!(!p.ops.iter().any(|o| matches!(o, Op::DelService { .. })));
        let ctx = PlanContext {
            remove_unmanaged: true,
            ..owned(&mine)
        };
        let p = plan(&mine, &table, &ctx);
        assert!(p.ops.contains(&Op::DelService { key: key(8080) }));
    }

    #[test]
    fn matching_kernel_entries_are_adopted_without_changes() {
        let k = desired(&[(80, "wrr", &[(1, 1), (2, 3)])]);
        let table = programmed(&k);
        let p = plan(&k, &table, &PlanContext::default());
        assert!(p.ops.is_empty());
        assert_eq!(p.adopted, [key(80)]);
    }

    #[test]
    fn owned_services_no_longer_desired_are_deleted() {
        let k = desired(&[(80, "wrr", &[(1, 1)]), (81, "wrr", &[])]);
        let table = programmed(&k);
        let p = plan(&desired(&[(80, "wrr", &[(1, 1)])]), &table, &owned(&k));
        assert_eq!(p.ops, [Op::DelService { key: key(81) }]);
    }

    /// `[(interface, [last octet of 10.0.0.x])]`
    fn vips(spec: &[(&str, &[u8])]) -> BTreeMap<String, BTreeSet<IpAddr>> {
        spec.iter()
            .map(|(i, a)| {
                (
                    i.to_string(),
                    a.iter().map(|l| IpAddr::from([10, 0, 0, *l])).collect(),
                )
            })
            .collect()
    }

    fn vip_op(add: bool, interface: &str, last: u8) -> Op {
        let (interface, address) = (interface.to_string(), IpAddr::from([10, 0, 0, last]));
        if add {
            Op::AddVip { interface, address }
        } else {
            Op::DelVip { interface, address }
        }
    }

    #[test]
    fn vips_are_added_and_removed_per_interface() {
        let mut k = desired(&[]);
        k.vips = vips(&[("eth0", &[1, 3]), ("eth1", &[4])]);
        let ctx = PlanContext {
            // 3 stays; 2 goes from eth0; 5 from eth2, where nothing is wanted (a group deleted or moved);
            // 4 moved from eth2 to eth1.
            bound_vips: vips(&[("eth0", &[2, 3]), ("eth2", &[4, 5])]),
            ..Default::default()
        };
        let p = plan(&k, &Table::default(), &ctx);
        assert_eq!(
            p.ops,
            [
                vip_op(false, "eth0", 2),
                vip_op(false, "eth2", 4),
                vip_op(false, "eth2", 5),
                vip_op(true, "eth0", 1),
                vip_op(true, "eth1", 4),
            ]
        );
        let p = plan(&k, &Table::default(), &PlanContext::default());
        assert_eq!(p.counts(), BTreeMap::from([("add_vip", 3)]));
        let ctx = PlanContext {
            bound_vips: k.vips.clone(),
            ..Default::default()
        };
        assert!(plan(&k, &Table::default(), &ctx).is_empty(), "all bound");
        let p = plan(&desired(&[]), &Table::default(), &ctx);
        assert_eq!(p.counts(), BTreeMap::from([("del_vip", 3)]), "none wanted");
    }

    #[test]
    fn a_vip_is_never_bound_without_its_service() {
        // The master of a group: its service and its VIP.
        let mut master = desired(&[(80, "wrr", &[(1, 1)])]);
        master.vips = vips(&[("eth0", &[1])]);
        let table = programmed(&master);
        let bound = PlanContext {
            bound_vips: master.vips.clone(),
            ..owned(&master)
        };
        // Giving the group up: the address goes before the service.
        let backup = desired(&[]);
        let p = plan(&backup, &table, &bound);
        assert_eq!(
            p.ops,
            [vip_op(false, "eth0", 1), Op::DelService { key: key(80) }]
        );
        // Taking it over: the service and its destinations before the address.
        let p = plan(&master, &Table::default(), &PlanContext::default());
        assert_eq!(
            p.ops.iter().map(Op::kind).collect::<Vec<_>>(),
            ["new_service", "new_dest", "add_vip"]
        );
    }

    fn daemon(state: SyncState, interface: &str, id: u32) -> SyncDaemon {
        SyncDaemon::new(state, interface, id)
    }

    fn wanting(daemons: &[SyncDaemon]) -> DesiredKernel {
        DesiredKernel {
            sync_daemons: daemons.iter().map(|d| (d.state, d.clone())).collect(),
            ..Default::default()
        }
    }

    fn running(daemons: &[SyncDaemon]) -> Table {
        Table {
            sync_daemons: daemons.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn a_role_change_stops_one_daemon_and_starts_the_other() {
        let backup = daemon(SyncState::Backup, "eth1", 51);
        let master = daemon(SyncState::Master, "eth1", 51);
        let ctx = PlanContext {
            owned_sync_daemons: BTreeSet::from([SyncState::Backup]),
            ..Default::default()
        };
        // Backup -> master.
        let p = plan(
            &wanting(std::slice::from_ref(&master)),
            &running(std::slice::from_ref(&backup)),
            &ctx,
        );
        assert_eq!(
            p.ops,
            [
                Op::StopSyncDaemon {
                    state: SyncState::Backup
                },
                Op::StartSyncDaemon {
                    daemon: master.clone()
                }
            ]
        );
        // Master of one group and backup of another: both, the running one untouched.
        let p = plan(
            &wanting(&[master.clone(), backup.clone()]),
            &running(std::slice::from_ref(&backup)),
            &ctx,
        );
        assert_eq!(p.ops, [Op::StartSyncDaemon { daemon: master }]);
        // Running as wanted, with the kernel's defaults reported: nothing to do.
        let reported = SyncDaemon {
            max_packet_len: Some(1472),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            mcast_group: Some("224.0.0.81".parse().unwrap()),
            ..backup.clone()
        };
        assert!(plan(
            &wanting(std::slice::from_ref(&backup)),
            &running(&[reported]),
            &ctx
        )
        .is_empty());
    }

    #[test]
    fn a_changed_setting_is_a_stop_and_a_start() {
        // As Linux >= 4.3 reports it: every setting.
        let old = SyncDaemon {
            mcast_ttl: Some(1),
            mcast_port: Some(8848),
            ..daemon(SyncState::Backup, "eth1", 51)
        };
        let new = SyncDaemon {
            mcast_ttl: Some(4),
            mcast_port: None,
            ..old.clone()
        };
        let p = plan(
            &wanting(std::slice::from_ref(&new)),
            &running(&[old]),
            &PlanContext::default(),
        );
        assert_eq!(
            p.ops,
            [
                Op::StopSyncDaemon {
                    state: SyncState::Backup
                },
                Op::StartSyncDaemon { daemon: new }
            ]
        );
        assert_eq!(
            p.ops.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "DEL_DAEMON backup",
                "NEW_DAEMON backup on eth1 sync id 51 ttl 4"
            ]
        );
    }

    #[test]
    fn a_daemon_director_did_not_start_is_left_alone_unless_asked() {
        let theirs = running(&[daemon(SyncState::Master, "eth0", 9)]);
        let p = plan(&DesiredKernel::default(), &theirs, &PlanContext::default());
        assert!(p.ops.is_empty());
        assert_eq!(p.unmanaged_sync_daemons, [SyncState::Master]);
        let owned = PlanContext {
            owned_sync_daemons: BTreeSet::from([SyncState::Master]),
            ..Default::default()
        };
        let stop = [Op::StopSyncDaemon {
            state: SyncState::Master,
        }];
        assert_eq!(plan(&DesiredKernel::default(), &theirs, &owned).ops, stop);
        let remove = PlanContext {
            remove_unmanaged: true,
            ..Default::default()
        };
        assert_eq!(plan(&DesiredKernel::default(), &theirs, &remove).ops, stop);
    }

    /// The VIP operations applied to the addresses they were planned from.
    fn apply_vips(bound: &mut BTreeMap<String, BTreeSet<IpAddr>>, ops: &[Op]) {
        for op in ops {
            match op {
                Op::AddVip { interface, address } => {
                    assert!(
                        bound.entry(interface.clone()).or_default().insert(*address),
                        "{op}: already there"
                    );
                }
                Op::DelVip { interface, address } => {
                    assert!(
                        bound.get_mut(interface).is_some_and(|b| b.remove(address)),
                        "{op}: not there"
                    );
                }
                _ => {}
            }
        }
        bound.retain(|_, b| !b.is_empty());
    }

    fn arb_vips() -> impl Strategy<Value = BTreeMap<String, BTreeSet<IpAddr>>> {
        prop::collection::btree_map(
            prop::sample::select(vec!["eth0".to_string(), "eth1".into(), "bond0".into()]),
            prop::collection::btree_set((1u8..6).prop_map(|l| IpAddr::from([10, 0, 0, l])), 1..4),
            0..3,
        )
    }

    fn arb_kernel() -> impl Strategy<Value = DesiredKernel> {
        let service = (
            0u16..6,
            prop::sample::select(vec!["rr", "wrr", "wlc", "sh", "mh"]),
            any::<bool>(),
            0u32..600,
            prop::collection::btree_map(
                0u8..8,
                (
                    0u32..5,
                    prop::sample::select(vec![
                        Forwarding::Route,
                        Forwarding::Masq,
                        Forwarding::Tunnel,
                    ]),
                    0u32..3,
                ),
                0..6,
            ),
        );
        prop::collection::vec(service, 0..5).prop_map(|services| {
            let mut k = DesiredKernel::default();
            for (port, sched, persistent, timeout, dests) in services {
                let mut s = Service::new(key(port), sched);
                s.flags = ServiceFlags {
                    persistent,
                    ..Default::default()
                };
                s.timeout = if persistent { timeout + 1 } else { 0 };
                let destinations = dests
                    .into_iter()
                    .map(|(l, (w, fwd, thr))| {
                        let mut d = Destination::new(IpAddr::from([10, 0, 1, l]), 80, fwd, w);
                        d.upper_threshold = thr * 10;
                        ((d.address, d.port), d)
                    })
                    .collect();
                k.services.insert(
                    key(port),
                    DesiredService {
                        owner: format!("vs{port}"),
                        service: s,
                        destinations,
                    },
                );
            }
            k
        })
    }

    /// At most one daemon per state, master first (as a dump gives them).
    fn arb_daemons() -> impl Strategy<Value = Vec<SyncDaemon>> {
        let one = |state| {
            proptest::option::of(
                (
                    prop::sample::select(vec!["eth0", "eth1"]),
                    0u32..3,
                    proptest::option::of(1u8..3),
                )
                    .prop_map(move |(i, id, ttl)| SyncDaemon {
                        mcast_ttl: ttl,
                        ..SyncDaemon::new(state, i, id)
                    }),
            )
        };
        (one(SyncState::Master), one(SyncState::Backup))
            .prop_map(|(m, b)| m.into_iter().chain(b).collect())
    }

    /// The table a desired kernel describes (without counters).
    fn as_table(k: &DesiredKernel) -> Table {
        let mut t = Table::default();
        apply_all(
            &mut t,
            &plan(k, &Table::default(), &PlanContext::default()).ops,
        )
        .expect("applies");
        t
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// From any table director owns, the plan reaches the desired table, and planning again is empty.
        #[test]
        fn plans_converge_and_are_idempotent(from in arb_kernel(), to in arb_kernel()) {
            let mut table = as_table(&from);
            let ctx = owned(&from);
            let p = plan(&to, &table, &ctx);
            for op in &p.ops {
                prop_assert_eq!(crate::simulate::apply(&mut table, op), Ok(()), "the kernel would refuse {}", op);
            }
            prop_assert_eq!(&table, &as_table(&to));
            let ctx = owned(&to);
            prop_assert!(plan(&to, &table, &ctx).is_empty());
        }

        /// From any bound addresses, the plan binds exactly the wanted ones, touches an address only where
        /// it must change (never a delete and add of the same address on the same interface), and planning
        /// again is empty.
        #[test]
        fn vip_plans_converge_with_one_write_per_difference(from in arb_vips(), to in arb_vips()) {
            let k = DesiredKernel { vips: to.clone(), ..Default::default() };
            let ctx = PlanContext { bound_vips: from.clone(), ..Default::default() };
            let p = plan(&k, &Table::default(), &ctx);
            let mut bound = from.clone();
            apply_vips(&mut bound, &p.ops);
            prop_assert_eq!(&bound, &to);
            let differences: usize = from.keys().chain(to.keys()).collect::<BTreeSet<_>>().into_iter().map(|i| {
                let (a, b) = (from.get(i).cloned().unwrap_or_default(), to.get(i).cloned().unwrap_or_default());
                a.symmetric_difference(&b).count()
            }).sum();
            prop_assert_eq!(p.ops.len(), differences);
            let ctx = PlanContext { bound_vips: bound, ..Default::default() };
            prop_assert!(plan(&k, &Table::default(), &ctx).is_empty());
        }

        /// From any running daemons, the plan runs exactly the wanted ones (the kernel refusing nothing: never
        /// a second daemon of a state), touches only those that differ, and planning again is empty.
        #[test]
        fn sync_daemon_plans_converge(from in arb_daemons(), to in arb_daemons()) {
            let mut table = running(&from);
            let ctx = PlanContext { owned_sync_daemons: SyncState::ALL.into(), ..Default::default() };
            let p = plan(&wanting(&to), &table, &ctx);
            for op in &p.ops {
                prop_assert_eq!(crate::simulate::apply(&mut table, op), Ok(()), "the kernel would refuse {}", op);
            }
            prop_assert_eq!(table.sync_daemons.len(), to.len());
            for want in &to {
                prop_assert!(table.sync_daemon(want.state).is_some_and(|d| want.satisfied_by(d)), "{} is not running", want);
            }
            prop_assert!(plan(&wanting(&to), &table, &ctx).is_empty());
            // Only a state whose daemon is not as wanted is touched.
            let fine = |state: SyncState| {
                let (f, t) = (from.iter().find(|d| d.state == state), to.iter().find(|d| d.state == state));
                match (f, t) {
                    (Some(f), Some(t)) => t.satisfied_by(f),
                    (None, None) => true,
                    _ => false,
                }
            };
            for op in &p.ops {
                let state = match op {
                    Op::StopSyncDaemon { state } => *state,
                    Op::StartSyncDaemon { daemon } => daemon.state,
                    other => panic!("{other} in a plan of daemons"),
                };
                prop_assert!(!fine(state), "{} touches a daemon running as wanted", op);
            }
        }

        /// Each difference costs exactly one operation: never a delete and re-create of a destination.
        #[test]
        fn plans_are_minimal(from in arb_kernel(), to in arb_kernel()) {
            let table = as_table(&from);
            let p = plan(&to, &table, &owned(&from));
            for op in &p.ops {
                if let Op::DelDest { service, address, port } = op {
                    let still_wanted = to.services.get(service).is_some_and(|s| s.destinations.contains_key(&(*address, *port)));
                    prop_assert!(!still_wanted, "deleted a wanted destination");
                }
                if let Op::DelService { key } = op {
                    prop_assert!(!to.services.contains_key(key), "deleted a wanted service");
                }
            }
            let news = p.ops.iter().filter(|o| matches!(o, Op::NewService { .. })).count();
            let missing = to.services.keys().filter(|k| !from.services.contains_key(*k)).count();
            prop_assert_eq!(news, missing);
        }
    }
}

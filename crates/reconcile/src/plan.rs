//! The minimal operations from the observed table to the desired one.

use crate::desired::DesiredKernel;
use director_kernel_table::{Destination, Service, ServiceKey, Table};
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
}

impl Op {
    /// The kernel command name, as the operation counters report it.
    /// Every value [`Op::kind`] gives.
    pub const KINDS: [&'static str; 8] = [
        "new_service",
        "set_service",
        "del_service",
        "new_dest",
        "set_dest",
        "del_dest",
        "add_vip",
        "del_vip",
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
    /// Where VIPs of virtual servers without a VRRP group are bound; `None`: director binds none.
    pub vip_interface: Option<String>,
    /// The VIPs director bound earlier on that interface (as observed).
    pub bound_vips: BTreeSet<IpAddr>,
}

/// The operations, and what the planner noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub ops: Vec<Op>,
    /// Kernel services that are desired but were not created by director: taken over without disruption.
    pub adopted: Vec<ServiceKey>,
    /// Kernel services director neither owns nor wants: left alone (unless `remove_unmanaged`).
    pub unmanaged: Vec<ServiceKey>,
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
pub fn plan(desired: &DesiredKernel, observed: &Table, ctx: &PlanContext) -> Plan {
    let mut out = Plan::default();
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
    if let Some(interface) = &ctx.vip_interface {
        for vip in ctx.bound_vips.difference(&desired.vips) {
            out.ops.push(Op::DelVip {
                interface: interface.clone(),
                address: *vip,
            });
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
    if let Some(interface) = &ctx.vip_interface {
        for vip in desired.vips.difference(&ctx.bound_vips) {
            out.ops.push(Op::AddVip {
                interface: interface.clone(),
                address: *vip,
            });
        }
    }
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

    #[test]
    fn vips_are_added_and_removed_on_the_interface() {
        let mut k = desired(&[]);
        k.vips.insert("10.0.0.1".parse().unwrap());
        let ctx = PlanContext {
            vip_interface: Some("eth0".into()),
            bound_vips: BTreeSet::from(["10.0.0.2".parse().unwrap()]),
            ..Default::default()
        };
        let p = plan(&k, &Table::default(), &ctx);
        assert_eq!(
            p.ops,
            [
                Op::DelVip {
                    interface: "eth0".into(),
                    address: "10.0.0.2".parse().unwrap()
                },
                Op::AddVip {
                    interface: "eth0".into(),
                    address: "10.0.0.1".parse().unwrap()
                },
            ]
        );
        let p = plan(&k, &Table::default(), &PlanContext::default());
        assert!(p.ops.is_empty(), "no VIP interface: no VIP operations");
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

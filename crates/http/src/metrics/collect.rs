//! From the daemon's state at scrape time to metric families. Pure: the handler gathers a [`Scrape`] (desired
//! state, kernel table, health, VRRP, reconciler, HTTP counters, peers) and this module only maps it.
//!
//! The kernel families follow node_exporter's ipvs collector (`node_ipvs_*` there, `director_ipvs_*` here,
//! same label names and values: `proto` is `TCP`/`UDP`/`SCTP` or `FWM`, `local_mark` the mark as 8 upper-case
//! hex digits for firewall-mark services), with a `virtual_server` label added (the name of the virtual
//! server that owns the kernel service; empty for a service director does not manage).

use super::http::{RequestCount, RequestDurations};
use super::text::{Family, Labels};
use super::PeerLag;
use director_core::model::RealServerKey;
use director_core::DesiredState;
use director_health::{HealthState, Status, TargetId};
use director_kernel_table::{ServiceKey, Stats, Table};
use director_reconcile::DesiredKernel;
use director_runtime::daemon::Runtime;
use director_runtime::histogram::HistogramSnapshot;
use director_runtime::reconciler::ReconcileStatus;
use director_runtime::vrrp::{GroupStatus, VrrpRole};
use std::collections::{BTreeMap, HashMap};

/// The kernel as read for this scrape.
pub struct KernelView<'a> {
    /// The table with its counters.
    pub table: &'a Table,
    /// Whether this scrape's dump succeeded (otherwise `table` is the reconciler's last one).
    pub fresh: bool,
    /// The table the reconciler wants, health and roles applied: the effective weights.
    pub effective: Option<&'a DesiredKernel>,
}

/// The reconciler's counters.
pub struct ReconcileView<'a> {
    pub status: &'a ReconcileStatus,
    pub pass_durations: &'a HistogramSnapshot,
}

/// Everything one scrape reports.
pub struct Scrape<'a> {
    pub runtime: &'a Runtime,
    pub state: &'a DesiredState,
    pub applied_revision: Option<u64>,
    /// None without a dataplane.
    pub kernel: Option<KernelView<'a>>,
    pub reconcile: Option<ReconcileView<'a>>,
    pub health: &'a BTreeMap<TargetId, HealthState>,
    pub health_stats: director_health::Stats,
    pub vrrp: &'a BTreeMap<String, GroupStatus>,
    pub requests: &'a [RequestCount],
    pub request_durations: &'a [RequestDurations],
    /// None: peer sync reports nothing (yet).
    pub peers: Option<&'a [PeerLag]>,
}

fn l(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

pub fn collect(s: &Scrape<'_>) -> Vec<Family> {
    let mut out = Vec::with_capacity(64);
    daemon(s, &mut out);
    desired(s, &mut out);
    health(s, &mut out);
    // Without a dataplane the kernel and reconciler families are still there, at 0: an alert on
    // `director_dataplane_up == 0` or a rate of errors sees a value, not an absence.
    let empty = Table::default();
    let none = KernelView {
        table: &empty,
        fresh: false,
        effective: None,
    };
    kernel(s.state, s.kernel.as_ref().unwrap_or(&none), &mut out);
    let idle = ReconcileStatus::default();
    let no_passes =
        crate::metrics::Histogram::new(director_runtime::histogram::PASS_BUCKETS).snapshot();
    let quiet = ReconcileView {
        status: &idle,
        pass_durations: &no_passes,
    };
    reconcile(s.reconcile.as_ref().unwrap_or(&quiet), &mut out);
    vrrp(s.vrrp, &mut out);
    http(s.requests, s.request_durations, &mut out);
    sync(s.peers.unwrap_or_default(), &mut out);
    out
}

fn daemon(s: &Scrape<'_>, out: &mut Vec<Family>) {
    out.push(
        Family::gauge(
            "director_build_info",
            "The version of director and this node's name; always 1.",
        )
        .with(
            l(&[("version", s.runtime.version), ("node", &s.runtime.node)]),
            1.0,
        ),
    );
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&s.runtime.started_at) {
        out.push(
            Family::gauge(
                "director_start_time_seconds",
                "When the daemon started, in seconds since the Unix epoch.",
            )
            .with(vec![], t.timestamp_millis() as f64 / 1000.0),
        );
    }
    let dp = &s.runtime.dataplane;
    out.push(
        Family::gauge(
            "director_dataplane_info",
            "The dataplane asked for (--dataplane) and the one running (ipvs, memory or none); always 1.",
        )
        .with(
            l(&[("requested", &dp.requested), ("active", &dp.active)]),
            1.0,
        ),
    );
    out.push(
        Family::gauge(
            "director_desired_revision",
            "The revision of the desired state.",
        )
        .with(vec![], s.state.revision as f64),
    );
    out.push(
        Family::gauge(
            "director_applied_revision",
            "The revision of the desired state the kernel has reached (0 while nothing applied it).",
        )
        .with(vec![], s.applied_revision.unwrap_or(0) as f64),
    );
}

fn rs_labels(vs: &str, rs: &RealServerKey) -> Labels {
    vec![
        ("virtual_server", vs.to_string()),
        ("real_server", rs.to_string()),
    ]
}

fn desired(s: &Scrape<'_>, out: &mut Vec<Family>) {
    let mut vs_enabled = Family::gauge(
        "director_virtual_server_enabled",
        "Whether the virtual server is enabled in the desired state (1) or not (0).",
    );
    let mut below = Family::gauge(
        "director_virtual_server_below_quorum",
        "Whether the virtual server has fewer healthy real servers than its quorum (1) or not (0).",
    );
    let mut rs_enabled = Family::gauge(
        "director_real_server_enabled",
        "Whether the real server is enabled in the desired state (1) or not (0).",
    );
    let mut weight = Family::gauge(
        "director_real_server_weight",
        "The weight of the real server in the desired state (0: drained).",
    );
    let mut effective = Family::gauge(
        "director_real_server_effective_weight",
        "The weight this node programs in the kernel for the real server after health, VRRP role and \
         enablement (0 when it is not in the table); absent without a dataplane.",
    );
    let wanted = s.kernel.as_ref().and_then(|k| k.effective);
    // Owner of each wanted kernel service, to find a real server's effective weight.
    let by_owner: HashMap<&str, &director_reconcile::DesiredService> = wanted
        .map(|w| w.services.values().map(|d| (d.owner.as_str(), d)).collect())
        .unwrap_or_default();
    for (name, record) in &s.state.virtual_servers {
        let vs = &record.spec;
        vs_enabled.push(l(&[("virtual_server", name)]), bool_value(vs.enabled));
        if let Some(w) = wanted {
            below.push(
                l(&[("virtual_server", name)]),
                bool_value(w.below_quorum.contains(name)),
            );
        }
        for rs in &vs.real_servers {
            let key = rs.key();
            rs_enabled.push(rs_labels(name, &key), bool_value(rs.enabled));
            weight.push(rs_labels(name, &key), rs.weight as f64);
            if wanted.is_some() {
                let w = by_owner
                    .get(name.as_str())
                    .and_then(|d| d.destinations.get(&(key.address, key.port)))
                    .map_or(0, |d| d.weight);
                effective.push(rs_labels(name, &key), w as f64);
            }
        }
    }
    out.extend([vs_enabled, below, rs_enabled, weight, effective]);
}

fn health(s: &Scrape<'_>, out: &mut Vec<Family>) {
    let mut state = Family::gauge(
        "director_real_server_health",
        "The health of each checked real server: 1 for its current state (up, down or unknown), 0 for the \
         others.",
    );
    let mut latency = Family::gauge(
        "director_health_check_latency_seconds",
        "How long the last health check of the real server took.",
    );
    let mut checks = Family::counter(
        "director_health_checks_total",
        "Health checks of the real server since the daemon started.",
    );
    let mut failures = Family::gauge(
        "director_health_check_consecutive_failures",
        "Failed health checks of the real server in a row.",
    );
    for (id, h) in s.health {
        let labels = rs_labels(&id.virtual_server, &id.real_server);
        for st in [Status::Up, Status::Down, Status::Unknown] {
            let mut with_state = labels.clone();
            with_state.push(("state", st.as_str().to_string()));
            state.push(with_state, bool_value(h.status == st));
        }
        if let Some(d) = h.last_latency {
            latency.push(labels.clone(), d.as_secs_f64());
        }
        checks.push(labels.clone(), h.checks as f64);
        failures.push(labels, h.consecutive_failures as f64);
    }
    out.extend([state, latency, checks, failures]);
    out.push(
        Family::counter(
            "director_health_check_failures_total",
            "Failed health checks of all real servers since the daemon started.",
        )
        .with(vec![], s.health_stats.failures as f64),
    );
}

/// The labels node_exporter gives a kernel service: address, port, protocol, mark.
fn service_labels(key: &ServiceKey) -> Labels {
    match key {
        ServiceKey::Address {
            protocol,
            address,
            port,
        } => vec![
            ("local_address", address.to_string()),
            ("local_port", port.to_string()),
            (
                "proto",
                match protocol {
                    director_kernel_table::Protocol::Tcp => "TCP",
                    director_kernel_table::Protocol::Udp => "UDP",
                    director_kernel_table::Protocol::Sctp => "SCTP",
                }
                .to_string(),
            ),
            ("local_mark", String::new()),
        ],
        ServiceKey::Fwmark { mark, .. } => vec![
            ("local_address", String::new()),
            ("local_port", "0".into()),
            ("proto", "FWM".into()),
            ("local_mark", format!("{mark:08X}")),
        ],
    }
}

/// Five counter families (connections, packets and bytes in and out) named `<prefix>_<what>_total`.
struct TrafficFamilies {
    families: [Family; 5],
}

impl TrafficFamilies {
    fn new(names: [&'static str; 5], whose: &'static str) -> Self {
        let helps: [&'static str; 5] = match whose {
            "all" => [
                "Connections scheduled by IPVS (all services).",
                "Packets IPVS received (all services).",
                "Packets IPVS sent (all services).",
                "Bytes IPVS received (all services).",
                "Bytes IPVS sent (all services).",
            ],
            "service" => [
                "Connections scheduled to the virtual service.",
                "Packets the virtual service received.",
                "Packets the virtual service sent.",
                "Bytes the virtual service received.",
                "Bytes the virtual service sent.",
            ],
            _ => [
                "Connections scheduled to the real server.",
                "Packets forwarded to the real server.",
                "Packets from the real server.",
                "Bytes forwarded to the real server.",
                "Bytes from the real server.",
            ],
        };
        let mut i = 0;
        TrafficFamilies {
            families: names.map(|n| {
                let f = Family::counter(n, helps[i]);
                i += 1;
                f
            }),
        }
    }

    fn push(&mut self, labels: Labels, s: &Stats) {
        let values = [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes];
        for (f, v) in self.families.iter_mut().zip(values) {
            f.push(labels.clone(), v as f64);
        }
    }
}

fn kernel(state: &DesiredState, k: &KernelView<'_>, out: &mut Vec<Family>) {
    out.push(
        Family::gauge(
            "director_dataplane_up",
            "Whether this scrape read the kernel table (1) or reports the reconciler's last reading (0).",
        )
        .with(vec![], bool_value(k.fresh)),
    );
    let owners: HashMap<ServiceKey, &str> = state
        .virtual_servers
        .iter()
        .filter_map(|(name, r)| {
            director_reconcile::service_key(&r.spec).map(|key| (key, name.as_str()))
        })
        .collect();
    let mut total = Stats::default();
    let mut all = TrafficFamilies::new(
        [
            "director_ipvs_connections_total",
            "director_ipvs_incoming_packets_total",
            "director_ipvs_outgoing_packets_total",
            "director_ipvs_incoming_bytes_total",
            "director_ipvs_outgoing_bytes_total",
        ],
        "all",
    );
    let mut services = TrafficFamilies::new(
        [
            "director_ipvs_service_connections_total",
            "director_ipvs_service_incoming_packets_total",
            "director_ipvs_service_outgoing_packets_total",
            "director_ipvs_service_incoming_bytes_total",
            "director_ipvs_service_outgoing_bytes_total",
        ],
        "service",
    );
    let mut backends = TrafficFamilies::new(
        [
            "director_ipvs_backend_connections_total",
            "director_ipvs_backend_incoming_packets_total",
            "director_ipvs_backend_outgoing_packets_total",
            "director_ipvs_backend_incoming_bytes_total",
            "director_ipvs_backend_outgoing_bytes_total",
        ],
        "backend",
    );
    let mut active = Family::gauge(
        "director_ipvs_backend_connections_active",
        "The current active connections by local and remote address.",
    );
    let mut inactive = Family::gauge(
        "director_ipvs_backend_connections_inactive",
        "The current inactive connections by local and remote address.",
    );
    let mut weight = Family::gauge(
        "director_ipvs_backend_weight",
        "The current backend weight in the kernel by local and remote address.",
    );
    for entry in &k.table.services {
        let st = &entry.stats;
        for (t, v) in [
            (&mut total.conns, st.conns),
            (&mut total.inpkts, st.inpkts),
            (&mut total.outpkts, st.outpkts),
            (&mut total.inbytes, st.inbytes),
            (&mut total.outbytes, st.outbytes),
        ] {
            *t = t.saturating_add(v);
        }
        let mut labels = service_labels(&entry.service.key);
        let owner = owners.get(&entry.service.key).copied().unwrap_or_default();
        labels.push(("virtual_server", owner.to_string()));
        services.push(labels, st);
        for d in &entry.destinations {
            let mut labels = service_labels(&entry.service.key);
            // node_exporter's order: local_address, local_port, remote_address, remote_port, proto, local_mark.
            labels.insert(2, ("remote_address", d.destination.address.to_string()));
            labels.insert(3, ("remote_port", d.destination.port.to_string()));
            labels.push(("virtual_server", owner.to_string()));
            backends.push(labels.clone(), &d.status.stats);
            active.push(labels.clone(), d.status.active_conns as f64);
            inactive.push(labels.clone(), d.status.inactive_conns as f64);
            weight.push(labels, d.destination.weight as f64);
        }
    }
    all.push(vec![], &total);
    out.extend(all.families);
    out.extend([active, inactive, weight]);
    let mut daemons = Family::gauge(
        "director_ipvs_sync_daemon",
        "Whether the kernel runs the IPVS connection-synchronisation daemon of that state (master: sends \
         this node's connections, backup: receives the master's), by state; 0 and 1.",
    );
    for state in director_kernel_table::SyncState::ALL {
        daemons.push(
            vec![("state", state.name().to_string())],
            bool_value(k.table.sync_daemon(state).is_some()),
        );
    }
    out.push(daemons);
    out.extend(services.families);
    out.extend(backends.families);
}

fn reconcile(r: &ReconcileView<'_>, out: &mut Vec<Family>) {
    out.push(
        Family::counter(
            "director_reconcile_passes_total",
            "Reconcile passes since the daemon started.",
        )
        .with(vec![], r.status.passes as f64),
    );
    let mut d = Family::histogram(
        "director_reconcile_pass_duration_seconds",
        "How long reconcile passes took (read the kernel, plan, apply).",
    );
    d.push_histogram(vec![], r.pass_durations);
    out.push(d);
    let mut ops = Family::counter(
        "director_reconcile_operations_total",
        "Kernel operations applied since the daemon started, by kind (new_service, set_service, \
         del_service, new_dest, set_dest, del_dest, add_vip, del_vip).",
    );
    for kind in director_reconcile::Op::KINDS {
        let n = r.status.operations.get(kind).copied().unwrap_or(0);
        ops.push(l(&[("op", kind)]), n as f64);
    }
    out.push(ops);
    out.push(
        Family::counter(
            "director_reconcile_errors_total",
            "Failed kernel reads and operations of reconcile passes since the daemon started.",
        )
        .with(vec![], r.status.errors as f64),
    );
    let mut unmanaged = Family::gauge(
        "director_reconcile_unmanaged_services",
        "Kernel services director neither owns nor wants, left alone (at the last pass).",
    );
    let unmanaged_now = r.status.last_pass.as_ref().map_or(0, |p| p.unmanaged.len());
    unmanaged.push(vec![], unmanaged_now as f64);
    out.push(unmanaged);
    out.push(
        Family::gauge(
            "director_reconcile_failing",
            "Whether the last reconcile pass failed (1): the kernel is not at the desired revision, and \
             director_applied_revision stays at the last revision a pass applied in full.",
        )
        .with(vec![], bool_value(r.status.failing)),
    );
}

fn vrrp(groups: &BTreeMap<String, GroupStatus>, out: &mut Vec<Family>) {
    let mut role = Family::gauge(
        "director_vrrp_role",
        "This node's role in each VRRP group: 1 for the current one (master, backup, init, fault), 0 for the \
         others.",
    );
    let mut transitions = Family::counter(
        "director_vrrp_transitions_total",
        "Role transitions of this node in the VRRP group since its instance started.",
    );
    let mut priority = Family::gauge(
        "director_vrrp_priority",
        "The configured VRRP priority of this node in the group.",
    );
    let mut effective = Family::gauge(
        "director_vrrp_effective_priority",
        "The VRRP priority this node advertises (tracks applied).",
    );
    let mut received = Family::counter(
        "director_vrrp_adverts_received_total",
        "VRRP advertisements received for the group.",
    );
    let mut sent = Family::counter(
        "director_vrrp_adverts_sent_total",
        "VRRP advertisements sent for the group.",
    );
    let mut malformed = Family::counter(
        "director_vrrp_malformed_packets_total",
        "Received packets that are not well-formed VRRP advertisements.",
    );
    let mut rejected = Family::counter(
        "director_vrrp_rejected_packets_total",
        "Well-formed advertisements for the group refused (TTL, authentication, interval...).",
    );
    let mut split = Family::gauge(
        "director_vrrp_split_brain",
        "Whether another master was seen on the link recently (1) or not (0).",
    );
    for (name, g) in groups {
        let group = l(&[("group", name)]);
        for r in [
            VrrpRole::Master,
            VrrpRole::Backup,
            VrrpRole::Init,
            VrrpRole::Fault,
        ] {
            let mut labels = group.clone();
            labels.push(("role", r.as_str().to_string()));
            role.push(labels, bool_value(g.role == r));
        }
        transitions.push(group.clone(), g.transitions as f64);
        priority.push(group.clone(), g.priority as f64);
        effective.push(group.clone(), g.effective_priority as f64);
        received.push(group.clone(), g.adverts_received as f64);
        sent.push(group.clone(), g.adverts_sent as f64);
        malformed.push(group.clone(), g.malformed_packets as f64);
        rejected.push(group.clone(), g.rejected_packets as f64);
        split.push(group, bool_value(g.split_brain));
    }
    out.extend([
        role,
        transitions,
        priority,
        effective,
        received,
        sent,
        malformed,
        rejected,
        split,
    ]);
}

fn http(requests: &[RequestCount], durations: &[RequestDurations], out: &mut Vec<Family>) {
    let mut counts = Family::counter(
        "director_http_requests_total",
        "HTTP requests (REST API, web UI, probes, metrics) by route template, method and status.",
    );
    for r in requests {
        counts.push(
            l(&[
                ("route", &r.route),
                ("method", r.method),
                ("status", &r.status.to_string()),
            ]),
            r.count as f64,
        );
    }
    let mut hist = Family::histogram(
        "director_http_request_duration_seconds",
        "How long HTTP requests took, by route template and method.",
    );
    for d in durations {
        hist.push_histogram(
            l(&[("route", &d.route), ("method", d.method)]),
            &d.histogram,
        );
    }
    out.extend([counts, hist]);
}

fn sync(peers: &[PeerLag], out: &mut Vec<Family>) {
    let mut up = Family::gauge(
        "director_sync_peer_up",
        "Whether configuration sync with the peer works (1) or not (0).",
    );
    let mut lag = Family::gauge(
        "director_sync_peer_lag_seconds",
        "How far the peer's copy of the desired state is behind this node's.",
    );
    for p in peers {
        up.push(l(&[("peer", &p.peer)]), bool_value(p.up));
        if let Some(d) = p.lag {
            lag.push(l(&[("peer", &p.peer)]), d.as_secs_f64());
        }
    }
    out.extend([up, lag]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::text::render;
    use director_kernel_table::{
        Destination, DestinationEntry, DestinationStatus, Family as IpFamily, Forwarding, Service,
        ServiceEntry,
    };

    fn find<'a>(families: &'a [Family], name: &str) -> &'a Family {
        families
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no family {name}"))
    }

    #[test]
    fn kernel_series_follow_node_exporter_labels() {
        let fwmark = ServiceKey::Fwmark {
            mark: 10,
            family: IpFamily::Inet,
        };
        let dest = |port, active| DestinationEntry {
            destination: Destination::new("10.1.0.2".parse().unwrap(), port, Forwarding::Route, 5),
            status: DestinationStatus {
                active_conns: active,
                inactive_conns: 1,
                persistent_conns: 0,
                stats: Stats {
                    conns: 9,
                    inbytes: 1000,
                    ..Default::default()
                },
            },
        };
        let table = Table {
            sync_daemons: Vec::new(),
            services: vec![ServiceEntry {
                service: Service::new(fwmark, "wlc"),
                stats: Stats {
                    conns: 20,
                    inpkts: 300,
                    ..Default::default()
                },
                destinations: vec![dest(80, 4), dest(8080, 2)],
            }],
        };
        let mut out = Vec::new();
        let view = KernelView {
            table: &table,
            fresh: true,
            effective: None,
        };
        kernel(&DesiredState::default(), &view, &mut out);
        let text = render(&out);
        assert!(
            text.contains(
                "director_ipvs_backend_connections_active{local_address=\"\",local_port=\"0\",\
                 remote_address=\"10.1.0.2\",remote_port=\"80\",proto=\"FWM\",local_mark=\"0000000A\",\
                 virtual_server=\"\"} 4\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("director_ipvs_connections_total 20\n"),
            "{text}"
        );
        assert!(
            text.contains("director_ipvs_incoming_packets_total 300\n"),
            "{text}"
        );
        let weights = find(&out, "director_ipvs_backend_weight");
        assert_eq!(weights.samples.len(), 2);
        assert!(weights.samples.iter().all(|s| s.value == 5.0));
        let bytes = find(&out, "director_ipvs_backend_incoming_bytes_total");
        assert_eq!(bytes.samples[1].value, 1000.0);
        let tcp = service_labels(&ServiceKey::Address {
            protocol: director_kernel_table::Protocol::Tcp,
            address: "2001:db8::1".parse().unwrap(),
            port: 443,
        });
        assert_eq!(
            tcp,
            vec![
                ("local_address", "2001:db8::1".to_string()),
                ("local_port", "443".to_string()),
                ("proto", "TCP".to_string()),
                ("local_mark", String::new()),
            ]
        );
    }

    #[test]
    fn vrrp_roles_are_a_state_set_per_group() {
        let mut groups = BTreeMap::new();
        groups.insert(
            "vi-1".to_string(),
            GroupStatus {
                group: "vi-1".into(),
                role: VrrpRole::Master,
                transitions: 3,
                priority: 100,
                effective_priority: 80,
                ..Default::default()
            },
        );
        let mut out = Vec::new();
        vrrp(&groups, &mut out);
        let text = render(&out);
        for (role, v) in [("master", 1), ("backup", 0), ("init", 0), ("fault", 0)] {
            assert!(
                text.contains(&format!(
                    "director_vrrp_role{{group=\"vi-1\",role=\"{role}\"}} {v}\n"
                )),
                "{text}"
            );
        }
        assert!(text.contains("director_vrrp_transitions_total{group=\"vi-1\"} 3\n"));
        assert!(text.contains("director_vrrp_effective_priority{group=\"vi-1\"} 80\n"));
    }

    #[test]
    fn peers_report_up_and_lag_when_known() {
        let peers = [
            PeerLag {
                peer: "lvs-02".into(),
                up: true,
                lag: Some(std::time::Duration::from_millis(1500)),
            },
            PeerLag {
                peer: "lvs-03".into(),
                up: false,
                lag: None,
            },
        ];
        let mut out = Vec::new();
        sync(&peers, &mut out);
        let text = render(&out);
        assert!(
            text.contains("director_sync_peer_up{peer=\"lvs-02\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("director_sync_peer_up{peer=\"lvs-03\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("director_sync_peer_lag_seconds{peer=\"lvs-02\"} 1.5\n"),
            "{text}"
        );
        assert!(
            !text.contains("director_sync_peer_lag_seconds{peer=\"lvs-03\"}"),
            "{text}"
        );
    }
}

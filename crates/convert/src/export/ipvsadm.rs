//! The IPVS table director programs, in `ipvsadm-save -n` format (`ipvsadm-restore` loads it). Pure.
//!
//! The table is the reconciler's own [`director_reconcile::desired_kernel`] for the node, with every real
//! server healthy and the node master of its VRRP groups: what director programs in normal operation,
//! sorry servers included where a quorum cannot be met even then.

use director_core::model::RealServerKey;
use director_core::DesiredState;
use director_kernel_table::{Destination, Family, Forwarding, Protocol, Service, ServiceKey};
use director_reconcile::{desired_kernel, DesiredKernel, Health, Host, Inputs};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Every real server up, VRRP taken as master everywhere this node is a member.
struct Healthy;

impl Inputs for Healthy {
    fn health(&self, _: &str, _: &RealServerKey) -> Health {
        Health::Up
    }
    fn dynamic_weight(&self, _: &str, _: &RealServerKey) -> Option<u32> {
        None
    }
    fn is_master(&self, _: &str) -> Option<bool> {
        None
    }
    fn was_below_quorum(&self, _: &str) -> bool {
        false
    }
}

/// The table `node` programs in normal operation.
pub fn table(state: &DesiredState, node: &str) -> DesiredKernel {
    desired_kernel(state, &Host::new(node), &Healthy)
}

/// `ipvsadm-save -n` text of a desired table.
pub fn render(kernel: &DesiredKernel) -> String {
    let mut out = String::new();
    for desired in kernel.services.values() {
        let service = service_arg(&desired.service.key);
        let _ = writeln!(out, "-A {service}{}", service_options(&desired.service));
        for d in desired.destinations.values() {
            let _ = writeln!(
                out,
                "-a {service} -r {}{}",
                destination_address(d),
                destination_options(d)
            );
        }
    }
    out
}

fn service_arg(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Address {
            protocol,
            address,
            port,
        } => {
            let flag = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{flag} {}", SocketAddr::new(*address, *port))
        }
        ServiceKey::Fwmark { mark, family } => match family {
            Family::Inet => format!("-f {mark}"),
            Family::Inet6 => format!("-f {mark} -6"),
        },
    }
}

fn service_options(s: &Service) -> String {
    let mut out = format!(" -s {}", s.scheduler);
    let mut flags = Vec::new();
    let names: [&str; 3] = match s.scheduler.as_str() {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    for (set, name) in [
        s.flags.sched_flag_1,
        s.flags.sched_flag_2,
        s.flags.sched_flag_3,
    ]
    .into_iter()
    .zip(names)
    {
        if set {
            flags.push(name);
        }
    }
    if !flags.is_empty() {
        let _ = write!(out, " -b {}", flags.join(","));
    }
    if s.flags.persistent {
        let _ = write!(out, " -p {}", s.timeout);
        if s.netmask != Service::default_netmask(s.key.family()) {
            match s.key.family() {
                Family::Inet => {
                    let _ = write!(out, " -M {}", Ipv4Addr::from(s.netmask));
                }
                Family::Inet6 => {
                    let _ = write!(out, " -M {}", s.netmask);
                }
            }
        }
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(out, " --pe {pe}");
    }
    if s.flags.one_packet {
        out.push_str(" -o");
    }
    out
}

fn destination_address(d: &Destination) -> String {
    match d.address {
        IpAddr::V4(a) => format!("{a}:{}", d.port),
        IpAddr::V6(a) => format!("[{a}]:{}", d.port),
    }
}

fn destination_options(d: &Destination) -> String {
    let method = match d.forwarding {
        Forwarding::Masq => "-m",
        Forwarding::Tunnel => "-i",
        Forwarding::Route | Forwarding::Local | Forwarding::Bypass => "-g",
    };
    let mut out = format!(" {method} -w {}", d.weight);
    if d.upper_threshold > 0 {
        let _ = write!(out, " -x {}", d.upper_threshold);
    }
    if d.lower_threshold > 0 {
        let _ = write!(out, " -y {}", d.lower_threshold);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::VirtualServer;
    use director_core::state::VirtualServerRecord;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn state(specs: &[serde_json::Value]) -> DesiredState {
        let mut s = DesiredState::default();
        for v in specs {
            let mut vs: VirtualServer = serde_json::from_value(v.clone()).unwrap();
            vs.normalize();
            vs.validate().unwrap();
            s.virtual_servers.insert(
                vs.name.clone(),
                Arc::new(VirtualServerRecord {
                    spec: vs,
                    revision: 1,
                    real_server_revisions: BTreeMap::new(),
                }),
            );
        }
        s
    }

    #[test]
    fn renders_ipvsadm_save_lines() {
        let s = state(&[
            serde_json::json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
                "scheduler": "wlc", "forwarding": "dr",
                "persistence": {"timeout_s": 300, "netmask": "255.255.255.0"},
                "real_servers": [{"address": "10.0.1.1", "port": 80, "weight": 5, "upper_threshold": 100},
                                 {"address": "10.0.1.2", "port": 80, "weight": 0}]}),
            serde_json::json!({"name": "v6", "protocol": "udp", "address": "2001:db8::1", "port": 53,
                "scheduler": "sh", "scheduler_flags": ["sh-port"], "forwarding": "nat", "one_packet": true,
                "real_servers": [{"address": "2001:db8::10", "port": 5353}]}),
            serde_json::json!({"name": "mark", "fwmark": 7, "family": "inet6", "scheduler": "rr",
                "forwarding": "tunnel", "real_servers": [{"address": "2001:db8::20", "port": 0}]}),
            serde_json::json!({"name": "sorry", "protocol": "tcp", "address": "10.0.0.2", "port": 443,
                "quorum": 2, "sorry_server": {"address": "10.0.9.9", "port": 443},
                "real_servers": [{"address": "10.0.1.3", "port": 443}]}),
        ]);
        let text = render(&table(&s, "lvs-01"));
        let lines: Vec<&str> = text.lines().collect();
        for expected in [
            "-A -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0",
            "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 5 -x 100",
            "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0",
            "-A -u [2001:db8::1]:53 -s sh -b sh-port -o",
            "-a -u [2001:db8::1]:53 -r [2001:db8::10]:5353 -m -w 1",
            "-A -f 7 -6 -s rr",
            "-a -f 7 -6 -r [2001:db8::20]:0 -i -w 1",
            "-A -t 10.0.0.2:443 -s wlc",
            "-a -t 10.0.0.2:443 -r 10.0.9.9:443 -g -w 1",
            "-a -t 10.0.0.2:443 -r 10.0.1.3:443 -g -w 1",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected:?} missing in:\n{text}"
            );
        }
        assert_eq!(lines.len(), 10, "{text}");
    }
}

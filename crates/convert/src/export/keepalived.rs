//! The desired state as one node's keepalived.conf (typed; `director_keepalived::write` renders it). Pure.
//!
//! The inverse of the import's mapping: importing the text gives the same objects back. What keepalived
//! cannot express (webhooks, tracking a virtual server, body regexes, disabled objects) is left out and
//! reported. A virtual server tied to a VRRP group the node is no member of is not in its file: director
//! does not program it there either.

use crate::import::words;
use director_core::model::health_check::CheckKind;
use director_core::model::vrrp_group::{parse_vip, MAX_TRACK_WEIGHT};
use director_core::model::{
    AuthType, Family, Forwarding, HealthCheck, Protocol, RealServer, Scheduler, SchedulerFlag,
    VirtualServer, VrrpGroup,
};
use director_core::DesiredState;
use director_keepalived::config as k;
use std::collections::BTreeMap;
use std::time::Duration;

/// The configuration of `node`, and what could not be written into it.
pub fn config(state: &DesiredState, node: &str) -> (k::Config, Vec<String>) {
    let mut out = k::Config::default();
    let mut warnings = Vec::new();
    out.global_defs.router_id = Some(node.to_string());
    let mut sync: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in state.vrrp_groups.values() {
        let g = &record.spec;
        if g.member_for(node).is_none() {
            continue;
        }
        let inst = instance(g, node, &mut out.vrrp_scripts, &mut warnings);
        if let Some(settings) = g.sync_settings_for(node) {
            match &out.global_defs.lvs_sync_daemon {
                // keepalived drives its sync daemons from one instance.
                Some(first) => warnings.push(format!(
                    "VRRP group {}: connection_sync is not exported: keepalived's lvs_sync_daemon follows one \
                     instance, {}",
                    g.name, first.instance
                )),
                None => {
                    let c = g.connection_sync.as_ref();
                    out.global_defs.lvs_sync_daemon = Some(k::LvsSyncDaemon {
                        interface: settings.interface,
                        instance: inst.name.clone(),
                        id: c
                            .and_then(|c| c.sync_id)
                            .and_then(|id| u8::try_from(id).ok()),
                        maxlen: settings
                            .max_packet_len
                            .and_then(|l| u16::try_from(l).ok()),
                        port: settings.mcast_port.and_then(|p| u16::try_from(p).ok()),
                        ttl: settings.mcast_ttl.and_then(|t| u8::try_from(t).ok()),
                        group: settings.mcast_group,
                    });
                }
            }
        }
        if let Some(s) = &g.sync_group {
            sync.entry(s.clone()).or_default().push(inst.name.clone());
        }
        out.vrrp_instances.push(inst);
    }
    for (name, group) in sync {
        let mut sg = k::VrrpSyncGroup::new(name);
        sg.group = group;
        out.vrrp_sync_groups.push(sg);
    }
    for (name, record) in &state.virtual_servers {
        let vs = &record.spec;
        let here = vs.vrrp_group.as_ref().is_none_or(|g| {
            state
                .vrrp_groups
                .get(g)
                .is_some_and(|r| r.spec.member_for(node).is_some())
        });
        if !here {
            // Programmed only on the members of its VRRP group: not on this node.
            continue;
        }
        if !vs.enabled {
            warnings.push(format!("virtual server {name} is disabled: not exported"));
            continue;
        }
        match virtual_server(vs, &mut warnings) {
            Some(v) => out.virtual_servers.push(v),
            None => warnings.push(format!(
                "virtual server {name} has no address or mark: not exported"
            )),
        }
    }
    (out, warnings)
}

fn instance(
    g: &VrrpGroup,
    node: &str,
    scripts: &mut Vec<k::VrrpScript>,
    warnings: &mut Vec<String>,
) -> k::VrrpInstance {
    let mut v = k::VrrpInstance::new(g.name.clone());
    let member = g.member_for(node);
    let priority = member
        .as_ref()
        .and_then(|m| m.priority)
        .unwrap_or(g.priority);
    let highest = g
        .members
        .iter()
        .map(|m| m.priority.unwrap_or(g.priority))
        .max()
        .unwrap_or(priority);
    // keepalived clears `nopreempt` of an instance that starts as MASTER (and `keepalived -t` fails):
    // without preemption every node starts as BACKUP, and the highest priority takes over when no master
    // is heard, as director's nodes do.
    v.state = Some(if priority >= highest && g.preempt {
        k::VrrpState::Master
    } else {
        k::VrrpState::Backup
    });
    v.interface = member
        .as_ref()
        .and_then(|m| m.interface.clone())
        .or_else(|| g.interface.clone());
    v.virtual_router_id = u8::try_from(g.vrid).ok();
    v.priority = u8::try_from(priority).ok();
    v.advert_int = Some(Duration::from_millis(u64::from(g.advert_interval_ms)));
    v.version = Some(if g.version == 3 {
        k::VrrpVersion::V3
    } else {
        k::VrrpVersion::V2
    });
    v.nopreempt = !g.preempt;
    v.preempt_delay =
        (g.preempt_delay_s > 0).then(|| Duration::from_secs(u64::from(g.preempt_delay_s)));
    if let Some(m) = &member {
        v.unicast_src_ip = m.unicast_source;
        v.unicast_peer = m.unicast_peers.clone();
    }
    if let Some(auth) = &g.auth {
        if auth.kind == AuthType::Pass {
            v.authentication = Some(k::Authentication {
                auth_type: Some(k::AuthType::Pass),
                auth_pass: auth.password.clone(),
            });
        }
    }
    for vip in &g.virtual_addresses {
        if let Ok((address, prefix)) = parse_vip(vip) {
            let mut ip = k::VirtualIp::new(address);
            ip.prefix_len = Some(prefix);
            v.virtual_ipaddress.push(ip);
        }
    }
    for (i, t) in g.track.iter().enumerate() {
        if let Some(interface) = &t.interface {
            v.track_interface.push(k::TrackInterface {
                name: interface.clone(),
                weight: Some(keepalived_weight(t.weight)),
                reverse: false,
            });
        } else if let Some(command) = &t.script {
            let name = format!("{}_track_{}", g.name, i + 1);
            let mut script = k::VrrpScript::new(name.clone());
            script.script = Some(words::join(command));
            scripts.push(script);
            v.track_script.push(k::TrackScript {
                name,
                weight: Some(keepalived_weight(t.weight)),
                reverse: None,
            });
        } else if let Some(vs) = &t.virtual_server {
            warnings.push(format!(
                "VRRP group {}: tracking virtual server {vs} has no keepalived equivalent: not exported",
                g.name
            ));
        }
    }
    if let Some(n) = &g.notify {
        if let Some(script) = &n.script {
            v.notify = Some(k::NotifyScript {
                command: words::join(script),
                user: None,
            });
        }
        if n.webhook.is_some() {
            warnings.push(format!(
                "VRRP group {}: the notify webhook has no keepalived equivalent: not exported",
                g.name
            ));
        }
    }
    if let Some(garp) = &g.garp {
        v.garp_master_delay = Some(Duration::from_secs(u64::from(garp.delay_s)));
        v.garp_master_repeat = Some(garp.repeat);
        v.garp_master_refresh = Some(Duration::from_secs(u64::from(garp.refresh_s)));
    }
    v
}

/// A track weight within keepalived's -253..=253. The model allows no more since this was written; a weight
/// of +/-254 stored before moves any priority 1..254 to the same bound as +/-253 does, in both.
fn keepalived_weight(w: i32) -> i32 {
    w.clamp(-MAX_TRACK_WEIGHT, MAX_TRACK_WEIGHT)
}

fn lvs_method(f: Forwarding) -> k::LvsMethod {
    match f {
        Forwarding::Nat => k::LvsMethod::Nat,
        Forwarding::Dr => k::LvsMethod::Dr,
        Forwarding::Tunnel => k::LvsMethod::Tun(k::TunnelOptions::default()),
    }
}

fn scheduler(s: Scheduler) -> Option<k::Scheduler> {
    k::Scheduler::ALL
        .into_iter()
        .find(|x| x.as_str() == s.as_str())
}

fn scheduler_flag(f: SchedulerFlag) -> Option<k::SchedulerFlag> {
    k::SchedulerFlag::ALL
        .into_iter()
        .find(|x| x.as_str() == f.as_str())
}

fn virtual_server(vs: &VirtualServer, warnings: &mut Vec<String>) -> Option<k::VirtualServer> {
    let family = vs.effective_family();
    let key = match (vs.fwmark, vs.address) {
        (Some(mark), _) => k::VirtualServerKey::Fwmark(mark),
        (None, Some(address)) => k::VirtualServerKey::Address {
            address,
            port: vs
                .port
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0),
        },
        (None, None) => return None,
    };
    let mut out = k::VirtualServer::new(key);
    if vs.fwmark.is_some() {
        out.ip_family = Some(match family {
            Family::Inet => k::IpFamily::Inet,
            Family::Inet6 => k::IpFamily::Inet6,
        });
    } else {
        out.protocol = vs.protocol.map(|p| match p {
            Protocol::Tcp => k::Protocol::Tcp,
            Protocol::Udp => k::Protocol::Udp,
            Protocol::Sctp => k::Protocol::Sctp,
        });
    }
    out.lvs_sched = scheduler(vs.scheduler);
    out.sched_flags = vs
        .scheduler_flags
        .iter()
        .filter_map(|f| scheduler_flag(*f))
        .collect();
    out.ops = vs.one_packet;
    out.lvs_method = Some(lvs_method(vs.forwarding));
    if let Some(p) = &vs.persistence {
        out.persistence_timeout = Some(p.timeout_s);
        out.persistence_granularity = p.netmask.as_ref().and_then(|m| match family {
            Family::Inet => m.parse().ok().map(k::PersistenceGranularity::Netmask),
            Family::Inet6 => m
                .trim_start_matches('/')
                .parse()
                .ok()
                .map(k::PersistenceGranularity::PrefixLen),
        });
    }
    out.alpha = vs.alpha;
    out.quorum = Some(vs.quorum);
    out.hysteresis = Some(vs.hysteresis);
    out.sorry_server = vs.sorry_server.as_ref().map(|s| k::SorryServer {
        address: s.address,
        port: u16::try_from(s.port).ok(),
        inhibit: false,
        lvs_method: s.forwarding.map(lvs_method),
    });
    for rs in &vs.real_servers {
        if !rs.enabled {
            warnings.push(format!(
                "virtual server {}: real server {} is disabled: not exported",
                vs.name,
                rs.key()
            ));
            continue;
        }
        let check = rs.health_check.as_ref().or(vs.health_check.as_ref());
        out.real_servers.push(real_server(vs, rs, check, warnings));
    }
    Some(out)
}

fn real_server(
    vs: &VirtualServer,
    rs: &RealServer,
    check: Option<&HealthCheck>,
    warnings: &mut Vec<String>,
) -> k::RealServer {
    let port = u16::try_from(rs.port).ok().filter(|p| *p != 0);
    let mut out = k::RealServer::new(rs.address, port);
    out.weight = Some(rs.weight);
    out.lvs_method = rs.forwarding.map(lvs_method);
    out.uthreshold = (rs.upper_threshold > 0).then_some(rs.upper_threshold);
    out.lthreshold = (rs.lower_threshold > 0).then_some(rs.lower_threshold);
    out.inhibit_on_failure = rs.inhibit_on_failure.then_some(true);
    if let Some(hc) = check {
        let context = format!("virtual server {} real server {}", vs.name, rs.key());
        out.checks.extend(health_check(hc, &context, warnings));
    }
    out
}

fn health_check(
    hc: &HealthCheck,
    context: &str,
    warnings: &mut Vec<String>,
) -> Option<k::HealthCheck> {
    let ms = |v: u64| Duration::from_millis(v);
    let options = k::CheckOptions {
        alpha: None,
        connect_timeout: (hc.kind != CheckKind::Script).then(|| ms(hc.timeout_ms)),
        retry: Some(hc.fall.saturating_sub(1)),
        delay_before_retry: hc.retry_delay_ms.map(ms),
        warmup: hc.warmup_ms.map(ms),
        delay_loop: Some(ms(hc.interval_ms)),
        log_all_failures: None,
    };
    let connection = k::Connection {
        connect_ip: hc.connect_address,
        connect_port: hc.connect_port.and_then(|p| u16::try_from(p).ok()),
        bindto: hc.bind_address,
        ..Default::default()
    };
    if hc.body_regex.is_some() {
        warnings.push(format!(
            "{context}: body_regex has no keepalived equivalent: not exported"
        ));
    }
    if hc.verify_tls == Some(true) {
        warnings.push(format!(
            "{context}: verify_tls has no keepalived equivalent: not exported"
        ));
    }
    match hc.kind {
        CheckKind::None => None,
        CheckKind::Tcp => Some(k::HealthCheck::Tcp(k::TcpCheck {
            connection,
            options,
        })),
        CheckKind::Http | CheckKind::Https => {
            let url = k::HttpUrl {
                path: Some(hc.path.clone().unwrap_or_else(|| "/".to_string())),
                digest: hc.digest.clone(),
                status_code: hc
                    .status_codes
                    .iter()
                    .flatten()
                    .filter_map(|s| {
                        director_core::model::health_check::parse_status_range(s)
                            .ok()
                            .map(|(first, last)| k::StatusCodeRange { first, last })
                    })
                    .collect(),
                virtualhost: hc.virtual_host.clone(),
            };
            let mut http = k::HttpCheck {
                connection,
                options,
                urls: vec![url],
                http_protocol: hc.http_version.as_deref().map(|v| {
                    if v == "1.0" {
                        k::HttpProtocol::Http10
                    } else {
                        k::HttpProtocol::Http11
                    }
                }),
                ..Default::default()
            };
            if hc.kind == CheckKind::Https {
                http.sni_name = hc.sni.clone();
                Some(k::HealthCheck::SslGet(http))
            } else {
                Some(k::HealthCheck::HttpGet(http))
            }
        }
        CheckKind::Script => Some(k::HealthCheck::Misc(k::MiscCheck {
            options,
            misc_path: hc.command.as_deref().map(words::join),
            misc_timeout: Some(Duration::from_secs(hc.timeout_ms.div_ceil(1000).max(1))),
            misc_dynamic: hc.dynamic_weight == Some(true),
            user: None,
        })),
    }
}

//! The typed keepalived configuration of one node -> director's VRRP groups and virtual servers. Pure.
//!
//! What maps onto what (keepalived -> director):
//!
//! - `global_defs router_id` -> the node this file describes (unless `--node` names it); `vrrp_version`,
//!   `default_interface` and `vrrp_garp_master_*` are defaults of the instances.
//! - `vrrp_instance NAME` -> VRRP group `name` (lower-cased) with this node as a member (its interface,
//!   priority, `unicast_src_ip`, `unicast_peer`); `virtual_router_id` -> `vrid`, `advert_int`, `nopreempt`,
//!   `preempt_delay`, `authentication` (PASS), `virtual_ipaddress`, `track_interface`, `track_script` (the
//!   `vrrp_script`'s command), `notify` (the script run on every transition), `garp_master_*`;
//!   `vrrp_sync_group` -> the `sync_group` of its instances.
//! - `virtual_server` -> virtual server `tcp-10.0.0.1-80` / `fwmark-7` (or the existing virtual server with
//!   the same address, see [`super::merge`]), tied to the VRRP group whose addresses hold its address.
//! - `real_server` and its first checker -> real server and health check (`TCP_CHECK` tcp, `HTTP_GET` http,
//!   `SSL_GET` https, `MISC_CHECK` script); a check shared by every real server becomes the virtual server's.
//!   keepalived's `retry` N is director's `fall` N + 1; `delay_loop` the interval, `connect_timeout` the
//!   timeout, `delay_before_retry` the retry delay.
//!
//! Everything else is reported as a [`Warning`] with its file and line. Values director refuses are an
//! [`ImportError`] with the line.

use super::{words, ImportError, Place, Warning};
use director_core::model::health_check::CheckKind;
use director_core::model::vrrp_group::{validate_node, Garp, Notify};
use director_core::model::{
    Auth, AuthType, Family, Forwarding, HealthCheck, Member, Persistence, Protocol, RealServer,
    Scheduler, SchedulerFlag, SorryServer, Track, VirtualServer, VrrpGroup,
};
use director_keepalived::config as k;
use director_keepalived::{BlockSpan, Location, Parsed};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How the file is read.
#[derive(Debug, Clone)]
pub struct Options {
    /// The node the file belongs to (`--node`); overrides `router_id`.
    pub node: Option<String>,
    /// The node when neither `--node` nor `router_id` names one (this host's node name).
    pub default_node: String,
}

/// A VRRP group as one node's file declares it (`members` holds that node only).
#[derive(Debug, Clone)]
pub struct ImportedGroup {
    pub group: VrrpGroup,
    pub span: BlockSpan,
}

/// A virtual server of the file.
#[derive(Debug, Clone)]
pub struct ImportedVirtualServer {
    pub virtual_server: VirtualServer,
    pub span: BlockSpan,
}

/// The objects of one node's file, and what of it is not imported.
#[derive(Debug, Clone)]
pub struct Imported {
    pub node: String,
    pub vrrp_groups: Vec<ImportedGroup>,
    pub virtual_servers: Vec<ImportedVirtualServer>,
    pub warnings: Vec<Warning>,
}

/// keepalived's defaults where director's differ.
const KEEPALIVED_DELAY_LOOP: Duration = Duration::from_secs(60);
const KEEPALIVED_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A track whose failure puts a keepalived instance in FAULT: the lowest priority director can give.
const FAULT_WEIGHT: i32 = -254;

/// Maps a parsed keepalived configuration. The spans of the virtual servers move into the result; the
/// rest of `parsed` is freed here, before the import builds what it writes.
pub fn map(mut parsed: Parsed, options: &Options) -> Result<Imported, ImportError> {
    let vs_spans = std::mem::take(&mut parsed.spans.virtual_servers);
    let mut m = Mapper {
        config: &parsed.config,
        spans: &parsed.spans,
        warnings: parsed
            .unmapped
            .iter()
            .map(|u| Warning {
                place: Place {
                    file: u.file.clone(),
                    line: u.line,
                },
                message: format!("'{}' in {} is not imported", u.keyword, u.context),
            })
            .collect(),
    };
    let node = m.node(options)?;
    m.global_defs();
    let sync_groups = m.sync_groups()?;
    let mut vrrp_groups = Vec::new();
    let mut names: HashMap<String, &Location> = HashMap::new();
    for (i, inst) in parsed.config.vrrp_instances.iter().enumerate() {
        let span = &parsed.spans.vrrp_instances[i];
        let group = m.group(inst, span, &node, &sync_groups)?;
        if let Some(first) = names.insert(group.name.clone(), &span.at) {
            return Err(ImportError::at(
                &span.at,
                format!(
                    "vrrp_instance {} becomes VRRP group {}, like the instance at {first}",
                    inst.name, group.name
                ),
            ));
        }
        vrrp_groups.push(ImportedGroup {
            group,
            span: span.clone(),
        });
    }
    let mut vip_groups: HashMap<IpAddr, String> = HashMap::new();
    for g in &vrrp_groups {
        for v in &g.group.virtual_addresses {
            if let Some(Ok(addr)) = v.split('/').next().map(str::parse::<IpAddr>) {
                vip_groups
                    .entry(addr)
                    .or_insert_with(|| g.group.name.clone());
            }
        }
    }
    let mut virtual_servers = Vec::with_capacity(parsed.config.virtual_servers.len());
    let mut keys: HashMap<String, Location> = HashMap::new();
    for (vs, span) in parsed.config.virtual_servers.iter().zip(vs_spans) {
        let virtual_server = m.virtual_server(vs, &span, &vip_groups)?;
        if let Some(first) = keys.insert(virtual_server.name.clone(), span.at.clone()) {
            return Err(ImportError::at(
                &span.at,
                format!(
                    "virtual_server {} is declared twice (first at {first})",
                    vs.key
                ),
            ));
        }
        virtual_servers.push(ImportedVirtualServer {
            virtual_server,
            span,
        });
    }
    let mut warnings = m.warnings;
    warnings.sort_by(|a, b| (&a.place.file, a.place.line).cmp(&(&b.place.file, b.place.line)));
    Ok(Imported {
        node,
        vrrp_groups,
        virtual_servers,
        warnings,
    })
}

/// A director name for a keepalived name: lower case, other characters as `-`.
pub fn slug(name: &str) -> Option<String> {
    let s: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    director_core::model::validate_name("name", &s).ok()?;
    Some(s)
}

/// The name director gives an imported virtual server: `tcp-10.0.0.1-80`, `udp-2001-db8--1-53`, `fwmark-7`,
/// `fwmark-7-inet6`.
pub fn virtual_server_name(vs: &VirtualServer) -> String {
    match (vs.fwmark, vs.address) {
        (Some(mark), _) => match vs.effective_family() {
            Family::Inet => format!("fwmark-{mark}"),
            Family::Inet6 => format!("fwmark-{mark}-inet6"),
        },
        (None, Some(address)) => format!(
            "{}-{}-{}",
            vs.protocol.unwrap_or(Protocol::Tcp).as_str(),
            address.to_string().replace(':', "-"),
            vs.port.unwrap_or(0)
        ),
        (None, None) => "virtual-server".to_string(),
    }
}

struct Mapper<'a> {
    config: &'a k::Config,
    spans: &'a director_keepalived::Spans,
    warnings: Vec<Warning>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn whole_seconds(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn forwarding(m: &k::LvsMethod) -> Forwarding {
    match m {
        k::LvsMethod::Nat => Forwarding::Nat,
        k::LvsMethod::Dr => Forwarding::Dr,
        k::LvsMethod::Tun(_) => Forwarding::Tunnel,
    }
}

fn scheduler(s: k::Scheduler) -> Scheduler {
    Scheduler::from_name(s.as_str()).unwrap_or_default()
}

fn scheduler_flag(f: k::SchedulerFlag) -> SchedulerFlag {
    match f {
        k::SchedulerFlag::Flag1 => SchedulerFlag::Flag1,
        k::SchedulerFlag::Flag2 => SchedulerFlag::Flag2,
        k::SchedulerFlag::Flag3 => SchedulerFlag::Flag3,
        k::SchedulerFlag::ShPort => SchedulerFlag::ShPort,
        k::SchedulerFlag::ShFallback => SchedulerFlag::ShFallback,
        k::SchedulerFlag::MhPort => SchedulerFlag::MhPort,
        k::SchedulerFlag::MhFallback => SchedulerFlag::MhFallback,
    }
}

fn protocol(p: k::Protocol) -> Protocol {
    match p {
        k::Protocol::Tcp => Protocol::Tcp,
        k::Protocol::Udp => Protocol::Udp,
        k::Protocol::Sctp => Protocol::Sctp,
    }
}

/// An IPv4 netmask of `len` bits.
fn v4_mask(len: u8) -> Ipv4Addr {
    let len = u32::from(len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - len).unwrap_or(0))
}

impl Mapper<'_> {
    fn warn(&mut self, at: &Location, message: impl Into<String>) {
        self.warnings.push(Warning {
            place: at.into(),
            message: message.into(),
        });
    }

    /// Warns about each keyword of `set` that is given, as `'kw' in CONTEXT is not imported: WHY`.
    fn not_imported(&mut self, span: &BlockSpan, context: &str, set: &[(bool, &str)], why: &str) {
        for (given, keyword) in set {
            if *given {
                let at = span.line_of(keyword).clone();
                self.warn(
                    &at,
                    format!("'{keyword}' in {context} is not imported{why}"),
                );
            }
        }
    }

    fn node(&self, options: &Options) -> Result<String, ImportError> {
        let (node, at) = match (&options.node, &self.config.global_defs.router_id) {
            (Some(n), _) => (n.clone(), None),
            (None, Some(r)) => (
                r.clone(),
                self.spans
                    .global_defs
                    .as_ref()
                    .map(|g| g.line_of("router_id")),
            ),
            (None, None) => (options.default_node.clone(), None),
        };
        if let Err(e) = validate_node("node", &node) {
            let message = format!("{} (the node name of this file)", e.message);
            return Err(match at {
                Some(at) => ImportError::at(at, format!("router_id: {message}")),
                None => ImportError {
                    place: Place {
                        file: "--node".into(),
                        line: 0,
                    },
                    message,
                },
            });
        }
        Ok(node)
    }

    fn global_defs(&mut self) {
        let Some(span) = self.spans.global_defs.clone() else {
            return;
        };
        let g = &self.config.global_defs;
        self.not_imported(
            &span,
            "global_defs",
            &[
                (!g.notification_email.is_empty(), "notification_email"),
                (
                    g.notification_email_from.is_some(),
                    "notification_email_from",
                ),
                (g.smtp_server.is_some(), "smtp_server"),
                (g.smtp_helo_name.is_some(), "smtp_helo_name"),
                (g.smtp_connect_timeout.is_some(), "smtp_connect_timeout"),
                (g.smtp_alert.is_some(), "smtp_alert"),
                (g.enable_script_security, "enable_script_security"),
                (g.script_user.is_some(), "script_user"),
                (g.lvs_flush, "lvs_flush"),
                (g.vrrp_strict, "vrrp_strict"),
                (g.vrrp_skip_check_adv_addr, "vrrp_skip_check_adv_addr"),
                (g.vrrp_check_unicast_src, "vrrp_check_unicast_src"),
                (g.vrrp_mcast_group4.is_some(), "vrrp_mcast_group4"),
                (g.vrrp_mcast_group6.is_some(), "vrrp_mcast_group6"),
                (g.vrrp_garp_interval.is_some(), "vrrp_garp_interval"),
                (g.vrrp_gna_interval.is_some(), "vrrp_gna_interval"),
            ],
            "",
        );
    }

    /// Instance name -> sync group name.
    fn sync_groups(&mut self) -> Result<HashMap<String, String>, ImportError> {
        let mut out = HashMap::new();
        for (i, sg) in self.config.vrrp_sync_groups.iter().enumerate() {
            let span = self.spans.vrrp_sync_groups[i].clone();
            let name = slug(&sg.name).ok_or_else(|| {
                ImportError::at(
                    &span.at,
                    format!("vrrp_sync_group {}: not usable as a director name", sg.name),
                )
            })?;
            for inst in &sg.group {
                if !self.config.vrrp_instances.iter().any(|v| &v.name == inst) {
                    return Err(ImportError::at(
                        span.line_of("group"),
                        format!(
                            "vrrp_sync_group {}: there is no vrrp_instance {inst}",
                            sg.name
                        ),
                    ));
                }
                if out.insert(inst.clone(), name.clone()).is_some() {
                    return Err(ImportError::at(
                        span.line_of("group"),
                        format!("vrrp_instance {inst} is in more than one vrrp_sync_group"),
                    ));
                }
            }
            let ctx = format!("vrrp_sync_group {}", sg.name);
            self.not_imported(
                &span,
                &ctx,
                &[
                    (!sg.track_interface.is_empty(), "track_interface"),
                    (!sg.track_script.is_empty(), "track_script"),
                    (sg.notify_master.is_some(), "notify_master"),
                    (sg.notify_backup.is_some(), "notify_backup"),
                    (sg.notify_fault.is_some(), "notify_fault"),
                    (sg.notify_stop.is_some(), "notify_stop"),
                    (sg.notify.is_some(), "notify"),
                    (sg.smtp_alert.is_some(), "smtp_alert"),
                ],
                ": track and notify the instances themselves",
            );
        }
        Ok(out)
    }

    fn group(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        node: &str,
        sync_groups: &HashMap<String, String>,
    ) -> Result<VrrpGroup, ImportError> {
        let ctx = format!("vrrp_instance {}", inst.name);
        let g = &self.config.global_defs;
        let name = slug(&inst.name).ok_or_else(|| {
            ImportError::at(
                &span.at,
                format!("{ctx}: the name is not usable as a director name"),
            )
        })?;
        let vrid = inst.virtual_router_id.ok_or_else(|| {
            ImportError::at(&span.at, format!("{ctx}: virtual_router_id is required"))
        })?;
        let interface = inst
            .interface
            .clone()
            .or_else(|| g.default_interface.clone())
            .ok_or_else(|| {
                ImportError::at(
                    &span.at,
                    format!("{ctx}: interface is required (or global_defs default_interface)"),
                )
            })?;
        let mut virtual_addresses = Vec::new();
        let mut ipv6 = false;
        for vip in &inst.virtual_ipaddress {
            let max = if vip.address.is_ipv4() { 32 } else { 128 };
            ipv6 |= vip.address.is_ipv6();
            let text = match vip.prefix_len {
                Some(p) => format!("{}/{p}", vip.address),
                None => vip.address.to_string(),
            };
            let at = span
                .keywords
                .get(&text)
                .unwrap_or(span.line_of("virtual_ipaddress"))
                .clone();
            virtual_addresses.push(format!("{}/{}", vip.address, vip.prefix_len.unwrap_or(max)));
            if let Some(dev) = &vip.dev {
                if *dev != interface {
                    self.warn(
                        &at,
                        format!(
                            "'dev {dev}' of {text} is not imported: director binds the addresses of a group on its interface ({interface})"
                        ),
                    );
                }
            }
            for (given, option) in [
                (vip.brd.is_some(), "brd"),
                (vip.scope.is_some(), "scope"),
                (vip.label.is_some(), "label"),
                (vip.no_track, "no_track"),
            ] {
                if given {
                    self.warn(
                        &at,
                        format!("'{option}' of {text} in {ctx} is not imported"),
                    );
                }
            }
        }
        for vip in &inst.virtual_ipaddress_excluded {
            let at = span.line_of("virtual_ipaddress_excluded").clone();
            self.warn(
                &at,
                format!(
                    "{} in virtual_ipaddress_excluded of {ctx} is not imported: director announces every address of a group",
                    vip.address
                ),
            );
        }
        let version = match inst.version.or(g.vrrp_version) {
            Some(v) => u32::from(v.number()),
            None if ipv6 => 3,
            None => 2,
        };
        let advert_interval_ms = match inst.advert_int {
            None => 1000,
            Some(d) if version == 2 => {
                if d.subsec_nanos() != 0 {
                    return Err(ImportError::at(
                        span.line_of("advert_int"),
                        format!("{ctx}: advert_int must be whole seconds with VRRP version 2"),
                    ));
                }
                u32::try_from(millis(d)).unwrap_or(u32::MAX)
            }
            Some(d) => {
                let ms = u32::try_from(millis(d)).unwrap_or(u32::MAX);
                let rounded = (ms + 5) / 10 * 10;
                if rounded != ms || Duration::from_millis(u64::from(ms)) != d {
                    let at = span.line_of("advert_int").clone();
                    self.warn(
                        &at,
                        format!("{ctx}: advert_int rounded to {rounded} ms (VRRPv3 counts in centiseconds)"),
                    );
                }
                rounded
            }
        };
        let preempt_delay_s = match inst.preempt_delay {
            None => 0,
            Some(d) => {
                let s = whole_seconds(d + Duration::from_millis(500));
                if d.subsec_nanos() != 0 {
                    let at = span.line_of("preempt_delay").clone();
                    self.warn(&at, format!("{ctx}: preempt_delay rounded to {s} s"));
                }
                s
            }
        };
        let auth = match &inst.authentication {
            None => None,
            Some(a) => {
                let at = span.line_of("authentication").clone();
                match (a.auth_type, &a.auth_pass) {
                    (Some(k::AuthType::Ah), _) => {
                        return Err(ImportError::at(
                            span.line_of("auth_type"),
                            format!(
                            "{ctx}: auth_type AH is not supported by director (use PASS or none)"
                        ),
                        ))
                    }
                    _ if version == 3 => {
                        self.warn(
                            &at,
                            format!("{ctx}: authentication is not imported: VRRPv3 has none"),
                        );
                        None
                    }
                    (_, Some(pass)) => {
                        let mut password: String = pass.clone();
                        if password.len() > 8 {
                            let cut: String = password.chars().take(8).collect();
                            let at = span.line_of("auth_pass").clone();
                            self.warn(
                                &at,
                                format!("{ctx}: auth_pass cut to its first 8 characters, as keepalived sends it"),
                            );
                            password = cut;
                        }
                        Some(Auth {
                            kind: AuthType::Pass,
                            password: Some(password),
                        })
                    }
                    (_, None) => {
                        return Err(ImportError::at(
                            &at,
                            format!("{ctx}: authentication without auth_pass"),
                        ))
                    }
                }
            }
        };
        let mut track = Vec::new();
        for t in &inst.track_interface {
            let at = span.line_of("track_interface").clone();
            let weight = match t.weight {
                Some(w) if w != 0 => w,
                _ => {
                    self.warn(
                        &at,
                        format!(
                            "{ctx}: track_interface {} has no weight (keepalived: FAULT); imported with weight {FAULT_WEIGHT}",
                            t.name
                        ),
                    );
                    FAULT_WEIGHT
                }
            };
            if t.reverse {
                self.warn(
                    &at,
                    format!(
                        "{ctx}: 'reverse' of track_interface {} is not imported",
                        t.name
                    ),
                );
            }
            track.push(Track {
                virtual_server: None,
                interface: Some(t.name.clone()),
                script: None,
                weight,
            });
        }
        for t in &inst.track_script {
            let at = span.line_of("track_script").clone();
            let Some(si) = self
                .config
                .vrrp_scripts
                .iter()
                .position(|s| s.name == t.name)
            else {
                return Err(ImportError::at(
                    &at,
                    format!(
                        "{ctx}: track_script {}: there is no vrrp_script of that name",
                        t.name
                    ),
                ));
            };
            let script = &self.config.vrrp_scripts[si];
            let script_span = self.spans.vrrp_scripts[si].clone();
            let command = script
                .script
                .as_deref()
                .map(words::split)
                .unwrap_or_default();
            if command.first().is_none_or(|c| c.is_empty()) {
                return Err(ImportError::at(
                    &script_span.at,
                    format!("vrrp_script {}: 'script' is required", script.name),
                ));
            }
            let weight = match t.weight.or(script.weight) {
                Some(w) if w != 0 => w,
                _ => {
                    self.warn(
                        &at,
                        format!(
                            "{ctx}: track_script {} has no weight (keepalived: FAULT); imported with weight {FAULT_WEIGHT}",
                            t.name
                        ),
                    );
                    FAULT_WEIGHT
                }
            };
            if t.reverse.unwrap_or(script.weight_reverse) {
                self.warn(
                    &at,
                    format!(
                        "{ctx}: 'reverse' of track_script {} is not imported",
                        t.name
                    ),
                );
            }
            let sctx = format!("vrrp_script {}", script.name);
            self.not_imported(
                &script_span,
                &sctx,
                &[
                    (script.interval.is_some(), "interval"),
                    (script.timeout.is_some(), "timeout"),
                    (script.rise.is_some(), "rise"),
                    (script.fall.is_some(), "fall"),
                    (script.user.is_some(), "user"),
                    (script.init_fail, "init_fail"),
                ],
                ": director runs track scripts every --vrrp-track-interval",
            );
            track.push(Track {
                virtual_server: None,
                interface: None,
                script: Some(command),
                weight,
            });
        }
        let notify = inst.notify.as_ref().map(|n| Notify {
            webhook: None,
            script: Some(words::split(&n.command)),
        });
        if let Some(n) = &inst.notify {
            if n.user.is_some() {
                let at = span.line_of("notify").clone();
                self.warn(&at, format!("{ctx}: the user of notify is not imported"));
            }
        }
        self.not_imported(
            span,
            &ctx,
            &[
                (inst.notify_master.is_some(), "notify_master"),
                (inst.notify_backup.is_some(), "notify_backup"),
                (inst.notify_fault.is_some(), "notify_fault"),
                (inst.notify_stop.is_some(), "notify_stop"),
            ],
            ": director runs one 'notify' script with the new state as argument",
        );
        self.not_imported(
            span,
            &ctx,
            &[
                (inst.dont_track_primary, "dont_track_primary"),
                (inst.mcast_src_ip.is_some(), "mcast_src_ip"),
                (inst.smtp_alert.is_some(), "smtp_alert"),
            ],
            "",
        );
        let garp_delay = inst.garp_master_delay.or(g.vrrp_garp_master_delay);
        let garp_repeat = inst.garp_master_repeat.or(g.vrrp_garp_master_repeat);
        let garp_refresh = inst.garp_master_refresh.or(g.vrrp_garp_master_refresh);
        let garp =
            (garp_delay.is_some() || garp_repeat.is_some() || garp_refresh.is_some()).then(|| {
                let d = Garp::default();
                Garp {
                    repeat: garp_repeat.unwrap_or(d.repeat),
                    delay_s: garp_delay.map(whole_seconds).unwrap_or(d.delay_s),
                    refresh_s: garp_refresh.map(whole_seconds).unwrap_or(d.refresh_s),
                }
            });
        let priority = u32::from(inst.priority.unwrap_or(100));
        Ok(VrrpGroup {
            name,
            vrid: u32::from(vrid),
            version,
            advert_interval_ms,
            preempt: !inst.nopreempt,
            preempt_delay_s,
            auth,
            virtual_addresses,
            interface: Some(interface),
            priority,
            members: vec![Member {
                node: node.to_string(),
                interface: None,
                priority: Some(priority),
                unicast_peers: inst.unicast_peer.clone(),
                unicast_source: inst.unicast_src_ip,
            }],
            track,
            notify,
            sync_group: sync_groups.get(&inst.name).cloned(),
            garp,
        })
    }

    fn virtual_server(
        &mut self,
        vs: &k::VirtualServer,
        span: &BlockSpan,
        vip_groups: &HashMap<IpAddr, String>,
    ) -> Result<VirtualServer, ImportError> {
        let ctx = format!("virtual_server {}", vs.key);
        let mut out = VirtualServer::default();
        let declared_family = vs.ip_family.map(|f| match f {
            k::IpFamily::Inet => Family::Inet,
            k::IpFamily::Inet6 => Family::Inet6,
        });
        match vs.key {
            k::VirtualServerKey::Address { address, port } => {
                if declared_family.is_some_and(|f| f != Family::of(&address)) {
                    return Err(ImportError::at(
                        span.line_of("ip_family"),
                        format!("{ctx}: ip_family does not match the address {address}"),
                    ));
                }
                out.protocol = Some(vs.protocol.map(protocol).unwrap_or(Protocol::Tcp));
                out.address = Some(address);
                out.port = Some(u32::from(port.unwrap_or(0)));
                out.vrrp_group = vip_groups.get(&address).cloned();
            }
            k::VirtualServerKey::Fwmark(mark) => {
                out.fwmark = Some(mark);
                // keepalived takes the family of a fwmark service from its real servers.
                let from_reals = vs
                    .real_servers
                    .first()
                    .map(|r| Family::of(&r.address))
                    .unwrap_or(Family::Inet);
                out.family = Some(declared_family.unwrap_or(from_reals));
                if vs.protocol.is_some() {
                    let at = span.line_of("protocol").clone();
                    self.warn(
                        &at,
                        format!(
                            "'protocol' in {ctx} is not imported: the mark selects the traffic"
                        ),
                    );
                }
            }
        }
        out.name = virtual_server_name(&out);
        out.scheduler = vs.lvs_sched.map(scheduler).unwrap_or_default();
        out.scheduler_flags = vs.sched_flags.iter().copied().map(scheduler_flag).collect();
        out.one_packet = vs.ops;
        out.forwarding = vs
            .lvs_method
            .as_ref()
            .map(forwarding)
            .unwrap_or(Forwarding::Nat);
        if let Some(k::LvsMethod::Tun(t)) = &vs.lvs_method {
            if *t != k::TunnelOptions::default() {
                let at = span.line_of("lvs_method").clone();
                self.warn(
                    &at,
                    format!("{ctx}: tunnel options of lvs_method TUN are not imported (ipip)"),
                );
            }
        }
        let family = out.effective_family();
        match (vs.persistence_timeout, vs.persistence_granularity) {
            (Some(timeout_s), g) => {
                let netmask = match (g, family) {
                    (None, _) => None,
                    (Some(k::PersistenceGranularity::Netmask(m)), Family::Inet) => {
                        Some(m.to_string())
                    }
                    (Some(k::PersistenceGranularity::PrefixLen(p)), Family::Inet) => {
                        Some(v4_mask(p).to_string())
                    }
                    (Some(k::PersistenceGranularity::PrefixLen(p)), Family::Inet6) => {
                        Some(p.to_string())
                    }
                    (Some(k::PersistenceGranularity::Netmask(m)), Family::Inet6) => {
                        return Err(ImportError::at(
                            span.line_of("persistence_granularity"),
                            format!("{ctx}: {m} is an IPv4 netmask; use a prefix length for IPv6"),
                        ))
                    }
                };
                out.persistence = Some(Persistence { timeout_s, netmask });
            }
            (None, Some(_)) => {
                let at = span.line_of("persistence_granularity").clone();
                self.warn(
                    &at,
                    format!("'persistence_granularity' in {ctx} is not imported: no persistence_timeout"),
                );
            }
            (None, None) => {}
        }
        out.quorum = vs.quorum.unwrap_or(1);
        out.hysteresis = vs.hysteresis.unwrap_or(0);
        out.alpha = vs.alpha;
        out.sorry_server = vs.sorry_server.as_ref().map(|s| SorryServer {
            address: s.address,
            port: u32::from(s.port.unwrap_or(match vs.key {
                k::VirtualServerKey::Address { port, .. } => port.unwrap_or(0),
                k::VirtualServerKey::Fwmark(_) => 0,
            })),
            forwarding: s.lvs_method.as_ref().map(forwarding),
        });
        self.not_imported(
            span,
            &ctx,
            &[
                (vs.persistence_engine.is_some(), "persistence_engine"),
                (vs.ha_suspend, "ha_suspend"),
                (vs.omega, "omega"),
                (vs.quorum_up.is_some(), "quorum_up"),
                (vs.quorum_down.is_some(), "quorum_down"),
                (vs.smtp_alert.is_some(), "smtp_alert"),
                (
                    vs.sorry_server.as_ref().is_some_and(|s| s.inhibit),
                    "sorry_server_inhibit",
                ),
            ],
            "",
        );
        let mut checks = Vec::new();
        for (i, rs) in vs.real_servers.iter().enumerate() {
            let rs_span = span.children.get(i).unwrap_or(span).clone();
            let (real, check) = self.real_server(vs, &out, rs, &rs_span)?;
            out.real_servers.push(real);
            checks.push(check);
        }
        // A check every real server has alike is the virtual server's.
        match checks.first() {
            Some(Some(first)) if checks.iter().all(|c| c.as_ref() == Some(first)) => {
                out.health_check = Some(first.clone());
            }
            _ => {
                for (rs, check) in out.real_servers.iter_mut().zip(checks) {
                    rs.health_check = check;
                }
            }
        }
        Ok(out)
    }

    fn real_server(
        &mut self,
        vs: &k::VirtualServer,
        out: &VirtualServer,
        rs: &k::RealServer,
        span: &BlockSpan,
    ) -> Result<(RealServer, Option<HealthCheck>), ImportError> {
        let ctx = format!("virtual_server {} > real_server {}", vs.key, rs.address);
        let port = match (rs.port, vs.key) {
            (Some(p), _) => p,
            (None, k::VirtualServerKey::Address { port: Some(p), .. }) => p,
            (None, _) => 0,
        };
        let mut real = RealServer::new(rs.address, port);
        let weight = rs.weight.unwrap_or(1);
        if weight > director_core::model::real_server::MAX_WEIGHT {
            return Err(ImportError::at(
                span.line_of("weight"),
                format!(
                    "{ctx}: weight {weight} is out of range 0..={}",
                    director_core::model::real_server::MAX_WEIGHT
                ),
            ));
        }
        real.weight = weight;
        real.forwarding = rs
            .lvs_method
            .as_ref()
            .map(forwarding)
            .filter(|f| *f != out.forwarding);
        real.upper_threshold = rs.uthreshold.unwrap_or(0);
        real.lower_threshold = rs.lthreshold.unwrap_or(0);
        real.inhibit_on_failure = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
        self.not_imported(
            span,
            &ctx,
            &[
                (rs.notify_up.is_some(), "notify_up"),
                (rs.notify_down.is_some(), "notify_down"),
                (rs.smtp_alert.is_some(), "smtp_alert"),
                (rs.alpha.is_some_and(|a| a != vs.alpha), "alpha"),
            ],
            "",
        );
        let mut check = None;
        for (i, c) in rs.checks.iter().enumerate() {
            if i == 0 {
                check = Some(self.check(vs, rs, c, span, &ctx)?);
            } else {
                let kw = match c {
                    k::HealthCheck::Tcp(_) => "TCP_CHECK",
                    k::HealthCheck::HttpGet(_) => "HTTP_GET",
                    k::HealthCheck::SslGet(_) => "SSL_GET",
                    k::HealthCheck::Misc(_) => "MISC_CHECK",
                };
                let at = span.line_of(kw).clone();
                self.warn(
                    &at,
                    format!("{ctx}: {kw} is not imported: director runs one check per real server (the first)"),
                );
            }
        }
        Ok((real, check))
    }

    fn check(
        &mut self,
        vs: &k::VirtualServer,
        rs: &k::RealServer,
        c: &k::HealthCheck,
        span: &BlockSpan,
        ctx: &str,
    ) -> Result<HealthCheck, ImportError> {
        let (keyword, kind, options, connection) = match c {
            k::HealthCheck::Tcp(t) => {
                ("TCP_CHECK", CheckKind::Tcp, &t.options, Some(&t.connection))
            }
            k::HealthCheck::HttpGet(h) => {
                ("HTTP_GET", CheckKind::Http, &h.options, Some(&h.connection))
            }
            k::HealthCheck::SslGet(h) => {
                ("SSL_GET", CheckKind::Https, &h.options, Some(&h.connection))
            }
            k::HealthCheck::Misc(m) => ("MISC_CHECK", CheckKind::Script, &m.options, None),
        };
        let ctx = format!("{ctx} > {keyword}");
        let mut hc = HealthCheck::new(kind);
        let interval = options
            .delay_loop
            .or(rs.delay_loop)
            .or(vs.delay_loop)
            .unwrap_or(KEEPALIVED_DELAY_LOOP);
        hc.interval_ms = millis(interval);
        let timeout = match c {
            k::HealthCheck::Misc(m) => m.misc_timeout.unwrap_or(interval),
            _ => options
                .connect_timeout
                .or(rs.connect_timeout)
                .or(vs.connect_timeout)
                .unwrap_or(KEEPALIVED_CONNECT_TIMEOUT),
        };
        hc.timeout_ms = millis(timeout);
        if hc.timeout_ms > hc.interval_ms {
            let kw = if kind == CheckKind::Script {
                "misc_timeout"
            } else {
                "connect_timeout"
            };
            let at = span.line_of(kw).clone();
            self.warn(
                &at,
                format!(
                    "{ctx}: timeout {} ms cut to the check interval {} ms",
                    hc.timeout_ms, hc.interval_ms
                ),
            );
            hc.timeout_ms = hc.interval_ms;
        }
        let default_retry = if kind == CheckKind::Script { 0 } else { 1 };
        let retry = options
            .retry
            .or(rs.retry)
            .or(vs.retry)
            .unwrap_or(default_retry);
        hc.fall = retry.saturating_add(1).min(100);
        if retry >= 100 {
            let at = span.line_of("retry").clone();
            self.warn(&at, format!("{ctx}: retry {retry} cut to 99 (fall 100)"));
        }
        hc.retry_delay_ms = options
            .delay_before_retry
            .or(rs.delay_before_retry)
            .or(vs.delay_before_retry)
            .map(millis);
        hc.warmup_ms = options.warmup.or(rs.warmup).or(vs.warmup).map(millis);
        self.not_imported(
            span,
            &ctx,
            &[
                (options.alpha.is_some(), "alpha"),
                (options.log_all_failures.is_some(), "log_all_failures"),
            ],
            "",
        );
        if let Some(conn) = connection {
            hc.connect_address = conn.connect_ip;
            hc.connect_port = conn.connect_port.map(u32::from);
            hc.bind_address = conn.bindto;
            self.not_imported(
                span,
                &ctx,
                &[
                    (conn.bind_if.is_some(), "bind_if"),
                    (conn.bind_port.is_some(), "bind_port"),
                    (conn.fwmark.is_some(), "fwmark"),
                ],
                "",
            );
        }
        match c {
            k::HealthCheck::HttpGet(h) | k::HealthCheck::SslGet(h) => {
                if let Some(url) = h.urls.first() {
                    hc.path = url.path.clone();
                    hc.digest = url.digest.as_ref().map(|d| d.to_ascii_lowercase());
                    if !url.status_code.is_empty() {
                        hc.status_codes = Some(
                            url.status_code
                                .iter()
                                .map(|r| {
                                    if r.first == r.last {
                                        r.first.to_string()
                                    } else {
                                        format!("{}-{}", r.first, r.last)
                                    }
                                })
                                .collect(),
                        );
                    }
                    hc.virtual_host = url.virtualhost.clone();
                }
                if h.urls.len() > 1 {
                    let at = span.line_of("url").clone();
                    self.warn(
                        &at,
                        format!(
                            "{ctx}: only the first of {} url blocks is imported",
                            h.urls.len()
                        ),
                    );
                }
                hc.virtual_host = hc
                    .virtual_host
                    .take()
                    .or_else(|| h.virtualhost.clone())
                    .or_else(|| rs.virtualhost.clone())
                    .or_else(|| vs.virtualhost.clone());
                hc.http_version = h.http_protocol.map(|p| match p {
                    k::HttpProtocol::Http11 => "1.1".to_string(),
                    _ => "1.0".to_string(),
                });
                if h.http_protocol == Some(k::HttpProtocol::Http10Close) {
                    let at = span.line_of("http_protocol").clone();
                    self.warn(&at, format!("{ctx}: http_protocol 1.0C imported as 1.0"));
                }
                if matches!(c, k::HealthCheck::SslGet(_)) {
                    hc.sni = h.sni_name.clone();
                }
                self.not_imported(
                    span,
                    &ctx,
                    &[
                        (h.fast_recovery.is_some(), "fast_recovery"),
                        (h.tls_compliant, "tls_compliant"),
                    ],
                    "",
                );
            }
            k::HealthCheck::Misc(m) => {
                let command = m.misc_path.as_deref().map(words::split).unwrap_or_default();
                if command.first().is_none_or(|c| c.is_empty()) {
                    return Err(ImportError::at(
                        span.line_of(keyword),
                        format!("{ctx}: misc_path is required"),
                    ));
                }
                hc.command = Some(command);
                hc.dynamic_weight = m.misc_dynamic.then_some(true);
                self.not_imported(span, &ctx, &[(m.user.is_some(), "user")], "");
            }
            k::HealthCheck::Tcp(_) => {}
        }
        hc.validate().map_err(|e| {
            ImportError::at(
                span.line_of(check_keyword(&e.field, keyword)),
                format!("{ctx}: {}", describe(&e)),
            )
        })?;
        Ok(hc)
    }
}

/// The keepalived keyword a director health-check field comes from.
fn check_keyword<'a>(field: &str, checker: &'a str) -> &'a str {
    let field = field.rsplit('.').next().unwrap_or(field);
    match field {
        "interval_ms" => "delay_loop",
        "timeout_ms" => "connect_timeout",
        "fall" => "retry",
        "retry_delay_ms" => "delay_before_retry",
        "warmup_ms" => "warmup",
        "connect_port" => "connect_port",
        "path" => "path",
        "digest" => "digest",
        "virtual_host" => "virtualhost",
        "sni" => "sni_name",
        "command" => "misc_path",
        f if f.starts_with("status_codes") => "status_code",
        _ => checker,
    }
}

pub(crate) fn describe(e: &director_core::ModelError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        format!("{}: {}", e.field, e.message)
    }
}

/// The keepalived keyword a director field of a virtual server, real server or VRRP group comes from, and
/// which real server (index) it is about.
pub fn keyword_of(field: &str) -> (Option<usize>, &'static str) {
    if let Some(rest) = field.strip_prefix("real_servers[") {
        let (index, rest) = rest.split_once(']').unwrap_or((rest, ""));
        let index = index.parse().ok();
        let rest = rest.trim_start_matches('.');
        let kw = match rest.split(['.', '[']).next().unwrap_or("") {
            "weight" => "weight",
            "upper_threshold" => "uthreshold",
            "lower_threshold" => "lthreshold",
            "forwarding" => "lvs_method",
            "health_check" => "delay_loop",
            _ => "",
        };
        return (index, kw);
    }
    let first = field.split(['.', '[']).next().unwrap_or("");
    let kw = match first {
        "scheduler_flags" => "lvs_sched",
        "persistence" if field.ends_with("netmask") => "persistence_granularity",
        "persistence" => "persistence_timeout",
        "sorry_server" => "sorry_server",
        "quorum" => "quorum",
        "hysteresis" => "hysteresis",
        "family" => "ip_family",
        "vrid" => "virtual_router_id",
        "advert_interval_ms" => "advert_int",
        "preempt_delay_s" => "preempt_delay",
        "auth" => "authentication",
        "virtual_addresses" => "virtual_ipaddress",
        "interface" => "interface",
        "priority" => "priority",
        "version" => "version",
        "garp" => "garp_master_delay",
        "notify" => "notify",
        "track" => "track_script",
        "members" if field.contains("unicast_peers") => "unicast_peer",
        "members" if field.contains("unicast_source") => "unicast_src_ip",
        "members" if field.contains("priority") => "priority",
        "members" => "interface",
        _ => "",
    };
    (None, kw)
}

/// Where a director field of an imported object was written.
pub fn place_of<'a>(span: &'a BlockSpan, field: &str) -> &'a Location {
    let (index, keyword) = keyword_of(field);
    let block = match index {
        Some(i) => span.children.get(i).unwrap_or(span),
        None => span,
    };
    if keyword.is_empty() {
        &block.at
    } else {
        block.line_of(keyword)
    }
}

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
//! - `global_defs lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]` -> the
//!   `connection_sync` of the instance's group (`interface`, `sync_id`, `max_packet_len`, `mcast_port`,
//!   `mcast_ttl`, `mcast_group`); another node's file naming another interface gives its member a
//!   `sync_interface`.
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
use director_core::model::vrrp_group::{validate_node, Garp, Notify, SYNC_MAX_PACKET_LEN};
use director_core::model::{
    Auth, AuthType, ConnectionSync, Family, Forwarding, HealthCheck, Member, Persistence, Protocol,
    RealServer, Scheduler, SchedulerFlag, SorryServer, Track, VirtualServer, VrrpGroup,
};
use director_keepalived::config as k;
use director_keepalived::{BlockSpan, Location, Parsed};
use std::collections::{HashMap, HashSet};
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
const FAULT_WEIGHT: i32 = -director_core::model::vrrp_group::MAX_TRACK_WEIGHT;

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
                message: unmapped_message(&u.keyword, &u.context),
            })
            .collect(),
        scripts_reported: HashSet::new(),
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

/// The warning for a keyword the keepalived parser does not map.
fn unmapped_message(keyword: &str, context: &str) -> String {
    if keyword == "nb_get_retry" {
        // keepalived 2.2 takes it in HTTP_GET and SSL_GET only; elsewhere it logs "Unknown keyword" and
        // checks with its default retry, and so does the import.
        return format!(
            "'nb_get_retry' in {context} is not imported: keepalived 2.2 ignores it outside HTTP_GET and SSL_GET (its default retry applies; write 'retry N' for fall N+1)"
        );
    }
    format!("'{keyword}' in {context} is not imported")
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
    /// The `vrrp_script`s (index) whose keywords director does not take have been reported.
    scripts_reported: HashSet<usize>,
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

/// Where `keyword` (or the other spelling keepalived accepts for it: `lb_kind`, `lb_algo`, `nb_get_retry`)
/// is first written in the block, else the block's own line.
fn written_at<'a>(span: &'a BlockSpan, keyword: &str) -> &'a Location {
    let alias = match keyword {
        "lvs_method" => "lb_kind",
        "lvs_sched" => "lb_algo",
        "retry" => "nb_get_retry",
        _ => "",
    };
    span.keywords
        .get(keyword)
        .or_else(|| span.keywords.get(alias))
        .unwrap_or(&span.at)
}

/// The line of an entry of a list block (an address of `virtual_ipaddress`, an interface of
/// `track_interface`), else where the block is written.
fn entry_at<'a>(span: &'a BlockSpan, entry: &str, block: &str) -> &'a Location {
    span.keywords
        .get(entry)
        .unwrap_or_else(|| written_at(span, block))
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
                let at = written_at(span, keyword).clone();
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
                    .map(|g| written_at(g, "router_id")),
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
            ],
            "",
        );
        // `0` (keepalived's default, written by its sample file) reads as unset: director, like keepalived
        // with 0, sends the announcements of a burst back to back.
        self.not_imported(
            &span,
            "global_defs",
            &[
                (g.vrrp_garp_interval.is_some(), "vrrp_garp_interval"),
                (g.vrrp_gna_interval.is_some(), "vrrp_gna_interval"),
            ],
            ": director sends the announcements of a burst without delay (keepalived's '0')",
        );
        if let Some(d) = &g.lvs_sync_daemon {
            if !self
                .config
                .vrrp_instances
                .iter()
                .any(|v| v.name == d.instance)
            {
                let at = written_at(&span, "lvs_sync_daemon").clone();
                self.warn(
                    &at,
                    format!(
                        "'lvs_sync_daemon' in global_defs is not imported: there is no vrrp_instance {}",
                        d.instance
                    ),
                );
            }
        }
    }

    /// `global_defs lvs_sync_daemon` when it names this instance: the group's `connection_sync`.
    fn connection_sync(&mut self, inst: &k::VrrpInstance) -> Option<ConnectionSync> {
        let d = self.config.global_defs.lvs_sync_daemon.clone()?;
        if d.instance != inst.name {
            return None;
        }
        let max_packet_len = d.maxlen.map(u32::from).filter(|len| {
            let (lo, hi) = SYNC_MAX_PACKET_LEN;
            let fits = (lo..=hi).contains(len);
            if !fits {
                if let Some(span) = self.spans.global_defs.clone() {
                    let at = written_at(&span, "lvs_sync_daemon").clone();
                    self.warn(
                        &at,
                        format!(
                            "lvs_sync_daemon maxlen {len} is not imported: director takes {lo}..{hi}, which the kernel \
                             uses as given (the daemons use the kernel's default, from the interface's MTU)"
                        ),
                    );
                }
            }
            fits
        });
        Some(ConnectionSync {
            interface: d.interface,
            sync_id: d.id.map(u32::from),
            max_packet_len,
            mcast_group: d.group,
            mcast_port: d.port.map(u32::from),
            mcast_ttl: d.ttl.map(u32::from),
        })
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
            if name != sg.name {
                self.warn(
                    &span.at,
                    format!(
                        "vrrp_sync_group {} is imported as sync group {name} (director names are lower case, other characters '-')",
                        sg.name
                    ),
                );
            }
            for inst in &sg.group {
                if !self.config.vrrp_instances.iter().any(|v| &v.name == inst) {
                    return Err(ImportError::at(
                        written_at(&span, "group"),
                        format!(
                            "vrrp_sync_group {}: there is no vrrp_instance {inst}",
                            sg.name
                        ),
                    ));
                }
                if out.insert(inst.clone(), name.clone()).is_some() {
                    return Err(ImportError::at(
                        written_at(&span, "group"),
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

    /// A `vrrp_instance` -> a VRRP group with this node as its one member.
    fn group(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        node: &str,
        sync_groups: &HashMap<String, String>,
    ) -> Result<VrrpGroup, ImportError> {
        let ctx = format!("vrrp_instance {}", inst.name);
        let name = slug(&inst.name).ok_or_else(|| {
            ImportError::at(
                &span.at,
                format!("{ctx}: the name is not usable as a director name"),
            )
        })?;
        if name != inst.name {
            self.warn(
                &span.at,
                format!(
                    "{ctx} is imported as VRRP group {name} (director names are lower case, other characters '-')"
                ),
            );
        }
        let vrid = inst.virtual_router_id.ok_or_else(|| {
            ImportError::at(&span.at, format!("{ctx}: virtual_router_id is required"))
        })?;
        let interface = self.group_interface(inst, span, &ctx)?;
        let virtual_addresses = self.virtual_addresses(inst, span, &ctx, &interface);
        self.excluded_addresses(inst, span, &ctx);
        let version = self.vrrp_version(inst);
        let advert_interval_ms = self.advert_interval(inst, span, &ctx, version)?;
        let preempt_delay_s = self.preempt_delay(inst, span, &ctx);
        let auth = self.authentication(inst, span, &ctx, version)?;
        let mut track = self.track_interfaces(inst, span, &ctx);
        for t in &inst.track_script {
            let n = track.len() + 1;
            track.push(self.track_script(t, span, &ctx, &name, n)?);
        }
        let notify = self.notify(inst, span, &ctx);
        let connection_sync = self.connection_sync(inst);
        self.instance_not_imported(inst, span, &ctx);
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
                sync_interface: None,
            }],
            track,
            notify,
            sync_group: sync_groups.get(&inst.name).cloned(),
            garp: self.garp(inst),
            connection_sync,
        })
    }

    /// The instance's `interface`, or `global_defs default_interface`.
    fn group_interface(
        &self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        ctx: &str,
    ) -> Result<String, ImportError> {
        inst.interface
            .clone()
            .or_else(|| self.config.global_defs.default_interface.clone())
            .ok_or_else(|| {
                ImportError::at(
                    &span.at,
                    format!("{ctx}: interface is required (or global_defs default_interface)"),
                )
            })
    }

    /// `virtual_ipaddress` -> the group's addresses, each `ADDRESS/PREFIX` (a host prefix when none is
    /// written). The options of an address that director does not carry over are warned about.
    fn virtual_addresses(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        ctx: &str,
        interface: &str,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(inst.virtual_ipaddress.len());
        for vip in &inst.virtual_ipaddress {
            let address = self.virtual_address(vip, span, ctx, interface);
            if out.contains(&address) {
                // keepalived adds the address once; so does director.
                let at = written_at(span, "virtual_ipaddress").clone();
                self.warn(
                    &at,
                    format!("{ctx}: {address} is listed twice in virtual_ipaddress; imported once"),
                );
                continue;
            }
            out.push(address);
        }
        out
    }

    fn virtual_address(
        &mut self,
        vip: &k::VirtualIp,
        span: &BlockSpan,
        ctx: &str,
        interface: &str,
    ) -> String {
        let max = if vip.address.is_ipv4() { 32 } else { 128 };
        let text = match vip.prefix_len {
            Some(p) => format!("{}/{p}", vip.address),
            None => vip.address.to_string(),
        };
        let at = entry_at(span, &text, "virtual_ipaddress").clone();
        if let Some(dev) = &vip.dev {
            if dev != interface {
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
        format!("{}/{}", vip.address, vip.prefix_len.unwrap_or(max))
    }

    /// `virtual_ipaddress_excluded` is not imported: every address of a group is announced.
    fn excluded_addresses(&mut self, inst: &k::VrrpInstance, span: &BlockSpan, ctx: &str) {
        for vip in &inst.virtual_ipaddress_excluded {
            let text = match vip.prefix_len {
                Some(p) => format!("{}/{p}", vip.address),
                None => vip.address.to_string(),
            };
            let at = entry_at(span, &text, "virtual_ipaddress_excluded").clone();
            self.warn(
                &at,
                format!(
                    "{} in virtual_ipaddress_excluded of {ctx} is not imported: director announces every address of a group",
                    vip.address
                ),
            );
        }
    }

    /// The instance's `version`, else `global_defs vrrp_version`, else 3 for IPv6 addresses and 2 for IPv4.
    fn vrrp_version(&self, inst: &k::VrrpInstance) -> u32 {
        let ipv6 = inst.virtual_ipaddress.iter().any(|v| v.address.is_ipv6());
        match inst.version.or(self.config.global_defs.vrrp_version) {
            Some(v) => u32::from(v.number()),
            None if ipv6 => 3,
            None => 2,
        }
    }

    /// `advert_int` in milliseconds (default 1 s): whole seconds with VRRPv2; with VRRPv3 rounded to
    /// centiseconds, with a warning when that changes it.
    fn advert_interval(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        ctx: &str,
        version: u32,
    ) -> Result<u32, ImportError> {
        match inst.advert_int {
            None => Ok(1000),
            Some(d) if version == 2 => {
                if d.subsec_nanos() != 0 {
                    return Err(ImportError::at(
                        written_at(span, "advert_int"),
                        format!("{ctx}: advert_int must be whole seconds with VRRP version 2"),
                    ));
                }
                Ok(u32::try_from(millis(d)).unwrap_or(u32::MAX))
            }
            Some(d) => {
                let ms = u32::try_from(millis(d)).unwrap_or(u32::MAX);
                let rounded = ms.saturating_add(5) / 10 * 10;
                if rounded != ms || Duration::from_millis(u64::from(ms)) != d {
                    let at = written_at(span, "advert_int").clone();
                    self.warn(
                        &at,
                        format!("{ctx}: advert_int rounded to {rounded} ms (VRRPv3 counts in centiseconds)"),
                    );
                }
                Ok(rounded)
            }
        }
    }

    /// `preempt_delay` in whole seconds (default 0), rounded with a warning.
    fn preempt_delay(&mut self, inst: &k::VrrpInstance, span: &BlockSpan, ctx: &str) -> u32 {
        let Some(d) = inst.preempt_delay else {
            return 0;
        };
        let s = whole_seconds(d.saturating_add(Duration::from_millis(500)));
        if d.subsec_nanos() != 0 {
            let at = written_at(span, "preempt_delay").clone();
            self.warn(&at, format!("{ctx}: preempt_delay rounded to {s} s"));
        }
        s
    }

    /// `authentication`: PASS with VRRPv2; nothing with VRRPv3 (which has none); AH is refused.
    fn authentication(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        ctx: &str,
        version: u32,
    ) -> Result<Option<Auth>, ImportError> {
        let Some(a) = &inst.authentication else {
            return Ok(None);
        };
        let at = written_at(span, "authentication").clone();
        match (a.auth_type, &a.auth_pass) {
            (Some(k::AuthType::Ah), _) => Err(ImportError::at(
                written_at(span, "auth_type"),
                format!("{ctx}: auth_type AH is not supported by director (use PASS or none)"),
            )),
            _ if version == 3 => {
                self.warn(
                    &at,
                    format!("{ctx}: authentication is not imported: VRRPv3 has none"),
                );
                Ok(None)
            }
            (_, Some(pass)) => Ok(Some(Auth {
                kind: AuthType::Pass,
                password: Some(self.auth_password(pass, span, ctx)?),
            })),
            (_, None) => Err(ImportError::at(
                &at,
                format!("{ctx}: authentication without auth_pass"),
            )),
        }
    }

    /// The password keepalived sends: the first 8 bytes of `auth_pass`. A password whose 8th byte is inside
    /// a character is refused, as director cannot send part of a character.
    fn auth_password(
        &mut self,
        pass: &str,
        span: &BlockSpan,
        ctx: &str,
    ) -> Result<String, ImportError> {
        const SENT: usize = 8;
        if pass.len() <= SENT {
            return Ok(pass.to_string());
        }
        let at = written_at(span, "auth_pass").clone();
        match pass.get(..SENT) {
            Some(cut) => {
                self.warn(
                    &at,
                    format!("{ctx}: auth_pass cut to its first 8 bytes, as keepalived sends it"),
                );
                Ok(cut.to_string())
            }
            None => Err(ImportError::at(
                &at,
                format!(
                    "{ctx}: auth_pass is longer than the 8 bytes keepalived sends, and its 8th byte is inside a character; use a password of at most 8 bytes"
                ),
            )),
        }
    }

    /// `track_interface`: a track of the interface; without a weight (keepalived: FAULT), the lowest weight.
    fn track_interfaces(
        &mut self,
        inst: &k::VrrpInstance,
        span: &BlockSpan,
        ctx: &str,
    ) -> Vec<Track> {
        let mut track = Vec::with_capacity(inst.track_interface.len());
        for t in &inst.track_interface {
            let at = entry_at(span, &t.name, "track_interface").clone();
            let weight = self.track_weight(t.weight, &at, ctx, "track_interface", &t.name);
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
        track
    }

    /// A weight of a track; none or 0 (keepalived: FAULT) is the lowest weight director can give.
    fn track_weight(
        &mut self,
        weight: Option<i32>,
        at: &Location,
        ctx: &str,
        keyword: &str,
        name: &str,
    ) -> i32 {
        let max = director_core::model::vrrp_group::MAX_TRACK_WEIGHT;
        match weight {
            Some(w) if w.abs() > max => {
                let clamped = w.clamp(-max, max);
                self.warn(
                    at,
                    format!(
                        "{ctx}: the weight {w} of {keyword} {name} is imported as {clamped}, as keepalived takes it (+/-{max} at most)"
                    ),
                );
                clamped
            }
            Some(w) if w != 0 => w,
            _ => {
                self.warn(
                    at,
                    format!(
                        "{ctx}: {keyword} {name} has no weight (keepalived: FAULT); imported with weight {FAULT_WEIGHT}"
                    ),
                );
                FAULT_WEIGHT
            }
        }
    }

    /// One `track_script` entry -> a track running its `vrrp_script`'s command.
    /// The track is the `n`th of group `group`: the name director's export gives its script.
    fn track_script(
        &mut self,
        t: &k::TrackScript,
        span: &BlockSpan,
        ctx: &str,
        group: &str,
        n: usize,
    ) -> Result<Track, ImportError> {
        let config = self.config;
        let at = entry_at(span, &t.name, "track_script").clone();
        let Some(si) = config.vrrp_scripts.iter().position(|s| s.name == t.name) else {
            return Err(ImportError::at(
                &at,
                format!(
                    "{ctx}: track_script {}: there is no vrrp_script of that name",
                    t.name
                ),
            ));
        };
        let script = &config.vrrp_scripts[si];
        let command = self.vrrp_script_command(si)?;
        let exported = format!("{group}_track_{n}");
        if t.name != exported {
            self.warn(
                &at,
                format!(
                    "{ctx}: track_script {} is imported as a track of its command; the name is not kept (an export calls it {exported})",
                    t.name
                ),
            );
        }
        let weight = self.track_weight(
            t.weight.or(script.weight),
            &at,
            ctx,
            "track_script",
            &t.name,
        );
        if t.reverse.unwrap_or(script.weight_reverse) {
            self.warn(
                &at,
                format!(
                    "{ctx}: 'reverse' of track_script {} is not imported",
                    t.name
                ),
            );
        }
        Ok(Track {
            virtual_server: None,
            interface: None,
            script: Some(command),
            weight,
        })
    }

    /// The command of the `si`th `vrrp_script`; what director does not take of it is reported the first time
    /// the script is tracked.
    fn vrrp_script_command(&mut self, si: usize) -> Result<Vec<String>, ImportError> {
        let (config, spans) = (self.config, self.spans);
        let script = &config.vrrp_scripts[si];
        let span = &spans.vrrp_scripts[si];
        let command = script
            .script
            .as_deref()
            .map(words::split)
            .unwrap_or_default();
        if command.first().is_none_or(|c| c.is_empty()) {
            return Err(ImportError::at(
                &span.at,
                format!("vrrp_script {}: 'script' is required", script.name),
            ));
        }
        if self.scripts_reported.insert(si) {
            self.not_imported(
                span,
                &format!("vrrp_script {}", script.name),
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
        }
        Ok(command)
    }

    /// `notify` -> the script run on every transition (without its user).
    fn notify(&mut self, inst: &k::VrrpInstance, span: &BlockSpan, ctx: &str) -> Option<Notify> {
        let n = inst.notify.as_ref()?;
        if n.user.is_some() {
            let at = written_at(span, "notify").clone();
            self.warn(&at, format!("{ctx}: the user of notify is not imported"));
        }
        Some(Notify {
            webhook: None,
            script: Some(words::split(&n.command)),
        })
    }

    /// The keywords of an instance director has no counterpart for.
    fn instance_not_imported(&mut self, inst: &k::VrrpInstance, span: &BlockSpan, ctx: &str) {
        self.not_imported(
            span,
            ctx,
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
            ctx,
            &[
                (inst.dont_track_primary, "dont_track_primary"),
                (inst.mcast_src_ip.is_some(), "mcast_src_ip"),
                (inst.smtp_alert.is_some(), "smtp_alert"),
            ],
            "",
        );
    }

    /// `garp_master_delay`, `_repeat` and `_refresh` of the instance, else of `global_defs`; none when
    /// neither gives any (director's defaults).
    fn garp(&self, inst: &k::VrrpInstance) -> Option<Garp> {
        let g = &self.config.global_defs;
        let delay = inst.garp_master_delay.or(g.vrrp_garp_master_delay);
        let repeat = inst.garp_master_repeat.or(g.vrrp_garp_master_repeat);
        let refresh = inst.garp_master_refresh.or(g.vrrp_garp_master_refresh);
        if delay.is_none() && repeat.is_none() && refresh.is_none() {
            return None;
        }
        let d = Garp::default();
        Some(Garp {
            repeat: repeat.unwrap_or(d.repeat),
            delay_s: delay.map(whole_seconds).unwrap_or(d.delay_s),
            refresh_s: refresh.map(whole_seconds).unwrap_or(d.refresh_s),
        })
    }

    /// A `virtual_server` -> a virtual server with its real servers and health checks.
    fn virtual_server(
        &mut self,
        vs: &k::VirtualServer,
        span: &BlockSpan,
        vip_groups: &HashMap<IpAddr, String>,
    ) -> Result<VirtualServer, ImportError> {
        let ctx = format!("virtual_server {}", vs.key);
        let mut out = VirtualServer::default();
        self.service_key(vs, span, &ctx, vip_groups, &mut out)?;
        out.name = virtual_server_name(&out);
        out.scheduler = vs.lvs_sched.map(scheduler).unwrap_or_default();
        out.scheduler_flags = vs.sched_flags.iter().copied().map(scheduler_flag).collect();
        out.one_packet = vs.ops;
        out.forwarding = self.lvs_method(vs, span, &ctx);
        out.persistence = self.persistence(vs, span, &ctx, out.effective_family())?;
        out.quorum = vs.quorum.unwrap_or(1);
        out.hysteresis = vs.hysteresis.unwrap_or(0);
        out.alpha = vs.alpha;
        out.sorry_server = sorry_server(vs);
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
        self.real_servers(vs, span, &mut out)?;
        Ok(out)
    }

    /// What the service matches: protocol, address and port (and the VRRP group holding the address), or
    /// a firewall mark and its family.
    fn service_key(
        &mut self,
        vs: &k::VirtualServer,
        span: &BlockSpan,
        ctx: &str,
        vip_groups: &HashMap<IpAddr, String>,
        out: &mut VirtualServer,
    ) -> Result<(), ImportError> {
        let declared_family = vs.ip_family.map(|f| match f {
            k::IpFamily::Inet => Family::Inet,
            k::IpFamily::Inet6 => Family::Inet6,
        });
        match vs.key {
            k::VirtualServerKey::Address { address, port } => {
                if declared_family.is_some_and(|f| f != Family::of(&address)) {
                    return Err(ImportError::at(
                        written_at(span, "ip_family"),
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
                    let at = written_at(span, "protocol").clone();
                    self.warn(
                        &at,
                        format!(
                            "'protocol' in {ctx} is not imported: the mark selects the traffic"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// `lvs_method` (`lb_kind`), NAT by default; the options of a TUN tunnel are not imported (ipip).
    fn lvs_method(&mut self, vs: &k::VirtualServer, span: &BlockSpan, ctx: &str) -> Forwarding {
        if let Some(k::LvsMethod::Tun(t)) = &vs.lvs_method {
            if *t != k::TunnelOptions::default() {
                let at = written_at(span, "lvs_method").clone();
                self.warn(
                    &at,
                    format!("{ctx}: tunnel options of lvs_method TUN are not imported (ipip)"),
                );
            }
        }
        vs.lvs_method
            .as_ref()
            .map(forwarding)
            .unwrap_or(Forwarding::Nat)
    }

    /// `persistence_timeout` and `persistence_granularity`: a dotted netmask for IPv4 (from a netmask or a
    /// prefix length), a prefix length for IPv6.
    fn persistence(
        &mut self,
        vs: &k::VirtualServer,
        span: &BlockSpan,
        ctx: &str,
        family: Family,
    ) -> Result<Option<Persistence>, ImportError> {
        let Some(timeout_s) = vs.persistence_timeout else {
            if vs.persistence_granularity.is_some() {
                let at = written_at(span, "persistence_granularity").clone();
                self.warn(
                    &at,
                    format!("'persistence_granularity' in {ctx} is not imported: no persistence_timeout"),
                );
            }
            return Ok(None);
        };
        let netmask = match (vs.persistence_granularity, family) {
            (None, _) => None,
            (Some(k::PersistenceGranularity::Netmask(m)), Family::Inet) => Some(m.to_string()),
            (Some(k::PersistenceGranularity::PrefixLen(p)), Family::Inet) => {
                Some(v4_mask(p).to_string())
            }
            (Some(k::PersistenceGranularity::PrefixLen(p)), Family::Inet6) => Some(p.to_string()),
            (Some(k::PersistenceGranularity::Netmask(m)), Family::Inet6) => {
                return Err(ImportError::at(
                    written_at(span, "persistence_granularity"),
                    format!("{ctx}: {m} is an IPv4 netmask; use a prefix length for IPv6"),
                ))
            }
        };
        Ok(Some(Persistence { timeout_s, netmask }))
    }

    /// The real servers of `vs` into `out`, each with its check; a check every real server has alike is the
    /// virtual server's instead.
    fn real_servers(
        &mut self,
        vs: &k::VirtualServer,
        span: &BlockSpan,
        out: &mut VirtualServer,
    ) -> Result<(), ImportError> {
        let mut checks = Vec::with_capacity(vs.real_servers.len());
        for (i, rs) in vs.real_servers.iter().enumerate() {
            let rs_span = span.children.get(i).unwrap_or(span).clone();
            let (real, check) = self.real_server(vs, out, rs, &rs_span)?;
            out.real_servers.push(real);
            checks.push(check);
        }
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
        Ok(())
    }

    /// A `real_server` -> a real server and the health check of its first checker.
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
                written_at(span, "weight"),
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
        let check = match rs.checks.first() {
            Some(c) => Some(self.check(vs, rs, c, span, &ctx)?),
            None => None,
        };
        for c in rs.checks.iter().skip(1) {
            let kw = checker_keyword(c);
            let at = written_at(span, kw).clone();
            self.warn(
                &at,
                format!("{ctx}: {kw} is not imported: director runs one check per real server (the first)"),
            );
        }
        Ok((real, check))
    }

    /// A checker -> a health check: its kind, timing, connection and the options of its kind.
    fn check(
        &mut self,
        vs: &k::VirtualServer,
        rs: &k::RealServer,
        c: &k::HealthCheck,
        span: &BlockSpan,
        ctx: &str,
    ) -> Result<HealthCheck, ImportError> {
        let keyword = checker_keyword(c);
        let (kind, connection) = match c {
            k::HealthCheck::Tcp(t) => (CheckKind::Tcp, Some(&t.connection)),
            k::HealthCheck::HttpGet(h) => (CheckKind::Http, Some(&h.connection)),
            k::HealthCheck::SslGet(h) => (CheckKind::Https, Some(&h.connection)),
            k::HealthCheck::Misc(_) => (CheckKind::Script, None),
        };
        let options = checker_options(c);
        let ctx = format!("{ctx} > {keyword}");
        let mut hc = HealthCheck::new(kind);
        self.check_timing(&mut hc, vs, rs, c, span, &ctx);
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
            self.connection(&mut hc, conn, span, &ctx);
        }
        match c {
            k::HealthCheck::HttpGet(h) | k::HealthCheck::SslGet(h) => {
                self.http_options(&mut hc, vs, rs, h, span, &ctx);
            }
            k::HealthCheck::Misc(m) => self.misc_options(&mut hc, m, span, &ctx, keyword)?,
            k::HealthCheck::Tcp(_) => {}
        }
        hc.validate().map_err(|e| {
            ImportError::at(
                written_at(span, check_keyword(&e.field, keyword)),
                format!("{ctx}: {}", describe(&e)),
            )
        })?;
        Ok(hc)
    }

    /// Interval (`delay_loop`), timeout (`connect_timeout`, `misc_timeout`; cut to the interval), fall
    /// (`retry` + 1), retry delay and warm-up: the checker's, else the real server's, else the virtual
    /// server's, else keepalived's default.
    fn check_timing(
        &mut self,
        hc: &mut HealthCheck,
        vs: &k::VirtualServer,
        rs: &k::RealServer,
        c: &k::HealthCheck,
        span: &BlockSpan,
        ctx: &str,
    ) {
        let options = checker_options(c);
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
        let script = hc.kind == CheckKind::Script;
        if hc.timeout_ms > hc.interval_ms {
            let kw = if script {
                "misc_timeout"
            } else {
                "connect_timeout"
            };
            let at = written_at(span, kw).clone();
            self.warn(
                &at,
                format!(
                    "{ctx}: timeout {} ms cut to the check interval {} ms",
                    hc.timeout_ms, hc.interval_ms
                ),
            );
            hc.timeout_ms = hc.interval_ms;
        }
        let default_retry = if script { 0 } else { 1 };
        let retry = options
            .retry
            .or(rs.retry)
            .or(vs.retry)
            .unwrap_or(default_retry);
        hc.fall = retry.saturating_add(1).min(100);
        if retry >= 100 {
            let at = written_at(span, "retry").clone();
            self.warn(&at, format!("{ctx}: retry {retry} cut to 99 (fall 100)"));
        }
        hc.retry_delay_ms = options
            .delay_before_retry
            .or(rs.delay_before_retry)
            .or(vs.delay_before_retry)
            .map(millis);
        hc.warmup_ms = options.warmup.or(rs.warmup).or(vs.warmup).map(millis);
    }

    /// `connect_ip`, `connect_port` and `bindto` of a checker.
    fn connection(
        &mut self,
        hc: &mut HealthCheck,
        conn: &k::Connection,
        span: &BlockSpan,
        ctx: &str,
    ) {
        hc.connect_address = conn.connect_ip;
        hc.connect_port = conn.connect_port.map(u32::from);
        hc.bind_address = conn.bindto;
        self.not_imported(
            span,
            ctx,
            &[
                (conn.bind_if.is_some(), "bind_if"),
                (conn.bind_port.is_some(), "bind_port"),
                (conn.fwmark.is_some(), "fwmark"),
            ],
            "",
        );
    }

    /// `HTTP_GET` and `SSL_GET`: the first `url` (path, digest, status codes), the virtual host (the url's,
    /// the checker's, the real server's or the virtual server's), the HTTP version and (SSL_GET) the SNI.
    fn http_options(
        &mut self,
        hc: &mut HealthCheck,
        vs: &k::VirtualServer,
        rs: &k::RealServer,
        h: &k::HttpCheck,
        span: &BlockSpan,
        ctx: &str,
    ) {
        if let Some(url) = h.urls.first() {
            hc.path = url.path.clone();
            hc.digest = url.digest.as_ref().map(|d| d.to_ascii_lowercase());
            if !url.status_code.is_empty() {
                hc.status_codes = Some(url.status_code.iter().map(status_codes).collect());
            }
            hc.virtual_host = url.virtualhost.clone();
        }
        if h.urls.len() > 1 {
            let at = written_at(span, "url").clone();
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
            let at = written_at(span, "http_protocol").clone();
            self.warn(&at, format!("{ctx}: http_protocol 1.0C imported as 1.0"));
        }
        if hc.kind == CheckKind::Https {
            hc.sni = h.sni_name.clone();
        }
        self.not_imported(
            span,
            ctx,
            &[
                (h.fast_recovery.is_some(), "fast_recovery"),
                (h.tls_compliant, "tls_compliant"),
            ],
            "",
        );
    }

    /// `MISC_CHECK`: the command (`misc_path`, required) and `misc_dynamic`.
    fn misc_options(
        &mut self,
        hc: &mut HealthCheck,
        m: &k::MiscCheck,
        span: &BlockSpan,
        ctx: &str,
        keyword: &str,
    ) -> Result<(), ImportError> {
        let command = m.misc_path.as_deref().map(words::split).unwrap_or_default();
        if command.first().is_none_or(|c| c.is_empty()) {
            return Err(ImportError::at(
                written_at(span, keyword),
                format!("{ctx}: misc_path is required"),
            ));
        }
        hc.command = Some(command);
        hc.dynamic_weight = m.misc_dynamic.then_some(true);
        self.not_imported(span, ctx, &[(m.user.is_some(), "user")], "");
        Ok(())
    }
}

/// The keyword of a checker block.
fn checker_keyword(c: &k::HealthCheck) -> &'static str {
    match c {
        k::HealthCheck::Tcp(_) => "TCP_CHECK",
        k::HealthCheck::HttpGet(_) => "HTTP_GET",
        k::HealthCheck::SslGet(_) => "SSL_GET",
        k::HealthCheck::Misc(_) => "MISC_CHECK",
    }
}

/// The options every kind of checker has.
fn checker_options(c: &k::HealthCheck) -> &k::CheckOptions {
    match c {
        k::HealthCheck::Tcp(t) => &t.options,
        k::HealthCheck::HttpGet(h) | k::HealthCheck::SslGet(h) => &h.options,
        k::HealthCheck::Misc(m) => &m.options,
    }
}

/// A `status_code` range as director writes it: `200` or `200-299`.
fn status_codes(r: &k::StatusCodeRange) -> String {
    if r.first == r.last {
        r.first.to_string()
    } else {
        format!("{}-{}", r.first, r.last)
    }
}

/// `sorry_server` (its port defaulting to the virtual server's) and `sorry_server_lvs_method`.
fn sorry_server(vs: &k::VirtualServer) -> Option<SorryServer> {
    let s = vs.sorry_server.as_ref()?;
    let vs_port = match vs.key {
        k::VirtualServerKey::Address { port, .. } => port.unwrap_or(0),
        k::VirtualServerKey::Fwmark(_) => 0,
    };
    Some(SorryServer {
        address: s.address,
        port: u32::from(s.port.unwrap_or(vs_port)),
        forwarding: s.lvs_method.as_ref().map(forwarding),
    })
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
        written_at(block, keyword)
    }
}

#[cfg(test)]
mod tests {
    //! keepalived.conf snippets in, objects (as the API shows them) and warnings out, parsed by the
    //! keepalived parser as `director import keepalived` parses a file.

    use super::*;
    use director_keepalived::parse_str;
    use serde_json::{json, Value};

    fn import_as(text: &str, node: Option<&str>) -> Result<Imported, ImportError> {
        let parsed = parse_str("keepalived.conf", text)
            .unwrap_or_else(|e| panic!("the keepalived parser refuses the snippet: {e}\n{text}"));
        map(
            parsed,
            &Options {
                node: node.map(str::to_string),
                default_node: "here".into(),
            },
        )
    }

    fn import(text: &str) -> Result<Imported, ImportError> {
        import_as(text, None)
    }

    /// The objects as the API shows them.
    fn objects(i: &Imported) -> Value {
        fn json(v: &impl serde::Serialize) -> Value {
            serde_json::to_value(v).expect("the model serializes")
        }
        json!({
            "node": i.node,
            "vrrp_groups": i.vrrp_groups.iter().map(|g| json(&g.group)).collect::<Vec<_>>(),
            "virtual_servers": i.virtual_servers.iter().map(|v| json(&v.virtual_server)).collect::<Vec<_>>(),
        })
    }

    /// The warnings as `LINE: MESSAGE` (all snippets are one file).
    fn warnings(i: &Imported) -> Vec<String> {
        i.warnings
            .iter()
            .map(|w| format!("{}: {}", w.place.line, w.message))
            .collect()
    }

    /// Whether `actual` holds `expected`: every key of an expected object (`null`, `[]`: absent or so),
    /// arrays element by element and of the same length, other values equal.
    fn holds(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
        match (expected, actual) {
            (Value::Null, Value::Null) => Ok(()),
            (Value::Array(e), Value::Null) if e.is_empty() => Ok(()),
            (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, v)| {
                holds(a.get(k).unwrap_or(&Value::Null), v, &format!("{path}.{k}"))
            }),
            (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
                .iter()
                .zip(a)
                .enumerate()
                .try_for_each(|(i, (e, a))| holds(a, e, &format!("{path}[{i}]"))),
            (e, a) if e == a => Ok(()),
            (e, a) => Err(format!("{path}: expected {e}, got {a}")),
        }
    }

    /// One keepalived construct: the snippet, the part of the objects it makes, and every warning it
    /// gives (no more).
    struct Case {
        what: &'static str,
        conf: &'static str,
        objects: Value,
        warnings: &'static [&'static str],
    }

    /// Whether a warning says that a keepalived name is imported under another name.
    fn is_rename(w: &str) -> bool {
        w.contains(" is imported as VRRP group ")
            || w.contains(" is imported as sync group ")
            || w.contains("the name is not kept")
    }

    /// Runs the cases. A case that lists no rename warning is not asked for them: most snippets use
    /// keepalived's habitual `VI_1`; the renames have cases of their own (`renames_are_warned`).
    fn run(cases: Vec<Case>) {
        for case in cases {
            let mut imported = import(case.conf)
                .unwrap_or_else(|e| panic!("{}: refused: {e}\n{}", case.what, case.conf));
            if !case.warnings.iter().any(|w| is_rename(w)) {
                imported.warnings.retain(|w| !is_rename(&w.message));
            }
            let objects = objects(&imported);
            if let Err(e) = holds(&objects, &case.objects, "") {
                panic!(
                    "{}: {e}\nobjects: {}",
                    case.what,
                    serde_json::to_string_pretty(&objects).unwrap_or_default()
                );
            }
            assert_eq!(
                warnings(&imported),
                case.warnings,
                "{}: the warnings",
                case.what
            );
        }
    }

    #[test]
    fn global_defs() {
        run(vec![
            Case {
                what: "router_id names the node; mail, script security and VRRP socket settings are not imported",
                conf: r"global_defs {
    router_id lvs-01
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 127.0.0.1
    smtp_helo_name lb
    smtp_connect_timeout 30
    smtp_alert
    enable_script_security
    script_user keepalived_script
    lvs_flush
    vrrp_strict
    vrrp_skip_check_adv_addr
    vrrp_check_unicast_src
    vrrp_mcast_group4 224.0.0.19
    vrrp_mcast_group6 ff02::13
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.001
    enable_traps
}
",
                objects: json!({"node": "lvs-01", "vrrp_groups": [], "virtual_servers": []}),
                warnings: &[
                    "3: 'notification_email' in global_defs is not imported",
                    "6: 'notification_email_from' in global_defs is not imported",
                    "7: 'smtp_server' in global_defs is not imported",
                    "8: 'smtp_helo_name' in global_defs is not imported",
                    "9: 'smtp_connect_timeout' in global_defs is not imported",
                    "10: 'smtp_alert' in global_defs is not imported",
                    "11: 'enable_script_security' in global_defs is not imported",
                    "12: 'script_user' in global_defs is not imported",
                    "13: 'lvs_flush' in global_defs is not imported",
                    "14: 'vrrp_strict' in global_defs is not imported",
                    "15: 'vrrp_skip_check_adv_addr' in global_defs is not imported",
                    "16: 'vrrp_check_unicast_src' in global_defs is not imported",
                    "17: 'vrrp_mcast_group4' in global_defs is not imported",
                    "18: 'vrrp_mcast_group6' in global_defs is not imported",
                    "19: 'vrrp_garp_interval' in global_defs is not imported: director sends the announcements of a burst without delay (keepalived's '0')",
                    "20: 'vrrp_gna_interval' in global_defs is not imported: director sends the announcements of a burst without delay (keepalived's '0')",
                    "21: 'enable_traps' in global_defs is not imported",
                ],
            },
            Case {
                what: "default_interface, vrrp_version and vrrp_garp_master_* are the instances' defaults",
                conf: r"global_defs {
    default_interface bond0
    vrrp_version 3
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 2
}
vrrp_instance VI_1 {
    virtual_router_id 51
    advert_int 0.5
    garp_master_refresh 60
    virtual_ipaddress {
        10.0.0.100
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    version 2
    garp_master_delay 1
    virtual_ipaddress {
        10.0.0.200
    }
}
",
                objects: json!({"node": "here", "vrrp_groups": [
                    {"name": "vi_1", "interface": "bond0", "version": 3, "advert_interval_ms": 500,
                     "garp": {"repeat": 2, "delay_s": 10, "refresh_s": 60}},
                    {"name": "vi_2", "interface": "eth0", "version": 2, "advert_interval_ms": 1000,
                     "garp": {"repeat": 2, "delay_s": 1, "refresh_s": 0}},
                ]}),
                warnings: &[],
            },
        ]);
    }

    #[test]
    fn keepalived_defaults_and_renames() {
        run(vec![
            Case {
                what: "keepalived's sample file: vrrp_garp_interval 0 and vrrp_gna_interval 0 are its default (no delay), as director's",
                conf: r"global_defs {
    vrrp_garp_interval 0
    vrrp_gna_interval 0
}
",
                objects: json!({"vrrp_groups": []}),
                warnings: &[],
            },
            Case {
                what: "an address listed twice is imported once, with a warning",
                conf: r"vrrp_instance vi_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.1
        10.0.0.2/24
        10.0.0.1/32
    }
}
",
                objects: json!({"vrrp_groups": [{"name": "vi_1", "virtual_addresses": ["10.0.0.1/32", "10.0.0.2/24"]}]}),
                warnings: &["4: vrrp_instance vi_1: 10.0.0.1/32 is listed twice in virtual_ipaddress; imported once"],
            },
            Case {
                what: "renames: the instance, the sync group, a track script's name",
                conf: r"vrrp_script chk_haproxy {
    script /usr/bin/true
    weight -20
}
vrrp_sync_group VG_1 {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.1
    }
    track_script {
        chk_haproxy
    }
}
",
                objects: json!({"vrrp_groups": [{"name": "vi_1", "sync_group": "vg_1",
                    "track": [{"script": ["/usr/bin/true"], "weight": -20}]}]}),
                warnings: &[
                    "5: vrrp_sync_group VG_1 is imported as sync group vg_1 (director names are lower case, other characters '-')",
                    "10: vrrp_instance VI_1 is imported as VRRP group vi_1 (director names are lower case, other characters '-')",
                    "17: vrrp_instance VI_1: track_script chk_haproxy is imported as a track of its command; the name is not kept (an export calls it vi_1_track_1)",
                ],
            },
            Case {
                what: "nb_get_retry is retry in HTTP_GET (keepalived 2.2 takes it there), ignored in MISC_CHECK",
                conf: r"virtual_server 192.0.2.1 80 {
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
                path /
            }
            nb_get_retry 3
        }
    }
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path /bin/true
            nb_get_retry 3
        }
    }
}
",
                objects: json!({"virtual_servers": [{"real_servers": [
                    {"health_check": {"type": "http", "fall": 4}},
                    {"health_check": {"type": "script", "fall": 1}},
                ]}]}),
                warnings: &[
                    "13: 'nb_get_retry' in virtual_server 192.0.2.1 80 > real_server 10.0.0.2 80 > MISC_CHECK is not imported: keepalived 2.2 ignores it outside HTTP_GET and SSL_GET (its default retry applies; write 'retry N' for fall N+1)",
                ],
            },
        ]);
    }

    #[test]
    fn conditional_lines_are_read_for_the_node() {
        let conf = "global_defs {\n@lvs-01 router_id lvs-01\n@lvs-02 router_id lvs-02\n}\n\
            vrrp_instance vi_1 {\n    interface eth0\n    virtual_router_id 51\n\
            @lvs-01 priority 150\n@^lvs-01 priority 100\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";
        for (id, node, priority) in [("lvs-01", "lvs-01", 150), ("lvs-02", "lvs-02", 100)] {
            let parsed = director_keepalived::parse_with_source_for(
                &director_keepalived::MemorySource::new(),
                "keepalived.conf",
                conf,
                id,
            )
            .unwrap_or_else(|e| panic!("{id}: {e}"));
            let i = map(
                parsed,
                &Options {
                    node: None,
                    default_node: "here".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(i.node, node);
            assert_eq!(i.vrrp_groups[0].group.priority, priority, "{id}");
            assert_eq!(warnings(&i), Vec::<String>::new(), "{id}");
        }
    }

    #[test]
    fn the_node_is_the_option_then_router_id_then_this_host() {
        let conf = "global_defs {\n    router_id lvs-01\n}\n";
        assert_eq!(
            import_as(conf, Some("lvs-09")).map(|i| i.node),
            Ok("lvs-09".into())
        );
        assert_eq!(import_as(conf, None).map(|i| i.node), Ok("lvs-01".into()));
        assert_eq!(import_as("", None).map(|i| i.node), Ok("here".into()));
        let e = import_as("global_defs {\n    router_id lvs/01\n}\n", None).unwrap_err();
        assert_eq!(e.place.line, 2, "{e}");
        assert!(e.message.starts_with("router_id: "), "{e}");
        assert!(e.message.ends_with("(the node name of this file)"), "{e}");
        let e = import_as(conf, Some("lvs 09")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--node:0: \"lvs 09\" is not a node name (the node name of this file)"
        );
    }

    #[test]
    fn vrrp_instances() {
        run(vec![
            Case {
                what: "an instance is a group with this node as its member; addresses get a host prefix",
                conf: r"vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    unicast_src_ip 10.0.0.11
    unicast_peer {
        10.0.0.12
    }
    virtual_ipaddress {
        10.0.0.100/24
        10.0.0.101
    }
}
",
                objects: json!({"vrrp_groups": [{
                    "name": "vi_1", "vrid": 51, "version": 2, "advert_interval_ms": 1000,
                    "preempt": true, "preempt_delay_s": 0, "auth": null,
                    "virtual_addresses": ["10.0.0.100/24", "10.0.0.101/32"],
                    "interface": "eth0", "priority": 150,
                    "members": [{"node": "here", "interface": null, "priority": 150,
                                 "unicast_peers": ["10.0.0.12"], "unicast_source": "10.0.0.11"}],
                    "track": [], "notify": null, "sync_group": null, "garp": null,
                }]}),
                warnings: &[],
            },
            Case {
                what: "priority defaults to 100; IPv6 addresses make a VRRPv3 group with /128 hosts",
                conf: r"vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 66
    virtual_ipaddress {
        2001:db8::80
        2001:db8::81/64
    }
}
",
                objects: json!({"vrrp_groups": [{
                    "name": "vi_6", "version": 3, "priority": 100,
                    "members": [{"node": "here", "priority": 100}],
                    "virtual_addresses": ["2001:db8::80/128", "2001:db8::81/64"],
                }]}),
                warnings: &[],
            },
            Case {
                what: "dev, brd, scope, label, no_track of an address and excluded addresses are not imported",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24 dev eth1 brd + scope global label eth0:vip no_track
        10.0.0.101 dev eth0
    }
    virtual_ipaddress_excluded {
        10.0.0.200
        10.0.0.201/24
    }
}
",
                objects: json!({"vrrp_groups": [{
                    "virtual_addresses": ["10.0.0.100/24", "10.0.0.101/32"],
                }]}),
                warnings: &[
                    "5: 'dev eth1' of 10.0.0.100/24 is not imported: director binds the addresses of a group on its interface (eth0)",
                    "5: 'brd' of 10.0.0.100/24 in vrrp_instance VI_1 is not imported",
                    "5: 'scope' of 10.0.0.100/24 in vrrp_instance VI_1 is not imported",
                    "5: 'label' of 10.0.0.100/24 in vrrp_instance VI_1 is not imported",
                    "5: 'no_track' of 10.0.0.100/24 in vrrp_instance VI_1 is not imported",
                    "9: 10.0.0.200 in virtual_ipaddress_excluded of vrrp_instance VI_1 is not imported: director announces every address of a group",
                    "10: 10.0.0.201 in virtual_ipaddress_excluded of vrrp_instance VI_1 is not imported: director announces every address of a group",
                ],
            },
            Case {
                what: "VRRPv3 counts adverts in centiseconds",
                conf: r"vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.015
    virtual_ipaddress {
        10.0.0.100
    }
}
",
                objects: json!({"vrrp_groups": [{"version": 3, "advert_interval_ms": 20}]}),
                warnings: &[
                    "5: vrrp_instance VI_3: advert_int rounded to 20 ms (VRRPv3 counts in centiseconds)",
                ],
            },
            Case {
                what: "nopreempt; preempt_delay in whole seconds",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    advert_int 3
    nopreempt
    preempt_delay 2.5
    virtual_ipaddress {
        10.0.0.100
    }
}
",
                objects: json!({"vrrp_groups": [
                    {"advert_interval_ms": 3000, "preempt": false, "preempt_delay_s": 3},
                ]}),
                warnings: &["6: vrrp_instance VI_1: preempt_delay rounded to 3 s"],
            },
            Case {
                what: "authentication PASS, auth_pass cut to the 8 bytes keepalived sends",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_type PASS
        auth_pass s3cret-longer
    }
    virtual_ipaddress {
        10.0.0.100
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    authentication {
        auth_type PASS
        auth_pass ééééé
    }
    virtual_ipaddress {
        10.0.0.200
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    authentication {
        auth_pass 1111
    }
    virtual_ipaddress {
        10.0.0.30
    }
}
",
                objects: json!({"vrrp_groups": [
                    {"auth": {"type": "pass", "password": "s3cret-l"}},
                    {"auth": {"type": "pass", "password": "éééé"}},
                    {"auth": {"type": "pass", "password": "1111"}},
                ]}),
                warnings: &[
                    "6: vrrp_instance VI_1: auth_pass cut to its first 8 bytes, as keepalived sends it",
                    "17: vrrp_instance VI_2: auth_pass cut to its first 8 bytes, as keepalived sends it",
                ],
            },
            Case {
                what: "VRRPv3 has no authentication",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        10.0.0.100
    }
}
",
                objects: json!({"vrrp_groups": [{"version": 3, "auth": null}]}),
                warnings: &["5: vrrp_instance VI_1: authentication is not imported: VRRPv3 has none"],
            },
            Case {
                what: "track_interface: the weight; none (keepalived: FAULT) is the lowest; reverse is not imported",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100
    }
    track_interface {
        eth1 weight -30
        eth2
        eth3 weight 10 reverse
    }
}
",
                objects: json!({"vrrp_groups": [{"track": [
                    {"interface": "eth1", "weight": -30, "script": null, "virtual_server": null},
                    {"interface": "eth2", "weight": -253},
                    {"interface": "eth3", "weight": 10},
                ]}]}),
                warnings: &[
                    "9: vrrp_instance VI_1: track_interface eth2 has no weight (keepalived: FAULT); imported with weight -253",
                    "10: vrrp_instance VI_1: 'reverse' of track_interface eth3 is not imported",
                ],
            },
            Case {
                what: "track_script: the vrrp_script's command and weight, the track's weight first; the \
                       script's own timing is reported once",
                conf: r#"vrrp_script chk_lb {
    script "/usr/local/bin/check --port 80"
    interval 2
    timeout 1
    rise 2
    fall 3
    user nobody
    init_fail
    weight -20
}
vrrp_script chk_none {
    script /bin/true
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100
    }
    track_script {
        chk_lb
        chk_none
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        10.0.0.200
    }
    track_script {
        chk_lb weight -50 reverse
    }
}
"#,
                objects: json!({"vrrp_groups": [
                    {"track": [
                        {"script": ["/usr/local/bin/check", "--port", "80"], "weight": -20, "interface": null},
                        {"script": ["/bin/true"], "weight": -253},
                    ]},
                    {"track": [{"script": ["/usr/local/bin/check", "--port", "80"], "weight": -50}]},
                ]}),
                warnings: &[
                    "3: 'interval' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "4: 'timeout' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "5: 'rise' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "6: 'fall' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "7: 'user' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "8: 'init_fail' in vrrp_script chk_lb is not imported: director runs track scripts every --vrrp-track-interval",
                    "22: vrrp_instance VI_1: track_script chk_none has no weight (keepalived: FAULT); imported with weight -253",
                    "32: vrrp_instance VI_2: 'reverse' of track_script chk_lb is not imported",
                ],
            },
            Case {
                what: "notify is the script run on every transition; the per-state scripts and the rest are not imported",
                conf: r#"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100
    }
    notify "/etc/keepalived/notify.sh --all" root
    notify_master /bin/master
    notify_backup /bin/backup
    notify_fault /bin/fault
    notify_stop /bin/stop
    dont_track_primary
    mcast_src_ip 10.0.0.11
    smtp_alert
}
"#,
                objects: json!({"vrrp_groups": [{
                    "notify": {"script": ["/etc/keepalived/notify.sh", "--all"], "webhook": null},
                }]}),
                warnings: &[
                    "7: vrrp_instance VI_1: the user of notify is not imported",
                    "8: 'notify_master' in vrrp_instance VI_1 is not imported: director runs one 'notify' script with the new state as argument",
                    "9: 'notify_backup' in vrrp_instance VI_1 is not imported: director runs one 'notify' script with the new state as argument",
                    "10: 'notify_fault' in vrrp_instance VI_1 is not imported: director runs one 'notify' script with the new state as argument",
                    "11: 'notify_stop' in vrrp_instance VI_1 is not imported: director runs one 'notify' script with the new state as argument",
                    "12: 'dont_track_primary' in vrrp_instance VI_1 is not imported",
                    "13: 'mcast_src_ip' in vrrp_instance VI_1 is not imported",
                    "14: 'smtp_alert' in vrrp_instance VI_1 is not imported",
                ],
            },
            Case {
                what: "vrrp_sync_group: the sync group of its instances; its own track and notify are not imported",
                conf: r"vrrp_sync_group VG_1 {
    group {
        VI_EXT
        VI_INT
    }
    notify_master /bin/master
    track_interface {
        eth1
    }
    smtp_alert
}
vrrp_instance VI_EXT {
    interface eth0
    virtual_router_id 61
    virtual_ipaddress {
        198.51.100.1/24
    }
}
vrrp_instance VI_INT {
    interface eth1
    virtual_router_id 62
    virtual_ipaddress {
        10.9.0.1/24
    }
}
vrrp_instance VI_ALONE {
    interface eth1
    virtual_router_id 63
    virtual_ipaddress {
        10.9.0.2/24
    }
}
",
                objects: json!({"vrrp_groups": [
                    {"name": "vi_ext", "sync_group": "vg_1"},
                    {"name": "vi_int", "sync_group": "vg_1"},
                    {"name": "vi_alone", "sync_group": null},
                ]}),
                warnings: &[
                    "6: 'notify_master' in vrrp_sync_group VG_1 is not imported: track and notify the instances themselves",
                    "7: 'track_interface' in vrrp_sync_group VG_1 is not imported: track and notify the instances themselves",
                    "10: 'smtp_alert' in vrrp_sync_group VG_1 is not imported: track and notify the instances themselves",
                ],
            },
        ]);
    }

    #[test]
    fn virtual_servers() {
        run(vec![
            Case {
                what: "address, port, protocol TCP; lb_algo, lb_kind; tied to the group holding the address",
                conf: r"vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.180/24
    }
}
virtual_server 192.0.2.180 80 {
    lb_algo wrr
    lb_kind DR
    real_server 10.0.0.1 80 {
    }
    real_server 10.0.0.2 8080 {
        weight 3
    }
}
",
                objects: json!({"virtual_servers": [{
                    "name": "tcp-192.0.2.180-80", "protocol": "tcp", "address": "192.0.2.180", "port": 80,
                    "fwmark": null, "family": null, "scheduler": "wrr", "scheduler_flags": [],
                    "forwarding": "dr", "persistence": null, "one_packet": false, "vrrp_group": "vi_1",
                    "health_check": null, "sorry_server": null, "quorum": 1, "hysteresis": 0,
                    "alpha": false, "enabled": true,
                    "real_servers": [
                        {"address": "10.0.0.1", "port": 80, "weight": 1, "forwarding": null,
                         "upper_threshold": 0, "lower_threshold": 0, "inhibit_on_failure": false,
                         "health_check": null},
                        {"address": "10.0.0.2", "port": 8080, "weight": 3},
                    ],
                }]}),
                warnings: &[],
            },
            Case {
                what: "protocol UDP and SCTP, lvs_sched with its flags, lvs_method NAT, ops; no group holds the address",
                conf: r"virtual_server 192.0.2.9 53 {
    protocol UDP
    lvs_sched sh
    sh-port
    sh-fallback
    lvs_method NAT
    ops
}
virtual_server 2001:db8::9 5000 {
    protocol SCTP
    lvs_sched mh
    mh-fallback
}
",
                objects: json!({"virtual_servers": [
                    {"name": "udp-192.0.2.9-53", "protocol": "udp", "scheduler": "sh",
                     "scheduler_flags": ["sh-port", "sh-fallback"], "forwarding": "nat",
                     "one_packet": true, "vrrp_group": null},
                    {"name": "sctp-2001-db8--9-5000", "protocol": "sctp", "address": "2001:db8::9",
                     "scheduler": "mh", "scheduler_flags": ["mh-fallback"], "forwarding": "nat"},
                ]}),
                warnings: &[],
            },
            Case {
                what: "fwmark: the family of the real servers or ip_family; protocol is not imported",
                conf: r"virtual_server fwmark 7 {
    protocol TCP
    real_server 2001:db8::50 0 {
    }
}
virtual_server fwmark 8 {
    ip_family inet6
    lvs_method TUN
}
virtual_server fwmark 9 {
}
",
                objects: json!({"virtual_servers": [
                    {"name": "fwmark-7-inet6", "fwmark": 7, "family": "inet6", "protocol": null,
                     "address": null, "port": null, "real_servers": [{"address": "2001:db8::50", "port": 0}]},
                    {"name": "fwmark-8-inet6", "fwmark": 8, "family": "inet6", "forwarding": "tunnel"},
                    {"name": "fwmark-9", "fwmark": 9, "family": "inet"},
                ]}),
                warnings: &[
                    "2: 'protocol' in virtual_server fwmark 7 is not imported: the mark selects the traffic",
                ],
            },
            Case {
                what: "the options of a TUN tunnel are not imported (ipip)",
                conf: r"virtual_server 192.0.2.1 80 {
    lb_kind TUN type gue port 6080
}
",
                objects: json!({"virtual_servers": [{"forwarding": "tunnel"}]}),
                warnings: &[
                    "2: virtual_server 192.0.2.1 80: tunnel options of lvs_method TUN are not imported (ipip)",
                ],
            },
            Case {
                what: "persistence: a netmask, an IPv4 prefix length as a netmask, an IPv6 prefix length",
                conf: r"virtual_server 192.0.2.1 80 {
    persistence_timeout 50
    persistence_granularity 255.255.255.0
}
virtual_server 192.0.2.1 81 {
    persistence_timeout 60
    persistence_granularity 16
}
virtual_server 2001:db8::1 443 {
    persistence_timeout 300
    persistence_granularity 64
}
virtual_server 192.0.2.1 82 {
    persistence_granularity 24
}
virtual_server 192.0.2.1 83 {
    persistence_timeout
}
",
                objects: json!({"virtual_servers": [
                    {"persistence": {"timeout_s": 50, "netmask": "255.255.255.0"}},
                    {"persistence": {"timeout_s": 60, "netmask": "255.255.0.0"}},
                    {"persistence": {"timeout_s": 300, "netmask": "64"}},
                    {"persistence": null},
                    {"persistence": {"timeout_s": 360, "netmask": null}},
                ]}),
                warnings: &[
                    "14: 'persistence_granularity' in virtual_server 192.0.2.1 82 is not imported: no persistence_timeout",
                ],
            },
            Case {
                what: "quorum, hysteresis, alpha; sorry_server, its port defaulting to the service's, its lvs_method",
                conf: r"virtual_server 192.0.2.1 80 {
    quorum 2
    hysteresis 1
    alpha
    sorry_server 192.0.2.200 8080
    sorry_server_lvs_method NAT
    sorry_server_inhibit
}
virtual_server 192.0.2.1 443 {
    sorry_server 192.0.2.200
}
virtual_server fwmark 3 {
    sorry_server 192.0.2.200
}
",
                objects: json!({"virtual_servers": [
                    {"quorum": 2, "hysteresis": 1, "alpha": true,
                     "sorry_server": {"address": "192.0.2.200", "port": 8080, "forwarding": "nat"}},
                    {"quorum": 1, "hysteresis": 0, "alpha": false,
                     "sorry_server": {"address": "192.0.2.200", "port": 443, "forwarding": null}},
                    {"sorry_server": {"address": "192.0.2.200", "port": 0}},
                ]}),
                warnings: &["7: 'sorry_server_inhibit' in virtual_server 192.0.2.1 80 is not imported"],
            },
            Case {
                what: "what director has no counterpart for is reported with its line",
                conf: r#"virtual_server 192.0.2.1 80 {
    persistence_engine sip
    ha_suspend
    omega
    quorum_up "/bin/up"
    quorum_down "/bin/down"
    smtp_alert
    bogus_option 1
}
virtual_server group web {
}
"#,
                objects: json!({"virtual_servers": [{"name": "tcp-192.0.2.1-80"}]}),
                warnings: &[
                    "2: 'persistence_engine' in virtual_server 192.0.2.1 80 is not imported",
                    "3: 'ha_suspend' in virtual_server 192.0.2.1 80 is not imported",
                    "4: 'omega' in virtual_server 192.0.2.1 80 is not imported",
                    "5: 'quorum_up' in virtual_server 192.0.2.1 80 is not imported",
                    "6: 'quorum_down' in virtual_server 192.0.2.1 80 is not imported",
                    "7: 'smtp_alert' in virtual_server 192.0.2.1 80 is not imported",
                    "8: 'bogus_option' in virtual_server 192.0.2.1 80 is not imported",
                    "10: 'virtual_server group' in top level is not imported",
                ],
            },
        ]);
    }

    #[test]
    fn real_servers() {
        run(vec![
            Case {
                what: "the port of the service by default; weight, thresholds; lvs_method only when it differs; \
                       inhibit_on_failure of the service or its own",
                conf: r"virtual_server 192.0.2.1 80 {
    lb_kind DR
    inhibit_on_failure
    real_server 10.0.0.1 {
        weight 0
        uthreshold 1000
        lthreshold 100
        lvs_method DR
    }
    real_server 10.0.0.2 80 {
        lvs_method TUN
        inhibit_on_failure false
    }
}
virtual_server 192.0.2.1 81 {
    real_server 10.0.0.3 81 {
        inhibit_on_failure
    }
    real_server 10.0.0.4 81 {
    }
}
",
                objects: json!({"virtual_servers": [
                    {"real_servers": [
                        {"address": "10.0.0.1", "port": 80, "weight": 0, "upper_threshold": 1000,
                         "lower_threshold": 100, "forwarding": null, "inhibit_on_failure": true},
                        {"address": "10.0.0.2", "forwarding": "tunnel", "inhibit_on_failure": false},
                    ]},
                    {"real_servers": [
                        {"address": "10.0.0.3", "inhibit_on_failure": true},
                        {"address": "10.0.0.4", "inhibit_on_failure": false},
                    ]},
                ]}),
                warnings: &[],
            },
            Case {
                what: "notify_up, notify_down, smtp_alert, an alpha of its own and a second checker are not imported",
                conf: r"virtual_server 192.0.2.1 80 {
    real_server 10.0.0.1 80 {
        notify_up /bin/up
        notify_down /bin/down
        smtp_alert
        alpha
        TCP_CHECK {
        }
        HTTP_GET {
            url {
                path /
            }
        }
    }
}
",
                objects: json!({"virtual_servers": [{
                    "health_check": {"type": "tcp"},
                    "real_servers": [{"health_check": null}],
                }]}),
                warnings: &[
                    "3: 'notify_up' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 is not imported",
                    "4: 'notify_down' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 is not imported",
                    "5: 'smtp_alert' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 is not imported",
                    "6: 'alpha' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 is not imported",
                    "9: virtual_server 192.0.2.1 80 > real_server 10.0.0.1: HTTP_GET is not imported: director runs one check per real server (the first)",
                ],
            },
        ]);
    }

    #[test]
    fn health_checks() {
        run(vec![
            Case {
                what: "TCP_CHECK with keepalived's defaults; a check every real server has alike is the service's",
                conf: r"virtual_server 192.0.2.1 80 {
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
",
                objects: json!({"virtual_servers": [{
                    "health_check": {"type": "tcp", "interval_ms": 60000, "timeout_ms": 5000, "fall": 2,
                                     "retry_delay_ms": null, "warmup_ms": null, "connect_address": null,
                                     "connect_port": null, "bind_address": null},
                    "real_servers": [{"health_check": null}, {"health_check": null}],
                }]}),
                warnings: &[],
            },
            Case {
                what: "timing of the checker, else the real server's, else the service's; nb_get_retry in \
                       TCP_CHECK is ignored as keepalived 2.2 does (the service's retry 5 is fall 6); connect_ip, \
                       connect_port, bindto",
                conf: r"virtual_server 192.0.2.1 80 {
    delay_loop 6
    connect_timeout 4
    retry 5
    delay_before_retry 3
    warmup 10
    real_server 10.0.0.1 80 {
        connect_timeout 2
        TCP_CHECK {
            nb_get_retry 2
            connect_ip 127.0.0.1
            connect_port 8080
            bindto 127.0.0.2
        }
    }
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            delay_loop 10
        }
    }
}
",
                objects: json!({"virtual_servers": [{
                    "health_check": null,
                    "real_servers": [
                        {"health_check": {"type": "tcp", "interval_ms": 6000, "timeout_ms": 2000, "fall": 6,
                                          "retry_delay_ms": 3000, "warmup_ms": 10000,
                                          "connect_address": "127.0.0.1", "connect_port": 8080,
                                          "bind_address": "127.0.0.2"}},
                        {"health_check": {"type": "tcp", "interval_ms": 10000, "timeout_ms": 4000, "fall": 6,
                                          "retry_delay_ms": 3000, "warmup_ms": 10000,
                                          "connect_address": null}},
                    ],
                }]}),
                warnings: &[
                    "10: 'nb_get_retry' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 80 > TCP_CHECK is not imported: keepalived 2.2 ignores it outside HTTP_GET and SSL_GET (its default retry applies; write 'retry N' for fall N+1)",
                ],
            },
            Case {
                what: "a timeout beyond the interval and a retry beyond 99 are cut; alpha, log_all_failures, \
                       bind_if, bind_port, fwmark of a checker are not imported",
                conf: r"virtual_server 192.0.2.1 80 {
    real_server 10.0.0.1 80 {
        TCP_CHECK {
            delay_loop 2
            connect_timeout 3
            retry 150
            alpha
            log_all_failures
            bind_if eth1
            bind_port 4000
            fwmark 5
        }
    }
}
",
                objects: json!({"virtual_servers": [{
                    "health_check": {"interval_ms": 2000, "timeout_ms": 2000, "fall": 100},
                }]}),
                warnings: &[
                    "5: virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK: timeout 3000 ms cut to the check interval 2000 ms",
                    "6: virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK: retry 150 cut to 99 (fall 100)",
                    "7: 'alpha' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK is not imported",
                    "8: 'log_all_failures' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK is not imported",
                    "9: 'bind_if' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK is not imported",
                    "10: 'bind_port' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK is not imported",
                    "11: 'fwmark' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > TCP_CHECK is not imported",
                ],
            },
            Case {
                what: "HTTP_GET: the first url (path, digest lower-cased, status codes, virtualhost), else the \
                       service's virtualhost; http_protocol",
                conf: r"virtual_server 192.0.2.1 80 {
    virtualhost vs.example.com
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
                path /health
                digest 9B3A0C85A887A256D6939DA88AABD8CD
                status_code 200 204-206
                virtualhost www.example.com
            }
            url {
                path /other
            }
            http_protocol 1.1
            fast_recovery
        }
    }
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /health
            }
            http_protocol 1.0C
        }
    }
    real_server 10.0.0.3 80 {
        virtualhost rs.example.com
        HTTP_GET {
            virtualhost check.example.com
            url {
                path /health
            }
            http_protocol 1.0
        }
    }
}
",
                objects: json!({"virtual_servers": [{"real_servers": [
                    {"health_check": {"type": "http", "path": "/health",
                                      "digest": "9b3a0c85a887a256d6939da88aabd8cd",
                                      "status_codes": ["200", "204-206"], "virtual_host": "www.example.com",
                                      "http_version": "1.1", "sni": null}},
                    {"health_check": {"type": "http", "path": "/health", "digest": null, "status_codes": null,
                                      "virtual_host": "vs.example.com", "http_version": "1.0"}},
                    {"health_check": {"virtual_host": "check.example.com", "http_version": "1.0"}},
                ]}]}),
                warnings: &[
                    "5: virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > HTTP_GET: only the first of 2 url blocks is imported",
                    "15: 'fast_recovery' in virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > HTTP_GET is not imported",
                    "23: virtual_server 192.0.2.1 80 > real_server 10.0.0.2 > HTTP_GET: http_protocol 1.0C imported as 1.0",
                ],
            },
            Case {
                what: "SSL_GET: an https check with its SNI name, the real server's virtualhost",
                conf: r"virtual_server 192.0.2.1 443 {
    real_server 10.0.0.1 443 {
        virtualhost api.example.com
        SSL_GET {
            url {
                path /status
                status_code 200
            }
            enable_sni
            sni_name sni.example.com
            tls_compliant
        }
    }
}
",
                objects: json!({"virtual_servers": [{"health_check": {
                    "type": "https", "path": "/status", "status_codes": ["200"],
                    "virtual_host": "api.example.com", "sni": "sni.example.com",
                }}]}),
                warnings: &[
                    "11: 'tls_compliant' in virtual_server 192.0.2.1 443 > real_server 10.0.0.1 > SSL_GET is not imported",
                ],
            },
            Case {
                what: "MISC_CHECK: the command split as keepalived splits it, misc_timeout (else the interval), \
                       misc_dynamic, retry 0 by default; user is not imported",
                conf: r#"virtual_server 192.0.2.1 53 {
    delay_loop 5
    real_server 10.0.0.1 53 {
        MISC_CHECK {
            misc_path "/usr/bin/dig -p 53 '@10.0.0.1' example.com"
            misc_timeout 3
            misc_dynamic
            user nobody
        }
    }
    real_server 10.0.0.2 53 {
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
"#,
                objects: json!({"virtual_servers": [{"real_servers": [
                    {"health_check": {"type": "script",
                                      "command": ["/usr/bin/dig", "-p", "53", "@10.0.0.1", "example.com"],
                                      "interval_ms": 5000, "timeout_ms": 3000, "fall": 1,
                                      "dynamic_weight": true}},
                    {"health_check": {"type": "script", "command": ["/bin/true"], "interval_ms": 5000,
                                      "timeout_ms": 5000, "fall": 1, "dynamic_weight": null}},
                ]}]}),
                warnings: &[
                    "8: 'user' in virtual_server 192.0.2.1 53 > real_server 10.0.0.1 > MISC_CHECK is not imported",
                ],
            },
        ]);
    }

    #[test]
    fn refused_values_name_their_line() {
        let instance = |body: &str| {
            format!(
                "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        10.0.0.100\n    }}\n{body}}}\n"
            )
        };
        for (conf, line, message) in [
            (
                "vrrp_instance _VI {\n    interface eth0\n    virtual_router_id 51\n}\n".to_string(),
                1,
                "vrrp_instance _VI: the name is not usable as a director name",
            ),
            (
                "vrrp_instance VI_1 {\n    interface eth0\n}\n".into(),
                1,
                "vrrp_instance VI_1: virtual_router_id is required",
            ),
            (
                "vrrp_instance VI_1 {\n    virtual_router_id 51\n}\n".into(),
                1,
                "vrrp_instance VI_1: interface is required (or global_defs default_interface)",
            ),
            (
                instance("    advert_int 1.5\n"),
                7,
                "vrrp_instance VI_1: advert_int must be whole seconds with VRRP version 2",
            ),
            (
                instance("    authentication {\n        auth_type AH\n        auth_pass x\n    }\n"),
                8,
                "vrrp_instance VI_1: auth_type AH is not supported by director (use PASS or none)",
            ),
            (
                instance("    authentication {\n        auth_type PASS\n    }\n"),
                7,
                "vrrp_instance VI_1: authentication without auth_pass",
            ),
            (
                instance("    authentication {\n        auth_pass aéééé\n    }\n"),
                8,
                "vrrp_instance VI_1: auth_pass is longer than the 8 bytes keepalived sends, and its 8th \
                 byte is inside a character; use a password of at most 8 bytes",
            ),
            (
                instance("    track_script {\n        chk_gone\n    }\n"),
                8,
                "vrrp_instance VI_1: track_script chk_gone: there is no vrrp_script of that name",
            ),
            (
                format!(
                    "vrrp_script chk {{\n    weight 2\n}}\n{}",
                    instance("    track_script {\n        chk\n    }\n")
                ),
                1,
                "vrrp_script chk: 'script' is required",
            ),
            (
                format!(
                    "{}{}",
                    instance(""),
                    instance("").replace("VI_1", "vi_1").replace(" 51", " 52")
                ),
                8,
                "vrrp_instance vi_1 becomes VRRP group vi_1, like the instance at keepalived.conf:1",
            ),
            (
                format!(
                    "vrrp_sync_group VG {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n{}",
                    instance("")
                ),
                2,
                "vrrp_sync_group VG: there is no vrrp_instance VI_2",
            ),
            (
                format!(
                    "vrrp_sync_group A {{\n    group {{\n        VI_1\n    }}\n}}\n\
                     vrrp_sync_group B {{\n    group {{\n        VI_1\n    }}\n}}\n{}",
                    instance("")
                ),
                7,
                "vrrp_instance VI_1 is in more than one vrrp_sync_group",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n    ip_family inet6\n}\n".into(),
                2,
                "virtual_server 192.0.2.1 80: ip_family does not match the address 192.0.2.1",
            ),
            (
                "virtual_server 2001:db8::1 80 {\n    persistence_timeout 60\n    persistence_granularity 255.255.0.0\n}\n".into(),
                3,
                "virtual_server 2001:db8::1 80: 255.255.0.0 is an IPv4 netmask; use a prefix length for IPv6",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n}\nvirtual_server 192.0.2.1 80 {\n}\n".into(),
                3,
                "virtual_server 192.0.2.1 80 is declared twice (first at keepalived.conf:1)",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n    real_server 10.0.0.1 80 {\n        MISC_CHECK {\n            misc_timeout 2\n        }\n    }\n}\n".into(),
                3,
                "virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > MISC_CHECK: misc_path is required",
            ),
            (
                "virtual_server 192.0.2.1 80 {\n    real_server 10.0.0.1 80 {\n        HTTP_GET {\n            url {\n                path health\n            }\n        }\n    }\n}\n".into(),
                5,
                "virtual_server 192.0.2.1 80 > real_server 10.0.0.1 > HTTP_GET: path: must start with '/' and contain no spaces",
            ),
        ] {
            let e = import(&conf).expect_err(message);
            assert_eq!(
                (e.place.file.to_str(), e.place.line, e.message.as_str()),
                (Some("keepalived.conf"), line, message),
                "\n{conf}"
            );
        }
    }

    #[test]
    fn names() {
        for (keepalived, director) in [
            ("VI_1", Some("vi_1")),
            ("Web Front", Some("web-front")),
            ("lb.eu-1", Some("lb.eu-1")),
            ("_private", None),
            ("", None),
        ] {
            assert_eq!(slug(keepalived).as_deref(), director, "{keepalived:?}");
        }
        let name =
            |conf: &str| import(conf).map(|i| i.virtual_servers[0].virtual_server.name.clone());
        assert_eq!(
            name("virtual_server 10.0.0.1 80 {\n}\n"),
            Ok("tcp-10.0.0.1-80".into())
        );
        assert_eq!(
            name("virtual_server 10.0.0.1 {\n}\n"),
            Ok("tcp-10.0.0.1-0".into())
        );
        assert_eq!(
            name("virtual_server 2001:db8::1 53 {\n    protocol UDP\n}\n"),
            Ok("udp-2001-db8--1-53".into())
        );
        assert_eq!(
            name("virtual_server fwmark 7 {\n}\n"),
            Ok("fwmark-7".into())
        );
    }

    #[test]
    fn the_keyword_of_a_refused_field() {
        for (field, index, keyword) in [
            ("real_servers[2].weight", Some(2), "weight"),
            ("real_servers[0].upper_threshold", Some(0), "uthreshold"),
            ("real_servers[0].lower_threshold", Some(0), "lthreshold"),
            ("real_servers[1].forwarding", Some(1), "lvs_method"),
            ("real_servers[1].health_check.fall", Some(1), "delay_loop"),
            ("scheduler_flags[0]", None, "lvs_sched"),
            ("persistence.netmask", None, "persistence_granularity"),
            ("persistence.timeout_s", None, "persistence_timeout"),
            ("sorry_server.port", None, "sorry_server"),
            ("quorum", None, "quorum"),
            ("vrid", None, "virtual_router_id"),
            ("advert_interval_ms", None, "advert_int"),
            ("auth.password", None, "authentication"),
            ("virtual_addresses[1]", None, "virtual_ipaddress"),
            ("garp.repeat", None, "garp_master_delay"),
            ("track[0].weight", None, "track_script"),
            ("members[0].unicast_peers[0]", None, "unicast_peer"),
            ("members[0].unicast_source", None, "unicast_src_ip"),
            ("members[0].priority", None, "priority"),
            ("members[0].node", None, "interface"),
            ("enabled", None, ""),
        ] {
            assert_eq!(keyword_of(field), (index, keyword), "{field}");
        }
        for (field, checker, keyword) in [
            ("health_check.interval_ms", "TCP_CHECK", "delay_loop"),
            ("timeout_ms", "TCP_CHECK", "connect_timeout"),
            ("status_codes[1]", "HTTP_GET", "status_code"),
            ("virtual_host", "HTTP_GET", "virtualhost"),
            ("command", "MISC_CHECK", "misc_path"),
            ("kind", "SSL_GET", "SSL_GET"),
        ] {
            assert_eq!(check_keyword(field, checker), keyword, "{field}");
        }
    }

    #[test]
    fn a_refused_field_is_placed_where_keepalived_wrote_it_under_either_spelling() {
        let text = "virtual_server 192.0.2.1 80 {\n    lb_algo rr\n    lb_kind DR\n    real_server 10.0.0.1 80 {\n        weight 3\n    }\n}\n";
        let mut parsed = parse_str("keepalived.conf", text).expect("parses");
        let span = parsed.spans.virtual_servers.remove(0);
        for (field, line) in [
            ("scheduler_flags[0]", 2),
            ("real_servers[0].weight", 5),
            ("real_servers[0].forwarding", 4),
            ("real_servers[7].weight", 1),
            ("enabled", 1),
        ] {
            assert_eq!(place_of(&span, field).line, line, "{field}");
        }
    }
}

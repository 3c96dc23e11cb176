//! From the syntax tree to the typed [`Config`].
//!
//! Rules:
//!
//! - A value that does not parse or is out of range is an [`Error`] naming the file, the
//!   line and the keyword. So is a value too many, a missing value, a block where none is
//!   expected (or the reverse) and a single-valued keyword given twice in one block.
//! - A keyword (or an option word of an address line) that the typed layer does not map is
//!   reported in [`Parsed::unmapped`] with its file, line and context; it is never dropped
//!   silently. An unmapped block is reported once, by its keyword; its contents are not.
//! - An unknown top-level keyword is an error; keepalived top-level blocks that are not
//!   mapped (static routes, BFD, `virtual_server_group`, ...) are reported as unmapped.
//! - `virtual_server group NAME` is not supported: it is reported as unmapped (keyword
//!   `virtual_server group`) and left out of the configuration.
//! - Old keyword spellings are accepted: `lb_algo` (= `lvs_sched`), `lb_kind`
//!   (= `lvs_method`), `nb_get_retry` (= `retry`, in `HTTP_GET` and `SSL_GET` only: keepalived 2.2
//!   ignores it in `TCP_CHECK` and `MISC_CHECK`, and it is reported as unmapped there).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::config::*;
use crate::error::{Error, ErrorKind, Location, Unmapped};
use crate::spans::{BlockSpan, Spans};
use crate::syntax::{count, Node};
use crate::values::{parse_bool, parse_seconds, parse_whole_seconds};

/// The result of parsing: the typed configuration and what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The typed configuration.
    pub config: Config,
    /// Every keyword that was read but is not represented in `config`, in file order.
    pub unmapped: Vec<Unmapped>,
    /// Where each object of `config` and its keywords were written.
    pub spans: Spans,
}

/// Top-level keywords of keepalived that are known but not mapped.
const UNMAPPED_TOP_LEVEL: &[&str] = &[
    "linkbeat_interfaces",
    "track_group",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_file",
    "vrrp_track_file",
    "vrrp_track_process",
    "bfd_instance",
    "garp_group",
    "interface_up_down_delays",
    "virtual_server_group",
    "SSL",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
];

const TOP_LEVEL: &str = "top level";

/// Largest real server weight keepalived accepts (IPVS weights are C ints).
const MAX_WEIGHT: u32 = 0x7fff_ffff;

/// Maps a syntax tree to the typed configuration.
pub fn map(nodes: &[Node]) -> Result<Parsed, Error> {
    let mut m = Mapper::default();
    let mut config = Config::default();
    let mut spans = Spans::default();
    let mut global_seen = Seen::default();
    let mut names: HashMap<&'static str, HashSet<String>> = HashMap::new();
    let mut check_name = |kind: &'static str, name: &str, n: &Node| -> Result<(), Error> {
        if names.entry(kind).or_default().insert(name.to_owned()) {
            Ok(())
        } else {
            Err(err(
                n,
                ErrorKind::DuplicateName {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                },
            ))
        }
    };
    let virtual_servers = count(nodes, |k| k == "virtual_server");
    config.virtual_servers.reserve_exact(virtual_servers);
    spans.virtual_servers.reserve_exact(virtual_servers);
    for n in nodes {
        match n.keyword.as_str() {
            "global_defs" => {
                no_args(n)?;
                m.global_defs(n, &mut config.global_defs, &mut global_seen)?;
                spans.global_defs(n);
            }
            "vrrp_script" => {
                let script = m.vrrp_script(n)?;
                check_name("vrrp_script", &script.name, n)?;
                config.vrrp_scripts.push(script);
                spans.vrrp_scripts.push(BlockSpan::of(n, None));
            }
            "vrrp_sync_group" => {
                let group = m.vrrp_sync_group(n)?;
                check_name("vrrp_sync_group", &group.name, n)?;
                config.vrrp_sync_groups.push(group);
                spans.vrrp_sync_groups.push(BlockSpan::of(n, None));
            }
            "vrrp_instance" => {
                let instance = m.vrrp_instance(n)?;
                check_name("vrrp_instance", &instance.name, n)?;
                config.vrrp_instances.push(instance);
                spans.vrrp_instances.push(BlockSpan::of(n, None));
            }
            "virtual_server" => {
                if let Some(vs) = m.virtual_server(n)? {
                    config.virtual_servers.push(vs);
                    spans
                        .virtual_servers
                        .push(BlockSpan::of(n, Some("real_server")));
                }
            }
            kw if UNMAPPED_TOP_LEVEL.contains(&kw) => m.unmapped(n, TOP_LEVEL),
            kw => {
                return Err(err(
                    n,
                    ErrorKind::UnknownTopLevel {
                        keyword: kw.to_owned(),
                    },
                ))
            }
        }
    }
    Ok(Parsed {
        config,
        unmapped: m.unmapped,
        spans,
    })
}

type Res<T> = Result<T, Error>;

fn err(n: &Node, kind: ErrorKind) -> Error {
    Error::new(&n.location, kind)
}

fn invalid(n: &Node, keyword: &str, value: &str, reason: impl Into<String>) -> Error {
    err(
        n,
        ErrorKind::InvalidValue {
            keyword: keyword.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        },
    )
}

fn no_block(n: &Node) -> Res<()> {
    match n.block {
        Some(_) => Err(err(
            n,
            ErrorKind::UnexpectedBlock {
                keyword: n.keyword.clone(),
            },
        )),
        None => Ok(()),
    }
}

fn block(n: &Node) -> Res<&[Node]> {
    n.block.as_deref().ok_or_else(|| {
        err(
            n,
            ErrorKind::ExpectedBlock {
                keyword: n.keyword.clone(),
            },
        )
    })
}

fn no_args(n: &Node) -> Res<()> {
    max_args(n, 0)
}

fn max_args(n: &Node, max: usize) -> Res<()> {
    match n.args.get(max) {
        Some(extra) => Err(err(
            n,
            ErrorKind::UnexpectedValue {
                keyword: n.keyword.clone(),
                value: extra.clone(),
            },
        )),
        None => Ok(()),
    }
}

fn min_args(n: &Node, min: usize) -> Res<()> {
    if n.args.len() < min {
        Err(err(
            n,
            ErrorKind::MissingValue {
                keyword: n.keyword.clone(),
            },
        ))
    } else {
        Ok(())
    }
}

/// A block with no values on its keyword line.
fn plain_block(n: &Node) -> Res<&[Node]> {
    no_args(n)?;
    block(n)
}

/// Exactly one value, no block.
fn one(n: &Node) -> Res<&str> {
    no_block(n)?;
    min_args(n, 1)?;
    max_args(n, 1)?;
    Ok(&n.args[0])
}

/// A flag keyword that takes nothing.
fn pure_flag(n: &Node) -> Res<bool> {
    no_block(n)?;
    no_args(n)?;
    Ok(true)
}

/// A flag keyword with an optional `<BOOL>` (absent: true).
fn flag(n: &Node) -> Res<bool> {
    no_block(n)?;
    max_args(n, 1)?;
    match n.args.first() {
        None => Ok(true),
        Some(v) => parse_bool(v)
            .ok_or_else(|| invalid(n, &n.keyword, v, "expected on|off|true|false|yes|no")),
    }
}

fn int(n: &Node, keyword: &str, s: &str, min: i64, max: i64) -> Res<i64> {
    let value: i128 = s
        .parse()
        .map_err(|_| invalid(n, keyword, s, "not an integer"))?;
    if value < i128::from(min) || value > i128::from(max) {
        return Err(invalid(
            n,
            keyword,
            s,
            format!("out of range {min}..={max}"),
        ));
    }
    i64::try_from(value).map_err(|_| invalid(n, keyword, s, "out of range"))
}

fn uint<T: TryFrom<i64>>(n: &Node, keyword: &str, s: &str, min: T, max: T) -> Res<T>
where
    i64: From<T>,
{
    let value = int(n, keyword, s, i64::from(min), i64::from(max))?;
    T::try_from(value).map_err(|_| invalid(n, keyword, s, "out of range"))
}

fn u32_value(n: &Node, min: u32, max: u32) -> Res<u32> {
    let s = one(n)?;
    uint(n, &n.keyword, s, min, max)
}

fn weight(n: &Node, keyword: &str, s: &str) -> Res<i32> {
    let value = int(n, keyword, s, -254, 254)?;
    i32::try_from(value).map_err(|_| invalid(n, keyword, s, "out of range"))
}

/// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDRESS]`, the
/// options in any order, each once.
fn lvs_sync_daemon(n: &Node) -> Res<LvsSyncDaemon> {
    no_block(n)?;
    min_args(n, 2)?;
    let mut d = LvsSyncDaemon {
        interface: n.args[0].clone(),
        instance: n.args[1].clone(),
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut rest = n.args[2..].iter();
    while let Some(option) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| invalid(n, option, "", "needs a value"))?;
        let twice = |set: bool| {
            if set {
                Err(invalid(n, option, value, "given twice"))
            } else {
                Ok(())
            }
        };
        match option.as_str() {
            "id" => {
                twice(d.id.is_some())?;
                d.id = Some(uint(n, option, value, 0u8, u8::MAX)?);
            }
            "maxlen" => {
                twice(d.maxlen.is_some())?;
                d.maxlen = Some(uint(n, option, value, 1u16, 65_507)?);
            }
            "port" => {
                twice(d.port.is_some())?;
                d.port = Some(uint(n, option, value, 1u16, u16::MAX)?);
            }
            "ttl" => {
                twice(d.ttl.is_some())?;
                d.ttl = Some(uint(n, option, value, 1u8, u8::MAX)?);
            }
            "group" => {
                twice(d.group.is_some())?;
                let group: IpAddr = value
                    .parse()
                    .ok()
                    .filter(IpAddr::is_multicast)
                    .ok_or_else(|| invalid(n, option, value, "not a multicast address"))?;
                d.group = Some(group);
            }
            _ => {
                return Err(invalid(
                    n,
                    &n.keyword,
                    option,
                    "expected id, maxlen, port, ttl or group",
                ))
            }
        }
    }
    Ok(d)
}

fn port(n: &Node, keyword: &str, s: &str) -> Res<u16> {
    uint(n, keyword, s, 0u16, u16::MAX)
}

fn ip(n: &Node, keyword: &str, s: &str) -> Res<IpAddr> {
    s.parse()
        .map_err(|_| invalid(n, keyword, s, "not an IPv4 or IPv6 address"))
}

fn ip_value(n: &Node) -> Res<IpAddr> {
    let s = one(n)?;
    ip(n, &n.keyword, s)
}

/// Decimal seconds, at least `min`, at most `max`.
fn seconds(n: &Node, min: Duration, max: Option<Duration>) -> Res<Duration> {
    let s = one(n)?;
    let d = parse_seconds(s).map_err(|reason| invalid(n, &n.keyword, s, reason))?;
    check_duration(n, s, d, min, max)
}

/// Whole seconds, at least `min`.
fn whole_seconds(n: &Node, min: Duration) -> Res<Duration> {
    let s = one(n)?;
    let d = parse_whole_seconds(s).map_err(|reason| invalid(n, &n.keyword, s, reason))?;
    check_duration(n, s, d, min, None)
}

fn check_duration(
    n: &Node,
    s: &str,
    d: Duration,
    min: Duration,
    max: Option<Duration>,
) -> Res<Duration> {
    if d < min {
        let reason = if min == Duration::from_micros(1) {
            "must be greater than 0".to_owned()
        } else {
            format!(
                "must be at least {} seconds",
                crate::values::format_seconds(min)
            )
        };
        return Err(invalid(n, &n.keyword, s, reason));
    }
    if let Some(max) = max {
        if d > max {
            return Err(invalid(
                n,
                &n.keyword,
                s,
                format!(
                    "must be at most {} seconds",
                    crate::values::format_seconds(max)
                ),
            ));
        }
    }
    Ok(d)
}

const POSITIVE: Duration = Duration::from_micros(1);
/// keepalived 2.2 accepts `vrrp_garp_interval` / `vrrp_gna_interval` up to this.
const MAX_GARP_INTERVAL: Duration = Duration::from_micros(4_294_967_295);

/// `vrrp_garp_interval` / `vrrp_gna_interval`: `0` is keepalived's default (no delay between
/// announcements) and reads as unset; keepalived's own sample file writes it.
fn announcement_interval(n: &Node) -> Res<Option<Duration>> {
    let d = seconds(n, Duration::ZERO, Some(MAX_GARP_INTERVAL))?;
    Ok((!d.is_zero()).then_some(d))
}

fn string(n: &Node) -> Res<String> {
    one(n).map(str::to_owned)
}

/// A command line: one (usually quoted) value; several unquoted words are joined with
/// single spaces, as older keepalived versions did.
fn command(n: &Node) -> Res<String> {
    no_block(n)?;
    min_args(n, 1)?;
    Ok(n.args.join(" "))
}

fn script_user(n: &Node) -> Res<ScriptUser> {
    no_block(n)?;
    min_args(n, 1)?;
    max_args(n, 2)?;
    Ok(ScriptUser {
        user: n.args[0].clone(),
        group: n.args.get(1).cloned(),
    })
}

fn notify_script(n: &Node) -> Res<NotifyScript> {
    no_block(n)?;
    min_args(n, 1)?;
    max_args(n, 3)?;
    Ok(NotifyScript {
        command: n.args[0].clone(),
        user: n.args.get(1).map(|user| ScriptUser {
            user: user.clone(),
            group: n.args.get(2).cloned(),
        }),
    })
}

fn version(n: &Node) -> Res<VrrpVersion> {
    match one(n)? {
        "2" => Ok(VrrpVersion::V2),
        "3" => Ok(VrrpVersion::V3),
        other => Err(invalid(n, &n.keyword, other, "expected 2 or 3")),
    }
}

/// Remembers where single-valued keywords were first given in a block.
#[derive(Default)]
struct Seen(HashMap<String, Location>);

impl Seen {
    fn once(&mut self, key: &str, n: &Node) -> Res<()> {
        if let Some(first) = self.0.get(key) {
            return Err(err(
                n,
                ErrorKind::Duplicate {
                    keyword: n.keyword.clone(),
                    first: first.to_string(),
                },
            ));
        }
        self.0.insert(key.to_owned(), n.location.clone());
        Ok(())
    }

    /// Stores `value` in `slot`, failing if the keyword was given before.
    fn put<T>(&mut self, n: &Node, slot: &mut Option<T>, value: T) -> Res<()> {
        self.put_as(&n.keyword, n, slot, value)
    }

    /// Like `put`, under the canonical name `key` (for keywords with old spellings).
    fn put_as<T>(&mut self, key: &str, n: &Node, slot: &mut Option<T>, value: T) -> Res<()> {
        self.once(key, n)?;
        *slot = Some(value);
        Ok(())
    }
}

#[derive(Default)]
struct Mapper {
    unmapped: Vec<Unmapped>,
}

impl Mapper {
    fn unmapped(&mut self, n: &Node, context: &str) {
        self.unmapped_word(n, &n.keyword, context);
    }

    fn unmapped_word(&mut self, n: &Node, word: &str, context: &str) {
        self.unmapped.push(Unmapped {
            file: n.location.file.to_path_buf(),
            line: n.location.line,
            keyword: word.to_owned(),
            context: context.to_owned(),
        });
    }

    fn global_defs(&mut self, n: &Node, g: &mut GlobalDefs, seen: &mut Seen) -> Res<()> {
        let ctx = "global_defs";
        for c in block(n)? {
            match c.keyword.as_str() {
                "router_id" => seen.put(c, &mut g.router_id, string(c)?)?,
                "notification_email" => {
                    for line in plain_block(c)? {
                        no_block(line)?;
                        g.notification_email.push(line.keyword.clone());
                        g.notification_email.extend(line.args.iter().cloned());
                    }
                }
                "notification_email_from" => {
                    seen.put(c, &mut g.notification_email_from, string(c)?)?
                }
                "smtp_server" => {
                    no_block(c)?;
                    min_args(c, 1)?;
                    max_args(c, 2)?;
                    let server = SmtpServer {
                        host: c.args[0].clone(),
                        port: match c.args.get(1) {
                            Some(p) => Some(uint(c, &c.keyword, p, 1u16, u16::MAX)?),
                            None => None,
                        },
                    };
                    seen.put(c, &mut g.smtp_server, server)?;
                }
                "smtp_helo_name" => seen.put(c, &mut g.smtp_helo_name, string(c)?)?,
                "smtp_connect_timeout" => seen.put(
                    c,
                    &mut g.smtp_connect_timeout,
                    whole_seconds(c, Duration::from_secs(1))?,
                )?,
                "smtp_alert" => seen.put(c, &mut g.smtp_alert, flag(c)?)?,
                "enable_script_security" => g.enable_script_security = flag(c)?,
                "script_user" => seen.put(c, &mut g.script_user, script_user(c)?)?,
                "default_interface" => seen.put(c, &mut g.default_interface, string(c)?)?,
                "lvs_flush" => g.lvs_flush = flag(c)?,
                "vrrp_version" => seen.put(c, &mut g.vrrp_version, version(c)?)?,
                "vrrp_strict" => g.vrrp_strict = flag(c)?,
                "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = flag(c)?,
                "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = flag(c)?,
                "vrrp_mcast_group4" => {
                    let s = one(c)?;
                    let addr: Ipv4Addr = s
                        .parse()
                        .map_err(|_| invalid(c, &c.keyword, s, "not an IPv4 address"))?;
                    seen.put(c, &mut g.vrrp_mcast_group4, addr)?;
                }
                "vrrp_mcast_group6" => {
                    let s = one(c)?;
                    let addr: Ipv6Addr = s
                        .parse()
                        .map_err(|_| invalid(c, &c.keyword, s, "not an IPv6 address"))?;
                    seen.put(c, &mut g.vrrp_mcast_group6, addr)?;
                }
                "vrrp_garp_interval" => {
                    seen.once(&c.keyword, c)?;
                    g.vrrp_garp_interval = announcement_interval(c)?;
                }
                "vrrp_gna_interval" => {
                    seen.once(&c.keyword, c)?;
                    g.vrrp_gna_interval = announcement_interval(c)?;
                }
                "vrrp_garp_master_delay" => seen.put(
                    c,
                    &mut g.vrrp_garp_master_delay,
                    whole_seconds(c, Duration::ZERO)?,
                )?,
                "vrrp_garp_master_repeat" => seen.put(
                    c,
                    &mut g.vrrp_garp_master_repeat,
                    u32_value(c, 0, u32::MAX)?,
                )?,
                "vrrp_garp_master_refresh" => seen.put(
                    c,
                    &mut g.vrrp_garp_master_refresh,
                    whole_seconds(c, Duration::ZERO)?,
                )?,
                "lvs_sync_daemon" => seen.put(c, &mut g.lvs_sync_daemon, lvs_sync_daemon(c)?)?,
                _ => self.unmapped(c, ctx),
            }
        }
        Ok(())
    }

    fn vrrp_script(&mut self, n: &Node) -> Res<VrrpScript> {
        let name = header_name(n)?;
        let ctx = format!("vrrp_script {name}");
        let mut s = VrrpScript::new(name);
        let mut seen = Seen::default();
        for c in block(n)? {
            match c.keyword.as_str() {
                "script" => seen.put(c, &mut s.script, command(c)?)?,
                "interval" => seen.put(c, &mut s.interval, seconds(c, POSITIVE, None)?)?,
                "timeout" => seen.put(c, &mut s.timeout, seconds(c, POSITIVE, None)?)?,
                "weight" => {
                    no_block(c)?;
                    min_args(c, 1)?;
                    max_args(c, 2)?;
                    let w = weight(c, &c.keyword, &c.args[0])?;
                    if let Some(extra) = c.args.get(1) {
                        if extra != "reverse" {
                            return Err(invalid(c, &c.keyword, extra, "expected 'reverse'"));
                        }
                        s.weight_reverse = true;
                    }
                    seen.put(c, &mut s.weight, w)?;
                }
                "rise" => seen.put(c, &mut s.rise, u32_value(c, 1, u32::MAX)?)?,
                "fall" => seen.put(c, &mut s.fall, u32_value(c, 1, u32::MAX)?)?,
                "user" => seen.put(c, &mut s.user, script_user(c)?)?,
                "init_fail" => s.init_fail = pure_flag(c)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(s)
    }

    fn vrrp_sync_group(&mut self, n: &Node) -> Res<VrrpSyncGroup> {
        let name = header_name(n)?;
        let ctx = format!("vrrp_sync_group {name}");
        let mut g = VrrpSyncGroup::new(name);
        let mut seen = Seen::default();
        for c in block(n)? {
            match c.keyword.as_str() {
                "group" => {
                    for line in plain_block(c)? {
                        no_block(line)?;
                        g.group.push(line.keyword.clone());
                        g.group.extend(line.args.iter().cloned());
                    }
                }
                "track_interface" => g.track_interface.extend(track_interfaces(c)?),
                "track_script" => g.track_script.extend(track_scripts(c)?),
                "notify_master" => seen.put(c, &mut g.notify_master, notify_script(c)?)?,
                "notify_backup" => seen.put(c, &mut g.notify_backup, notify_script(c)?)?,
                "notify_fault" => seen.put(c, &mut g.notify_fault, notify_script(c)?)?,
                "notify_stop" => seen.put(c, &mut g.notify_stop, notify_script(c)?)?,
                "notify" => seen.put(c, &mut g.notify, notify_script(c)?)?,
                "smtp_alert" => seen.put(c, &mut g.smtp_alert, flag(c)?)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(g)
    }

    fn vrrp_instance(&mut self, n: &Node) -> Res<VrrpInstance> {
        let name = header_name(n)?;
        let ctx = format!("vrrp_instance {name}");
        let mut v = VrrpInstance::new(name);
        let mut seen = Seen::default();
        for c in block(n)? {
            match c.keyword.as_str() {
                "state" => {
                    let state = match one(c)? {
                        "MASTER" => VrrpState::Master,
                        "BACKUP" => VrrpState::Backup,
                        other => {
                            return Err(invalid(c, &c.keyword, other, "expected MASTER or BACKUP"))
                        }
                    };
                    seen.put(c, &mut v.state, state)?;
                }
                "interface" => seen.put(c, &mut v.interface, string(c)?)?,
                "virtual_router_id" => {
                    let s = one(c)?;
                    seen.put(
                        c,
                        &mut v.virtual_router_id,
                        uint(c, &c.keyword, s, 1u8, 255)?,
                    )?;
                }
                "priority" => {
                    let s = one(c)?;
                    seen.put(c, &mut v.priority, uint(c, &c.keyword, s, 1u8, 255)?)?;
                }
                "advert_int" => seen.put(
                    c,
                    &mut v.advert_int,
                    seconds(c, POSITIVE, Some(Duration::from_secs(255)))?,
                )?,
                "version" => seen.put(c, &mut v.version, version(c)?)?,
                "nopreempt" => v.nopreempt = pure_flag(c)?,
                "preempt" => v.nopreempt = !pure_flag(c)?,
                "preempt_delay" => seen.put(
                    c,
                    &mut v.preempt_delay,
                    seconds(c, Duration::ZERO, Some(Duration::from_secs(1000)))?,
                )?,
                "dont_track_primary" => v.dont_track_primary = pure_flag(c)?,
                "mcast_src_ip" => seen.put(c, &mut v.mcast_src_ip, ip_value(c)?)?,
                "unicast_src_ip" => seen.put(c, &mut v.unicast_src_ip, ip_value(c)?)?,
                "unicast_peer" => {
                    let peer_ctx = format!("{ctx} > unicast_peer");
                    for line in plain_block(c)? {
                        no_block(line)?;
                        v.unicast_peer.push(ip(line, &c.keyword, &line.keyword)?);
                        let mut args = line.args.iter();
                        while let Some(option) = args.next() {
                            match option.as_str() {
                                "min_ttl" | "max_ttl" => {
                                    let value = args.next().ok_or_else(|| {
                                        err(
                                            line,
                                            ErrorKind::MissingValue {
                                                keyword: option.clone(),
                                            },
                                        )
                                    })?;
                                    uint(line, option, value, 0u8, 255)?;
                                    self.unmapped_word(line, option, &peer_ctx);
                                }
                                other => {
                                    return Err(invalid(line, &c.keyword, other, "unknown option"))
                                }
                            }
                        }
                    }
                }
                "authentication" => {
                    let auth = self.authentication(c, &ctx)?;
                    seen.put(c, &mut v.authentication, auth)?;
                }
                "virtual_ipaddress" => {
                    let vips = self.virtual_ips(c, &ctx)?;
                    v.virtual_ipaddress.extend(vips);
                }
                "virtual_ipaddress_excluded" => {
                    let vips = self.virtual_ips(c, &ctx)?;
                    v.virtual_ipaddress_excluded.extend(vips);
                }
                "track_interface" => v.track_interface.extend(track_interfaces(c)?),
                "track_script" => v.track_script.extend(track_scripts(c)?),
                "garp_master_delay" => seen.put(
                    c,
                    &mut v.garp_master_delay,
                    whole_seconds(c, Duration::ZERO)?,
                )?,
                "garp_master_repeat" => {
                    seen.put(c, &mut v.garp_master_repeat, u32_value(c, 0, u32::MAX)?)?
                }
                "garp_master_refresh" => seen.put(
                    c,
                    &mut v.garp_master_refresh,
                    whole_seconds(c, Duration::ZERO)?,
                )?,
                "smtp_alert" => seen.put(c, &mut v.smtp_alert, flag(c)?)?,
                "notify_master" => seen.put(c, &mut v.notify_master, notify_script(c)?)?,
                "notify_backup" => seen.put(c, &mut v.notify_backup, notify_script(c)?)?,
                "notify_fault" => seen.put(c, &mut v.notify_fault, notify_script(c)?)?,
                "notify_stop" => seen.put(c, &mut v.notify_stop, notify_script(c)?)?,
                "notify" => seen.put(c, &mut v.notify, notify_script(c)?)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(v)
    }

    fn authentication(&mut self, n: &Node, ctx: &str) -> Res<Authentication> {
        let ctx = format!("{ctx} > authentication");
        let mut auth = Authentication::default();
        let mut seen = Seen::default();
        for c in plain_block(n)? {
            match c.keyword.as_str() {
                "auth_type" => {
                    let t = match one(c)? {
                        "PASS" => AuthType::Pass,
                        "AH" => AuthType::Ah,
                        other => return Err(invalid(c, &c.keyword, other, "expected PASS or AH")),
                    };
                    seen.put(c, &mut auth.auth_type, t)?;
                }
                "auth_pass" => seen.put(c, &mut auth.auth_pass, string(c)?)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(auth)
    }

    fn virtual_ips(&mut self, n: &Node, ctx: &str) -> Res<Vec<VirtualIp>> {
        let block_kw = n.keyword.as_str();
        let ctx = format!("{ctx} > {block_kw}");
        let mut out = Vec::new();
        for line in plain_block(n)? {
            no_block(line)?;
            out.push(self.virtual_ip(line, block_kw, &ctx)?);
        }
        Ok(out)
    }

    fn virtual_ip(&mut self, line: &Node, block_kw: &str, ctx: &str) -> Res<VirtualIp> {
        let written = line.keyword.as_str();
        let (addr, prefix) = match written.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (written, None),
        };
        let address = ip(line, block_kw, addr)?;
        let mut vip = VirtualIp::new(address);
        if let Some(p) = prefix {
            let max = if address.is_ipv4() { 32u8 } else { 128 };
            vip.prefix_len = Some(uint(line, block_kw, p, 0u8, max)?);
        }
        let mut given: HashSet<&str> = HashSet::new();
        let mut args = line.args.iter();
        while let Some(option) = args.next() {
            let option = option.as_str();
            if !given.insert(option) {
                return Err(err(
                    line,
                    ErrorKind::Invalid {
                        keyword: block_kw.to_owned(),
                        message: format!("option '{option}' given twice"),
                    },
                ));
            }
            let mut value = || {
                args.next().map(String::as_str).ok_or_else(|| {
                    err(
                        line,
                        ErrorKind::MissingValue {
                            keyword: format!("{block_kw} {option}"),
                        },
                    )
                })
            };
            match option {
                "brd" => {
                    let v = value()?;
                    vip.brd = Some(match v {
                        "+" => Broadcast::SetHostBits,
                        "-" => Broadcast::ClearHostBits,
                        _ => Broadcast::Address(ip(line, "brd", v)?),
                    });
                }
                "dev" => vip.dev = Some(value()?.to_owned()),
                "label" => vip.label = Some(value()?.to_owned()),
                "scope" => {
                    let v = value()?;
                    vip.scope = Some(match v {
                        "global" => Scope::Global,
                        "site" => Scope::Site,
                        "link" => Scope::Link,
                        "host" => Scope::Host,
                        "nowhere" => Scope::Nowhere,
                        _ => {
                            return Err(invalid(
                                line,
                                "scope",
                                v,
                                "expected global, site, link, host or nowhere",
                            ))
                        }
                    });
                }
                "no_track" => vip.no_track = true,
                "peer" | "preferred_lft" | "track_group" => {
                    value()?;
                    self.unmapped_word(line, option, ctx);
                }
                "home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" | "use_vmac" => {
                    self.unmapped_word(line, option, ctx)
                }
                other => return Err(invalid(line, block_kw, other, "unknown address option")),
            }
        }
        Ok(vip)
    }

    fn virtual_server(&mut self, n: &Node) -> Res<Option<VirtualServer>> {
        let key = match n.args.as_slice() {
            [g, _name] if g == "group" => {
                self.unmapped_word(n, "virtual_server group", TOP_LEVEL);
                return Ok(None);
            }
            [f, mark] if f == "fwmark" => {
                VirtualServerKey::Fwmark(uint(n, "virtual_server fwmark", mark, 1u32, u32::MAX)?)
            }
            [address] => VirtualServerKey::Address {
                address: ip(n, &n.keyword, address)?,
                port: None,
            },
            [address, p] => VirtualServerKey::Address {
                address: ip(n, &n.keyword, address)?,
                port: Some(port(n, &n.keyword, p)?),
            },
            [] => {
                return Err(err(
                    n,
                    ErrorKind::MissingValue {
                        keyword: n.keyword.clone(),
                    },
                ))
            }
            [_, _, extra, ..] => {
                return Err(err(
                    n,
                    ErrorKind::UnexpectedValue {
                        keyword: n.keyword.clone(),
                        value: extra.clone(),
                    },
                ))
            }
        };
        let ctx = format!("virtual_server {key}");
        let mut vs = VirtualServer::new(key);
        vs.real_servers
            .reserve_exact(count(block(n)?, |k| k == "real_server"));
        let mut seen = Seen::default();
        let mut sorry_inhibit: Option<&Node> = None;
        let mut sorry_method: Option<(&Node, LvsMethod)> = None;
        for c in block(n)? {
            match c.keyword.as_str() {
                "ip_family" => {
                    let family = match one(c)? {
                        "inet" => IpFamily::Inet,
                        "inet6" => IpFamily::Inet6,
                        other => {
                            return Err(invalid(c, &c.keyword, other, "expected inet or inet6"))
                        }
                    };
                    seen.put(c, &mut vs.ip_family, family)?;
                }
                "protocol" => {
                    let s = one(c)?;
                    let proto = match s.to_ascii_uppercase().as_str() {
                        "TCP" => Protocol::Tcp,
                        "UDP" => Protocol::Udp,
                        "SCTP" => Protocol::Sctp,
                        _ => return Err(invalid(c, &c.keyword, s, "expected TCP, UDP or SCTP")),
                    };
                    seen.put(c, &mut vs.protocol, proto)?;
                }
                "lvs_sched" | "lb_algo" => {
                    let s = one(c)?;
                    let sched = Scheduler::ALL
                        .into_iter()
                        .find(|x| x.as_str() == s)
                        .ok_or_else(|| invalid(c, &c.keyword, s, "unknown scheduler"))?;
                    seen.put_as("lvs_sched", c, &mut vs.lvs_sched, sched)?;
                }
                kw if scheduler_flag(kw).is_some() => {
                    pure_flag(c)?;
                    vs.sched_flags.extend(scheduler_flag(kw));
                }
                "ops" => vs.ops = pure_flag(c)?,
                "lvs_method" | "lb_kind" => {
                    seen.put_as("lvs_method", c, &mut vs.lvs_method, lvs_method(c)?)?
                }
                "persistence_timeout" => {
                    no_block(c)?;
                    max_args(c, 1)?;
                    let timeout = match c.args.first() {
                        Some(s) => uint(c, &c.keyword, s, 1u32, 2_678_400)?,
                        None => 360,
                    };
                    seen.put(c, &mut vs.persistence_timeout, timeout)?;
                }
                "persistence_granularity" => {
                    let s = one(c)?;
                    let g = if s.contains('.') {
                        PersistenceGranularity::Netmask(
                            s.parse()
                                .map_err(|_| invalid(c, &c.keyword, s, "not an IPv4 netmask"))?,
                        )
                    } else {
                        PersistenceGranularity::PrefixLen(uint(c, &c.keyword, s, 1u8, 128)?)
                    };
                    seen.put(c, &mut vs.persistence_granularity, g)?;
                }
                "persistence_engine" => seen.put(c, &mut vs.persistence_engine, string(c)?)?,
                "delay_loop" => seen.put(c, &mut vs.delay_loop, seconds(c, POSITIVE, None)?)?,
                "connect_timeout" => {
                    seen.put(c, &mut vs.connect_timeout, seconds(c, POSITIVE, None)?)?
                }
                "retry" => seen.put(c, &mut vs.retry, u32_value(c, 1, u32::MAX)?)?,
                "delay_before_retry" => seen.put(
                    c,
                    &mut vs.delay_before_retry,
                    seconds(c, Duration::ZERO, None)?,
                )?,
                "warmup" => seen.put(c, &mut vs.warmup, seconds(c, Duration::ZERO, None)?)?,
                "ha_suspend" => vs.ha_suspend = pure_flag(c)?,
                "virtualhost" => seen.put(c, &mut vs.virtualhost, string(c)?)?,
                "alpha" => vs.alpha = pure_flag(c)?,
                "omega" => vs.omega = pure_flag(c)?,
                "quorum" => seen.put(c, &mut vs.quorum, u32_value(c, 1, u32::MAX)?)?,
                "hysteresis" => seen.put(c, &mut vs.hysteresis, u32_value(c, 0, u32::MAX)?)?,
                "quorum_up" => seen.put(c, &mut vs.quorum_up, notify_script(c)?)?,
                "quorum_down" => seen.put(c, &mut vs.quorum_down, notify_script(c)?)?,
                "sorry_server" => {
                    no_block(c)?;
                    min_args(c, 1)?;
                    max_args(c, 2)?;
                    let server = SorryServer {
                        address: ip(c, &c.keyword, &c.args[0])?,
                        port: match c.args.get(1) {
                            Some(p) => Some(port(c, &c.keyword, p)?),
                            None => None,
                        },
                        inhibit: false,
                        lvs_method: None,
                    };
                    seen.put(c, &mut vs.sorry_server, server)?;
                }
                "sorry_server_inhibit" => {
                    pure_flag(c)?;
                    sorry_inhibit = Some(c);
                }
                "sorry_server_lvs_method" => {
                    seen.once(&c.keyword, c)?;
                    sorry_method = Some((c, lvs_method(c)?));
                }
                "inhibit_on_failure" => vs.inhibit_on_failure = pure_flag(c)?,
                "smtp_alert" => seen.put(c, &mut vs.smtp_alert, flag(c)?)?,
                "real_server" => {
                    let rs = self.real_server(c, &ctx)?;
                    vs.real_servers.push(rs);
                }
                _ => self.unmapped(c, &ctx),
            }
        }
        if let Some(c) = sorry_inhibit {
            sorry_of(&mut vs, c)?.inhibit = true;
        }
        if let Some((c, method)) = sorry_method {
            sorry_of(&mut vs, c)?.lvs_method = Some(method);
        }
        Ok(Some(vs))
    }

    fn real_server(&mut self, n: &Node, vs_ctx: &str) -> Res<RealServer> {
        min_args(n, 1)?;
        max_args(n, 2)?;
        let address = ip(n, &n.keyword, &n.args[0])?;
        let port = match n.args.get(1) {
            Some(p) => Some(port(n, &n.keyword, p)?),
            None => None,
        };
        let ctx = format!("{vs_ctx} > real_server {}", n.args.join(" "));
        let mut rs = RealServer::new(address, port);
        rs.checks.reserve_exact(count(block(n)?, |k| {
            matches!(k, "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK")
        }));
        let mut seen = Seen::default();
        for c in block(n)? {
            match c.keyword.as_str() {
                "weight" => seen.put(c, &mut rs.weight, u32_value(c, 0, MAX_WEIGHT)?)?,
                "lvs_method" => seen.put(c, &mut rs.lvs_method, lvs_method(c)?)?,
                "uthreshold" => seen.put(c, &mut rs.uthreshold, u32_value(c, 0, u32::MAX)?)?,
                "lthreshold" => seen.put(c, &mut rs.lthreshold, u32_value(c, 0, u32::MAX)?)?,
                "inhibit_on_failure" => seen.put(c, &mut rs.inhibit_on_failure, flag(c)?)?,
                "notify_up" => seen.put(c, &mut rs.notify_up, notify_script(c)?)?,
                "notify_down" => seen.put(c, &mut rs.notify_down, notify_script(c)?)?,
                "smtp_alert" => seen.put(c, &mut rs.smtp_alert, flag(c)?)?,
                "virtualhost" => seen.put(c, &mut rs.virtualhost, string(c)?)?,
                "alpha" => seen.put(c, &mut rs.alpha, flag(c)?)?,
                "connect_timeout" => {
                    seen.put(c, &mut rs.connect_timeout, seconds(c, POSITIVE, None)?)?
                }
                "retry" => seen.put(c, &mut rs.retry, u32_value(c, 1, u32::MAX)?)?,
                "delay_before_retry" => seen.put(
                    c,
                    &mut rs.delay_before_retry,
                    seconds(c, Duration::ZERO, None)?,
                )?,
                "warmup" => seen.put(c, &mut rs.warmup, seconds(c, Duration::ZERO, None)?)?,
                "delay_loop" => seen.put(c, &mut rs.delay_loop, seconds(c, POSITIVE, None)?)?,
                "TCP_CHECK" => {
                    let check = self.tcp_check(c, &ctx)?;
                    rs.checks.push(HealthCheck::Tcp(check));
                }
                "HTTP_GET" => {
                    let check = self.http_check(c, &ctx, false)?;
                    rs.checks.push(HealthCheck::HttpGet(check));
                }
                "SSL_GET" => {
                    let check = self.http_check(c, &ctx, true)?;
                    rs.checks.push(HealthCheck::SslGet(check));
                }
                "MISC_CHECK" => {
                    let check = self.misc_check(c, &ctx)?;
                    rs.checks.push(HealthCheck::Misc(check));
                }
                // SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, BFD_CHECK, FILE_CHECK and
                // other options are reported.
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(rs)
    }

    fn tcp_check(&mut self, n: &Node, ctx: &str) -> Res<TcpCheck> {
        let ctx = format!("{ctx} > {}", n.keyword);
        let mut check = TcpCheck::default();
        let mut seen = Seen::default();
        for c in plain_block(n)? {
            if c.keyword == OLD_RETRY {
                self.unmapped(c, &ctx);
                continue;
            }
            if !check_option(
                c,
                Some(&mut check.connection),
                &mut check.options,
                &mut seen,
            )? {
                self.unmapped(c, &ctx);
            }
        }
        Ok(check)
    }

    fn http_check(&mut self, n: &Node, ctx: &str, ssl: bool) -> Res<HttpCheck> {
        let ctx = format!("{ctx} > {}", n.keyword);
        let mut check = HttpCheck::default();
        let mut seen = Seen::default();
        for c in plain_block(n)? {
            if check_option(
                c,
                Some(&mut check.connection),
                &mut check.options,
                &mut seen,
            )? {
                continue;
            }
            match c.keyword.as_str() {
                "url" => {
                    let url = self.http_url(c, &ctx)?;
                    check.urls.push(url);
                }
                "virtualhost" => seen.put(c, &mut check.virtualhost, string(c)?)?,
                "http_protocol" => {
                    let p = match one(c)? {
                        "1.0" => HttpProtocol::Http10,
                        "1.0C" | "1.0c" => HttpProtocol::Http10Close,
                        "1.1" => HttpProtocol::Http11,
                        other => {
                            return Err(invalid(c, &c.keyword, other, "expected 1.0, 1.0C or 1.1"))
                        }
                    };
                    seen.put(c, &mut check.http_protocol, p)?;
                }
                "fast_recovery" => seen.put(c, &mut check.fast_recovery, flag(c)?)?,
                "enable_sni" if ssl => check.enable_sni = pure_flag(c)?,
                "sni_name" if ssl => seen.put(c, &mut check.sni_name, string(c)?)?,
                "tls_compliant" if ssl => check.tls_compliant = pure_flag(c)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(check)
    }

    fn http_url(&mut self, n: &Node, ctx: &str) -> Res<HttpUrl> {
        let ctx = format!("{ctx} > url");
        let mut url = HttpUrl::default();
        let mut seen = Seen::default();
        for c in plain_block(n)? {
            match c.keyword.as_str() {
                "path" => seen.put(c, &mut url.path, string(c)?)?,
                "digest" => {
                    let s = one(c)?;
                    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(invalid(
                            c,
                            &c.keyword,
                            s,
                            "expected 32 hexadecimal digits (MD5)",
                        ));
                    }
                    seen.put(c, &mut url.digest, s.to_owned())?;
                }
                "status_code" => {
                    seen.once(&c.keyword, c)?;
                    no_block(c)?;
                    min_args(c, 1)?;
                    for s in &c.args {
                        let (first, last) = s.split_once('-').unwrap_or((s, s));
                        let first = uint(c, &c.keyword, first, 100u16, 599)?;
                        let last = uint(c, &c.keyword, last, 100u16, 599)?;
                        if last < first {
                            return Err(invalid(c, &c.keyword, s, "range ends before it starts"));
                        }
                        url.status_code.push(StatusCodeRange { first, last });
                    }
                }
                "virtualhost" => seen.put(c, &mut url.virtualhost, string(c)?)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(url)
    }

    fn misc_check(&mut self, n: &Node, ctx: &str) -> Res<MiscCheck> {
        let ctx = format!("{ctx} > {}", n.keyword);
        let mut check = MiscCheck::default();
        let mut seen = Seen::default();
        for c in plain_block(n)? {
            if c.keyword == OLD_RETRY {
                self.unmapped(c, &ctx);
                continue;
            }
            if check_option(c, None, &mut check.options, &mut seen)? {
                continue;
            }
            match c.keyword.as_str() {
                "misc_path" => seen.put(c, &mut check.misc_path, command(c)?)?,
                "misc_timeout" => seen.put(
                    c,
                    &mut check.misc_timeout,
                    whole_seconds(c, Duration::from_secs(1))?,
                )?,
                "misc_dynamic" => check.misc_dynamic = pure_flag(c)?,
                "user" => seen.put(c, &mut check.user, script_user(c)?)?,
                _ => self.unmapped(c, &ctx),
            }
        }
        Ok(check)
    }
}

/// The sorry server that `c` (`sorry_server_inhibit`, `sorry_server_lvs_method`) refers to.
fn sorry_of<'a>(vs: &'a mut VirtualServer, c: &Node) -> Res<&'a mut SorryServer> {
    vs.sorry_server.as_mut().ok_or_else(|| {
        err(
            c,
            ErrorKind::Invalid {
                keyword: c.keyword.clone(),
                message: "given without sorry_server".to_owned(),
            },
        )
    })
}

fn scheduler_flag(keyword: &str) -> Option<SchedulerFlag> {
    SchedulerFlag::ALL
        .into_iter()
        .find(|f| f.as_str() == keyword)
}

/// The single name after `vrrp_instance`, `vrrp_script`, `vrrp_sync_group`.
fn header_name(n: &Node) -> Res<String> {
    min_args(n, 1)?;
    max_args(n, 1)?;
    Ok(n.args[0].clone())
}

/// Options shared by checkers. Returns false when `c` is not one of them.
fn check_option(
    c: &Node,
    connection: Option<&mut Connection>,
    options: &mut CheckOptions,
    seen: &mut Seen,
) -> Res<bool> {
    let kw = c.keyword.as_str();
    if let Some(conn) = connection {
        match kw {
            "connect_ip" => seen.put(c, &mut conn.connect_ip, ip_value(c)?)?,
            "connect_port" => {
                let s = one(c)?;
                seen.put(c, &mut conn.connect_port, port(c, kw, s)?)?;
            }
            "bindto" => seen.put(c, &mut conn.bindto, ip_value(c)?)?,
            "bind_if" => seen.put(c, &mut conn.bind_if, string(c)?)?,
            "bind_port" => {
                let s = one(c)?;
                seen.put(c, &mut conn.bind_port, port(c, kw, s)?)?;
            }
            "fwmark" => seen.put(c, &mut conn.fwmark, u32_value(c, 1, u32::MAX)?)?,
            _ => return check_timing(c, options, seen),
        }
        return Ok(true);
    }
    check_timing(c, options, seen)
}

/// `retry`'s old name, which keepalived 2.2 still takes in `HTTP_GET` and `SSL_GET` only: in the other
/// checkers it is an unknown keyword that keepalived ignores, and so is it here (reported as unmapped).
const OLD_RETRY: &str = "nb_get_retry";

fn check_timing(c: &Node, o: &mut CheckOptions, seen: &mut Seen) -> Res<bool> {
    match c.keyword.as_str() {
        "alpha" => seen.put(c, &mut o.alpha, flag(c)?)?,
        "connect_timeout" => seen.put(c, &mut o.connect_timeout, seconds(c, POSITIVE, None)?)?,
        "retry" | "nb_get_retry" => {
            seen.put_as("retry", c, &mut o.retry, u32_value(c, 0, u32::MAX)?)?
        }
        "delay_before_retry" => seen.put(
            c,
            &mut o.delay_before_retry,
            seconds(c, Duration::ZERO, None)?,
        )?,
        "warmup" => seen.put(c, &mut o.warmup, seconds(c, Duration::ZERO, None)?)?,
        "delay_loop" => seen.put(c, &mut o.delay_loop, seconds(c, POSITIVE, None)?)?,
        "log_all_failures" => seen.put(c, &mut o.log_all_failures, flag(c)?)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `NAT`, `DR` or `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn lvs_method(c: &Node) -> Res<LvsMethod> {
    no_block(c)?;
    min_args(c, 1)?;
    let kw = c.keyword.as_str();
    match c.args[0].as_str() {
        "NAT" | "DR" => {
            max_args(c, 1)?;
            Ok(if c.args[0] == "NAT" {
                LvsMethod::Nat
            } else {
                LvsMethod::Dr
            })
        }
        "TUN" => {
            let mut kind = "ipip";
            let mut gue_port: Option<u16> = None;
            let mut checksum = None;
            let mut args = c.args[1..].iter();
            while let Some(word) = args.next() {
                let mut value = || {
                    args.next().map(String::as_str).ok_or_else(|| {
                        err(
                            c,
                            ErrorKind::MissingValue {
                                keyword: format!("{kw} TUN {word}"),
                            },
                        )
                    })
                };
                match word.as_str() {
                    "type" => {
                        kind = match value()? {
                            "ipip" => "ipip",
                            "gue" => "gue",
                            "gre" => "gre",
                            other => {
                                return Err(invalid(c, kw, other, "expected ipip, gue or gre"))
                            }
                        }
                    }
                    "port" => gue_port = Some(uint(c, kw, value()?, 1u16, u16::MAX)?),
                    "nocsum" => checksum = Some(TunnelChecksum::NoCsum),
                    "csum" => checksum = Some(TunnelChecksum::Csum),
                    "remcsum" => checksum = Some(TunnelChecksum::RemCsum),
                    other => return Err(invalid(c, kw, other, "unknown tunnel option")),
                }
            }
            let tunnel_type = match (kind, gue_port) {
                ("gue", Some(port)) => Ok(TunnelType::Gue { port }),
                ("gue", None) => Err("gue tunnels need 'port'"),
                (_, Some(_)) => Err("'port' only applies to gue tunnels"),
                ("gre", None) => Ok(TunnelType::Gre),
                _ => Ok(TunnelType::Ipip),
            };
            let checked = tunnel_type.and_then(|t| match (t, checksum) {
                (TunnelType::Ipip, Some(TunnelChecksum::Csum | TunnelChecksum::RemCsum)) => {
                    Err("ipip tunnels do not support checksums")
                }
                (TunnelType::Gre, Some(TunnelChecksum::RemCsum)) => {
                    Err("gre tunnels do not support remcsum")
                }
                _ => Ok(t),
            });
            match checked {
                Ok(tunnel_type) => Ok(LvsMethod::Tun(TunnelOptions {
                    tunnel_type,
                    checksum,
                })),
                Err(message) => Err(err(
                    c,
                    ErrorKind::Invalid {
                        keyword: kw.to_owned(),
                        message: message.to_owned(),
                    },
                )),
            }
        }
        other => Err(invalid(c, kw, other, "expected NAT, DR or TUN")),
    }
}

fn track_interfaces(n: &Node) -> Res<Vec<TrackInterface>> {
    let mut out = Vec::new();
    for line in plain_block(n)? {
        no_block(line)?;
        let mut t = TrackInterface {
            name: line.keyword.clone(),
            weight: None,
            reverse: false,
        };
        let mut args = line.args.iter();
        while let Some(word) = args.next() {
            match word.as_str() {
                "weight" if t.weight.is_none() => {
                    let w = args.next().ok_or_else(|| {
                        err(
                            line,
                            ErrorKind::MissingValue {
                                keyword: "weight".to_owned(),
                            },
                        )
                    })?;
                    t.weight = Some(weight(line, "weight", w)?);
                }
                "reverse" => t.reverse = true,
                other => {
                    return Err(invalid(
                        line,
                        &n.keyword,
                        other,
                        "expected 'weight N' or 'reverse'",
                    ))
                }
            }
        }
        out.push(t);
    }
    Ok(out)
}

fn track_scripts(n: &Node) -> Res<Vec<TrackScript>> {
    let mut out = Vec::new();
    for line in plain_block(n)? {
        no_block(line)?;
        let mut t = TrackScript {
            name: line.keyword.clone(),
            weight: None,
            reverse: None,
        };
        let mut args = line.args.iter();
        while let Some(word) = args.next() {
            match word.as_str() {
                "weight" if t.weight.is_none() => {
                    let w = args.next().ok_or_else(|| {
                        err(
                            line,
                            ErrorKind::MissingValue {
                                keyword: "weight".to_owned(),
                            },
                        )
                    })?;
                    t.weight = Some(weight(line, "weight", w)?);
                }
                "reverse" if t.reverse.is_none() => t.reverse = Some(true),
                "noreverse" if t.reverse.is_none() => t.reverse = Some(false),
                other => {
                    return Err(invalid(
                        line,
                        &n.keyword,
                        other,
                        "expected 'weight N', 'reverse' or 'noreverse'",
                    ))
                }
            }
        }
        out.push(t);
    }
    Ok(out)
}

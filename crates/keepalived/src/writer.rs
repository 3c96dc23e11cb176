//! From the typed [`Config`] back to keepalived.conf text.
//!
//! The output is stable: blocks in the order `global_defs`, `vrrp_script`,
//! `vrrp_sync_group`, `vrrp_instance`, `virtual_server`, each in list order; keywords in a
//! fixed order inside each block; two spaces of indentation; one blank line between
//! top-level blocks. Current keyword spellings are used (`lvs_sched`, `lvs_method`,
//! `retry`). Values are double-quoted when they need it (blanks, braces, comment
//! characters, empty strings, words keepalived's preprocessor would take).
//!
//! For every configuration `c` the writer accepts, `parse(write(c)) == c`: [`write()`] checks
//! it by parsing its own output, and returns a [`WriteError`] instead of text that would
//! read back differently or not at all (values out of keepalived's ranges, durations finer
//! than a microsecond, strings with a double quote or a line break, which keepalived.conf
//! cannot express).

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::*;
use crate::lexer::is_blank;
use crate::syntax::is_include_keyword;
use crate::values::format_seconds;

/// Why a configuration cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A string that keepalived.conf has no way to express.
    #[error("{context}: {keyword} value {value:?} cannot be written to keepalived.conf: {reason}")]
    Unrepresentable {
        /// The block the value is in, e.g. `vrrp_instance VI_1`.
        context: String,
        /// The keyword.
        keyword: String,
        /// The value.
        value: String,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// The written text does not parse back: a value is out of keepalived's range (for
    /// example `priority 0`).
    #[error("the configuration is not valid for keepalived: {0}")]
    Invalid(Box<crate::error::Error>),
    /// The written text parses back to a different configuration: something keepalived.conf
    /// cannot express exactly.
    #[error("{object} cannot be written exactly: {hint}")]
    Inexact {
        /// The first object that reads back differently, e.g. `vrrp_instance VI_1`.
        object: String,
        /// What usually causes it.
        hint: &'static str,
    },
}

const INEXACT_HINT: &str = "a sub-microsecond duration, a fraction of a second for a \
                            whole-second keyword, or an SSL_GET-only option on HTTP_GET";

/// Renders `config` as keepalived.conf text.
///
/// The text is verified by parsing it back: the result is `Ok` only if that gives exactly
/// `config` again, with nothing unmapped.
pub fn write(config: &Config) -> Result<String, WriteError> {
    let text = render(config)?;
    let parsed =
        crate::parse_str("<written>", &text).map_err(|e| WriteError::Invalid(Box::new(e)))?;
    if parsed.config != *config || !parsed.unmapped.is_empty() {
        return Err(WriteError::Inexact {
            object: first_difference(config, &parsed.config),
            hint: INEXACT_HINT,
        });
    }
    Ok(text)
}

/// Names the first top-level object of `a` that differs in `b`.
fn first_difference(a: &Config, b: &Config) -> String {
    if a.global_defs != b.global_defs {
        return "global_defs".to_owned();
    }
    for (i, x) in a.vrrp_scripts.iter().enumerate() {
        if b.vrrp_scripts.get(i) != Some(x) {
            return format!("vrrp_script {}", x.name);
        }
    }
    for (i, x) in a.vrrp_sync_groups.iter().enumerate() {
        if b.vrrp_sync_groups.get(i) != Some(x) {
            return format!("vrrp_sync_group {}", x.name);
        }
    }
    for (i, x) in a.vrrp_instances.iter().enumerate() {
        if b.vrrp_instances.get(i) != Some(x) {
            return format!("vrrp_instance {}", x.name);
        }
    }
    for (i, x) in a.virtual_servers.iter().enumerate() {
        if b.virtual_servers.get(i) != Some(x) {
            return format!("virtual_server {}", x.key);
        }
    }
    "the configuration".to_owned()
}

/// Renders without verifying.
fn render(config: &Config) -> Result<String, WriteError> {
    let mut w = Writer::default();
    w.global_defs(&config.global_defs)?;
    for script in &config.vrrp_scripts {
        w.vrrp_script(script)?;
    }
    for group in &config.vrrp_sync_groups {
        w.vrrp_sync_group(group)?;
    }
    for instance in &config.vrrp_instances {
        w.vrrp_instance(instance)?;
    }
    for vs in &config.virtual_servers {
        w.virtual_server(vs)?;
    }
    Ok(w.out)
}

/// Quotes `value` if keepalived would otherwise read it differently.
fn quote(value: &str) -> Result<String, &'static str> {
    if value.contains('"') {
        return Err("it contains a double quote");
    }
    if value.contains(['\n', '\r', '\0']) {
        return Err("it contains a line break or NUL");
    }
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| is_blank(c) || matches!(c, '{' | '}' | '#' | '!'))
        || value.starts_with(['@', '$', '~'])
        || is_include_keyword(value);
    Ok(if needs_quotes {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    })
}

type Res = Result<(), WriteError>;

#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
    context: Vec<String>,
}

impl Writer {
    /// Writes one statement: the keyword as is, the values quoted as needed.
    fn stmt(&mut self, keyword: &str, values: &[&str]) -> Res {
        let mut line = "  ".repeat(self.depth);
        line.push_str(&self.word(keyword, keyword)?);
        for value in values {
            line.push(' ');
            line.push_str(&self.word(keyword, value)?);
        }
        self.out.push_str(&line);
        self.out.push('\n');
        Ok(())
    }

    fn word(&self, keyword: &str, value: &str) -> Result<String, WriteError> {
        quote(value).map_err(|reason| WriteError::Unrepresentable {
            context: if self.context.is_empty() {
                "top level".to_owned()
            } else {
                self.context.join(" > ")
            },
            keyword: keyword.to_owned(),
            value: value.to_owned(),
            reason,
        })
    }

    fn open(&mut self, keyword: &str, values: &[&str]) -> Res {
        if self.depth == 0 && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.stmt(keyword, values)?;
        self.out.pop();
        self.out.push_str(" {\n");
        let mut header = keyword.to_owned();
        for v in values {
            header.push(' ');
            header.push_str(v);
        }
        self.context.push(header);
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) {
        self.depth -= 1;
        self.context.pop();
        let _ = writeln!(self.out, "{}}}", "  ".repeat(self.depth));
    }

    fn opt_str(&mut self, keyword: &str, value: Option<&String>) -> Res {
        match value {
            Some(v) => self.stmt(keyword, &[v]),
            None => Ok(()),
        }
    }

    fn opt<T: ToString>(&mut self, keyword: &str, value: Option<T>) -> Res {
        match value {
            Some(v) => self.stmt(keyword, &[&v.to_string()]),
            None => Ok(()),
        }
    }

    fn flag(&mut self, keyword: &str, on: bool) -> Res {
        if on {
            self.stmt(keyword, &[])
        } else {
            Ok(())
        }
    }

    /// `keyword` for `Some(true)`, `keyword false` for `Some(false)`.
    fn opt_bool(&mut self, keyword: &str, value: Option<bool>) -> Res {
        match value {
            Some(true) => self.stmt(keyword, &[]),
            Some(false) => self.stmt(keyword, &["false"]),
            None => Ok(()),
        }
    }

    fn secs(&mut self, keyword: &str, value: Option<Duration>) -> Res {
        self.opt(keyword, value.map(format_seconds))
    }

    fn whole_secs(&mut self, keyword: &str, value: Option<Duration>) -> Res {
        self.opt(keyword, value.map(|d| d.as_secs()))
    }

    fn user(&mut self, keyword: &str, user: Option<&ScriptUser>) -> Res {
        match user {
            Some(u) => match &u.group {
                Some(g) => self.stmt(keyword, &[&u.user, g]),
                None => self.stmt(keyword, &[&u.user]),
            },
            None => Ok(()),
        }
    }

    fn notify(&mut self, keyword: &str, script: Option<&NotifyScript>) -> Res {
        let Some(s) = script else { return Ok(()) };
        let mut values: Vec<&str> = vec![&s.command];
        if let Some(u) = &s.user {
            values.push(&u.user);
            if let Some(g) = &u.group {
                values.push(g);
            }
        }
        self.stmt(keyword, &values)
    }

    fn list_block(&mut self, keyword: &str, items: &[String]) -> Res {
        if items.is_empty() {
            return Ok(());
        }
        self.open(keyword, &[])?;
        for item in items {
            let quoted = self.word(keyword, item)?;
            let _ = writeln!(self.out, "{}{quoted}", "  ".repeat(self.depth));
        }
        self.close();
        Ok(())
    }

    fn global_defs(&mut self, g: &GlobalDefs) -> Res {
        if *g == GlobalDefs::default() {
            return Ok(());
        }
        self.open("global_defs", &[])?;
        self.opt_str("router_id", g.router_id.as_ref())?;
        self.list_block("notification_email", &g.notification_email)?;
        self.opt_str(
            "notification_email_from",
            g.notification_email_from.as_ref(),
        )?;
        if let Some(s) = &g.smtp_server {
            match s.port {
                Some(port) => self.stmt("smtp_server", &[&s.host, &port.to_string()])?,
                None => self.stmt("smtp_server", &[&s.host])?,
            }
        }
        self.opt_str("smtp_helo_name", g.smtp_helo_name.as_ref())?;
        self.whole_secs("smtp_connect_timeout", g.smtp_connect_timeout)?;
        self.opt_bool("smtp_alert", g.smtp_alert)?;
        self.flag("enable_script_security", g.enable_script_security)?;
        self.user("script_user", g.script_user.as_ref())?;
        self.opt_str("default_interface", g.default_interface.as_ref())?;
        self.flag("lvs_flush", g.lvs_flush)?;
        self.opt("vrrp_version", g.vrrp_version.map(VrrpVersion::number))?;
        self.flag("vrrp_strict", g.vrrp_strict)?;
        self.flag("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr)?;
        self.flag("vrrp_check_unicast_src", g.vrrp_check_unicast_src)?;
        self.opt("vrrp_mcast_group4", g.vrrp_mcast_group4)?;
        self.opt("vrrp_mcast_group6", g.vrrp_mcast_group6)?;
        self.secs("vrrp_garp_interval", g.vrrp_garp_interval)?;
        self.secs("vrrp_gna_interval", g.vrrp_gna_interval)?;
        self.whole_secs("vrrp_garp_master_delay", g.vrrp_garp_master_delay)?;
        self.opt("vrrp_garp_master_repeat", g.vrrp_garp_master_repeat)?;
        self.whole_secs("vrrp_garp_master_refresh", g.vrrp_garp_master_refresh)?;
        if let Some(d) = &g.lvs_sync_daemon {
            let mut args = vec![d.interface.clone(), d.instance.clone()];
            for (option, value) in [
                ("id", d.id.map(|v| v.to_string())),
                ("maxlen", d.maxlen.map(|v| v.to_string())),
                ("port", d.port.map(|v| v.to_string())),
                ("ttl", d.ttl.map(|v| v.to_string())),
                ("group", d.group.map(|v| v.to_string())),
            ] {
                if let Some(value) = value {
                    args.push(option.to_string());
                    args.push(value);
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.stmt("lvs_sync_daemon", &args)?;
        }
        self.close();
        Ok(())
    }

    fn vrrp_script(&mut self, s: &VrrpScript) -> Res {
        self.open("vrrp_script", &[&s.name])?;
        self.opt_str("script", s.script.as_ref())?;
        self.secs("interval", s.interval)?;
        self.secs("timeout", s.timeout)?;
        if let Some(w) = s.weight {
            let w = w.to_string();
            if s.weight_reverse {
                self.stmt("weight", &[&w, "reverse"])?;
            } else {
                self.stmt("weight", &[&w])?;
            }
        }
        self.opt("rise", s.rise)?;
        self.opt("fall", s.fall)?;
        self.user("user", s.user.as_ref())?;
        self.flag("init_fail", s.init_fail)?;
        self.close();
        Ok(())
    }

    fn track_interfaces(&mut self, tracks: &[TrackInterface]) -> Res {
        if tracks.is_empty() {
            return Ok(());
        }
        self.open("track_interface", &[])?;
        for t in tracks {
            let weight = t.weight.map(|w| w.to_string());
            let mut values: Vec<&str> = Vec::new();
            if let Some(w) = &weight {
                values.extend(["weight", w]);
            }
            if t.reverse {
                values.push("reverse");
            }
            self.item_line("track_interface", &t.name, &values)?;
        }
        self.close();
        Ok(())
    }

    fn track_scripts(&mut self, tracks: &[TrackScript]) -> Res {
        if tracks.is_empty() {
            return Ok(());
        }
        self.open("track_script", &[])?;
        for t in tracks {
            let weight = t.weight.map(|w| w.to_string());
            let mut values: Vec<&str> = Vec::new();
            if let Some(w) = &weight {
                values.extend(["weight", w]);
            }
            match t.reverse {
                Some(true) => values.push("reverse"),
                Some(false) => values.push("noreverse"),
                None => {}
            }
            self.item_line("track_script", &t.name, &values)?;
        }
        self.close();
        Ok(())
    }

    /// A line of a list block whose first word is data (quoted as needed).
    fn item_line(&mut self, keyword: &str, first: &str, rest: &[&str]) -> Res {
        let mut line = "  ".repeat(self.depth);
        line.push_str(&self.word(keyword, first)?);
        for v in rest {
            line.push(' ');
            line.push_str(&self.word(keyword, v)?);
        }
        line.push('\n');
        self.out.push_str(&line);
        Ok(())
    }

    fn vrrp_sync_group(&mut self, g: &VrrpSyncGroup) -> Res {
        self.open("vrrp_sync_group", &[&g.name])?;
        self.list_block("group", &g.group)?;
        self.track_interfaces(&g.track_interface)?;
        self.track_scripts(&g.track_script)?;
        self.opt_bool("smtp_alert", g.smtp_alert)?;
        self.notify("notify_master", g.notify_master.as_ref())?;
        self.notify("notify_backup", g.notify_backup.as_ref())?;
        self.notify("notify_fault", g.notify_fault.as_ref())?;
        self.notify("notify_stop", g.notify_stop.as_ref())?;
        self.notify("notify", g.notify.as_ref())?;
        self.close();
        Ok(())
    }

    fn virtual_ips(&mut self, keyword: &str, vips: &[VirtualIp]) -> Res {
        if vips.is_empty() {
            return Ok(());
        }
        self.open(keyword, &[])?;
        for vip in vips {
            let address = match vip.prefix_len {
                Some(p) => format!("{}/{p}", vip.address),
                None => vip.address.to_string(),
            };
            let brd = vip.brd.map(|b| match b {
                Broadcast::Address(a) => a.to_string(),
                Broadcast::SetHostBits => "+".to_owned(),
                Broadcast::ClearHostBits => "-".to_owned(),
            });
            let mut values: Vec<&str> = Vec::new();
            if let Some(b) = &brd {
                values.extend(["brd", b]);
            }
            if let Some(d) = &vip.dev {
                values.extend(["dev", d]);
            }
            if let Some(s) = vip.scope {
                values.extend(["scope", s.as_str()]);
            }
            if let Some(l) = &vip.label {
                values.extend(["label", l]);
            }
            if vip.no_track {
                values.push("no_track");
            }
            self.item_line(keyword, &address, &values)?;
        }
        self.close();
        Ok(())
    }

    fn vrrp_instance(&mut self, v: &VrrpInstance) -> Res {
        self.open("vrrp_instance", &[&v.name])?;
        if let Some(state) = v.state {
            let s = match state {
                VrrpState::Master => "MASTER",
                VrrpState::Backup => "BACKUP",
            };
            self.stmt("state", &[s])?;
        }
        self.opt_str("interface", v.interface.as_ref())?;
        self.opt("virtual_router_id", v.virtual_router_id)?;
        self.opt("priority", v.priority)?;
        self.secs("advert_int", v.advert_int)?;
        self.opt("version", v.version.map(VrrpVersion::number))?;
        self.flag("nopreempt", v.nopreempt)?;
        self.secs("preempt_delay", v.preempt_delay)?;
        self.flag("dont_track_primary", v.dont_track_primary)?;
        self.opt("mcast_src_ip", v.mcast_src_ip)?;
        self.opt("unicast_src_ip", v.unicast_src_ip)?;
        let peers: Vec<String> = v.unicast_peer.iter().map(ToString::to_string).collect();
        self.list_block("unicast_peer", &peers)?;
        if let Some(auth) = &v.authentication {
            self.open("authentication", &[])?;
            if let Some(t) = auth.auth_type {
                let t = match t {
                    AuthType::Pass => "PASS",
                    AuthType::Ah => "AH",
                };
                self.stmt("auth_type", &[t])?;
            }
            self.opt_str("auth_pass", auth.auth_pass.as_ref())?;
            self.close();
        }
        self.virtual_ips("virtual_ipaddress", &v.virtual_ipaddress)?;
        self.virtual_ips("virtual_ipaddress_excluded", &v.virtual_ipaddress_excluded)?;
        self.track_interfaces(&v.track_interface)?;
        self.track_scripts(&v.track_script)?;
        self.whole_secs("garp_master_delay", v.garp_master_delay)?;
        self.opt("garp_master_repeat", v.garp_master_repeat)?;
        self.whole_secs("garp_master_refresh", v.garp_master_refresh)?;
        self.opt_bool("smtp_alert", v.smtp_alert)?;
        self.notify("notify_master", v.notify_master.as_ref())?;
        self.notify("notify_backup", v.notify_backup.as_ref())?;
        self.notify("notify_fault", v.notify_fault.as_ref())?;
        self.notify("notify_stop", v.notify_stop.as_ref())?;
        self.notify("notify", v.notify.as_ref())?;
        self.close();
        Ok(())
    }

    fn lvs_method(&mut self, keyword: &str, method: Option<LvsMethod>) -> Res {
        let Some(method) = method else { return Ok(()) };
        let mut words: Vec<String> = Vec::new();
        match method {
            LvsMethod::Nat => words.push("NAT".into()),
            LvsMethod::Dr => words.push("DR".into()),
            LvsMethod::Tun(opts) => {
                words.push("TUN".into());
                match opts.tunnel_type {
                    TunnelType::Ipip => {}
                    TunnelType::Gue { port } => {
                        words.extend(["type".into(), "gue".into(), "port".into(), port.to_string()])
                    }
                    TunnelType::Gre => words.extend(["type".into(), "gre".into()]),
                }
                match opts.checksum {
                    Some(TunnelChecksum::NoCsum) => words.push("nocsum".into()),
                    Some(TunnelChecksum::Csum) => words.push("csum".into()),
                    Some(TunnelChecksum::RemCsum) => words.push("remcsum".into()),
                    None => {}
                }
            }
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        self.stmt(keyword, &words)
    }

    fn virtual_server(&mut self, vs: &VirtualServer) -> Res {
        match vs.key {
            VirtualServerKey::Address { address, port } => {
                let address = address.to_string();
                match port {
                    Some(p) => self.open("virtual_server", &[&address, &p.to_string()])?,
                    None => self.open("virtual_server", &[&address])?,
                }
            }
            VirtualServerKey::Fwmark(mark) => {
                self.open("virtual_server", &["fwmark", &mark.to_string()])?
            }
        }
        if let Some(family) = vs.ip_family {
            let f = match family {
                IpFamily::Inet => "inet",
                IpFamily::Inet6 => "inet6",
            };
            self.stmt("ip_family", &[f])?;
        }
        self.secs("delay_loop", vs.delay_loop)?;
        self.opt("lvs_sched", vs.lvs_sched.map(Scheduler::as_str))?;
        for flag in &vs.sched_flags {
            self.stmt(flag.as_str(), &[])?;
        }
        self.flag("ops", vs.ops)?;
        self.lvs_method("lvs_method", vs.lvs_method)?;
        self.opt("persistence_timeout", vs.persistence_timeout)?;
        match vs.persistence_granularity {
            Some(PersistenceGranularity::Netmask(mask)) => {
                self.stmt("persistence_granularity", &[&mask.to_string()])?
            }
            Some(PersistenceGranularity::PrefixLen(len)) => {
                self.stmt("persistence_granularity", &[&len.to_string()])?
            }
            None => {}
        }
        self.opt_str("persistence_engine", vs.persistence_engine.as_ref())?;
        self.opt("protocol", vs.protocol.map(Protocol::as_str))?;
        self.secs("connect_timeout", vs.connect_timeout)?;
        self.opt("retry", vs.retry)?;
        self.secs("delay_before_retry", vs.delay_before_retry)?;
        self.secs("warmup", vs.warmup)?;
        self.flag("ha_suspend", vs.ha_suspend)?;
        self.opt_str("virtualhost", vs.virtualhost.as_ref())?;
        self.flag("alpha", vs.alpha)?;
        self.flag("omega", vs.omega)?;
        self.opt("quorum", vs.quorum)?;
        self.opt("hysteresis", vs.hysteresis)?;
        self.notify("quorum_up", vs.quorum_up.as_ref())?;
        self.notify("quorum_down", vs.quorum_down.as_ref())?;
        if let Some(s) = &vs.sorry_server {
            let address = s.address.to_string();
            match s.port {
                Some(p) => self.stmt("sorry_server", &[&address, &p.to_string()])?,
                None => self.stmt("sorry_server", &[&address])?,
            }
            self.flag("sorry_server_inhibit", s.inhibit)?;
            self.lvs_method("sorry_server_lvs_method", s.lvs_method)?;
        }
        self.flag("inhibit_on_failure", vs.inhibit_on_failure)?;
        self.opt_bool("smtp_alert", vs.smtp_alert)?;
        for rs in &vs.real_servers {
            self.real_server(rs)?;
        }
        self.close();
        Ok(())
    }

    fn real_server(&mut self, rs: &RealServer) -> Res {
        let address = rs.address.to_string();
        match rs.port {
            Some(p) => self.open("real_server", &[&address, &p.to_string()])?,
            None => self.open("real_server", &[&address])?,
        }
        self.opt("weight", rs.weight)?;
        self.lvs_method("lvs_method", rs.lvs_method)?;
        self.opt("uthreshold", rs.uthreshold)?;
        self.opt("lthreshold", rs.lthreshold)?;
        self.opt_bool("inhibit_on_failure", rs.inhibit_on_failure)?;
        self.opt_bool("smtp_alert", rs.smtp_alert)?;
        self.opt_str("virtualhost", rs.virtualhost.as_ref())?;
        self.opt_bool("alpha", rs.alpha)?;
        self.secs("connect_timeout", rs.connect_timeout)?;
        self.opt("retry", rs.retry)?;
        self.secs("delay_before_retry", rs.delay_before_retry)?;
        self.secs("warmup", rs.warmup)?;
        self.secs("delay_loop", rs.delay_loop)?;
        self.notify("notify_up", rs.notify_up.as_ref())?;
        self.notify("notify_down", rs.notify_down.as_ref())?;
        for check in &rs.checks {
            match check {
                HealthCheck::Tcp(c) => {
                    self.open("TCP_CHECK", &[])?;
                    self.connection(&c.connection)?;
                    self.check_options(&c.options)?;
                    self.close();
                }
                HealthCheck::HttpGet(c) => self.http_check("HTTP_GET", c)?,
                HealthCheck::SslGet(c) => self.http_check("SSL_GET", c)?,
                HealthCheck::Misc(c) => {
                    self.open("MISC_CHECK", &[])?;
                    self.opt_str("misc_path", c.misc_path.as_ref())?;
                    self.whole_secs("misc_timeout", c.misc_timeout)?;
                    self.flag("misc_dynamic", c.misc_dynamic)?;
                    self.user("user", c.user.as_ref())?;
                    self.check_options(&c.options)?;
                    self.close();
                }
            }
        }
        self.close();
        Ok(())
    }

    fn connection(&mut self, c: &Connection) -> Res {
        self.opt("connect_ip", c.connect_ip)?;
        self.opt("connect_port", c.connect_port)?;
        self.opt("bindto", c.bindto)?;
        self.opt_str("bind_if", c.bind_if.as_ref())?;
        self.opt("bind_port", c.bind_port)?;
        self.opt("fwmark", c.fwmark)
    }

    fn check_options(&mut self, o: &CheckOptions) -> Res {
        self.secs("connect_timeout", o.connect_timeout)?;
        self.opt("retry", o.retry)?;
        self.secs("delay_before_retry", o.delay_before_retry)?;
        self.secs("warmup", o.warmup)?;
        self.secs("delay_loop", o.delay_loop)?;
        self.opt_bool("alpha", o.alpha)?;
        self.opt_bool("log_all_failures", o.log_all_failures)
    }

    fn http_check(&mut self, keyword: &str, c: &HttpCheck) -> Res {
        self.open(keyword, &[])?;
        self.connection(&c.connection)?;
        self.check_options(&c.options)?;
        self.opt_str("virtualhost", c.virtualhost.as_ref())?;
        self.opt("http_protocol", c.http_protocol.map(HttpProtocol::as_str))?;
        self.opt_bool("fast_recovery", c.fast_recovery)?;
        self.flag("enable_sni", c.enable_sni)?;
        self.opt_str("sni_name", c.sni_name.as_ref())?;
        self.flag("tls_compliant", c.tls_compliant)?;
        for url in &c.urls {
            self.open("url", &[])?;
            self.opt_str("path", url.path.as_ref())?;
            self.opt_str("digest", url.digest.as_ref())?;
            if !url.status_code.is_empty() {
                let codes: Vec<String> = url
                    .status_code
                    .iter()
                    .map(|r| {
                        if r.first == r.last {
                            r.first.to_string()
                        } else {
                            format!("{}-{}", r.first, r.last)
                        }
                    })
                    .collect();
                let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
                self.stmt("status_code", &codes)?;
            }
            self.opt_str("virtualhost", url.virtualhost.as_ref())?;
            self.close();
        }
        self.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc").unwrap(), "abc");
        assert_eq!(quote("a b").unwrap(), "\"a b\"");
        assert_eq!(quote("").unwrap(), "\"\"");
        assert_eq!(quote("a#b").unwrap(), "\"a#b\"");
        assert_eq!(quote("x{").unwrap(), "\"x{\"");
        assert_eq!(quote("include").unwrap(), "\"include\"");
        assert_eq!(quote("@main").unwrap(), "\"@main\"");
        assert!(quote("a\"b").is_err());
        assert!(quote("a\nb").is_err());
    }

    #[test]
    fn empty_config_is_empty_text() {
        assert_eq!(write(&Config::default()).unwrap(), "");
    }

    #[test]
    fn invalid_and_inexact_configs_are_refused() {
        let mut c = Config::default();
        c.vrrp_instances.push(VrrpInstance {
            priority: Some(0),
            ..VrrpInstance::new("VI_1")
        });
        assert!(matches!(write(&c), Err(WriteError::Invalid(e)) if e.line == 2));

        c.vrrp_instances[0].priority = Some(100);
        c.vrrp_instances[0].advert_int = Some(Duration::from_nanos(1_500));
        assert_eq!(
            write(&c),
            Err(WriteError::Inexact {
                object: "vrrp_instance VI_1".into(),
                hint: INEXACT_HINT,
            })
        );

        c.vrrp_instances[0].advert_int = None;
        c.vrrp_instances[0].interface = Some("eth\"0".into());
        assert!(matches!(
            write(&c),
            Err(WriteError::Unrepresentable { keyword, .. }) if keyword == "interface"
        ));
    }
}

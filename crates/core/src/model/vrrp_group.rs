//! VRRP groups: one declaration for the whole cluster, with each node's part in `members`.

use super::name::validate_name;
use super::virtual_server::Family;
use crate::error::{check_range, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// VRRP v2 authentication (v3 has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    None,
    /// Simple text password, keepalived's `auth_type PASS`.
    Pass,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Auth {
    #[serde(rename = "type")]
    pub kind: AuthType,
    /// 1 to 8 characters (longer passwords are cut to 8 on the wire by keepalived; director refuses them).
    /// Write-only below admin: viewers and operators read `"***"`. Writing `"***"` back keeps the stored
    /// password (so `"***"` itself cannot be one; with no password stored it is refused with 422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// One node's part of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The node name (`--node-name`).
    pub node: String,
    /// Overrides the group's interface on this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Overrides the group's priority on this node (1..255; 255 = address owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Send adverts to these addresses instead of multicast.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub unicast_peers: Vec<IpAddr>,
    /// Source address of unicast adverts (keepalived's `unicast_src_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub unicast_source: Option<IpAddr>,
    /// Overrides `connection_sync.interface` on this node (the interface its IPVS sync daemons use). Only
    /// with `connection_sync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interface: Option<String>,
}

/// IPVS connection synchronisation driven by the group's roles (keepalived's `lvs_sync_daemon`): the
/// master of the group runs the kernel's master sync daemon, which sends its connections to the others, and
/// every other member runs the backup daemon, which receives them, so that a new master knows the
/// connections of the old one. A node runs at most one daemon of each kind, for all its groups: a node
/// that masters one group and backs up another runs both, and every group of a node that has
/// `connection_sync` must give it the same settings there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionSync {
    /// The interface the daemons send and receive on, on every member whose `sync_interface` names none.
    pub interface: String,
    /// 0..255: a backup takes only the messages of its sync id (0: any). Default: the group's VRID, as
    /// keepalived's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<u32>,
    /// The largest sync message in bytes, 1024..65487 (default: the kernel's, from the interface's MTU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_len: Option<u32>,
    /// Multicast group of the sync messages, IPv4 or IPv6 (default 224.0.0.81).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mcast_group: Option<IpAddr>,
    /// UDP port, 1..65535 (default 8848).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_port: Option<u32>,
    /// Multicast TTL, 1..255 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_ttl: Option<u32>,
}

/// The bounds of `connection_sync.max_packet_len`: within them the kernel takes the value as given for
/// both daemons (it raises a backup's below 1024 and lowers any above 65535 less the IPv6 and UDP headers).
pub const SYNC_MAX_PACKET_LEN: (u32, u32) = (1024, 65_487);

/// What a node's sync daemons are started with for a group: its `connection_sync` with this node's
/// interface and the sync id resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub interface: String,
    pub sync_id: u32,
    pub max_packet_len: Option<u32>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u32>,
    pub mcast_ttl: Option<u32>,
}

impl std::fmt::Display for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interface {}, sync_id {}", self.interface, self.sync_id)?;
        if let Some(v) = self.max_packet_len {
            write!(f, ", max_packet_len {v}")?;
        }
        if let Some(v) = self.mcast_group {
            write!(f, ", mcast_group {v}")?;
        }
        if let Some(v) = self.mcast_port {
            write!(f, ", mcast_port {v}")?;
        }
        if let Some(v) = self.mcast_ttl {
            write!(f, ", mcast_ttl {v}")?;
        }
        Ok(())
    }
}

impl ConnectionSync {
    fn validate(&self) -> Result<()> {
        validate_interface("interface", &self.interface)?;
        if let Some(id) = self.sync_id {
            check_range("sync_id", id, 0, 255)?;
        }
        if let Some(len) = self.max_packet_len {
            check_range(
                "max_packet_len",
                len,
                SYNC_MAX_PACKET_LEN.0,
                SYNC_MAX_PACKET_LEN.1,
            )?;
        }
        if let Some(g) = self.mcast_group {
            if !g.is_multicast() {
                return Err(ModelError::invalid(
                    "mcast_group",
                    format!("{g} is not a multicast address"),
                ));
            }
        }
        if let Some(p) = self.mcast_port {
            check_range("mcast_port", p, 1, 65_535)?;
        }
        if let Some(t) = self.mcast_ttl {
            check_range("mcast_ttl", t, 1, 255)?;
        }
        Ok(())
    }
}

/// The largest track weight either way: keepalived's. With priorities 1..254 it already moves any priority
/// to the bound.
pub const MAX_TRACK_WEIGHT: i32 = 253;

/// Something whose failure lowers the priority by `weight` (a negative number) or raises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Track {
    /// Failed while the virtual server is below its quorum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_server: Option<String>,
    /// Failed while the interface is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Failed while the command exits non-zero. Below admin its arguments read `"***"` each (they may
    /// carry credentials); a script written back as it was read keeps the stored arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<Vec<String>>,
    /// -253..253 (keepalived's range), added to the priority while the tracked thing has failed.
    pub weight: i32,
}

/// A VRRP group (one VRRP instance per member node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VrrpGroup {
    pub name: String,
    /// Virtual router id, 1..255, unique per interface.
    pub vrid: u32,
    /// 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
    #[serde(default = "default_version")]
    pub version: u32,
    /// v2: whole seconds 1000..255000; v3: 10 ms steps, 10..40950.
    #[serde(default = "default_advert")]
    pub advert_interval_ms: u32,
    #[serde(default = "default_preempt")]
    pub preempt: bool,
    /// Seconds after start-up before this node preempts a lower-priority master (0..1000).
    #[serde(default)]
    pub preempt_delay_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// `address/prefix`, all of one family; a bare address means /32 or /128.
    pub virtual_addresses: Vec<String>,
    /// The interface on nodes whose member entry names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The priority on nodes whose member entry names none (1..255).
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// The nodes that take part. Empty: every node, with the group's interface and priority.
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default)]
    pub track: Vec<Track>,
    /// Who to tell on every transition of this node's instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// Groups of a node with the same sync group fail over together (keepalived's `vrrp_sync_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_group: Option<String>,
    /// Gratuitous ARP / unsolicited neighbour advertisements sent by a new master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp: Option<Garp>,
    /// IPVS connection synchronisation: the master's connections reach the backups, so that a failover
    /// keeps them (keepalived's `lvs_sync_daemon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_sync: Option<ConnectionSync>,
}

/// Transition notifications (keepalived's `notify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notify {
    /// `http://` or `https://` URL that receives a JSON POST on every transition. Below admin it reads
    /// `scheme://host/***` when it has user information, a path or a query (a webhook's path is often its
    /// key); written back as read, the stored URL is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Command run on every transition with the arguments `GROUP <name> <STATE> <priority>` appended
    /// (STATE: MASTER, BACKUP, FAULT or STOP), as keepalived's notify script. Below admin its arguments read
    /// `"***"` each; written back as read, the stored command is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<Vec<String>>,
}

/// Announcements of a new master (keepalived's `garp_master_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Garp {
    /// Announcements per address in each burst (1..100, default 5).
    #[serde(default = "default_garp_repeat")]
    pub repeat: u32,
    /// Seconds after becoming master before a second burst (0 = none, up to 3600; default 5).
    #[serde(default = "default_garp_delay")]
    pub delay_s: u32,
    /// Seconds between further bursts while master (0 = never, the default; up to 86400).
    #[serde(default)]
    pub refresh_s: u32,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            repeat: default_garp_repeat(),
            delay_s: default_garp_delay(),
            refresh_s: 0,
        }
    }
}

fn default_garp_repeat() -> u32 {
    5
}
fn default_garp_delay() -> u32 {
    5
}

fn default_version() -> u32 {
    2
}
fn default_advert() -> u32 {
    1000
}
fn default_preempt() -> bool {
    true
}
fn default_priority() -> u32 {
    100
}

/// Parses `192.168.10.180/32` (or a bare address) into address and prefix length.
pub fn parse_vip(s: &str) -> std::result::Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?} is not an address with an optional /prefix"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=max).contains(p))
            .ok_or_else(|| format!("{s:?} has a bad prefix length: use 1..{max}"))?,
        None => max,
    };
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!("{addr} cannot be a virtual address"));
    }
    Ok((addr, prefix))
}

/// Linux interface names: 1..15 bytes, no '/', no white space.
pub fn validate_interface(field: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || !name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
    {
        return Err(ModelError::invalid(
            field,
            format!("{name:?} is not an interface name"),
        ));
    }
    Ok(())
}

/// Node names: host names.
pub fn validate_node(field: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(ModelError::invalid(
            field,
            format!("{name:?} is not a node name"),
        ));
    }
    Ok(())
}

impl VrrpGroup {
    /// The family of the group's addresses (once validated).
    pub fn family(&self) -> Family {
        self.virtual_addresses
            .first()
            .and_then(|v| parse_vip(v).ok())
            .map(|(a, _)| Family::of(&a))
            .unwrap_or(Family::Inet)
    }

    /// Rewrites bare addresses as `address/prefix`.
    pub fn normalize(&mut self) {
        for v in &mut self.virtual_addresses {
            if let Ok((a, p)) = parse_vip(v) {
                *v = format!("{a}/{p}");
            }
        }
    }

    /// The (node, interface) pairs the group runs on; node `None` stands for every node.
    pub fn placements(&self) -> Vec<(Option<&str>, Option<&str>)> {
        if self.members.is_empty() {
            return vec![(None, self.interface.as_deref())];
        }
        self.members
            .iter()
            .map(|m| {
                (
                    Some(m.node.as_str()),
                    m.interface.as_deref().or(self.interface.as_deref()),
                )
            })
            .collect()
    }

    /// This node's member entry, or the group defaults when members is empty. `None`: not taking part.
    pub fn member_for(&self, node: &str) -> Option<Member> {
        if self.members.is_empty() {
            return Some(Member {
                node: node.to_string(),
                interface: self.interface.clone(),
                priority: Some(self.priority),
                unicast_peers: Vec::new(),
                unicast_source: None,
                sync_interface: None,
            });
        }
        self.members
            .iter()
            .find(|m| m.node == node)
            .map(|m| Member {
                interface: m.interface.clone().or_else(|| self.interface.clone()),
                priority: m.priority.or(Some(self.priority)),
                ..m.clone()
            })
    }

    /// What this node's sync daemons run with for the group: `None` without `connection_sync` or when the
    /// node is not a member.
    pub fn sync_settings_for(&self, node: &str) -> Option<SyncSettings> {
        let sync = self.connection_sync.as_ref()?;
        let member = self.member_for(node)?;
        Some(SyncSettings {
            interface: member
                .sync_interface
                .unwrap_or_else(|| sync.interface.clone()),
            sync_id: sync.sync_id.unwrap_or(self.vrid),
            max_packet_len: sync.max_packet_len,
            mcast_group: sync.mcast_group,
            mcast_port: sync.mcast_port,
            mcast_ttl: sync.mcast_ttl,
        })
    }

    pub fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        check_range("vrid", self.vrid, 1, 255)?;
        if self.version != 2 && self.version != 3 {
            return Err(ModelError::invalid(
                "version",
                format!("must be 2 or 3, got {}", self.version),
            ));
        }
        if self.version == 2 {
            check_range("advert_interval_ms", self.advert_interval_ms, 1000, 255_000)?;
            if !self.advert_interval_ms.is_multiple_of(1000) {
                return Err(ModelError::invalid(
                    "advert_interval_ms",
                    "VRRPv2 adverts are in whole seconds",
                ));
            }
        } else {
            check_range("advert_interval_ms", self.advert_interval_ms, 10, 40_950)?;
            if !self.advert_interval_ms.is_multiple_of(10) {
                return Err(ModelError::invalid(
                    "advert_interval_ms",
                    "VRRPv3 adverts are in steps of 10 ms",
                ));
            }
        }
        check_range("preempt_delay_s", self.preempt_delay_s, 0, 1000)?;
        check_range("priority", self.priority, 1, 255)?;
        if let Some(auth) = &self.auth {
            if self.version == 3 && auth.kind != AuthType::None {
                return Err(ModelError::invalid(
                    "auth",
                    "VRRPv3 has no authentication (RFC 5798)",
                ));
            }
            match (auth.kind, &auth.password) {
                (AuthType::Pass, Some(p)) if !p.is_empty() && p.len() <= 8 => {}
                (AuthType::Pass, _) => {
                    return Err(ModelError::invalid(
                        "auth.password",
                        "PASS authentication needs 1 to 8 characters",
                    ))
                }
                (AuthType::None, Some(_)) => {
                    return Err(ModelError::invalid(
                        "auth.password",
                        "no password without PASS authentication",
                    ))
                }
                (AuthType::None, None) => {}
            }
        }
        if self.virtual_addresses.is_empty() {
            return Err(ModelError::invalid(
                "virtual_addresses",
                "a group needs at least one virtual address",
            ));
        }
        let mut families = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for (i, v) in self.virtual_addresses.iter().enumerate() {
            let field = format!("virtual_addresses[{i}]");
            let (addr, _) = parse_vip(v).map_err(|m| ModelError::invalid(&field, m))?;
            if !seen.insert(addr) {
                return Err(ModelError::invalid(
                    field,
                    format!("{addr} is listed twice"),
                ));
            }
            families.insert(Family::of(&addr));
        }
        if families.len() > 1 {
            return Err(ModelError::invalid(
                "virtual_addresses",
                "all addresses of a group must be of one family",
            ));
        }
        if self.version == 2 && families.contains(&Family::Inet6) {
            return Err(ModelError::invalid(
                "version",
                "IPv6 virtual addresses need VRRPv3",
            ));
        }
        if let Some(i) = &self.interface {
            validate_interface("interface", i)?;
        }
        let mut nodes = BTreeSet::new();
        for (i, m) in self.members.iter().enumerate() {
            let prefix = format!("members[{i}]");
            self.validate_member(m).map_err(|e| e.within(&prefix))?;
            if !nodes.insert(m.node.as_str()) {
                return Err(ModelError::invalid(
                    format!("{prefix}.node"),
                    format!("{} is listed twice", m.node),
                ));
            }
        }
        if self.members.is_empty() && self.interface.is_none() {
            return Err(ModelError::invalid(
                "interface",
                "required when the group has no members",
            ));
        }
        for (i, t) in self.track.iter().enumerate() {
            validate_track(t).map_err(|e| e.within(&format!("track[{i}]")))?;
        }
        if let Some(n) = &self.notify {
            validate_notify(n).map_err(|e| e.within("notify"))?;
        }
        if let Some(s) = &self.sync_group {
            validate_name("sync_group", s)?;
        }
        if let Some(c) = &self.connection_sync {
            c.validate().map_err(|e| e.within("connection_sync"))?;
        }
        if let Some(g) = &self.garp {
            check_range("garp.repeat", g.repeat, 1, 100)?;
            check_range("garp.delay_s", g.delay_s, 0, 3600)?;
            check_range("garp.refresh_s", g.refresh_s, 0, 86_400)?;
        }
        Ok(())
    }

    fn validate_member(&self, m: &Member) -> Result<()> {
        validate_node("node", &m.node)?;
        match (&m.interface, &self.interface) {
            (Some(i), _) => validate_interface("interface", i)?,
            (None, Some(_)) => {}
            (None, None) => {
                return Err(ModelError::invalid(
                    "interface",
                    "required: the group names no default interface",
                ))
            }
        }
        if let Some(p) = m.priority {
            check_range("priority", p, 1, 255)?;
        }
        if let Some(i) = &m.sync_interface {
            if self.connection_sync.is_none() {
                return Err(ModelError::invalid(
                    "sync_interface",
                    "only with connection_sync: the group runs no sync daemon",
                ));
            }
            validate_interface("sync_interface", i)?;
        }
        let family = self.family();
        for (i, peer) in m.unicast_peers.iter().enumerate() {
            if Family::of(peer) != family {
                return Err(ModelError::invalid(
                    format!("unicast_peers[{i}]"),
                    format!("{peer} is not of the group's family {}", family.as_str()),
                ));
            }
        }
        if let Some(src) = m.unicast_source {
            if Family::of(&src) != family {
                return Err(ModelError::invalid(
                    "unicast_source",
                    format!("{src} is not of the group's family"),
                ));
            }
        }
        Ok(())
    }
}

fn validate_notify(n: &Notify) -> Result<()> {
    if n.webhook.is_none() && n.script.is_none() {
        return Err(ModelError::invalid("", "name a webhook, a script or both"));
    }
    if let Some(url) = &n.webhook {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        if host.is_none_or(str::is_empty) || url.chars().any(char::is_whitespace) {
            return Err(ModelError::invalid(
                "webhook",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
    }
    if let Some(cmd) = &n.script {
        if cmd.first().is_none_or(|c| c.is_empty()) {
            return Err(ModelError::invalid("script", "needs a command to run"));
        }
    }
    Ok(())
}

fn validate_track(t: &Track) -> Result<()> {
    let set = [
        t.virtual_server.is_some(),
        t.interface.is_some(),
        t.script.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        return Err(ModelError::invalid(
            "",
            "name exactly one of virtual_server, interface or script",
        ));
    }
    if let Some(vs) = &t.virtual_server {
        validate_name("virtual_server", vs)?;
    }
    if let Some(i) = &t.interface {
        validate_interface("interface", i)?;
    }
    if let Some(cmd) = &t.script {
        if cmd.first().is_none_or(|c| c.is_empty()) {
            return Err(ModelError::invalid("script", "needs a command to run"));
        }
    }
    check_range("weight", t.weight, -MAX_TRACK_WEIGHT, MAX_TRACK_WEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> VrrpGroup {
        serde_json::from_value(serde_json::json!({
            "name": "vi-1", "vrid": 51, "virtual_addresses": ["192.168.10.180"], "interface": "eth0",
            "auth": {"type": "pass", "password": "1111"},
            "members": [{"node": "lvs-01", "priority": 100}, {"node": "lvs-02", "interface": "ens33", "priority": 90}],
            "track": [{"virtual_server": "web", "weight": -20}, {"interface": "eth1", "weight": -30}]
        }))
        .unwrap()
    }

    #[test]
    fn the_design_example_is_valid() {
        let mut g = group();
        g.validate().unwrap();
        g.normalize();
        assert_eq!(g.virtual_addresses, ["192.168.10.180/32"]);
        assert_eq!(
            g.member_for("lvs-02").unwrap().interface.as_deref(),
            Some("ens33")
        );
        assert_eq!(
            g.member_for("lvs-01").unwrap().interface.as_deref(),
            Some("eth0")
        );
        assert!(g.member_for("lvs-03").is_none());
    }

    #[test]
    fn bad_values_name_their_field() {
        type Mutation = fn(&mut VrrpGroup);
        let cases: Vec<(Mutation, &str)> = vec![
            (|g| g.vrid = 0, "vrid"),
            (|g| g.vrid = 256, "vrid"),
            (|g| g.version = 4, "version"),
            (|g| g.advert_interval_ms = 1500, "advert_interval_ms"),
            (|g| g.priority = 0, "priority"),
            (
                |g| g.auth.as_mut().unwrap().password = Some("123456789".into()),
                "auth.password",
            ),
            (
                |g| g.virtual_addresses = vec!["10.0.0.1/33".into()],
                "virtual_addresses[0]",
            ),
            (
                |g| g.virtual_addresses = vec!["10.0.0.1".into(), "2001:db8::1".into()],
                "virtual_addresses",
            ),
            (
                |g| g.virtual_addresses = vec!["2001:db8::1".into()],
                "version",
            ),
            (|g| g.members[1].priority = Some(300), "members[1].priority"),
            (|g| g.members[1].node = "lvs-01".into(), "members[1].node"),
            (|g| g.track[0].weight = -300, "track[0].weight"),
            (|g| g.track[0].interface = Some("eth2".into()), "track[0]"),
        ];
        for (mutate, field) in cases {
            let mut g = group();
            mutate(&mut g);
            assert_eq!(g.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn notify_sync_group_and_garp() {
        let mut g = group();
        assert_eq!(g.notify, None);
        assert_eq!(g.sync_group, None);
        assert_eq!(g.garp, None);
        g.notify = Some(Notify {
            webhook: Some("https://hooks.example.com/vrrp?x=1".into()),
            script: Some(vec!["/usr/local/bin/notify".into(), "--quiet".into()]),
        });
        g.sync_group = Some("nat-pair".into());
        g.garp = Some(Garp::default());
        g.validate().unwrap();
        let back: VrrpGroup = serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        let garp: Garp = serde_json::from_value(serde_json::json!({"refresh_s": 60})).unwrap();
        assert_eq!(
            garp,
            Garp {
                repeat: 5,
                delay_s: 5,
                refresh_s: 60
            }
        );

        type Mutation = fn(&mut VrrpGroup);
        let cases: Vec<(Mutation, &str)> = vec![
            (
                |g| g.notify.as_mut().unwrap().webhook = Some("ftp://x".into()),
                "notify.webhook",
            ),
            (
                |g| g.notify.as_mut().unwrap().webhook = Some("http://".into()),
                "notify.webhook",
            ),
            (
                |g| g.notify.as_mut().unwrap().script = Some(vec![String::new()]),
                "notify.script",
            ),
            (
                |g| {
                    g.notify = Some(Notify {
                        webhook: None,
                        script: None,
                    })
                },
                "notify",
            ),
            (|g| g.sync_group = Some("Bad Name".into()), "sync_group"),
            (|g| g.garp.as_mut().unwrap().repeat = 0, "garp.repeat"),
            (|g| g.garp.as_mut().unwrap().delay_s = 3601, "garp.delay_s"),
            (
                |g| g.garp.as_mut().unwrap().refresh_s = 86_401,
                "garp.refresh_s",
            ),
        ];
        for (mutate, field) in cases {
            let mut g = group();
            g.notify = Some(Notify {
                webhook: Some("http://127.0.0.1:9000/hook".into()),
                script: None,
            });
            g.garp = Some(Garp::default());
            mutate(&mut g);
            assert_eq!(g.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn connection_sync_defaults_to_the_vrid_and_a_member_may_name_its_interface() {
        let mut g = group();
        assert_eq!(g.sync_settings_for("lvs-01"), None, "no connection_sync");
        g.connection_sync =
            Some(serde_json::from_value(serde_json::json!({"interface": "eth1"})).unwrap());
        g.members[1].sync_interface = Some("bond1".into());
        g.validate().unwrap();
        let a = g.sync_settings_for("lvs-01").unwrap();
        assert_eq!((a.interface.as_str(), a.sync_id), ("eth1", 51));
        assert_eq!(g.sync_settings_for("lvs-02").unwrap().interface, "bond1");
        assert_eq!(g.sync_settings_for("lvs-03"), None, "not a member");
        let back: VrrpGroup = serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        assert!(
            serde_json::from_value::<ConnectionSync>(
                serde_json::json!({"interface": "eth1", "syncid": 3})
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn bad_connection_sync_names_its_field() {
        type Mutation = fn(&mut VrrpGroup);
        let cases: Vec<(Mutation, &str)> = vec![
            (
                |g| g.connection_sync.as_mut().unwrap().interface = String::new(),
                "connection_sync.interface",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().interface = "a/b".into(),
                "connection_sync.interface",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().sync_id = Some(256),
                "connection_sync.sync_id",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().max_packet_len = Some(1000),
                "connection_sync.max_packet_len",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().max_packet_len = Some(65_488),
                "connection_sync.max_packet_len",
            ),
            (
                |g| {
                    g.connection_sync.as_mut().unwrap().mcast_group =
                        Some("10.0.0.1".parse().unwrap())
                },
                "connection_sync.mcast_group",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().mcast_port = Some(0),
                "connection_sync.mcast_port",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().mcast_port = Some(65_536),
                "connection_sync.mcast_port",
            ),
            (
                |g| g.connection_sync.as_mut().unwrap().mcast_ttl = Some(256),
                "connection_sync.mcast_ttl",
            ),
            (
                |g| g.members[0].sync_interface = Some(String::new()),
                "members[0].sync_interface",
            ),
            (
                |g| {
                    g.connection_sync = None;
                    g.members[0].sync_interface = Some("eth1".into());
                },
                "members[0].sync_interface",
            ),
        ];
        for (mutate, field) in cases {
            let mut g = group();
            g.connection_sync = Some(ConnectionSync {
                interface: "eth1".into(),
                sync_id: Some(0),
                max_packet_len: Some(1024),
                mcast_group: Some("ff02::81".parse().unwrap()),
                mcast_port: Some(65_535),
                mcast_ttl: Some(255),
            });
            g.validate().unwrap();
            mutate(&mut g);
            assert_eq!(g.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn v3_has_no_auth() {
        let mut g = group();
        g.version = 3;
        assert_eq!(g.validate().unwrap_err().field, "auth");
        g.auth = None;
        g.advert_interval_ms = 100;
        g.validate().unwrap();
    }
}

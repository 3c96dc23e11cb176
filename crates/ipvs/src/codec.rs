//! Encoding of IPVS generic netlink requests and decoding of the kernel's replies.
//!
//! Pure code: every function maps bytes to values or back. The bytes are the
//! generic netlink payload of one message: `struct genlmsghdr` (cmd, version,
//! reserved) followed by attributes. The netlink header around it is neli's job.
//!
//! Wire layout, from the kernel's `ip_vs_genl_parse_service` / `_parse_dest` /
//! `_fill_service` / `_fill_dest` (net/netfilter/ipvs/ip_vs_ctl.c):
//! - integers are host byte order, except ports (`__be16`) and the IPv4 netmask
//!   (`__be32`, the mask bytes as they appear in the packet);
//! - addresses are a 16-byte `union nf_inet_addr`, IPv4 in the first 4 bytes;
//! - IPv6 netmask is the prefix length as a plain host-order u32;
//! - `IPVS_SVC_ATTR_FLAGS` is `struct ip_vs_flags { u32 flags; u32 mask; }`;
//! - NEW/SET_SERVICE need SCHED_NAME, FLAGS, TIMEOUT and NETMASK; NEW/SET_DEST
//!   need FWD_METHOD, WEIGHT, U_THRESH and L_THRESH; identification needs AF plus
//!   FWMARK or PROTOCOL+ADDR+PORT (service) and ADDR+PORT (destination).
//! - The IPVS family is registered with `GENL_DONT_VALIDATE_STRICT`: attributes a
//!   kernel does not know (e.g. TUN_* before 5.2) are ignored by it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{DecodeError, Error};
use crate::nla::{self, Writer};
use crate::types::{
    Destination, DestinationStatus, Family, Forwarding, Info, Protocol, Service, ServiceFlags,
    ServiceKey, Stats, SyncDaemon, SyncState, Tunnel, TunnelType,
};

/// Constants transcribed from `include/uapi/linux/ip_vs.h` (Linux 6.x). The whole
/// generic-netlink part is kept, used or not, so it can be checked against the header.
#[allow(dead_code)]
pub(crate) mod consts {
    pub const IPVS_GENL_NAME: &str = "IPVS";
    pub const IPVS_GENL_VERSION: u8 = 0x1;

    pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
    pub const IP_VS_PENAME_MAXLEN: usize = 16;
    pub const IP_VS_IFNAME_MAXLEN: usize = 16;
    pub const IP_VS_PEDATA_MAXLEN: usize = 255;

    // Virtual service flags.
    pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
    pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
    pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
    pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
    pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
    pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

    // Destination server flags.
    pub const IP_VS_DEST_F_AVAILABLE: u32 = 0x0001;
    pub const IP_VS_DEST_F_OVERLOAD: u32 = 0x0002;

    // Connection flags: forwarding methods.
    pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
    pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
    pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
    pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
    pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
    pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

    // Tunnel types and encapsulation flags.
    pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
    pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
    pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
    pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
    pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
    pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;

    // Commands.
    pub const IPVS_CMD_UNSPEC: u8 = 0;
    pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
    pub const IPVS_CMD_SET_SERVICE: u8 = 2;
    pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
    pub const IPVS_CMD_GET_SERVICE: u8 = 4;
    pub const IPVS_CMD_NEW_DEST: u8 = 5;
    pub const IPVS_CMD_SET_DEST: u8 = 6;
    pub const IPVS_CMD_DEL_DEST: u8 = 7;
    pub const IPVS_CMD_GET_DEST: u8 = 8;
    pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
    pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
    pub const IPVS_CMD_GET_DAEMON: u8 = 11;
    pub const IPVS_CMD_SET_CONFIG: u8 = 12;
    pub const IPVS_CMD_GET_CONFIG: u8 = 13;
    pub const IPVS_CMD_SET_INFO: u8 = 14;
    pub const IPVS_CMD_GET_INFO: u8 = 15;
    pub const IPVS_CMD_ZERO: u8 = 16;
    pub const IPVS_CMD_FLUSH: u8 = 17;

    // First-level attributes.
    pub const IPVS_CMD_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
    pub const IPVS_CMD_ATTR_DEST: u16 = 2;
    pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
    pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
    pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
    pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;
    pub const IPVS_CMD_ATTR_MAX: u16 = 6;

    // Service attributes (nested in IPVS_CMD_ATTR_SERVICE).
    pub const IPVS_SVC_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_SVC_ATTR_AF: u16 = 1;
    pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
    pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
    pub const IPVS_SVC_ATTR_PORT: u16 = 4;
    pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
    pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
    pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
    pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
    pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
    pub const IPVS_SVC_ATTR_STATS: u16 = 10;
    pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
    pub const IPVS_SVC_ATTR_STATS64: u16 = 12;
    pub const IPVS_SVC_ATTR_MAX: u16 = 12;

    // Destination attributes (nested in IPVS_CMD_ATTR_DEST).
    pub const IPVS_DEST_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
    pub const IPVS_DEST_ATTR_PORT: u16 = 2;
    pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
    pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
    pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
    pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
    pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
    pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
    pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
    pub const IPVS_DEST_ATTR_STATS: u16 = 10;
    pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
    pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
    pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
    pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
    pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;
    pub const IPVS_DEST_ATTR_MAX: u16 = 15;

    // Sync daemon states (IPVS_DAEMON_ATTR_STATE).
    pub const IP_VS_STATE_NONE: u32 = 0;
    pub const IP_VS_STATE_MASTER: u32 = 1;
    pub const IP_VS_STATE_BACKUP: u32 = 2;

    // Sync daemon attributes (nested in IPVS_CMD_ATTR_DAEMON). SYNC_MAXLEN and later: Linux >= 4.3.
    pub const IPVS_DAEMON_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
    pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
    pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
    pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
    pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
    pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
    pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
    pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;
    pub const IPVS_DAEMON_ATTR_MAX: u16 = 8;

    // Statistics attributes (nested in *_ATTR_STATS and *_ATTR_STATS64).
    pub const IPVS_STATS_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
    pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
    pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
    pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
    pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
    pub const IPVS_STATS_ATTR_CPS: u16 = 6;
    pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
    pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
    pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
    pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
    pub const IPVS_STATS_ATTR_PAD: u16 = 11;
    pub const IPVS_STATS_ATTR_MAX: u16 = 11;

    // GET_INFO reply attributes.
    pub const IPVS_INFO_ATTR_UNSPEC: u16 = 0;
    pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
    pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;
    pub const IPVS_INFO_ATTR_MAX: u16 = 2;

    /// `sizeof(union nf_inet_addr)`.
    pub const NF_INET_ADDR_LEN: usize = 16;
    /// `GENL_HDRLEN`.
    pub const GENL_HDRLEN: usize = 4;
}

use consts::*;

/// Table sizes for [`nla::table`]: one slot per attribute type up to `*_MAX`.
const CMD_N: usize = IPVS_CMD_ATTR_MAX as usize + 1;
const SVC_N: usize = IPVS_SVC_ATTR_MAX as usize + 1;
const DEST_N: usize = IPVS_DEST_ATTR_MAX as usize + 1;
const STATS_N: usize = IPVS_STATS_ATTR_MAX as usize + 1;
const INFO_N: usize = IPVS_INFO_ATTR_MAX as usize + 1;
const DAEMON_N: usize = IPVS_DAEMON_ATTR_MAX as usize + 1;

/// The service flags director manages; other bits (`HASHED`, future ones) are left
/// as the kernel has them (`struct ip_vs_flags.mask`).
const MANAGED_SVC_FLAGS: u32 = IP_VS_SVC_F_PERSISTENT
    | IP_VS_SVC_F_ONEPACKET
    | IP_VS_SVC_F_SCHED1
    | IP_VS_SVC_F_SCHED2
    | IP_VS_SVC_F_SCHED3;

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

fn writer(cmd: u8) -> Writer {
    Writer::with_header(&[cmd, IPVS_GENL_VERSION, 0, 0])
}

/// A request without attributes: `GET_INFO`, `FLUSH`, `ZERO` (all), `GET_SERVICE` dump.
pub(crate) fn encode_bare(cmd: u8) -> Vec<u8> {
    writer(cmd).finish()
}

/// A request naming a service only: `DEL_SERVICE`, `ZERO` (one), `GET_DEST` dump.
pub(crate) fn encode_service_key(cmd: u8, key: &ServiceKey) -> Result<Vec<u8>, Error> {
    validate_key(key)?;
    let mut w = writer(cmd);
    w.nested(IPVS_CMD_ATTR_SERVICE, |w| put_key(w, key));
    Ok(w.finish())
}

/// `NEW_SERVICE` / `SET_SERVICE`: the full service.
pub(crate) fn encode_service(cmd: u8, svc: &Service) -> Result<Vec<u8>, Error> {
    validate_service(svc)?;
    let mut w = writer(cmd);
    w.nested(IPVS_CMD_ATTR_SERVICE, |w| {
        put_key(w, &svc.key);
        w.put_str(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler);
        if let Some(pe) = &svc.pe_name {
            w.put_str(IPVS_SVC_ATTR_PE_NAME, pe);
        }
        let mut flags = [0u8; 8];
        flags[..4].copy_from_slice(&flags_to_bits(svc.flags).to_ne_bytes());
        flags[4..].copy_from_slice(&MANAGED_SVC_FLAGS.to_ne_bytes());
        w.put(IPVS_SVC_ATTR_FLAGS, &flags);
        w.put_u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
        w.put(
            IPVS_SVC_ATTR_NETMASK,
            &netmask_bytes(svc.key.family(), svc.netmask),
        );
    });
    Ok(w.finish())
}

/// `NEW_DEST` / `SET_DEST`: the service's key and the full destination.
pub(crate) fn encode_dest(cmd: u8, key: &ServiceKey, dest: &Destination) -> Result<Vec<u8>, Error> {
    validate_key(key)?;
    validate_dest(dest)?;
    let mut w = writer(cmd);
    w.nested(IPVS_CMD_ATTR_SERVICE, |w| put_key(w, key));
    w.nested(IPVS_CMD_ATTR_DEST, |w| {
        put_dest_id(w, dest.address, dest.port);
        w.put_u32(
            IPVS_DEST_ATTR_FWD_METHOD,
            forwarding_to_bits(dest.forwarding),
        );
        w.put_u32(IPVS_DEST_ATTR_WEIGHT, dest.weight);
        w.put_u32(IPVS_DEST_ATTR_U_THRESH, dest.upper_threshold);
        w.put_u32(IPVS_DEST_ATTR_L_THRESH, dest.lower_threshold);
        if let Some(t) = dest.tunnel {
            w.put_u8(IPVS_DEST_ATTR_TUN_TYPE, tunnel_type_to_bits(t.kind));
            w.put_be16(IPVS_DEST_ATTR_TUN_PORT, t.port);
            w.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, tunnel_flags_to_bits(&t));
        }
    });
    Ok(w.finish())
}

/// `DEL_DEST`: the service's key and the destination's address and port.
pub(crate) fn encode_dest_key(
    cmd: u8,
    key: &ServiceKey,
    address: IpAddr,
    port: u16,
) -> Result<Vec<u8>, Error> {
    validate_key(key)?;
    let mut w = writer(cmd);
    w.nested(IPVS_CMD_ATTR_SERVICE, |w| put_key(w, key));
    w.nested(IPVS_CMD_ATTR_DEST, |w| put_dest_id(w, address, port));
    Ok(w.finish())
}

/// `NEW_DAEMON`: state, interface and sync id (all three required by the kernel), and the settings given.
///
/// Layout (`ip_vs_genl_new_daemon`, `ip_vs_daemon_policy`): STATE u32, MCAST_IFN a NUL-terminated string of
/// at most 15 bytes, SYNC_ID u32, SYNC_MAXLEN u16, MCAST_GROUP the IPv4 group as it travels (`__be32`) or
/// MCAST_GROUP6 its 16 bytes, MCAST_PORT a host-order u16 (`nla_get_u16`), MCAST_TTL u8. Kernels before 4.3
/// ignore the last four.
pub(crate) fn encode_new_daemon(daemon: &SyncDaemon) -> Result<Vec<u8>, Error> {
    validate_daemon(daemon)?;
    let mut w = writer(IPVS_CMD_NEW_DAEMON);
    w.nested(IPVS_CMD_ATTR_DAEMON, |w| {
        w.put_u32(IPVS_DAEMON_ATTR_STATE, daemon.state.number());
        w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, &daemon.interface);
        w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, daemon.sync_id);
        if let Some(len) = daemon.max_packet_len {
            w.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, len);
        }
        match daemon.mcast_group {
            Some(IpAddr::V4(g)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets()),
            Some(IpAddr::V6(g)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets()),
            None => {}
        }
        if let Some(port) = daemon.mcast_port {
            w.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, port);
        }
        if let Some(ttl) = daemon.mcast_ttl {
            w.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, ttl);
        }
    });
    Ok(w.finish())
}

/// `DEL_DAEMON`: the state of the daemon to stop (the only attribute the kernel reads).
pub(crate) fn encode_del_daemon(state: SyncState) -> Vec<u8> {
    let mut w = writer(IPVS_CMD_DEL_DAEMON);
    w.nested(IPVS_CMD_ATTR_DAEMON, |w| {
        w.put_u32(IPVS_DAEMON_ATTR_STATE, state.number());
    });
    w.finish()
}

fn put_key(w: &mut Writer, key: &ServiceKey) {
    w.put_u16(IPVS_SVC_ATTR_AF, key.family().number());
    match key {
        ServiceKey::Address {
            protocol,
            address,
            port,
        } => {
            w.put_u16(IPVS_SVC_ATTR_PROTOCOL, protocol.number());
            w.put(IPVS_SVC_ATTR_ADDR, &inet_addr(*address));
            w.put_be16(IPVS_SVC_ATTR_PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => w.put_u32(IPVS_SVC_ATTR_FWMARK, *mark),
    }
}

/// Address, port and family. The family attribute (Linux >= 3.18) lets a tunnel
/// destination differ in family from its service; older kernels ignore it.
fn put_dest_id(w: &mut Writer, address: IpAddr, port: u16) {
    w.put(IPVS_DEST_ATTR_ADDR, &inet_addr(address));
    w.put_be16(IPVS_DEST_ATTR_PORT, port);
    w.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(address).number());
}

/// `union nf_inet_addr`.
fn inet_addr(a: IpAddr) -> [u8; NF_INET_ADDR_LEN] {
    let mut out = [0u8; NF_INET_ADDR_LEN];
    match a {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out.copy_from_slice(&v6.octets()),
    }
    out
}

fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        // __be32 mask: 255.255.255.0 travels as ff ff ff 00.
        Family::Inet => netmask.to_be_bytes(),
        // Prefix length, compared by the kernel as a plain integer.
        Family::Inet6 => netmask.to_ne_bytes(),
    }
}

fn flags_to_bits(f: ServiceFlags) -> u32 {
    [
        (f.persistent, IP_VS_SVC_F_PERSISTENT),
        (f.one_packet, IP_VS_SVC_F_ONEPACKET),
        (f.sched_flag_1, IP_VS_SVC_F_SCHED1),
        (f.sched_flag_2, IP_VS_SVC_F_SCHED2),
        (f.sched_flag_3, IP_VS_SVC_F_SCHED3),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |acc, (_, bit)| acc | bit)
}

fn flags_from_bits(bits: u32) -> ServiceFlags {
    ServiceFlags {
        persistent: bits & IP_VS_SVC_F_PERSISTENT != 0,
        one_packet: bits & IP_VS_SVC_F_ONEPACKET != 0,
        sched_flag_1: bits & IP_VS_SVC_F_SCHED1 != 0,
        sched_flag_2: bits & IP_VS_SVC_F_SCHED2 != 0,
        sched_flag_3: bits & IP_VS_SVC_F_SCHED3 != 0,
    }
}

fn forwarding_to_bits(f: Forwarding) -> u32 {
    match f {
        Forwarding::Masq => IP_VS_CONN_F_MASQ,
        Forwarding::Local => IP_VS_CONN_F_LOCALNODE,
        Forwarding::Tunnel => IP_VS_CONN_F_TUNNEL,
        Forwarding::Route => IP_VS_CONN_F_DROUTE,
        Forwarding::Bypass => IP_VS_CONN_F_BYPASS,
    }
}

fn forwarding_from_bits(bits: u32) -> Result<Forwarding, DecodeError> {
    match bits & IP_VS_CONN_F_FWD_MASK {
        IP_VS_CONN_F_MASQ => Ok(Forwarding::Masq),
        IP_VS_CONN_F_LOCALNODE => Ok(Forwarding::Local),
        IP_VS_CONN_F_TUNNEL => Ok(Forwarding::Tunnel),
        IP_VS_CONN_F_DROUTE => Ok(Forwarding::Route),
        IP_VS_CONN_F_BYPASS => Ok(Forwarding::Bypass),
        other => Err(DecodeError::Value {
            attr: "IPVS_DEST_ATTR_FWD_METHOD",
            value: u64::from(other),
        }),
    }
}

fn tunnel_type_to_bits(t: TunnelType) -> u8 {
    match t {
        TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
        TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
        TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
    }
}

fn tunnel_flags_to_bits(t: &Tunnel) -> u16 {
    let mut bits = IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM;
    if t.csum {
        bits |= IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
    }
    if t.remcsum {
        bits |= IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
    }
    bits
}

// Local validation: what the kernel would refuse with a bare EINVAL, refused here
// with the field named.

fn validate_key(key: &ServiceKey) -> Result<(), Error> {
    if let ServiceKey::Fwmark { mark: 0, .. } = key {
        return Err(Error::invalid("fwmark", "the firewall mark must not be 0"));
    }
    Ok(())
}

fn validate_name(field: &'static str, name: &str, max: usize) -> Result<(), Error> {
    if name.is_empty() || name.len() >= max || name.contains('\0') {
        return Err(Error::invalid(
            field,
            format!("{name:?} must be 1 to {} bytes without NUL", max - 1),
        ));
    }
    Ok(())
}

fn validate_service(svc: &Service) -> Result<(), Error> {
    validate_key(&svc.key)?;
    validate_name("scheduler", &svc.scheduler, IP_VS_SCHEDNAME_MAXLEN)?;
    if let Some(pe) = &svc.pe_name {
        validate_name("pe_name", pe, IP_VS_PENAME_MAXLEN)?;
    }
    if svc.key.family() == Family::Inet6 && !(1..=128).contains(&svc.netmask) {
        return Err(Error::invalid(
            "netmask",
            format!(
                "an IPv6 persistence netmask is a prefix length 1..=128, not {}",
                svc.netmask
            ),
        ));
    }
    Ok(())
}

fn validate_daemon(d: &SyncDaemon) -> Result<(), Error> {
    validate_name("interface", &d.interface, IP_VS_IFNAME_MAXLEN)?;
    if d.sync_id > 255 {
        return Err(Error::invalid(
            "sync_id",
            format!(
                "{} does not fit the sync message's one-byte id (0..255)",
                d.sync_id
            ),
        ));
    }
    if d.max_packet_len == Some(0) {
        return Err(Error::invalid(
            "max_packet_len",
            "0 asks for the kernel's default: leave it out",
        ));
    }
    if let Some(g) = d.mcast_group {
        if !g.is_multicast() {
            return Err(Error::invalid(
                "mcast_group",
                format!("{g} is not a multicast address"),
            ));
        }
    }
    if d.mcast_port == Some(0) || d.mcast_ttl == Some(0) {
        return Err(Error::invalid(
            if d.mcast_port == Some(0) {
                "mcast_port"
            } else {
                "mcast_ttl"
            },
            "0 asks for the kernel's default: leave it out",
        ));
    }
    Ok(())
}

fn validate_dest(dest: &Destination) -> Result<(), Error> {
    if i32::try_from(dest.weight).is_err() {
        return Err(Error::invalid(
            "weight",
            format!("{} is above the kernel's maximum {}", dest.weight, i32::MAX),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Splits a generic netlink payload into its command and its attributes.
fn genl_split(payload: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    if payload.len() < GENL_HDRLEN {
        return Err(DecodeError::Truncated {
            what: "generic netlink header",
            need: GENL_HDRLEN,
            have: payload.len(),
        });
    }
    Ok((payload[0], &payload[GENL_HDRLEN..]))
}

fn top_level(payload: &[u8]) -> Result<[Option<&[u8]>; CMD_N], DecodeError> {
    let (_cmd, attrs) = genl_split(payload)?;
    nla::table::<CMD_N>(attrs, "IPVS message")
}

/// Decodes one message of a `GET_SERVICE` dump (or a `GET_SERVICE` reply).
pub(crate) fn decode_service_msg(payload: &[u8]) -> Result<(Service, Stats), DecodeError> {
    let top = top_level(payload)?;
    let nest = nla::required(
        top[usize::from(IPVS_CMD_ATTR_SERVICE)],
        "IPVS_CMD_ATTR_SERVICE",
    )?;
    decode_service(nest)
}

fn decode_service(nest: &[u8]) -> Result<(Service, Stats), DecodeError> {
    let a = nla::table::<SVC_N>(nest, "IPVS_CMD_ATTR_SERVICE")?;
    let get = |ty: u16| a[usize::from(ty)];

    let af = nla::u16_(
        "IPVS_SVC_ATTR_AF",
        nla::required(get(IPVS_SVC_ATTR_AF), "IPVS_SVC_ATTR_AF")?,
    )?;
    let family = Family::from_number(af).ok_or(DecodeError::Value {
        attr: "IPVS_SVC_ATTR_AF",
        value: u64::from(af),
    })?;
    let fwmark = get(IPVS_SVC_ATTR_FWMARK)
        .map(|p| nla::u32_("IPVS_SVC_ATTR_FWMARK", p))
        .transpose()?
        .unwrap_or(0);
    let key = if fwmark != 0 {
        ServiceKey::Fwmark {
            mark: fwmark,
            family,
        }
    } else {
        let proto = nla::u16_(
            "IPVS_SVC_ATTR_PROTOCOL",
            nla::required(get(IPVS_SVC_ATTR_PROTOCOL), "IPVS_SVC_ATTR_PROTOCOL")?,
        )?;
        let protocol = Protocol::from_number(proto).ok_or(DecodeError::Value {
            attr: "IPVS_SVC_ATTR_PROTOCOL",
            value: u64::from(proto),
        })?;
        let address = decode_addr(
            "IPVS_SVC_ATTR_ADDR",
            family,
            nla::required(get(IPVS_SVC_ATTR_ADDR), "IPVS_SVC_ATTR_ADDR")?,
        )?;
        let port = nla::be16(
            "IPVS_SVC_ATTR_PORT",
            nla::required(get(IPVS_SVC_ATTR_PORT), "IPVS_SVC_ATTR_PORT")?,
        )?;
        ServiceKey::Address {
            protocol,
            address,
            port,
        }
    };

    let scheduler = nla::string(
        "IPVS_SVC_ATTR_SCHED_NAME",
        nla::required(get(IPVS_SVC_ATTR_SCHED_NAME), "IPVS_SVC_ATTR_SCHED_NAME")?,
    )?;
    let pe_name = get(IPVS_SVC_ATTR_PE_NAME)
        .map(|p| nla::string("IPVS_SVC_ATTR_PE_NAME", p))
        .transpose()?;
    let flags_raw = nla::fixed::<8>(
        "IPVS_SVC_ATTR_FLAGS",
        nla::required(get(IPVS_SVC_ATTR_FLAGS), "IPVS_SVC_ATTR_FLAGS")?,
    )?;
    let flags = flags_from_bits(u32::from_ne_bytes([
        flags_raw[0],
        flags_raw[1],
        flags_raw[2],
        flags_raw[3],
    ]));
    let timeout = nla::u32_(
        "IPVS_SVC_ATTR_TIMEOUT",
        nla::required(get(IPVS_SVC_ATTR_TIMEOUT), "IPVS_SVC_ATTR_TIMEOUT")?,
    )?;
    let netmask_raw = nla::fixed::<4>(
        "IPVS_SVC_ATTR_NETMASK",
        nla::required(get(IPVS_SVC_ATTR_NETMASK), "IPVS_SVC_ATTR_NETMASK")?,
    )?;
    let netmask = match family {
        Family::Inet => u32::from_be_bytes(netmask_raw),
        Family::Inet6 => u32::from_ne_bytes(netmask_raw),
    };
    let stats = decode_stats_pair(
        get(IPVS_SVC_ATTR_STATS64),
        get(IPVS_SVC_ATTR_STATS),
        "IPVS_SVC_ATTR_STATS64",
        "IPVS_SVC_ATTR_STATS",
    )?;

    Ok((
        Service {
            key,
            scheduler,
            flags,
            timeout,
            netmask,
            pe_name,
        },
        stats,
    ))
}

/// Decodes one message of a `GET_DEST` dump. `service_family` is used when the
/// kernel (< 3.18) does not send `IPVS_DEST_ATTR_ADDR_FAMILY`.
pub(crate) fn decode_dest_msg(
    payload: &[u8],
    service_family: Family,
) -> Result<(Destination, DestinationStatus), DecodeError> {
    let top = top_level(payload)?;
    let nest = nla::required(top[usize::from(IPVS_CMD_ATTR_DEST)], "IPVS_CMD_ATTR_DEST")?;
    decode_dest(nest, service_family)
}

fn decode_dest(
    nest: &[u8],
    service_family: Family,
) -> Result<(Destination, DestinationStatus), DecodeError> {
    let a = nla::table::<DEST_N>(nest, "IPVS_CMD_ATTR_DEST")?;
    let get = |ty: u16| a[usize::from(ty)];
    let u32_req = |ty: u16, name: &'static str| -> Result<u32, DecodeError> {
        nla::u32_(name, nla::required(get(ty), name)?)
    };
    let u32_opt = |ty: u16, name: &'static str| -> Result<u32, DecodeError> {
        get(ty)
            .map(|p| nla::u32_(name, p))
            .transpose()
            .map(Option::unwrap_or_default)
    };

    let family = match get(IPVS_DEST_ATTR_ADDR_FAMILY) {
        Some(p) => {
            let af = nla::u16_("IPVS_DEST_ATTR_ADDR_FAMILY", p)?;
            Family::from_number(af).ok_or(DecodeError::Value {
                attr: "IPVS_DEST_ATTR_ADDR_FAMILY",
                value: u64::from(af),
            })?
        }
        None => service_family,
    };
    let address = decode_addr(
        "IPVS_DEST_ATTR_ADDR",
        family,
        nla::required(get(IPVS_DEST_ATTR_ADDR), "IPVS_DEST_ATTR_ADDR")?,
    )?;
    let port = nla::be16(
        "IPVS_DEST_ATTR_PORT",
        nla::required(get(IPVS_DEST_ATTR_PORT), "IPVS_DEST_ATTR_PORT")?,
    )?;
    let forwarding = forwarding_from_bits(u32_req(
        IPVS_DEST_ATTR_FWD_METHOD,
        "IPVS_DEST_ATTR_FWD_METHOD",
    )?)?;
    let weight = u32_req(IPVS_DEST_ATTR_WEIGHT, "IPVS_DEST_ATTR_WEIGHT")?;
    let upper_threshold = u32_req(IPVS_DEST_ATTR_U_THRESH, "IPVS_DEST_ATTR_U_THRESH")?;
    let lower_threshold = u32_req(IPVS_DEST_ATTR_L_THRESH, "IPVS_DEST_ATTR_L_THRESH")?;

    let tun_type = get(IPVS_DEST_ATTR_TUN_TYPE)
        .map(|p| nla::u8_("IPVS_DEST_ATTR_TUN_TYPE", p))
        .transpose()?
        .unwrap_or(IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
    let tun_port = get(IPVS_DEST_ATTR_TUN_PORT)
        .map(|p| nla::be16("IPVS_DEST_ATTR_TUN_PORT", p))
        .transpose()?
        .unwrap_or(0);
    let tun_flags = get(IPVS_DEST_ATTR_TUN_FLAGS)
        .map(|p| nla::u16_("IPVS_DEST_ATTR_TUN_FLAGS", p))
        .transpose()?
        .unwrap_or(IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
    let tunnel = if tun_type == IP_VS_CONN_F_TUNNEL_TYPE_IPIP
        && tun_port == 0
        && tun_flags == IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM
    {
        None
    } else {
        let kind = match tun_type {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            other => {
                return Err(DecodeError::Value {
                    attr: "IPVS_DEST_ATTR_TUN_TYPE",
                    value: u64::from(other),
                })
            }
        };
        Some(Tunnel {
            kind,
            port: tun_port,
            csum: tun_flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM != 0,
            remcsum: tun_flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM != 0,
        })
    };

    let status = DestinationStatus {
        active_conns: u32_opt(IPVS_DEST_ATTR_ACTIVE_CONNS, "IPVS_DEST_ATTR_ACTIVE_CONNS")?,
        inactive_conns: u32_opt(IPVS_DEST_ATTR_INACT_CONNS, "IPVS_DEST_ATTR_INACT_CONNS")?,
        persistent_conns: u32_opt(IPVS_DEST_ATTR_PERSIST_CONNS, "IPVS_DEST_ATTR_PERSIST_CONNS")?,
        stats: decode_stats_pair(
            get(IPVS_DEST_ATTR_STATS64),
            get(IPVS_DEST_ATTR_STATS),
            "IPVS_DEST_ATTR_STATS64",
            "IPVS_DEST_ATTR_STATS",
        )?,
    };

    Ok((
        Destination {
            address,
            port,
            forwarding,
            weight,
            upper_threshold,
            lower_threshold,
            tunnel,
        },
        status,
    ))
}

/// Decodes one message of a `GET_DAEMON` dump (one per running daemon, command `NEW_DAEMON`).
///
/// `ip_vs_genl_fill_daemon`: STATE, MCAST_IFN and SYNC_ID always; since Linux 4.3 also SYNC_MAXLEN,
/// MCAST_PORT and MCAST_TTL, and MCAST_GROUP or MCAST_GROUP6. Absent settings decode as `None`.
pub(crate) fn decode_daemon_msg(payload: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let top = top_level(payload)?;
    let nest = nla::required(
        top[usize::from(IPVS_CMD_ATTR_DAEMON)],
        "IPVS_CMD_ATTR_DAEMON",
    )?;
    let a = nla::table::<DAEMON_N>(nest, "IPVS_CMD_ATTR_DAEMON")?;
    let get = |ty: u16| a[usize::from(ty)];
    let state = nla::u32_(
        "IPVS_DAEMON_ATTR_STATE",
        nla::required(get(IPVS_DAEMON_ATTR_STATE), "IPVS_DAEMON_ATTR_STATE")?,
    )?;
    let state = match state {
        IP_VS_STATE_MASTER => SyncState::Master,
        IP_VS_STATE_BACKUP => SyncState::Backup,
        other => {
            return Err(DecodeError::Value {
                attr: "IPVS_DAEMON_ATTR_STATE",
                value: u64::from(other),
            })
        }
    };
    let interface = nla::string(
        "IPVS_DAEMON_ATTR_MCAST_IFN",
        nla::required(
            get(IPVS_DAEMON_ATTR_MCAST_IFN),
            "IPVS_DAEMON_ATTR_MCAST_IFN",
        )?,
    )?;
    let sync_id = nla::u32_(
        "IPVS_DAEMON_ATTR_SYNC_ID",
        nla::required(get(IPVS_DAEMON_ATTR_SYNC_ID), "IPVS_DAEMON_ATTR_SYNC_ID")?,
    )?;
    let max_packet_len = get(IPVS_DAEMON_ATTR_SYNC_MAXLEN)
        .map(|p| nla::u16_("IPVS_DAEMON_ATTR_SYNC_MAXLEN", p))
        .transpose()?;
    let mcast_group = match (
        get(IPVS_DAEMON_ATTR_MCAST_GROUP),
        get(IPVS_DAEMON_ATTR_MCAST_GROUP6),
    ) {
        (_, Some(p)) => Some(IpAddr::V6(Ipv6Addr::from(nla::fixed::<16>(
            "IPVS_DAEMON_ATTR_MCAST_GROUP6",
            p,
        )?))),
        (Some(p), None) => Some(IpAddr::V4(Ipv4Addr::from(nla::fixed::<4>(
            "IPVS_DAEMON_ATTR_MCAST_GROUP",
            p,
        )?))),
        (None, None) => None,
    };
    let mcast_port = get(IPVS_DAEMON_ATTR_MCAST_PORT)
        .map(|p| nla::u16_("IPVS_DAEMON_ATTR_MCAST_PORT", p))
        .transpose()?;
    let mcast_ttl = get(IPVS_DAEMON_ATTR_MCAST_TTL)
        .map(|p| nla::u8_("IPVS_DAEMON_ATTR_MCAST_TTL", p))
        .transpose()?;
    Ok(SyncDaemon {
        state,
        interface,
        sync_id,
        max_packet_len,
        mcast_group,
        mcast_port,
        mcast_ttl,
    })
}

/// Decodes the reply to `GET_INFO`.
pub(crate) fn decode_info_msg(payload: &[u8]) -> Result<Info, DecodeError> {
    let (_cmd, attrs) = genl_split(payload)?;
    let a = nla::table::<INFO_N>(attrs, "IPVS_CMD_GET_INFO reply")?;
    let get = |ty: u16, name: &'static str| -> Result<u32, DecodeError> {
        nla::u32_(name, nla::required(a[usize::from(ty)], name)?)
    };
    Ok(Info {
        version: get(IPVS_INFO_ATTR_VERSION, "IPVS_INFO_ATTR_VERSION")?,
        conn_tab_size: get(IPVS_INFO_ATTR_CONN_TAB_SIZE, "IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
    })
}

fn decode_addr(attr: &'static str, family: Family, p: &[u8]) -> Result<IpAddr, DecodeError> {
    Ok(match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::from(nla::fixed::<4>(attr, p)?)),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(nla::fixed::<16>(attr, p)?)),
    })
}

/// Prefers the 64-bit set (Linux >= 4.1); falls back to the old one; zero if neither.
fn decode_stats_pair(
    stats64: Option<&[u8]>,
    stats: Option<&[u8]>,
    name64: &'static str,
    name: &'static str,
) -> Result<Stats, DecodeError> {
    match (stats64, stats) {
        (Some(p), _) => decode_stats(p, name64),
        (None, Some(p)) => decode_stats(p, name),
        (None, None) => Ok(Stats::default()),
    }
}

fn decode_stats(nest: &[u8], context: &'static str) -> Result<Stats, DecodeError> {
    let a = nla::table::<STATS_N>(nest, context)?;
    let get = |ty: u16, name: &'static str| -> Result<u64, DecodeError> {
        a[usize::from(ty)]
            .map(|p| nla::counter(name, p))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(Stats {
        conns: get(IPVS_STATS_ATTR_CONNS, "IPVS_STATS_ATTR_CONNS")?,
        inpkts: get(IPVS_STATS_ATTR_INPKTS, "IPVS_STATS_ATTR_INPKTS")?,
        outpkts: get(IPVS_STATS_ATTR_OUTPKTS, "IPVS_STATS_ATTR_OUTPKTS")?,
        inbytes: get(IPVS_STATS_ATTR_INBYTES, "IPVS_STATS_ATTR_INBYTES")?,
        outbytes: get(IPVS_STATS_ATTR_OUTBYTES, "IPVS_STATS_ATTR_OUTBYTES")?,
        cps: get(IPVS_STATS_ATTR_CPS, "IPVS_STATS_ATTR_CPS")?,
        inpps: get(IPVS_STATS_ATTR_INPPS, "IPVS_STATS_ATTR_INPPS")?,
        outpps: get(IPVS_STATS_ATTR_OUTPPS, "IPVS_STATS_ATTR_OUTPPS")?,
        inbps: get(IPVS_STATS_ATTR_INBPS, "IPVS_STATS_ATTR_INBPS")?,
        outbps: get(IPVS_STATS_ATTR_OUTBPS, "IPVS_STATS_ATTR_OUTBPS")?,
    })
}

// ---------------------------------------------------------------------------
// Test support: what the kernel would send back (ip_vs_genl_fill_service /
// ip_vs_genl_fill_dest), so decoders can be checked against encoders.
// ---------------------------------------------------------------------------

#[cfg(test)]
pub(crate) mod kernel_sim {
    use super::*;

    fn put_stats(w: &mut Writer, ty: u16, s: &Stats, wide: bool) {
        w.nested(ty, |w| {
            let vals = [
                (IPVS_STATS_ATTR_CONNS, s.conns),
                (IPVS_STATS_ATTR_INPKTS, s.inpkts),
                (IPVS_STATS_ATTR_OUTPKTS, s.outpkts),
                (IPVS_STATS_ATTR_INBYTES, s.inbytes),
                (IPVS_STATS_ATTR_OUTBYTES, s.outbytes),
                (IPVS_STATS_ATTR_CPS, s.cps),
                (IPVS_STATS_ATTR_INPPS, s.inpps),
                (IPVS_STATS_ATTR_OUTPPS, s.outpps),
                (IPVS_STATS_ATTR_INBPS, s.inbps),
                (IPVS_STATS_ATTR_OUTBPS, s.outbps),
            ];
            for (ty, v) in vals {
                if wide {
                    // nla_put_u64_64bit may add a PAD attribute first: mimic it.
                    w.put(IPVS_STATS_ATTR_PAD, &[]);
                    w.put(ty, &v.to_ne_bytes());
                } else if ty == IPVS_STATS_ATTR_INBYTES || ty == IPVS_STATS_ATTR_OUTBYTES {
                    w.put(ty, &v.to_ne_bytes());
                } else {
                    w.put_u32(ty, v as u32);
                }
            }
        });
    }

    /// A `GET_SERVICE` dump message as the kernel builds it (HASHED set, mask ~0,
    /// both stats sets).
    pub(crate) fn service_msg(svc: &Service, stats: &Stats) -> Vec<u8> {
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION, 0, 0]);
        w.nested(IPVS_CMD_ATTR_SERVICE, |w| {
            put_key(w, &svc.key);
            w.put_str(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler);
            if let Some(pe) = &svc.pe_name {
                w.put_str(IPVS_SVC_ATTR_PE_NAME, pe);
            }
            let mut flags = [0u8; 8];
            let bits = flags_to_bits(svc.flags) | IP_VS_SVC_F_HASHED;
            flags[..4].copy_from_slice(&bits.to_ne_bytes());
            flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
            w.put(IPVS_SVC_ATTR_FLAGS, &flags);
            w.put_u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
            w.put(
                IPVS_SVC_ATTR_NETMASK,
                &netmask_bytes(svc.key.family(), svc.netmask),
            );
            put_stats(w, IPVS_SVC_ATTR_STATS, stats, false);
            put_stats(w, IPVS_SVC_ATTR_STATS64, stats, true);
        });
        w.finish()
    }

    /// A `GET_DEST` dump message as the kernel builds it.
    pub(crate) fn dest_msg(d: &Destination, st: &DestinationStatus) -> Vec<u8> {
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION, 0, 0]);
        w.nested(IPVS_CMD_ATTR_DEST, |w| {
            w.put(IPVS_DEST_ATTR_ADDR, &inet_addr(d.address));
            w.put_be16(IPVS_DEST_ATTR_PORT, d.port);
            w.put_u32(IPVS_DEST_ATTR_FWD_METHOD, forwarding_to_bits(d.forwarding));
            w.put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
            let t = d.tunnel.unwrap_or(Tunnel {
                kind: TunnelType::Ipip,
                port: 0,
                csum: false,
                remcsum: false,
            });
            w.put_u8(IPVS_DEST_ATTR_TUN_TYPE, tunnel_type_to_bits(t.kind));
            w.put_be16(IPVS_DEST_ATTR_TUN_PORT, t.port);
            w.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, tunnel_flags_to_bits(&t));
            w.put_u32(IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
            w.put_u32(IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
            w.put_u32(IPVS_DEST_ATTR_ACTIVE_CONNS, st.active_conns);
            w.put_u32(IPVS_DEST_ATTR_INACT_CONNS, st.inactive_conns);
            w.put_u32(IPVS_DEST_ATTR_PERSIST_CONNS, st.persistent_conns);
            w.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.family().number());
            put_stats(w, IPVS_DEST_ATTR_STATS, &st.stats, false);
            put_stats(w, IPVS_DEST_ATTR_STATS64, &st.stats, true);
        });
        w.finish()
    }

    /// A `GET_DAEMON` dump message as Linux >= 4.3 builds it: every setting, the kernel's defaults filled
    /// in (`start_sync_thread`), the nest without `NLA_F_NESTED` (`nla_nest_start_noflag`).
    pub(crate) fn daemon_msg(d: &SyncDaemon, default_maxlen: u16) -> Vec<u8> {
        let mut inner = Writer::default();
        inner.put_u32(IPVS_DAEMON_ATTR_STATE, d.state.number());
        inner.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, &d.interface);
        inner.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
        inner.put_u16(
            IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            d.max_packet_len.unwrap_or(default_maxlen),
        );
        inner.put_u16(
            IPVS_DAEMON_ATTR_MCAST_PORT,
            d.mcast_port.unwrap_or(SyncDaemon::DEFAULT_PORT),
        );
        inner.put_u8(
            IPVS_DAEMON_ATTR_MCAST_TTL,
            d.mcast_ttl.unwrap_or(SyncDaemon::DEFAULT_TTL),
        );
        match d
            .mcast_group
            .unwrap_or(IpAddr::V4(SyncDaemon::DEFAULT_GROUP))
        {
            IpAddr::V4(g) => inner.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets()),
            IpAddr::V6(g) => inner.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets()),
        }
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_DAEMON, IPVS_GENL_VERSION, 0, 0]);
        w.put(IPVS_CMD_ATTR_DAEMON, &inner.finish());
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::kernel_sim;
    use super::*;
    use proptest::prelude::*;

    fn ne16(v: u16) -> [u8; 2] {
        v.to_ne_bytes()
    }
    fn ne32(v: u32) -> [u8; 4] {
        v.to_ne_bytes()
    }

    fn tcp_svc() -> Service {
        let mut s = Service::new(
            ServiceKey::Address {
                protocol: Protocol::Tcp,
                address: "10.0.0.1".parse().unwrap(),
                port: 80,
            },
            "wrr",
        );
        s.flags.persistent = true;
        s.timeout = 300;
        s.netmask = 0xffff_ff00;
        s
    }

    /// NEW_SERVICE for `ipvsadm -A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0`,
    /// written out by hand from ip_vs.h.
    #[test]
    fn service_bytes_match_ip_vs_h() {
        let bytes = encode_service(IPVS_CMD_NEW_SERVICE, &tcp_svc()).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            // struct genlmsghdr: cmd = IPVS_CMD_NEW_SERVICE (1), version 1, reserved.
            &[1u8, 1, 0, 0][..],
            // IPVS_CMD_ATTR_SERVICE (1) | NLA_F_NESTED: 4 + 8+8+20+8+8+12+8+8 bytes.
            &ne16(84), &ne16(1 | 0x8000),
            //   IPVS_SVC_ATTR_AF (1): u16 AF_INET (2), padded.
            &ne16(6), &ne16(1), &ne16(2), &[0, 0],
            //   IPVS_SVC_ATTR_PROTOCOL (2): u16 IPPROTO_TCP (6), padded.
            &ne16(6), &ne16(2), &ne16(6), &[0, 0],
            //   IPVS_SVC_ATTR_ADDR (3): union nf_inet_addr, v4 in the first 4 bytes.
            &ne16(20), &ne16(3), &[10, 0, 0, 1], &[0; 12],
            //   IPVS_SVC_ATTR_PORT (4): __be16 80, padded.
            &ne16(6), &ne16(4), &[0, 80], &[0, 0],
            //   IPVS_SVC_ATTR_SCHED_NAME (6): "wrr\0".
            &ne16(8), &ne16(6), b"wrr\0",
            //   IPVS_SVC_ATTR_FLAGS (7): struct ip_vs_flags { flags = PERSISTENT, mask }.
            &ne16(12), &ne16(7), &ne32(0x1), &ne32(0x3d),
            //   IPVS_SVC_ATTR_TIMEOUT (8): u32 300.
            &ne16(8), &ne16(8), &ne32(300),
            //   IPVS_SVC_ATTR_NETMASK (9): __be32 255.255.255.0.
            &ne16(8), &ne16(9), &[255, 255, 255, 0],
        ].concat();
        assert_eq!(bytes, expected);
    }

    /// NEW_DEST for `ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g -w 5`.
    #[test]
    fn dest_bytes_match_ip_vs_h() {
        let key = tcp_svc().key;
        let dest = Destination::new("10.0.0.2".parse().unwrap(), 8080, Forwarding::Route, 5);
        let bytes = encode_dest(IPVS_CMD_NEW_DEST, &key, &dest).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[5u8, 1, 0, 0][..],
            // IPVS_CMD_ATTR_SERVICE, identification only: 4 + 8+8+20+8 bytes.
            &ne16(48), &ne16(1 | 0x8000),
            &ne16(6), &ne16(1), &ne16(2), &[0, 0],
            &ne16(6), &ne16(2), &ne16(6), &[0, 0],
            &ne16(20), &ne16(3), &[10, 0, 0, 1], &[0; 12],
            &ne16(6), &ne16(4), &[0, 80], &[0, 0],
            // IPVS_CMD_ATTR_DEST (2) | NLA_F_NESTED: 4 + 20+8+8+8+8+8+8 bytes.
            &ne16(72), &ne16(2 | 0x8000),
            //   IPVS_DEST_ATTR_ADDR (1).
            &ne16(20), &ne16(1), &[10, 0, 0, 2], &[0; 12],
            //   IPVS_DEST_ATTR_PORT (2): __be16 8080 = 0x1f90.
            &ne16(6), &ne16(2), &[0x1f, 0x90], &[0, 0],
            //   IPVS_DEST_ATTR_ADDR_FAMILY (11): AF_INET.
            &ne16(6), &ne16(11), &ne16(2), &[0, 0],
            //   IPVS_DEST_ATTR_FWD_METHOD (3): IP_VS_CONN_F_DROUTE (3).
            &ne16(8), &ne16(3), &ne32(3),
            //   IPVS_DEST_ATTR_WEIGHT (4), U_THRESH (5), L_THRESH (6).
            &ne16(8), &ne16(4), &ne32(5),
            &ne16(8), &ne16(5), &ne32(0),
            &ne16(8), &ne16(6), &ne32(0),
        ].concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn ipv6_and_fwmark_encoding() {
        let mut svc = Service::new(
            ServiceKey::Address {
                protocol: Protocol::Udp,
                address: "2001:db8::1".parse().unwrap(),
                port: 53,
            },
            "rr",
        );
        svc.netmask = 64;
        let bytes = encode_service(IPVS_CMD_SET_SERVICE, &svc).unwrap();
        assert_eq!(bytes[0], IPVS_CMD_SET_SERVICE);
        // The v6 netmask is a host-order prefix length: the last attribute.
        assert_eq!(&bytes[bytes.len() - 4..], &ne32(64));
        let addr_pos = bytes
            .windows(16)
            .position(|w| w == Ipv6Addr::from(svc_addr6()).octets());
        assert!(addr_pos.is_some());

        let fw = ServiceKey::Fwmark {
            mark: 7,
            family: Family::Inet,
        };
        let bytes = encode_service_key(IPVS_CMD_DEL_SERVICE, &fw).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[3u8, 1, 0, 0][..],
            &ne16(20), &ne16(1 | 0x8000),
            &ne16(6), &ne16(1), &ne16(2), &[0, 0],
            &ne16(8), &ne16(5), &ne32(7),
        ].concat();
        assert_eq!(bytes, expected);
        assert_eq!(encode_bare(IPVS_CMD_FLUSH), vec![17, 1, 0, 0]);
    }

    fn svc_addr6() -> [u8; 16] {
        "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn invalid_requests_name_the_field() {
        let mut svc = tcp_svc();
        svc.scheduler = "a-scheduler-name-too-long".into();
        assert!(matches!(
            encode_service(IPVS_CMD_NEW_SERVICE, &svc),
            Err(Error::Invalid {
                field: "scheduler",
                ..
            })
        ));
        svc.scheduler = String::new();
        assert!(matches!(
            encode_service(IPVS_CMD_NEW_SERVICE, &svc),
            Err(Error::Invalid {
                field: "scheduler",
                ..
            })
        ));
        let v6 = Service::new(
            ServiceKey::Fwmark {
                mark: 1,
                family: Family::Inet6,
            },
            "rr",
        );
        let bad = Service { netmask: 0, ..v6 };
        assert!(matches!(
            encode_service(IPVS_CMD_NEW_SERVICE, &bad),
            Err(Error::Invalid {
                field: "netmask",
                ..
            })
        ));
        let zero = ServiceKey::Fwmark {
            mark: 0,
            family: Family::Inet,
        };
        assert!(matches!(
            encode_service_key(IPVS_CMD_DEL_SERVICE, &zero),
            Err(Error::Invalid {
                field: "fwmark",
                ..
            })
        ));
        let heavy = Destination::new("10.0.0.2".parse().unwrap(), 80, Forwarding::Masq, u32::MAX);
        assert!(matches!(
            encode_dest(IPVS_CMD_NEW_DEST, &tcp_svc().key, &heavy),
            Err(Error::Invalid {
                field: "weight",
                ..
            })
        ));
    }

    #[test]
    fn decode_kernel_service_drops_hashed_and_prefers_stats64() {
        let svc = tcp_svc();
        let stats = Stats {
            conns: 1,
            inbytes: 1 << 40,
            outbps: 9,
            ..Stats::default()
        };
        let msg = kernel_sim::service_msg(&svc, &stats);
        assert_eq!(decode_service_msg(&msg).unwrap(), (svc, stats));
    }

    #[test]
    fn decode_info() {
        let mut w = Writer::with_header(&[IPVS_CMD_SET_INFO, 1, 0, 0]);
        w.put_u32(IPVS_INFO_ATTR_VERSION, 0x010201);
        w.put_u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
        assert_eq!(
            decode_info_msg(&w.finish()).unwrap(),
            Info {
                version: 0x010201,
                conn_tab_size: 4096
            }
        );
        let mut w = Writer::with_header(&[IPVS_CMD_SET_INFO, 1, 0, 0]);
        w.put_u32(IPVS_INFO_ATTR_VERSION, 0x010201);
        assert_eq!(
            decode_info_msg(&w.finish()),
            Err(DecodeError::Missing("IPVS_INFO_ATTR_CONN_TAB_SIZE"))
        );
    }

    #[test]
    fn old_kernel_replies_decode() {
        // No STATS64, no ADDR_FAMILY, no TUN_* (Linux < 3.18): 32-bit stats, and the
        // destination takes the service's family.
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_DEST, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_DEST, |w| {
            w.put(
                IPVS_DEST_ATTR_ADDR,
                &inet_addr("2001:db8::5".parse().unwrap()),
            );
            w.put_be16(IPVS_DEST_ATTR_PORT, 443);
            w.put_u32(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
            w.put_u32(IPVS_DEST_ATTR_WEIGHT, 2);
            w.put_u32(IPVS_DEST_ATTR_U_THRESH, 10);
            w.put_u32(IPVS_DEST_ATTR_L_THRESH, 5);
            w.put_u32(IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
            w.nested(IPVS_DEST_ATTR_STATS, |w| {
                w.put_u32(IPVS_STATS_ATTR_CONNS, 42);
                w.put(IPVS_STATS_ATTR_INBYTES, &7u64.to_ne_bytes());
            });
        });
        let (d, st) = decode_dest_msg(&w.finish(), Family::Inet6).unwrap();
        assert_eq!(d.address, "2001:db8::5".parse::<IpAddr>().unwrap());
        assert_eq!(
            (d.port, d.weight, d.upper_threshold, d.lower_threshold),
            (443, 2, 10, 5)
        );
        assert_eq!(d.tunnel, None);
        assert_eq!(st.active_conns, 3);
        assert_eq!((st.stats.conns, st.stats.inbytes), (42, 7));
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        let svc = tcp_svc();
        let mut msg = kernel_sim::service_msg(&svc, &Stats::default());
        // Append an attribute from the future at the top level...
        let mut extra = Writer::default();
        extra.put_u32(99, 1);
        msg.extend_from_slice(&extra.finish());
        assert_eq!(decode_service_msg(&msg).unwrap().0, svc);
        // ...and inside the service nest (type 200, beyond IPVS_SVC_ATTR_MAX).
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_SERVICE, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_SERVICE, |w| {
            w.put_u32(200, 5);
            put_key(w, &svc.key);
            w.put_str(IPVS_SVC_ATTR_SCHED_NAME, "wrr");
            w.put(IPVS_SVC_ATTR_FLAGS, &[ne32(1), ne32(u32::MAX)].concat());
            w.put_u32(IPVS_SVC_ATTR_TIMEOUT, 300);
            w.put(IPVS_SVC_ATTR_NETMASK, &[255, 255, 255, 0]);
        });
        let (decoded, stats) = decode_service_msg(&w.finish()).unwrap();
        assert_eq!(stats, Stats::default());
        assert_eq!(decoded, svc);
    }

    #[test]
    fn errors_name_the_attribute() {
        // Missing scheduler.
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_SERVICE, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_SERVICE, |w| put_key(w, &tcp_svc().key));
        assert_eq!(
            decode_service_msg(&w.finish()),
            Err(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))
        );
        // Unknown protocol.
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_SERVICE, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_SERVICE, |w| {
            w.put_u16(IPVS_SVC_ATTR_AF, 2);
            w.put_u16(IPVS_SVC_ATTR_PROTOCOL, 41);
        });
        assert_eq!(
            decode_service_msg(&w.finish()),
            Err(DecodeError::Value {
                attr: "IPVS_SVC_ATTR_PROTOCOL",
                value: 41
            })
        );
        // Short address.
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_DEST, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_DEST, |w| {
            w.put(IPVS_DEST_ATTR_ADDR, &[10, 0]);
        });
        assert_eq!(
            decode_dest_msg(&w.finish(), Family::Inet),
            Err(DecodeError::Size {
                attr: "IPVS_DEST_ATTR_ADDR",
                expected: 4,
                got: 2
            })
        );
        // Bad forwarding method.
        let d = Destination::new("10.0.0.2".parse().unwrap(), 80, Forwarding::Masq, 1);
        let mut msg = kernel_sim::dest_msg(&d, &DestinationStatus::default());
        let pos = find_attr(&msg, IPVS_DEST_ATTR_FWD_METHOD);
        msg[pos + 4..pos + 8].copy_from_slice(&ne32(7));
        assert_eq!(
            decode_dest_msg(&msg, Family::Inet),
            Err(DecodeError::Value {
                attr: "IPVS_DEST_ATTR_FWD_METHOD",
                value: 7
            })
        );
        // No nest at all.
        assert_eq!(
            decode_dest_msg(&[IPVS_CMD_NEW_DEST, 1, 0, 0], Family::Inet),
            Err(DecodeError::Missing("IPVS_CMD_ATTR_DEST"))
        );
        assert!(matches!(
            decode_info_msg(&[15, 1]),
            Err(DecodeError::Truncated {
                what: "generic netlink header",
                ..
            })
        ));
    }

    fn daemon(state: SyncState) -> SyncDaemon {
        SyncDaemon::new(state, "eth1", 51)
    }

    #[test]
    fn new_daemon_carries_what_ipvsadm_sends() {
        // The defaults: state, interface and sync id only, in the daemon nest.
        let bytes = encode_new_daemon(&daemon(SyncState::Master)).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[IPVS_CMD_NEW_DAEMON, 1, 0, 0][..],
            &ne16(4 + 8 + 12 + 8), &ne16(IPVS_CMD_ATTR_DAEMON | nla::F_NESTED),
                &ne16(8), &ne16(IPVS_DAEMON_ATTR_STATE), &ne32(1),
                &ne16(9), &ne16(IPVS_DAEMON_ATTR_MCAST_IFN), b"eth1\0", &[0, 0, 0],
                &ne16(8), &ne16(IPVS_DAEMON_ATTR_SYNC_ID), &ne32(51),
        ].concat();
        assert_eq!(bytes, expected);
        // Every setting: the IPv4 group as it travels, the port in host order, the TTL a byte.
        let tuned = SyncDaemon {
            max_packet_len: Some(1400),
            mcast_group: Some("239.1.2.3".parse().unwrap()),
            mcast_port: Some(9000),
            mcast_ttl: Some(3),
            ..daemon(SyncState::Backup)
        };
        let bytes = encode_new_daemon(&tuned).unwrap();
        let top = top_level(&bytes).unwrap();
        let a =
            nla::table::<DAEMON_N>(top[usize::from(IPVS_CMD_ATTR_DAEMON)].unwrap(), "t").unwrap();
        let at = |ty: u16| a[usize::from(ty)].unwrap().to_vec();
        assert_eq!(at(IPVS_DAEMON_ATTR_STATE), ne32(2));
        assert_eq!(at(IPVS_DAEMON_ATTR_SYNC_MAXLEN), ne16(1400));
        assert_eq!(at(IPVS_DAEMON_ATTR_MCAST_GROUP), [239, 1, 2, 3]);
        assert_eq!(at(IPVS_DAEMON_ATTR_MCAST_PORT), ne16(9000));
        assert_eq!(at(IPVS_DAEMON_ATTR_MCAST_TTL), [3]);
        assert!(a[usize::from(IPVS_DAEMON_ATTR_MCAST_GROUP6)].is_none());
        // The request decodes as the daemon it asks for (same layout as the kernel's reply).
        assert_eq!(decode_daemon_msg(&bytes).unwrap(), tuned);
        let v6 = SyncDaemon {
            mcast_group: Some("ff02::81".parse().unwrap()),
            ..daemon(SyncState::Backup)
        };
        assert_eq!(
            decode_daemon_msg(&encode_new_daemon(&v6).unwrap()).unwrap(),
            v6
        );
    }

    #[test]
    fn del_daemon_names_only_the_state() {
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[IPVS_CMD_DEL_DAEMON, 1, 0, 0][..],
            &ne16(12), &ne16(IPVS_CMD_ATTR_DAEMON | nla::F_NESTED),
                &ne16(8), &ne16(IPVS_DAEMON_ATTR_STATE), &ne32(2),
        ].concat();
        assert_eq!(encode_del_daemon(SyncState::Backup), expected);
    }

    #[test]
    fn bad_daemons_are_refused_before_sending_naming_the_field() {
        let field = |d: SyncDaemon| match encode_new_daemon(&d) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{d} accepted: {other:?}"),
        };
        let d = daemon(SyncState::Master);
        assert_eq!(
            field(SyncDaemon {
                interface: String::new(),
                ..d.clone()
            }),
            "interface"
        );
        assert_eq!(
            field(SyncDaemon {
                interface: "a-very-long-name0".into(),
                ..d.clone()
            }),
            "interface"
        );
        assert_eq!(
            field(SyncDaemon {
                sync_id: 256,
                ..d.clone()
            }),
            "sync_id"
        );
        assert_eq!(
            field(SyncDaemon {
                mcast_group: Some("10.0.0.1".parse().unwrap()),
                ..d.clone()
            }),
            "mcast_group"
        );
        assert_eq!(
            field(SyncDaemon {
                mcast_port: Some(0),
                ..d.clone()
            }),
            "mcast_port"
        );
        assert_eq!(
            field(SyncDaemon {
                mcast_ttl: Some(0),
                ..d.clone()
            }),
            "mcast_ttl"
        );
        assert_eq!(
            field(SyncDaemon {
                max_packet_len: Some(0),
                ..d
            }),
            "max_packet_len"
        );
    }

    #[test]
    fn daemon_replies_decode_from_old_and_new_kernels() {
        // Linux >= 4.3: every setting, defaults filled in by the kernel.
        let d = daemon(SyncState::Backup);
        let got = decode_daemon_msg(&kernel_sim::daemon_msg(&d, 1472)).unwrap();
        assert_eq!(got.max_packet_len, Some(1472));
        assert_eq!(got.mcast_port, Some(8848));
        assert_eq!(got.mcast_ttl, Some(1));
        assert_eq!(got.mcast_group, Some("224.0.0.81".parse().unwrap()));
        assert!(d.satisfied_by(&got));
        // Before 4.3: state, interface and sync id only.
        let mut w = Writer::with_header(&[IPVS_CMD_NEW_DAEMON, 1, 0, 0]);
        w.nested(IPVS_CMD_ATTR_DAEMON, |w| {
            w.put_u32(IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_MASTER);
            w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "eth0");
            w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 0);
        });
        assert_eq!(
            decode_daemon_msg(&w.finish()).unwrap(),
            SyncDaemon::new(SyncState::Master, "eth0", 0)
        );
    }

    #[test]
    fn malformed_daemon_replies_name_the_attribute() {
        let msg = |f: &dyn Fn(&mut Writer)| {
            let mut w = Writer::with_header(&[IPVS_CMD_NEW_DAEMON, 1, 0, 0]);
            w.nested(IPVS_CMD_ATTR_DAEMON, f);
            w.finish()
        };
        let base = |w: &mut Writer| {
            w.put_u32(IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_BACKUP);
            w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "eth0");
            w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 9);
        };
        assert_eq!(
            decode_daemon_msg(&[IPVS_CMD_NEW_DAEMON, 1, 0, 0]),
            Err(DecodeError::Missing("IPVS_CMD_ATTR_DAEMON"))
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "eth0");
                w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 9);
            })),
            Err(DecodeError::Missing("IPVS_DAEMON_ATTR_STATE"))
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                w.put_u32(IPVS_DAEMON_ATTR_STATE, 3);
                w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "eth0");
                w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 9);
            })),
            Err(DecodeError::Value {
                attr: "IPVS_DAEMON_ATTR_STATE",
                value: 3
            })
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                w.put_u32(IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_MASTER);
                w.put(IPVS_DAEMON_ATTR_MCAST_IFN, b"eth0");
                w.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, 9);
            })),
            Err(DecodeError::String {
                attr: "IPVS_DAEMON_ATTR_MCAST_IFN"
            })
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                w.put_u32(IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_MASTER);
                w.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, "eth0");
            })),
            Err(DecodeError::Missing("IPVS_DAEMON_ATTR_SYNC_ID"))
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                base(w);
                w.put_u8(IPVS_DAEMON_ATTR_SYNC_MAXLEN, 1);
            })),
            Err(DecodeError::Size {
                attr: "IPVS_DAEMON_ATTR_SYNC_MAXLEN",
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                base(w);
                w.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &[0xff, 2]);
            })),
            Err(DecodeError::Size {
                attr: "IPVS_DAEMON_ATTR_MCAST_GROUP6",
                expected: 16,
                got: 2
            })
        );
        assert_eq!(
            decode_daemon_msg(&msg(&|w| {
                base(w);
                w.put(IPVS_DAEMON_ATTR_MCAST_TTL, &[]);
            })),
            Err(DecodeError::Size {
                attr: "IPVS_DAEMON_ATTR_MCAST_TTL",
                expected: 1,
                got: 0
            })
        );
    }

    /// Offset of the first attribute of type `ty` inside the destination nest of a
    /// message built by `kernel_sim::dest_msg`.
    fn find_attr(msg: &[u8], ty: u16) -> usize {
        let nest_start = GENL_HDRLEN + 4;
        let mut pos = nest_start;
        while pos + 4 <= msg.len() {
            let len = usize::from(u16::from_ne_bytes([msg[pos], msg[pos + 1]]));
            let t = u16::from_ne_bytes([msg[pos + 2], msg[pos + 3]]) & 0x3fff;
            if t == ty {
                return pos;
            }
            pos += nla::align(len);
        }
        panic!("attribute {ty} not found");
    }

    // --- property tests -------------------------------------------------------

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    fn arb_family() -> impl Strategy<Value = Family> {
        prop_oneof![Just(Family::Inet), Just(Family::Inet6)]
    }

    fn arb_key() -> impl Strategy<Value = ServiceKey> {
        prop_oneof![
            (
                prop_oneof![
                    Just(Protocol::Tcp),
                    Just(Protocol::Udp),
                    Just(Protocol::Sctp)
                ],
                arb_addr(),
                any::<u16>()
            )
                .prop_map(|(protocol, address, port)| ServiceKey::Address {
                    protocol,
                    address,
                    port
                }),
            (1..=u32::MAX, arb_family())
                .prop_map(|(mark, family)| ServiceKey::Fwmark { mark, family }),
        ]
    }

    fn arb_service() -> impl Strategy<Value = Service> {
        (
            arb_key(),
            "[a-z]{1,15}",
            any::<[bool; 5]>(),
            any::<u32>(),
            any::<u32>(),
            proptest::option::of("[a-z]{1,15}"),
        )
            .prop_map(|(key, scheduler, f, timeout, netmask, pe_name)| {
                let netmask = match key.family() {
                    Family::Inet => netmask,
                    Family::Inet6 => netmask % 128 + 1,
                };
                Service {
                    key,
                    scheduler,
                    flags: ServiceFlags {
                        persistent: f[0],
                        one_packet: f[1],
                        sched_flag_1: f[2],
                        sched_flag_2: f[3],
                        sched_flag_3: f[4],
                    },
                    timeout,
                    netmask,
                    pe_name,
                }
            })
    }

    fn arb_tunnel() -> impl Strategy<Value = Option<Tunnel>> {
        (
            prop_oneof![
                Just(TunnelType::Ipip),
                Just(TunnelType::Gue),
                Just(TunnelType::Gre)
            ],
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(kind, port, csum, remcsum)| {
                let t = Tunnel {
                    kind,
                    port,
                    csum,
                    remcsum,
                };
                // The kernel defaults are `None` by definition.
                (t != Tunnel {
                    kind: TunnelType::Ipip,
                    port: 0,
                    csum: false,
                    remcsum: false,
                })
                .then_some(t)
            })
    }

    fn arb_dest() -> impl Strategy<Value = Destination> {
        (
            arb_addr(),
            any::<u16>(),
            prop_oneof![
                Just(Forwarding::Masq),
                Just(Forwarding::Local),
                Just(Forwarding::Tunnel),
                Just(Forwarding::Route),
                Just(Forwarding::Bypass)
            ],
            0..=i32::MAX as u32,
            any::<u32>(),
            any::<u32>(),
            arb_tunnel(),
        )
            .prop_map(
                |(address, port, forwarding, weight, u, l, tunnel)| Destination {
                    address,
                    port,
                    forwarding,
                    weight,
                    upper_threshold: u,
                    lower_threshold: l,
                    tunnel,
                },
            )
    }

    fn arb_daemon() -> impl Strategy<Value = SyncDaemon> {
        (
            prop_oneof![Just(SyncState::Master), Just(SyncState::Backup)],
            "[a-z][a-z0-9]{0,14}",
            0u32..256,
            proptest::option::of(1u16..),
            proptest::option::of(prop_oneof![
                any::<[u8; 3]>().prop_map(|b| IpAddr::from([239, b[0], b[1], b[2]])),
                any::<[u8; 14]>().prop_map(|b| {
                    let mut a = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    a[2..].copy_from_slice(&b);
                    IpAddr::from(a)
                }),
            ]),
            proptest::option::of(1u16..),
            proptest::option::of(1u8..),
        )
            .prop_map(
                |(
                    state,
                    interface,
                    sync_id,
                    max_packet_len,
                    mcast_group,
                    mcast_port,
                    mcast_ttl,
                )| {
                    SyncDaemon {
                        state,
                        interface,
                        sync_id,
                        max_packet_len,
                        mcast_group,
                        mcast_port,
                        mcast_ttl,
                    }
                },
            )
    }

    fn arb_stats() -> impl Strategy<Value = Stats> {
        any::<[u64; 10]>().prop_map(|v| Stats {
            conns: v[0],
            inpkts: v[1],
            outpkts: v[2],
            inbytes: v[3],
            outbytes: v[4],
            cps: v[5],
            inpps: v[6],
            outpps: v[7],
            inbps: v[8],
            outbps: v[9],
        })
    }

    proptest! {
        /// What we send for NEW_SERVICE decodes back to the same service (the
        /// request and the kernel's reply share the attribute layout).
        #[test]
        fn service_request_round_trip(svc in arb_service()) {
            let bytes = encode_service(IPVS_CMD_NEW_SERVICE, &svc).unwrap();
            let (back, stats) = decode_service_msg(&bytes).unwrap();
            prop_assert_eq!(back, svc);
            prop_assert_eq!(stats, Stats::default());
        }

        #[test]
        fn service_reply_round_trip(svc in arb_service(), stats in arb_stats()) {
            let msg = kernel_sim::service_msg(&svc, &stats);
            prop_assert_eq!(decode_service_msg(&msg).unwrap(), (svc, stats));
        }

        #[test]
        fn dest_request_round_trip(key in arb_key(), d in arb_dest()) {
            let bytes = encode_dest(IPVS_CMD_NEW_DEST, &key, &d).unwrap();
            let (back, status) = decode_dest_msg(&bytes, key.family()).unwrap();
            prop_assert_eq!(back, d);
            prop_assert_eq!(status, DestinationStatus::default());
            // The service nest of the same request decodes as the key too.
            let top = top_level(&bytes).unwrap();
            let a = nla::table::<SVC_N>(top[usize::from(IPVS_CMD_ATTR_SERVICE)].unwrap(), "t").unwrap();
            prop_assert!(a[usize::from(IPVS_SVC_ATTR_AF)].is_some());
        }

        #[test]
        fn dest_reply_round_trip(
            d in arb_dest(),
            conns in any::<[u32; 3]>(),
            stats in arb_stats(),
            fam in arb_family(),
        ) {
            let st = DestinationStatus {
                active_conns: conns[0],
                inactive_conns: conns[1],
                persistent_conns: conns[2],
                stats,
            };
            let msg = kernel_sim::dest_msg(&d, &st);
            prop_assert_eq!(decode_dest_msg(&msg, fam).unwrap(), (d, st));
        }

        #[test]
        fn del_dest_carries_identity(key in arb_key(), addr in arb_addr(), port in any::<u16>()) {
            let bytes = encode_dest_key(IPVS_CMD_DEL_DEST, &key, addr, port).unwrap();
            let top = top_level(&bytes).unwrap();
            let a = nla::table::<DEST_N>(top[usize::from(IPVS_CMD_ATTR_DEST)].unwrap(), "t").unwrap();
            prop_assert_eq!(
                decode_addr("a", Family::of(addr), a[usize::from(IPVS_DEST_ATTR_ADDR)].unwrap()).unwrap(),
                addr
            );
            prop_assert_eq!(nla::be16("p", a[usize::from(IPVS_DEST_ATTR_PORT)].unwrap()).unwrap(), port);
            prop_assert!(a[usize::from(IPVS_DEST_ATTR_WEIGHT)].is_none());
        }

        /// Every prefix of a valid message, and every single-byte corruption of it,
        /// decodes to a value or an error: never a panic.
        #[test]
        fn truncated_or_corrupted_replies_never_panic(
            svc in arb_service(),
            d in arb_dest(),
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            for msg in [kernel_sim::service_msg(&svc, &Stats::default()),
                        kernel_sim::dest_msg(&d, &DestinationStatus::default())] {
                for cut in 0..msg.len() {
                    let _ = decode_service_msg(&msg[..cut]);
                    let _ = decode_dest_msg(&msg[..cut], Family::Inet);
                    let _ = decode_info_msg(&msg[..cut]);
                }
                let mut bad = msg.clone();
                let i = pos.index(bad.len());
                bad[i] = byte;
                let _ = decode_service_msg(&bad);
                let _ = decode_dest_msg(&bad, Family::Inet6);
            }
        }

        /// Every daemon director may ask for decodes back from the kernel's reply to it; every prefix and
        /// every single-byte corruption of that reply decodes or fails, never panics.
        #[test]
        fn daemon_replies_round_trip_and_never_panic(
            d in arb_daemon(),
            maxlen in 1u16..,
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let msg = kernel_sim::daemon_msg(&d, maxlen);
            let got = decode_daemon_msg(&msg).unwrap();
            prop_assert!(d.satisfied_by(&got), "{} reported as {}", d, got);
            prop_assert_eq!(decode_daemon_msg(&encode_new_daemon(&d).unwrap()).unwrap(), d);
            for cut in 0..msg.len() {
                prop_assert!(decode_daemon_msg(&msg[..cut]).is_err(), "cut at {} decoded", cut);
            }
            let mut bad = msg.clone();
            let i = pos.index(bad.len());
            bad[i] = byte;
            let _ = decode_daemon_msg(&bad);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_daemon_msg(&bytes);
            let _ = decode_service_msg(&bytes);
            let _ = decode_dest_msg(&bytes, Family::Inet);
            let _ = decode_info_msg(&bytes);
        }
    }

    /// Truncating a message anywhere inside its service nest is an error, not a
    /// silently shorter service.
    #[test]
    fn truncation_inside_the_nest_is_an_error() {
        let msg = kernel_sim::service_msg(&tcp_svc(), &Stats::default());
        for cut in GENL_HDRLEN..msg.len() {
            assert!(
                decode_service_msg(&msg[..cut]).is_err(),
                "cut at {cut} decoded"
            );
        }
    }
}

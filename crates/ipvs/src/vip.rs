//! `VipBinder`: binds virtual IPs to interfaces over rtnetlink, marked so that
//! director recognises (and only ever removes) its own.
//!
//! # How director marks its addresses
//!
//! A VIP is always a host address (/32 or /128). Two marks, either of which makes
//! a host address "director's":
//!
//! 1. `IFA_PROTO` = [`VIP_ADDR_PROTO`] (the address "protocol", Linux >= 5.18,
//!    so Debian 12's 6.1 has it). Works for IPv4 and IPv6 alike; shown by
//!    iproute2 >= 6.2 as `proto 68`. Older kernels silently ignore the attribute.
//! 2. For IPv4 only, the label `<interface>:dir` (`eth0:dir`), the classic
//!    keepalived/ifconfig alias style, visible in `ip addr` on any kernel. A label
//!    must start with the interface name and fit in 15 bytes, so on interfaces
//!    whose name is longer than 11 bytes the label is left at its default (the
//!    interface name) and only the protocol mark applies.
//!
//! IPv6 has no labels. On kernels older than 5.18 director therefore cannot tell
//! its IPv6 VIPs from hand-made ones: [`VipBinder::owned`] does not list them and
//! [`VipBinder::remove`] refuses them ([`Error::NotOwned`]). Other marks were
//! considered and rejected: address flags (`IFA_F_NODAD`...) are also set by
//! operators and keepalived, and the cache-info lifetimes are not stable.
//!
//! IPv6 VIPs are added with `IFA_F_NODAD`: after a VRRP failover the address must
//! answer at once, not after a second of duplicate address detection (which would
//! also fail while the old master still holds it). keepalived does the same.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;

use crate::error::{DecodeError, Error};
use crate::nla::{self, Writer};
use crate::transport::{Kind, Transport};
use crate::types::Family;

/// The `IFA_PROTO` value on addresses director adds (`ip -d addr` shows
/// `proto 68` with iproute2 >= 6.2). Values 0-3 are the kernel's own.
pub const VIP_ADDR_PROTO: u8 = 68;

/// The IPv4 label suffix: VIPs on `eth0` are labelled `eth0:dir`.
pub const VIP_LABEL_SUFFIX: &str = ":dir";

// include/uapi/linux/rtnetlink.h
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
// include/uapi/linux/if_link.h
const IFLA_IFNAME: u16 = 3;
const IFLA_N: usize = IFLA_IFNAME as usize + 1;
// include/uapi/linux/if_addr.h
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_FLAGS: u16 = 8;
const IFA_PROTO: u16 = 11;
const IFA_N: usize = IFA_PROTO as usize + 1;
const IFA_F_NODAD: u32 = 0x02;
/// `IFNAMSIZ - 1`.
const IFNAME_MAX: usize = 15;
/// `sizeof(struct ifaddrmsg)`.
const IFADDRMSG_LEN: usize = 8;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;
// errno values (asm-generic/errno-base.h, errno.h).
const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;

/// Adds, removes and lists director's VIPs.
///
/// Blocking, like [`IpvsClient`](crate::IpvsClient); needs `CAP_NET_ADMIN` for
/// changes. The socket belongs to the network namespace of the thread that called
/// [`VipBinder::connect`].
#[derive(Debug)]
pub struct VipBinder {
    transport: Transport,
}

impl VipBinder {
    /// Opens an rtnetlink socket.
    pub fn connect() -> Result<Self, Error> {
        Ok(VipBinder {
            transport: Transport::connect(NlFamily::Route, "connect to rtnetlink")?,
        })
    }

    /// Adds `address` as a host address (/32 or /128) on `interface`, marked as
    /// director's. Returns `true` if added, `false` if the address was already
    /// there (`EEXIST` is success, whoever added it).
    pub fn add(&self, interface: &str, address: IpAddr) -> Result<bool, Error> {
        let index = self.ifindex(interface)?;
        let op = format!("add VIP {address} on {interface}");
        let request = encode_newaddr(index, interface, address);
        tracing::debug!(%op, "rtnetlink");
        let flags = NlmF::CREATE | NlmF::EXCL;
        match self
            .transport
            .exchange(RTM_NEWADDR, Kind::Change, flags, request, &op)
        {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(EEXIST) => Ok(false),
            Err(e) if e.raw_os_error() == Some(ENODEV) => {
                Err(Error::NoSuchInterface(interface.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// Removes `address` from `interface` if director added it. Returns `true` if
    /// removed, `false` if it was not there (`EADDRNOTAVAIL` is success), and
    /// [`Error::NotOwned`] if it is there without director's mark.
    pub fn remove(&self, interface: &str, address: IpAddr) -> Result<bool, Error> {
        let index = self.ifindex(interface)?;
        let Some(entry) = self
            .addresses(index)?
            .into_iter()
            .find(|e| e.address == address && e.prefixlen == host_prefix(address))
        else {
            return Ok(false);
        };
        if !entry.is_owned(interface) {
            return Err(Error::NotOwned {
                interface: interface.to_owned(),
                address,
            });
        }
        let op = format!("remove VIP {address} from {interface}");
        tracing::debug!(%op, "rtnetlink");
        let request = encode_deladdr(index, address, entry.label.as_deref());
        match self
            .transport
            .exchange(RTM_DELADDR, Kind::Change, NlmF::empty(), request, &op)
        {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(EADDRNOTAVAIL) => Ok(false),
            Err(e) if e.raw_os_error() == Some(ENODEV) => {
                Err(Error::NoSuchInterface(interface.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// The VIPs director owns on `interface` (see the module documentation for
    /// what "owns" means), sorted.
    pub fn owned(&self, interface: &str) -> Result<Vec<IpAddr>, Error> {
        let index = self.ifindex(interface)?;
        let mut out: Vec<IpAddr> = self
            .addresses(index)?
            .into_iter()
            .filter(|e| e.is_owned(interface))
            .map(|e| e.address)
            .collect();
        out.sort();
        Ok(out)
    }

    /// The VIPs director owns on every interface, by interface name, sorted: one dump of the links and
    /// one of the addresses. An interface that appears between the two dumps is left for the next call.
    pub fn owned_all(&self) -> Result<BTreeMap<String, Vec<IpAddr>>, Error> {
        let names = self.links()?;
        let mut out: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for entry in self.dump_addresses()? {
            let Some(name) = names.get(&entry.index) else {
                continue;
            };
            if entry.is_owned(name) {
                out.entry(name.clone()).or_default().push(entry.address);
            }
        }
        for addresses in out.values_mut() {
            addresses.sort();
        }
        Ok(out)
    }

    /// `RTM_GETLINK` dump: every interface's index and name.
    fn links(&self) -> Result<BTreeMap<u32, String>, Error> {
        let op = "RTM_GETLINK dump";
        let request = vec![0u8; IFINFOMSG_LEN];
        let mut out = BTreeMap::new();
        for msg in self
            .transport
            .exchange(RTM_GETLINK, Kind::Dump, NlmF::empty(), request, op)?
        {
            let (index, name) = decode_link(&msg).map_err(|source| Error::Decode {
                op: op.to_owned(),
                source,
            })?;
            out.insert(index, name);
        }
        Ok(out)
    }

    /// `RTM_GETLINK` by name.
    fn ifindex(&self, interface: &str) -> Result<u32, Error> {
        if interface.is_empty() || interface.len() > IFNAME_MAX || interface.contains(['\0', '/']) {
            return Err(Error::NoSuchInterface(interface.to_owned()));
        }
        let op = format!("look up interface {interface}");
        let mut w = Writer::with_header(&[0u8; IFINFOMSG_LEN]);
        w.put_str(IFLA_IFNAME, interface);
        let replies =
            match self
                .transport
                .exchange(RTM_GETLINK, Kind::Get, NlmF::empty(), w.finish(), &op)
            {
                Err(e) if e.raw_os_error() == Some(ENODEV) => {
                    return Err(Error::NoSuchInterface(interface.to_owned()))
                }
                other => other?,
            };
        decode_ifindex(&replies[0]).map_err(|source| Error::Decode { op, source })
    }

    /// `RTM_GETADDR` dump, filtered to one interface.
    fn addresses(&self, index: u32) -> Result<Vec<AddrEntry>, Error> {
        let mut all = self.dump_addresses()?;
        all.retain(|e| e.index == index);
        Ok(all)
    }

    /// `RTM_GETADDR` dump: the IPv4 and IPv6 addresses of every interface.
    fn dump_addresses(&self) -> Result<Vec<AddrEntry>, Error> {
        let op = "RTM_GETADDR dump";
        let request = vec![0u8; IFADDRMSG_LEN]; // AF_UNSPEC: IPv4 and IPv6
        let mut out = Vec::new();
        for msg in self
            .transport
            .exchange(RTM_GETADDR, Kind::Dump, NlmF::empty(), request, op)?
        {
            match decode_addr_msg(&msg) {
                Ok(Some(entry)) => out.push(entry),
                Ok(None) => {}
                Err(source) => {
                    return Err(Error::Decode {
                        op: op.to_owned(),
                        source,
                    })
                }
            }
        }
        Ok(out)
    }
}

fn host_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The IPv4 label director gives VIPs on `interface`, if it fits.
fn vip_label(interface: &str) -> Option<String> {
    let label = format!("{interface}{VIP_LABEL_SUFFIX}");
    (label.len() <= IFNAME_MAX).then_some(label)
}

/// `struct ifaddrmsg` for a host address.
fn ifaddrmsg(address: IpAddr, flags: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut h = [0u8; IFADDRMSG_LEN];
    h[0] = Family::of(address).number() as u8; // AF_INET = 2, AF_INET6 = 10
    h[1] = host_prefix(address);
    h[2] = flags;
    h[3] = 0; // RT_SCOPE_UNIVERSE
    h[4..].copy_from_slice(&index.to_ne_bytes());
    h
}

fn addr_bytes(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `RTM_NEWADDR` payload: what `ip addr add <vip>/32 dev eth0 label eth0:dir proto 68`
/// (or `ip -6 addr add <vip>/128 dev eth0 nodad proto 68`) sends.
fn encode_newaddr(index: u32, interface: &str, address: IpAddr) -> Vec<u8> {
    let flags = match address {
        IpAddr::V4(_) => 0,
        IpAddr::V6(_) => IFA_F_NODAD,
    };
    let mut w = Writer::with_header(&ifaddrmsg(address, flags as u8, index));
    let bytes = addr_bytes(address);
    w.put(IFA_LOCAL, &bytes);
    w.put(IFA_ADDRESS, &bytes);
    if address.is_ipv4() {
        if let Some(label) = vip_label(interface) {
            w.put_str(IFA_LABEL, &label);
        }
    }
    if flags != 0 {
        w.put_u32(IFA_FLAGS, flags);
    }
    w.put_u8(IFA_PROTO, VIP_ADDR_PROTO);
    w.finish()
}

/// `RTM_DELADDR` payload. For IPv4 the kernel also matches the label when given,
/// so only the labelled address goes.
fn encode_deladdr(index: u32, address: IpAddr, label: Option<&str>) -> Vec<u8> {
    let mut w = Writer::with_header(&ifaddrmsg(address, 0, index));
    let bytes = addr_bytes(address);
    w.put(IFA_LOCAL, &bytes);
    w.put(IFA_ADDRESS, &bytes);
    if let (IpAddr::V4(_), Some(label)) = (address, label) {
        w.put_str(IFA_LABEL, label);
    }
    w.finish()
}

/// One address of an `RTM_GETADDR` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AddrEntry {
    index: u32,
    prefixlen: u8,
    address: IpAddr,
    label: Option<String>,
    proto: u8,
}

impl AddrEntry {
    fn is_owned(&self, interface: &str) -> bool {
        self.prefixlen == host_prefix(self.address)
            && (self.proto == VIP_ADDR_PROTO
                || (self.address.is_ipv4()
                    && vip_label(interface).is_some_and(|l| self.label.as_deref() == Some(&l))))
    }
}

/// Decodes an `RTM_NEWADDR` message; `None` for families other than IPv4/IPv6.
fn decode_addr_msg(payload: &[u8]) -> Result<Option<AddrEntry>, DecodeError> {
    let header = payload.get(..IFADDRMSG_LEN).ok_or(DecodeError::Truncated {
        what: "struct ifaddrmsg",
        need: IFADDRMSG_LEN,
        have: payload.len(),
    })?;
    let Some(family) = Family::from_number(u16::from(header[0])) else {
        return Ok(None);
    };
    let prefixlen = header[1];
    let index = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let a = nla::table::<IFA_N>(&payload[IFADDRMSG_LEN..], "RTM_NEWADDR")?;
    let get = |ty: u16| a[usize::from(ty)];
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point
    // links and equal to IFA_LOCAL otherwise (IPv6 often sends only IFA_ADDRESS).
    let (name, raw) = match (get(IFA_LOCAL), get(IFA_ADDRESS)) {
        (Some(p), _) => ("IFA_LOCAL", p),
        (None, Some(p)) => ("IFA_ADDRESS", p),
        (None, None) => return Err(DecodeError::Missing("IFA_ADDRESS")),
    };
    let address = match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::from(nla::fixed::<4>(name, raw)?)),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(nla::fixed::<16>(name, raw)?)),
    };
    let label = get(IFA_LABEL)
        .map(|p| nla::string("IFA_LABEL", p))
        .transpose()?;
    let proto = get(IFA_PROTO)
        .map(|p| nla::u8_("IFA_PROTO", p))
        .transpose()?
        .unwrap_or(0);
    Ok(Some(AddrEntry {
        index,
        prefixlen,
        address,
        label,
        proto,
    }))
}

/// The interface index and name from an `RTM_NEWLINK` message of a `RTM_GETLINK` dump.
fn decode_link(payload: &[u8]) -> Result<(u32, String), DecodeError> {
    let index = decode_ifindex(payload)?;
    let a = nla::table::<IFLA_N>(&payload[IFINFOMSG_LEN..], "RTM_NEWLINK")?;
    let name = nla::string(
        "IFLA_IFNAME",
        nla::required(a[usize::from(IFLA_IFNAME)], "IFLA_IFNAME")?,
    )?;
    Ok((index, name))
}

/// The interface index from the `RTM_NEWLINK` message answering `RTM_GETLINK`.
fn decode_ifindex(payload: &[u8]) -> Result<u32, DecodeError> {
    let header = payload.get(..IFINFOMSG_LEN).ok_or(DecodeError::Truncated {
        what: "struct ifinfomsg",
        need: IFINFOMSG_LEN,
        have: payload.len(),
    })?;
    let index = i32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    u32::try_from(index)
        .ok()
        .filter(|&i| i > 0)
        .ok_or(DecodeError::Value {
            attr: "ifinfomsg.ifi_index",
            value: index as u64,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ne16(v: u16) -> [u8; 2] {
        v.to_ne_bytes()
    }

    #[test]
    fn newaddr_v4_bytes() {
        let bytes = encode_newaddr(7, "eth0", "192.0.2.10".parse().unwrap());
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            // struct ifaddrmsg: AF_INET, /32, flags 0, RT_SCOPE_UNIVERSE, ifindex 7.
            &[2u8, 32, 0, 0][..], &7u32.to_ne_bytes(),
            // IFA_LOCAL, IFA_ADDRESS.
            &ne16(8), &ne16(2), &[192, 0, 2, 10],
            &ne16(8), &ne16(1), &[192, 0, 2, 10],
            // IFA_LABEL "eth0:dir\0" (9 bytes, padded to 12).
            &ne16(13), &ne16(3), b"eth0:dir\0", &[0, 0, 0],
            // IFA_PROTO 68, padded.
            &ne16(5), &ne16(11), &[68, 0, 0, 0],
        ].concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn newaddr_v6_bytes() {
        let a: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let bytes = encode_newaddr(3, "eth0", IpAddr::V6(a));
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            // AF_INET6, /128, IFA_F_NODAD.
            &[10u8, 128, 2, 0][..], &3u32.to_ne_bytes(),
            &ne16(20), &ne16(2), &a.octets(),
            &ne16(20), &ne16(1), &a.octets(),
            // IFA_FLAGS u32 IFA_F_NODAD; no label for IPv6.
            &ne16(8), &ne16(8), &2u32.to_ne_bytes(),
            &ne16(5), &ne16(11), &[68, 0, 0, 0],
        ].concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn long_interface_names_get_no_label() {
        assert_eq!(vip_label("eth0").as_deref(), Some("eth0:dir"));
        assert_eq!(vip_label("enp0s31f6ab").as_deref(), Some("enp0s31f6ab:dir"));
        assert_eq!(vip_label("enx00e04c680001"), None);
        let bytes = encode_newaddr(1, "enx00e04c680001", "192.0.2.1".parse().unwrap());
        let a = nla::table::<IFA_N>(&bytes[IFADDRMSG_LEN..], "t").unwrap();
        assert!(a[usize::from(IFA_LABEL)].is_none());
        assert_eq!(a[usize::from(IFA_PROTO)], Some(&[VIP_ADDR_PROTO][..]));
    }

    #[test]
    fn deladdr_carries_the_label_for_v4_only() {
        let v4 = encode_deladdr(2, "192.0.2.1".parse().unwrap(), Some("eth0:dir"));
        let a = nla::table::<IFA_N>(&v4[IFADDRMSG_LEN..], "t").unwrap();
        assert_eq!(a[usize::from(IFA_LABEL)], Some(&b"eth0:dir\0"[..]));
        let v6 = encode_deladdr(2, "2001:db8::1".parse().unwrap(), Some("eth0"));
        let a = nla::table::<IFA_N>(&v6[IFADDRMSG_LEN..], "t").unwrap();
        assert!(a[usize::from(IFA_LABEL)].is_none());
        assert_eq!(&v6[..2], &[10, 128]);
    }

    /// Our RTM_NEWADDR payload has the layout of the kernel's RTM_NEWADDR dump
    /// messages, so it decodes back.
    #[test]
    fn decode_and_ownership() {
        let own4 = decode_addr_msg(&encode_newaddr(4, "eth0", "192.0.2.1".parse().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(own4.index, 4);
        assert_eq!(own4.label.as_deref(), Some("eth0:dir"));
        assert!(own4.is_owned("eth0"));
        let own6 = decode_addr_msg(&encode_newaddr(4, "eth0", "2001:db8::1".parse().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(own6.prefixlen, 128);
        assert!(own6.is_owned("eth0"));

        // Label only (kernel < 5.18 drops IFA_PROTO): still ours for IPv4.
        let label_only = AddrEntry {
            proto: 0,
            ..own4.clone()
        };
        assert!(label_only.is_owned("eth0"));
        // Neither mark: not ours. A /24 with our label: not ours either.
        let plain = AddrEntry {
            proto: 0,
            label: Some("eth0".into()),
            ..own4.clone()
        };
        assert!(!plain.is_owned("eth0"));
        let subnet = AddrEntry {
            prefixlen: 24,
            ..own4.clone()
        };
        assert!(!subnet.is_owned("eth0"));
        // IPv6 without the protocol mark: cannot be ours.
        let v6_plain = AddrEntry { proto: 0, ..own6 };
        assert!(!v6_plain.is_owned("eth0"));
    }

    #[test]
    fn decode_errors() {
        assert!(matches!(
            decode_addr_msg(&[2, 32, 0]),
            Err(DecodeError::Truncated {
                what: "struct ifaddrmsg",
                ..
            })
        ));
        // Family AF_PACKET (17): skipped, not an error.
        assert_eq!(decode_addr_msg(&[17, 0, 0, 0, 1, 0, 0, 0]), Ok(None));
        // IPv4 without any address attribute.
        assert_eq!(
            decode_addr_msg(&[2, 32, 0, 0, 1, 0, 0, 0]),
            Err(DecodeError::Missing("IFA_ADDRESS"))
        );
        // Short IFA_LOCAL.
        let mut w = Writer::with_header(&[10, 128, 0, 0, 1, 0, 0, 0]);
        w.put(IFA_LOCAL, &[1, 2, 3, 4]);
        assert_eq!(
            decode_addr_msg(&w.finish()),
            Err(DecodeError::Size {
                attr: "IFA_LOCAL",
                expected: 16,
                got: 4
            })
        );
        let mut info = [0u8; IFINFOMSG_LEN];
        info[4..8].copy_from_slice(&5i32.to_ne_bytes());
        assert_eq!(decode_ifindex(&info), Ok(5));
        assert!(decode_ifindex(&info[..8]).is_err());
        assert!(decode_ifindex(&[0u8; IFINFOMSG_LEN]).is_err());
    }

    #[test]
    fn decode_a_link_of_the_dump() {
        let mut header = [0u8; IFINFOMSG_LEN];
        header[4..8].copy_from_slice(&3i32.to_ne_bytes());
        let mut w = Writer::with_header(&header);
        w.put_u32(4, 1500); // IFLA_MTU, ignored
        w.put_str(IFLA_IFNAME, "bond0");
        assert_eq!(decode_link(&w.finish()), Ok((3, "bond0".to_string())));
        assert_eq!(
            decode_link(&header),
            Err(DecodeError::Missing("IFLA_IFNAME"))
        );
        assert!(decode_link(&header[..4]).is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_addr_msg(&bytes);
            let _ = decode_ifindex(&bytes);
            let _ = decode_link(&bytes);
        }

        #[test]
        fn prefixes_never_panic(v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>(), idx in 1u32..) {
            for addr in [IpAddr::from(v4), IpAddr::from(v6)] {
                let msg = encode_newaddr(idx, "eth0", addr);
                let decoded = decode_addr_msg(&msg).unwrap().unwrap();
                prop_assert_eq!(decoded.address, addr);
                prop_assert_eq!(decoded.index, idx);
                for cut in 0..msg.len() {
                    let _ = decode_addr_msg(&msg[..cut]);
                }
            }
        }
    }
}

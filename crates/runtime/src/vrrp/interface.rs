//! Facts about the network interfaces of the daemon's network namespace, read with getifaddrs(3) (which asks
//! the kernel over rtnetlink): index, MAC address, addresses, and whether the link is up.

use director_vrrp::Family;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub index: u32,
    /// The hardware address of Ethernet-like links.
    pub mac: Option<[u8; 6]>,
    /// Administratively up and operationally up (or unknown, as loopback and dummy links report): the
    /// kernel's `IFF_RUNNING`, which follows `/sys/class/net/<name>/operstate`.
    pub running: bool,
    /// In the kernel's order (primary addresses first).
    pub addresses: Vec<IpAddr>,
}

impl Link {
    /// The address our advertisements are sent from: for IPv4 the first address that is not one of
    /// `exclude` (our virtual addresses), for IPv6 the first link-local address (RFC 5798 section 5.1.2.2).
    pub fn primary_address(&self, family: Family, exclude: &[IpAddr]) -> Option<IpAddr> {
        self.addresses.iter().copied().find(|a| match (family, a) {
            (Family::Ipv4, IpAddr::V4(_)) => !exclude.contains(a),
            (Family::Ipv6, IpAddr::V6(v6)) => is_link_local(v6),
            _ => false,
        })
    }
}

pub fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Every interface, by name.
pub fn links() -> io::Result<BTreeMap<String, Link>> {
    let mut out: BTreeMap<String, Link> = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let link = out.entry(name.clone()).or_insert_with(|| Link {
            name,
            index: 0,
            mac: None,
            running: false,
            addresses: Vec::new(),
        });
        let flags = ifa.ifa_flags;
        link.running = flags & libc::IFF_UP as u32 != 0 && flags & libc::IFF_RUNNING as u32 != 0;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose real type sa_family names.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        match family {
            libc::AF_INET => {
                // SAFETY: AF_INET entries carry a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                let a = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                link.addresses.push(IpAddr::V4(a));
            }
            libc::AF_INET6 => {
                // SAFETY: AF_INET6 entries carry a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                link.addresses
                    .push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
            libc::AF_PACKET => {
                // SAFETY: AF_PACKET entries carry a sockaddr_ll.
                let sll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                link.index = u32::try_from(sll.sll_ifindex).unwrap_or(0);
                if sll.sll_halen == 6 {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&sll.sll_addr[..6]);
                    if mac != [0; 6] {
                        link.mac = Some(mac);
                    }
                }
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Why an interface cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("interface {0} does not exist")]
    Missing(String),
    #[error("reading the interfaces: {0}")]
    Io(#[from] io::Error),
}

/// One interface by name.
pub fn link(name: &str) -> Result<Link, LinkError> {
    links()?
        .remove(name)
        .filter(|l| l.index != 0)
        .ok_or_else(|| LinkError::Missing(name.to_string()))
}

/// Whether IPv6 forwarding is on for the interface (the Router flag of our neighbour advertisements).
pub fn ipv6_forwarding(name: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{name}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn primary_address_skips_vips_and_global_ipv6() {
        let link = Link {
            name: "eth0".into(),
            index: 2,
            mac: None,
            running: true,
            addresses: vec![
                ip("2001:db8::5"),
                ip("192.168.10.180"),
                ip("10.0.0.1"),
                ip("fe80::1"),
            ],
        };
        assert_eq!(
            link.primary_address(Family::Ipv4, &[ip("192.168.10.180")]),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(link.primary_address(Family::Ipv6, &[]), Some(ip("fe80::1")));
        let bare = Link {
            addresses: vec![],
            ..link
        };
        assert_eq!(bare.primary_address(Family::Ipv4, &[]), None);
    }

    #[test]
    fn loopback_is_listed() {
        let links = links().unwrap();
        let lo = links.get("lo").expect("every namespace has lo");
        assert!(lo.index > 0);
    }
}

//! What a new master tells the link: gratuitous ARPs for its IPv4 virtual addresses (an `AF_PACKET` socket)
//! and unsolicited neighbour advertisements for its IPv6 ones (an ICMPv6 raw socket, hop limit 255, to
//! ff02::1), so that switches and neighbours move the addresses to us at once.
//!
//! When: a burst on becoming master, a second burst `delay_s` later, and optionally one every `refresh_s`
//! while master ([`Schedule`], pure), like keepalived's `garp_master_delay` / `garp_master_repeat` /
//! `garp_master_refresh`.

use crate::vrrp::interface::Link;
use director_core::model::vrrp_group::Garp;
use director_vrrp::packet::{gratuitous_arp, neighbor_advertisement, ALL_NODES_V6, VRRP_TTL};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const ETH_P_ARP: u16 = 0x0806;

/// When the next burst is due.
#[derive(Debug, Clone)]
pub struct Schedule {
    garp: Garp,
    next: Option<Instant>,
}

impl Schedule {
    pub fn new(garp: Garp) -> Self {
        Schedule { garp, next: None }
    }

    pub fn set_options(&mut self, garp: Garp) {
        self.garp = garp;
    }

    pub fn repeat(&self) -> u32 {
        self.garp.repeat
    }

    /// Became master at `now`: the caller sends a burst now; this arms the next one.
    pub fn on_master(&mut self, now: Instant) {
        if self.garp.delay_s > 0 {
            self.next = Some(now + Duration::from_secs(u64::from(self.garp.delay_s)));
        } else {
            self.arm_refresh(now);
        }
    }

    /// Left master: nothing more is due.
    pub fn on_leave(&mut self) {
        self.next = None;
    }

    pub fn next(&self) -> Option<Instant> {
        self.next
    }

    /// The timer fired at `now`: whether to send a burst (and the next one is armed).
    pub fn on_due(&mut self, now: Instant) -> bool {
        match self.next {
            Some(t) if now >= t => {}
            _ => return false,
        }
        self.arm_refresh(now);
        true
    }

    fn arm_refresh(&mut self, now: Instant) {
        self.next = (self.garp.refresh_s > 0)
            .then(|| now + Duration::from_secs(u64::from(self.garp.refresh_s)));
    }
}

/// The announcement sockets of one instance.
#[derive(Debug)]
pub struct Announcer {
    ifindex: u32,
    mac: Option<[u8; 6]>,
    arp: Option<Socket>,
    na: Option<(Socket, Ipv6Addr)>,
    router: bool,
}

impl Announcer {
    /// Opens what the link allows: ARP needs a MAC address, neighbour advertisements a link-local address.
    pub fn open(link: &Link) -> io::Result<Self> {
        let arp = match link.mac {
            Some(_) => {
                // Protocol 0: this socket sends only and receives nothing.
                let s = Socket::new(Domain::PACKET, Type::RAW, None)?;
                s.set_nonblocking(true)?;
                Some(s)
            }
            None => None,
        };
        let link_local = link.addresses.iter().find_map(|a| match a {
            IpAddr::V6(v6) if crate::vrrp::interface::is_link_local(v6) => Some(*v6),
            _ => None,
        });
        let na = match (link.mac, link_local) {
            (Some(_), Some(src)) => {
                let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
                s.bind_device(Some(link.name.as_bytes()))?;
                s.set_multicast_if_v6(link.index)?;
                s.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
                s.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
                s.set_multicast_loop_v6(false)?;
                block_all_icmpv6(&s)?;
                s.set_nonblocking(true)?;
                Some((s, src))
            }
            _ => None,
        };
        Ok(Announcer {
            ifindex: link.index,
            mac: link.mac,
            arp,
            na,
            router: crate::vrrp::interface::ipv6_forwarding(&link.name),
        })
    }

    /// Sends `repeat` announcements for each of `addresses`; returns how many were sent and the first error.
    pub fn announce(&self, addresses: &[IpAddr], repeat: u32) -> (usize, Option<io::Error>) {
        let Some(mac) = self.mac else {
            return (0, None);
        };
        let mut sent = 0;
        let mut first_error = None;
        for _ in 0..repeat {
            for addr in addresses {
                let r = match addr {
                    IpAddr::V4(v4) => match &self.arp {
                        Some(s) => send_frame(s, self.ifindex, &gratuitous_arp(mac, *v4)),
                        None => continue,
                    },
                    IpAddr::V6(v6) => match &self.na {
                        Some((s, src)) => {
                            let msg =
                                neighbor_advertisement(*src, ALL_NODES_V6, *v6, mac, self.router);
                            let dst =
                                SockAddr::from(SocketAddrV6::new(ALL_NODES_V6, 0, 0, self.ifindex));
                            s.send_to(&msg, &dst).map(|_| ())
                        }
                        None => continue,
                    },
                };
                match r {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        (sent, first_error)
    }
}

/// Sends an Ethernet frame (header included) out of `ifindex`, to the broadcast address.
fn send_frame(socket: &Socket, ifindex: u32, frame: &[u8]) -> io::Result<()> {
    let addr = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ETH_P_ARP.to_be(),
        sll_ifindex: i32::try_from(ifindex).unwrap_or(0),
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0],
    };
    // SAFETY: `frame` and `addr` are live for the call and their lengths are passed.
    let n = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&addr as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The neighbour-advertisement socket only sends: filter out every ICMPv6 message it would receive.
fn block_all_icmpv6(socket: &Socket) -> io::Result<()> {
    const ICMP6_FILTER: i32 = 1;
    let filter = [u32::MAX; 8];
    // SAFETY: `filter` is a live struct icmp6_filter (8 x u32) and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast(),
            size_of::<[u32; 8]>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garp(delay_s: u32, refresh_s: u32) -> Garp {
        Garp {
            repeat: 5,
            delay_s,
            refresh_s,
        }
    }

    #[test]
    fn burst_then_delayed_burst_then_nothing() {
        let t0 = Instant::now();
        let mut s = Schedule::new(garp(5, 0));
        assert_eq!(s.next(), None);
        s.on_master(t0);
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(5)));
        assert!(!s.on_due(t0 + Duration::from_secs(4)));
        assert!(s.on_due(t0 + Duration::from_secs(5)));
        assert_eq!(s.next(), None);
        assert!(!s.on_due(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn refresh_repeats_while_master() {
        let t0 = Instant::now();
        let mut s = Schedule::new(garp(5, 60));
        s.on_master(t0);
        assert!(s.on_due(t0 + Duration::from_secs(5)));
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(65)));
        assert!(s.on_due(t0 + Duration::from_secs(65)));
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(125)));
        s.on_leave();
        assert_eq!(s.next(), None);
    }

    #[test]
    fn no_delay_goes_straight_to_refresh() {
        let t0 = Instant::now();
        let mut s = Schedule::new(garp(0, 30));
        s.on_master(t0);
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(30)));
        let mut s = Schedule::new(garp(0, 0));
        s.on_master(t0);
        assert_eq!(s.next(), None);
    }
}

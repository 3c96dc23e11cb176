//! Raw IP sockets for VRRP (IP protocol 112), one pair per instance.
//!
//! - The receive socket is bound to the instance's interface (`SO_BINDTODEVICE`) and joined to the VRRP
//!   group on it (224.0.0.18 / ff02::12); it also gets unicast advertisements addressed to us. IPv4 raw
//!   sockets deliver the IP header, from which we read the source, destination and TTL; IPv6 raw sockets do
//!   not, so the hop limit and destination come from `IPV6_RECVHOPLIMIT` / `IPV6_RECVPKTINFO` control
//!   messages and the source from the sender address.
//! - The send socket is bound to the interface and to our primary address (the source of advertisements
//!   and, for v3, part of the checksum), with TTL / hop limit 255 for multicast and unicast, multicast loop
//!   off (we never hear our own advertisements) and the multicast interface set. Its receive buffer is kept
//!   minimal: it is never read.
//!
//! Nothing read from the wire is trusted: [`parse_ipv4`] and [`parse_ipv6_control`] are pure and total.

use director_vrrp::packet::{IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6, VRRP_TTL};
use director_vrrp::{Family, RxInfo};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;

/// Largest packet read: a v3 IPv6 advertisement with 255 addresses is 4,088 bytes.
const RECV_BUFFER: usize = 9216;

/// A received packet: what the IP header said, and the VRRP payload.
#[derive(Debug)]
pub struct Received {
    pub info: RxInfo,
    pub payload: Vec<u8>,
}

/// Why a received IP packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("IPv4 header truncated or malformed")]
    BadIpv4Header,
    #[error("IPv6 packet without hop limit or destination information")]
    MissingIpv6Info,
}

/// The VRRP sockets of one instance.
#[derive(Debug)]
pub struct VrrpSocket {
    family: Family,
    ifindex: u32,
    rx: AsyncFd<Socket>,
    tx: Socket,
}

impl VrrpSocket {
    /// Opens the sockets on `interface` (index `ifindex`) with `source` as our address.
    pub fn open(interface: &str, ifindex: u32, source: IpAddr) -> io::Result<Self> {
        let family = Family::of(&source);
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let proto = Protocol::from(i32::from(IPPROTO_VRRP));

        let rx = Socket::new(domain, Type::RAW, Some(proto))?;
        rx.bind_device(Some(interface.as_bytes()))?;
        match family {
            Family::Ipv4 => {
                rx.join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))?
            }
            Family::Ipv6 => {
                rx.join_multicast_v6(&MULTICAST_V6, ifindex)?;
                set_int(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
                set_int(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            }
        }
        rx.set_nonblocking(true)?;

        let tx = Socket::new(domain, Type::RAW, Some(proto))?;
        tx.bind_device(Some(interface.as_bytes()))?;
        match (family, source) {
            (Family::Ipv4, IpAddr::V4(src)) => {
                tx.bind(&SockAddr::from(SocketAddr::new(source, 0)))?;
                tx.set_multicast_if_v4(&src)?;
                tx.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
                tx.set_ttl_v4(u32::from(VRRP_TTL))?;
                tx.set_multicast_loop_v4(false)?;
            }
            (_, IpAddr::V6(src)) => {
                tx.bind(&SockAddr::from(SocketAddrV6::new(
                    src,
                    0,
                    0,
                    scope_for(&src, ifindex),
                )))?;
                tx.set_multicast_if_v6(ifindex)?;
                tx.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
                tx.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
                tx.set_multicast_loop_v6(false)?;
            }
            (Family::Ipv6, IpAddr::V4(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv4 source for an IPv6 socket",
                ))
            }
        }
        // The send socket would queue unicast VRRP packets addressed to us; it is never read.
        tx.set_recv_buffer_size(0)?;
        tx.set_nonblocking(true)?;

        // SAFETY: the Socket owns its descriptor, which stays open and unchanged until the AsyncFd drops it.
        let rx = unsafe { AsyncFd::register_with_interest(rx, tokio::io::Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(VrrpSocket {
            family,
            ifindex,
            rx,
            tx,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The VRRP multicast group of our family.
    pub fn multicast(&self) -> IpAddr {
        self.family.vrrp_multicast()
    }

    /// Sends one VRRP payload to `dst` (the multicast group or a unicast peer).
    pub fn send(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        let addr = match dst {
            IpAddr::V4(a) => SockAddr::from(SocketAddr::new(IpAddr::V4(a), 0)),
            IpAddr::V6(a) => {
                SockAddr::from(SocketAddrV6::new(a, 0, 0, scope_for(&a, self.ifindex)))
            }
        };
        let sent = self.tx.send_to(payload, &addr)?;
        if sent != payload.len() {
            return Err(io::Error::other(format!(
                "sent {sent} of {} bytes",
                payload.len()
            )));
        }
        Ok(())
    }

    /// Waits for the next packet. `Ok(Err(_))` is a packet whose IP header could not be read (count it as
    /// malformed); `Err(_)` is a socket error.
    pub async fn recv(&self) -> io::Result<Result<Received, HeaderError>> {
        loop {
            let mut guard = self.rx.readable().await?;
            let result = guard.try_io(|inner| match self.family {
                Family::Ipv4 => {
                    let mut buf = vec![0u8; RECV_BUFFER];
                    let n = inner.get_ref().read(&mut buf)?;
                    buf.truncate(n);
                    Ok(parse_ipv4(&buf).map(|(info, range)| Received {
                        info,
                        payload: buf[range].to_vec(),
                    }))
                }
                Family::Ipv6 => recv_ipv6(inner.get_ref()),
            });
            match result {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

/// The scope id a link-scoped IPv6 address needs on `ifindex`.
fn scope_for(a: &Ipv6Addr, ifindex: u32) -> u32 {
    let link_scoped = crate::vrrp::interface::is_link_local(a)
        || (a.is_multicast() && (a.segments()[0] & 0x000f) <= 2);
    if link_scoped {
        ifindex
    } else {
        0
    }
}

/// Reads an IPv4 packet as a raw socket delivers it: the header, then the VRRP payload (returned as a
/// range of `packet`).
pub fn parse_ipv4(packet: &[u8]) -> Result<(RxInfo, std::ops::Range<usize>), HeaderError> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return Err(HeaderError::BadIpv4Header);
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    if ihl < 20 || packet.len() < ihl {
        return Err(HeaderError::BadIpv4Header);
    }
    let ttl = packet[8];
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Ok((
        RxInfo {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
            ttl,
        },
        ihl..packet.len(),
    ))
}

/// The hop limit and destination address carried by the control messages of an IPv6 `recvmsg`.
pub fn parse_ipv6_control(control: &[u8]) -> (Option<u8>, Option<Ipv6Addr>) {
    let align = |n: usize| (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1);
    let header = align(size_of::<libc::cmsghdr>());
    let (mut hop_limit, mut dst) = (None, None);
    let mut offset = 0;
    while offset + header <= control.len() {
        let word = size_of::<usize>();
        let Some(len) = control
            .get(offset..offset + word)
            .and_then(|b| b.try_into().ok())
            .map(usize::from_ne_bytes)
        else {
            break;
        };
        let int_at = |at: usize| {
            control
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)
        };
        let (Some(level), Some(kind)) = (int_at(offset + word), int_at(offset + word + 4)) else {
            break;
        };
        let Some(end) = offset.checked_add(len).filter(|e| *e <= control.len()) else {
            break;
        };
        if len < header {
            break;
        }
        let data = &control[offset + header..end];
        if level == libc::IPPROTO_IPV6 {
            if kind == libc::IPV6_HOPLIMIT && data.len() >= 4 {
                let v = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]);
                hop_limit = u8::try_from(v).ok();
            } else if kind == libc::IPV6_PKTINFO && data.len() >= 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&data[..16]);
                dst = Some(Ipv6Addr::from(a));
            }
        }
        offset += align(len);
    }
    (hop_limit, dst)
}

fn recv_ipv6(socket: &Socket) -> io::Result<Result<Received, HeaderError>> {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut control = [0u8; 256];
    // SAFETY: an all-zero sockaddr_in6 is a valid value.
    let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid value; the pointers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated length.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = usize::try_from(n).unwrap_or(0).min(buf.len());
    buf.truncate(n);
    let control_len = msg.msg_controllen.min(control.len());
    let (hop_limit, dst) = parse_ipv6_control(&control[..control_len]);
    let (Some(ttl), Some(dst)) = (hop_limit, dst) else {
        return Ok(Err(HeaderError::MissingIpv6Info));
    };
    let src = Ipv6Addr::from(from.sin6_addr.s6_addr);
    Ok(Ok(Received {
        info: RxInfo {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl,
        },
        payload: buf,
    }))
}

fn set_int(socket: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
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

    fn ipv4_packet(ttl: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x45, 0xc0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0, 10, 0, 0, 2, 224, 0, 0, 18,
        ];
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ipv4_header_is_read() {
        let p = ipv4_packet(255, &[1, 2, 3]);
        let (info, range) = parse_ipv4(&p).unwrap();
        assert_eq!(info.ttl, 255);
        assert_eq!(info.src, "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(info.dst, IpAddr::V4(MULTICAST_V4));
        assert_eq!(&p[range], &[1, 2, 3]);

        // With options (IHL 6).
        let mut p = ipv4_packet(64, &[0, 0, 0, 0, 9]);
        p[0] = 0x46;
        let (info, range) = parse_ipv4(&p).unwrap();
        assert_eq!(info.ttl, 64);
        assert_eq!(&p[range], &[9]);
    }

    #[test]
    fn broken_ipv4_headers_are_errors_not_panics() {
        assert_eq!(parse_ipv4(&[]), Err(HeaderError::BadIpv4Header));
        assert_eq!(parse_ipv4(&[0x45; 19]), Err(HeaderError::BadIpv4Header));
        let mut p = ipv4_packet(255, &[]);
        p[0] = 0x4f; // IHL 60 bytes, only 20 present
        assert_eq!(parse_ipv4(&p), Err(HeaderError::BadIpv4Header));
        p[0] = 0x44; // IHL 16 bytes
        assert_eq!(parse_ipv4(&p), Err(HeaderError::BadIpv4Header));
        p[0] = 0x65; // version 6
        assert_eq!(parse_ipv4(&p), Err(HeaderError::BadIpv4Header));
        for len in 0..40 {
            let _ = parse_ipv4(&vec![0x4f; len]);
        }
    }

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let word = size_of::<usize>();
        let header = size_of::<libc::cmsghdr>();
        let len = header + data.len();
        let mut c = Vec::new();
        c.extend_from_slice(&len.to_ne_bytes());
        c.extend_from_slice(&level.to_ne_bytes());
        c.extend_from_slice(&kind.to_ne_bytes());
        c.resize(header, 0);
        c.extend_from_slice(data);
        while c.len() % word != 0 {
            c.push(0);
        }
        c
    }

    #[test]
    fn ipv6_control_messages_are_read() {
        let dst: Ipv6Addr = "ff02::12".parse().unwrap();
        let mut pktinfo = dst.octets().to_vec();
        pktinfo.extend_from_slice(&3u32.to_ne_bytes());
        let mut control = cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pktinfo);
        control.extend(cmsg(
            libc::IPPROTO_IPV6,
            libc::IPV6_HOPLIMIT,
            &255i32.to_ne_bytes(),
        ));
        assert_eq!(parse_ipv6_control(&control), (Some(255), Some(dst)));
        assert_eq!(parse_ipv6_control(&[]), (None, None));
        // Truncated or lying lengths stop the walk instead of panicking.
        for cut in 0..control.len() {
            let _ = parse_ipv6_control(&control[..cut]);
        }
        let mut lying = control.clone();
        lying[..size_of::<usize>()].copy_from_slice(&usize::MAX.to_ne_bytes());
        assert_eq!(parse_ipv6_control(&lying), (None, None));
        let mut zero = control;
        zero[..size_of::<usize>()].copy_from_slice(&0usize.to_ne_bytes());
        assert_eq!(parse_ipv6_control(&zero), (None, None));
    }

    #[test]
    fn link_scoped_destinations_get_the_interface() {
        assert_eq!(scope_for(&"ff02::12".parse().unwrap(), 7), 7);
        assert_eq!(scope_for(&"fe80::1".parse().unwrap(), 7), 7);
        assert_eq!(scope_for(&"2001:db8::1".parse().unwrap(), 7), 0);
    }
}

//! `tcp`: the server is up when a TCP connection opens within the timeout. Also the connect step of http(s).

use super::{CheckError, CheckFuture, Checker, Success};
use crate::target::Target;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Debug)]
pub struct TcpChecker {
    to: SocketAddr,
    bind: Option<IpAddr>,
}

impl TcpChecker {
    pub fn new(target: &Target) -> Result<Self, CheckError> {
        Ok(TcpChecker {
            to: connect_address(target)?,
            bind: target.check.bind_address,
        })
    }
}

/// Where a tcp/http/https check connects. A real server of a fwmark service may have port 0 ("the packet's
/// port"): its check then needs `connect_port`.
pub(crate) fn connect_address(target: &Target) -> Result<SocketAddr, CheckError> {
    let to = target.connect_to();
    if to.port() == 0 {
        return Err(CheckError::Spec(
            "the real server has port 0: set connect_port".into(),
        ));
    }
    Ok(to)
}

impl Checker for TcpChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let stream = connect(self.to, self.bind, Handshake::Ack).await?;
            drop(stream);
            Ok(Success::default())
        })
    }
}

/// How the handshake ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// With the usual ACK: the server accepts the connection even if nothing is sent (a tcp check).
    Ack,
    /// The caller writes at once (an HTTP request, a TLS hello): the last ACK of the handshake rides on that
    /// first segment instead of going alone, one packet less for both ends.
    WithData,
}

/// Opens a TCP connection to `to`, from `bind` when set (keepalived's `bindto`).
pub(crate) async fn connect(
    to: SocketAddr,
    bind: Option<IpAddr>,
    handshake: Handshake,
) -> Result<TcpStream, CheckError> {
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| CheckError::Connect(format!("cannot open a socket: {e}")))?;
    // A check ends with a reset rather than FIN (as HAProxy's checks do): the director, the closing side,
    // keeps no TIME_WAIT socket for 60 s per check (thousands of checks a second would hold hundreds of
    // thousands) and neither side goes through the FIN exchange. Best effort.
    let _ = socket.set_zero_linger();
    if handshake == Handshake::WithData {
        defer_ack(&socket);
    }
    if let Some(source) = bind {
        if source.is_ipv4() != to.is_ipv4() {
            return Err(CheckError::Bind(format!(
                "{source}: not of the address family of {to}"
            )));
        }
        bind_no_port(&socket);
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| CheckError::Bind(format!("{source}: {e}")))?;
    }
    socket.connect(to).await.map_err(|e| connect_error(&e))
}

/// Lets the kernel pick the source port at connect time rather than at bind time, so that many checks bound
/// to one source address do not exhaust the ephemeral ports (`IP_BIND_ADDRESS_NO_PORT`). Best effort.
fn bind_no_port(socket: &TcpSocket) {
    set_option(
        socket,
        libc::IPPROTO_IP,
        libc::IP_BIND_ADDRESS_NO_PORT,
        1,
        "IP_BIND_ADDRESS_NO_PORT",
    );
}

/// Linux holds the ACK that completes a handshake while the socket has `TCP_DEFER_ACCEPT` set, and sends it
/// with the first data written (or after 200 ms). Best effort.
fn defer_ack(socket: &TcpSocket) {
    set_option(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_DEFER_ACCEPT,
        1,
        "TCP_DEFER_ACCEPT",
    );
}

/// Sets an integer socket option that tokio has no setter for; a failure is logged, not returned.
fn set_option(
    socket: &TcpSocket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    what: &str,
) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor and a pointer to a c_int that lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "{what} not set");
    }
}

fn connect_error(e: &io::Error) -> CheckError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => CheckError::Refused,
        io::ErrorKind::ConnectionReset => CheckError::Reset,
        io::ErrorKind::HostUnreachable => CheckError::HostUnreachable,
        io::ErrorKind::NetworkUnreachable => CheckError::NetworkUnreachable,
        io::ErrorKind::TimedOut => CheckError::Connect("timed out".into()),
        _ => CheckError::Connect(e.to_string()),
    }
}

//! The netlink transport: a neli router carrying payloads our codecs built.
//!
//! neli (0.7, `NlRouter`) owns the socket, sequence numbers, port-id checks, the
//! ACK / error / multi-part dump protocol and the background reader thread. The
//! payloads travel as opaque [`Buffer`]s: the generic-netlink header and attributes
//! (codec.rs) or the `ifaddrmsg`/`ifinfomsg` header and attributes (vip.rs) are
//! encoded and decoded by our own pure code, which is what the unit tests check
//! byte by byte. neli's typed attribute builders would hide that layout.
//!
//! Blocking API: every call waits for the kernel's complete answer. The daemon
//! calls it from `spawn_blocking`.

use std::io;

use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::err::RouterError;
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::Buffer;
use neli::utils::Groups;

use crate::error::Error;

pub(crate) struct Transport {
    router: NlRouter,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("pid", &self.router.pid())
            .finish()
    }
}

/// What a request expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A change: the kernel answers with an ACK (or an error).
    Change,
    /// A query answered by one message, then an ACK.
    Get,
    /// A dump: any number of messages, then NLMSG_DONE.
    Dump,
}

impl Transport {
    pub(crate) fn connect(family: NlFamily, op: &str) -> Result<Self, Error> {
        let (router, _multicast) =
            NlRouter::connect(family, None, Groups::empty()).map_err(|e| Error::Netlink {
                op: op.to_owned(),
                message: e.to_string(),
            })?;
        // Extended ACKs carry the kernel's own error text, when it has one.
        if let Err(e) = router.enable_ext_ack(true) {
            tracing::debug!("netlink extended ACKs unavailable: {e}");
        }
        Ok(Transport { router })
    }

    pub(crate) fn router(&self) -> &NlRouter {
        &self.router
    }

    /// Sends one request and collects the payloads of the reply messages.
    /// `extra` adds flags such as `NLM_F_CREATE | NLM_F_EXCL`.
    ///
    /// A dump the kernel marks `NLM_F_DUMP_INTR` (the table changed while it was
    /// being dumped) is repeated, up to [`DUMP_ATTEMPTS`] times in all.
    pub(crate) fn exchange(
        &self,
        nl_type: u16,
        kind: Kind,
        extra: NlmF,
        payload: Vec<u8>,
        op: &str,
    ) -> Result<Vec<Vec<u8>>, Error> {
        for _ in 0..DUMP_ATTEMPTS {
            let (out, interrupted) = self.exchange_once(nl_type, kind, extra, &payload, op)?;
            if !interrupted {
                return Ok(out);
            }
            tracing::debug!(%op, "dump interrupted by a concurrent change; retrying");
        }
        Err(Error::Netlink {
            op: op.to_owned(),
            message: format!("dump interrupted by concurrent changes {DUMP_ATTEMPTS} times"),
        })
    }

    /// One request; every reply message is read (the stream is always drained, so
    /// no late message can reach the next request), then the payloads are returned
    /// with whether the dump was interrupted.
    fn exchange_once(
        &self,
        nl_type: u16,
        kind: Kind,
        extra: NlmF,
        payload: &[u8],
        op: &str,
    ) -> Result<(Vec<Vec<u8>>, bool), Error> {
        let flags = match kind {
            Kind::Change | Kind::Get => NlmF::ACK,
            Kind::Dump => NlmF::DUMP,
        } | extra;
        let netlink = |message: String| Error::Netlink {
            op: op.to_owned(),
            message,
        };
        let recv = self
            .router
            .send::<u16, Buffer, u16, Buffer>(
                nl_type,
                flags,
                NlPayload::Payload(Buffer::from(payload)),
            )
            .map_err(|e| netlink(e.to_string()))?;

        let mut out = Vec::new();
        let mut interrupted = false;
        for msg in recv {
            let msg = msg.map_err(|e| router_error(e, op))?;
            interrupted |= msg.nl_flags().contains(NlmF::DUMP_INTR);
            match msg.nl_payload() {
                NlPayload::Payload(p) => out.push(p.as_ref().to_vec()),
                // A dump ends with NLMSG_DONE carrying an int: 0, or -errno when the
                // dump callback failed part-way.
                NlPayload::DumpExtAck(done) if *done.error() != 0 => {
                    return Err(kernel_error(*done.error(), None, op));
                }
                NlPayload::Ack(_) | NlPayload::DumpExtAck(_) | NlPayload::Empty => {}
                // Errors are turned into `RouterError::Nlmsgerr` by the router.
                NlPayload::Err(e) => return Err(kernel_error(*e.error(), None, op)),
            }
        }
        if kind == Kind::Get && out.is_empty() {
            return Err(netlink(
                "the kernel acknowledged without a reply".to_owned(),
            ));
        }
        Ok((out, interrupted))
    }
}

/// How many times a dump is tried when the kernel reports it inconsistent.
const DUMP_ATTEMPTS: usize = 3;

fn router_error(e: RouterError<u16, Buffer>, op: &str) -> Error {
    match e {
        RouterError::Nlmsgerr(err) => {
            let text = err.ext_ack().iter().find_map(|attr| {
                (*attr.nla_type().nla_type() == NlmsgerrAttr::Msg).then(|| {
                    String::from_utf8_lossy(attr.nla_payload().as_ref())
                        .trim_end_matches('\0')
                        .to_owned()
                })
            });
            kernel_error(*err.error(), text, op)
        }
        other => Error::Netlink {
            op: op.to_owned(),
            message: other.to_string(),
        },
    }
}

/// `error` is the `nlmsgerr.error` field: a negative errno.
fn kernel_error(error: i32, text: Option<String>, op: &str) -> Error {
    let errno = error.checked_neg().unwrap_or(error);
    let op = match text {
        Some(t) if !t.is_empty() => format!("{op} ({t})"),
        _ => op.to_owned(),
    };
    Error::Kernel {
        op,
        source: io::Error::from_raw_os_error(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_name_the_operation() {
        let e = kernel_error(-17, None, "NEW_DEST 10.0.0.2:80 on tcp 10.0.0.1:80");
        assert_eq!(e.raw_os_error(), Some(17));
        assert!(e
            .to_string()
            .starts_with("NEW_DEST 10.0.0.2:80 on tcp 10.0.0.1:80: File exists"));
        let e = kernel_error(-22, Some("bad label".into()), "RTM_NEWADDR");
        assert!(e
            .to_string()
            .starts_with("RTM_NEWADDR (bad label): Invalid argument"));
    }

    #[test]
    fn transport_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Transport>();
    }
}

//! `IpvsClient`: the IPVS generic-netlink client (what `ipvsadm` does, as an API).

use std::net::{IpAddr, SocketAddr};

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::RouterError;

use crate::codec::{self, consts::*};
use crate::error::{DecodeError, Error};
use crate::transport::{Kind, Transport};
use crate::types::{
    Destination, DestinationEntry, Info, Service, ServiceEntry, ServiceKey, SyncDaemon, SyncState,
    Table,
};

/// A connection to the kernel's IPVS table over generic netlink (family `"IPVS"`,
/// version 1).
///
/// Blocking: each call returns once the kernel has answered. Call it from
/// `tokio::task::spawn_blocking` in async code. The client is `Send + Sync`;
/// concurrent calls are safe (neli routes replies by sequence number) but the
/// kernel serialises them anyway. Every change needs `CAP_NET_ADMIN`.
///
/// One socket and one neli reader thread per client: create one and keep it.
#[derive(Debug)]
pub struct IpvsClient {
    transport: Transport,
    family_id: u16,
}

impl IpvsClient {
    /// Opens a generic netlink socket and resolves the IPVS family.
    ///
    /// Fails with [`Error::Unavailable`] when the kernel has no IPVS
    /// (module not loaded or not built).
    pub fn connect() -> Result<Self, Error> {
        let transport = Transport::connect(NlFamily::Generic, "connect to generic netlink")?;
        let family_id = transport
            .router()
            .resolve_genl_family(IPVS_GENL_NAME)
            .map_err(|e| match e {
                // CTRL_CMD_GETFAMILY answers ENOENT for an unknown family; neli
                // reports a reply without a family id as a message.
                RouterError::Nlmsgerr(err)
                    if std::io::Error::from_raw_os_error(-*err.error()).kind()
                        == std::io::ErrorKind::NotFound =>
                {
                    Error::Unavailable
                }
                RouterError::Msg(_) => Error::Unavailable,
                other => Error::Netlink {
                    op: "resolve generic netlink family IPVS".to_owned(),
                    message: other.to_string(),
                },
            })?;
        tracing::debug!(family_id, "resolved the IPVS generic netlink family");
        Ok(IpvsClient {
            transport,
            family_id,
        })
    }

    fn exchange(&self, kind: Kind, payload: Vec<u8>, op: &str) -> Result<Vec<Vec<u8>>, Error> {
        self.transport
            .exchange(self.family_id, kind, NlmF::empty(), payload, op)
    }

    fn change(&self, payload: Result<Vec<u8>, Error>, op: String) -> Result<(), Error> {
        tracing::debug!(%op, "ipvs");
        self.exchange(Kind::Change, payload?, &op).map(drop)
    }

    /// `IPVS_CMD_GET_INFO`: version and connection table size.
    pub fn info(&self) -> Result<Info, Error> {
        let op = "GET_INFO";
        let replies = self.exchange(Kind::Get, codec::encode_bare(IPVS_CMD_GET_INFO), op)?;
        codec::decode_info_msg(&replies[0]).map_err(|e| decode_error(op, e))
    }

    /// Reads the whole table: one `GET_SERVICE` dump, then one `GET_DEST` dump per
    /// service, with counters and connection counts, and the sync daemons (`GET_DAEMON`).
    /// Services are sorted by key, destinations by address and port.
    ///
    /// Not atomic: a service changed by someone else between the two dumps shows
    /// its destinations as of the second one (a deleted service shows none).
    pub fn dump(&self) -> Result<Table, Error> {
        let op = "GET_SERVICE dump";
        let mut services = Vec::new();
        for msg in self.exchange(Kind::Dump, codec::encode_bare(IPVS_CMD_GET_SERVICE), op)? {
            let (service, stats) =
                codec::decode_service_msg(&msg).map_err(|e| decode_error(op, e))?;
            services.push(ServiceEntry {
                service,
                stats,
                destinations: Vec::new(),
            });
        }
        for entry in &mut services {
            let key = &entry.service.key;
            let op = format!("GET_DEST dump on {key}");
            let request = codec::encode_service_key(IPVS_CMD_GET_DEST, key)?;
            for msg in self.exchange(Kind::Dump, request, &op)? {
                let (destination, status) =
                    codec::decode_dest_msg(&msg, key.family()).map_err(|e| decode_error(&op, e))?;
                entry.destinations.push(DestinationEntry {
                    destination,
                    status,
                });
            }
            entry.destinations.sort_by(|a, b| {
                let k = |d: &DestinationEntry| (d.destination.address, d.destination.port);
                k(a).cmp(&k(b))
            });
        }
        services.sort_by(|a, b| a.service.key.cmp(&b.service.key));
        Ok(Table {
            services,
            sync_daemons: self.daemons()?,
        })
    }

    /// `IPVS_CMD_GET_DAEMON` (a dump): the connection-synchronisation daemons running in this
    /// network namespace, master first (`ipvsadm --list --daemon`).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>, Error> {
        let op = "GET_DAEMON dump";
        let mut daemons = self
            .exchange(Kind::Dump, codec::encode_bare(IPVS_CMD_GET_DAEMON), op)?
            .iter()
            .map(|msg| codec::decode_daemon_msg(msg).map_err(|e| decode_error(op, e)))
            .collect::<Result<Vec<_>, _>>()?;
        daemons.sort_by_key(|d| d.state);
        Ok(daemons)
    }

    /// `IPVS_CMD_NEW_DAEMON`: starts a sync daemon (`ipvsadm --start-daemon`). `EEXIST` if one
    /// runs in that state already, `ENODEV` if the interface does not exist.
    pub fn new_daemon(&self, daemon: &SyncDaemon) -> Result<(), Error> {
        self.change(
            codec::encode_new_daemon(daemon),
            format!("NEW_DAEMON {daemon}"),
        )
    }

    /// `IPVS_CMD_DEL_DAEMON`: stops the daemon of that state (`ipvsadm --stop-daemon`).
    /// `ESRCH` if none runs.
    pub fn del_daemon(&self, state: SyncState) -> Result<(), Error> {
        self.change(
            Ok(codec::encode_del_daemon(state)),
            format!("DEL_DAEMON {}", state.name()),
        )
    }

    /// `IPVS_CMD_NEW_SERVICE`. `EEXIST` if the service exists.
    pub fn new_service(&self, service: &Service) -> Result<(), Error> {
        self.change(
            codec::encode_service(IPVS_CMD_NEW_SERVICE, service),
            format!("NEW_SERVICE {}", service.key),
        )
    }

    /// `IPVS_CMD_SET_SERVICE`: scheduler, flags, timeout, netmask, pe. `ESRCH` if the
    /// service does not exist.
    pub fn set_service(&self, service: &Service) -> Result<(), Error> {
        self.change(
            codec::encode_service(IPVS_CMD_SET_SERVICE, service),
            format!("SET_SERVICE {}", service.key),
        )
    }

    /// `IPVS_CMD_DEL_SERVICE` (with its destinations). `ESRCH` if absent.
    pub fn del_service(&self, key: &ServiceKey) -> Result<(), Error> {
        self.change(
            codec::encode_service_key(IPVS_CMD_DEL_SERVICE, key),
            format!("DEL_SERVICE {key}"),
        )
    }

    /// `IPVS_CMD_NEW_DEST`. `EEXIST` if the destination exists, `ESRCH` if the
    /// service does not.
    pub fn new_dest(&self, service: &ServiceKey, dest: &Destination) -> Result<(), Error> {
        self.change(
            codec::encode_dest(IPVS_CMD_NEW_DEST, service, dest),
            format!("NEW_DEST {} on {service}", dest.socket_addr()),
        )
    }

    /// `IPVS_CMD_SET_DEST`: forwarding, weight, thresholds, tunnel options.
    /// `ENOENT` if the destination does not exist.
    pub fn set_dest(&self, service: &ServiceKey, dest: &Destination) -> Result<(), Error> {
        self.change(
            codec::encode_dest(IPVS_CMD_SET_DEST, service, dest),
            format!("SET_DEST {} on {service}", dest.socket_addr()),
        )
    }

    /// `IPVS_CMD_DEL_DEST`. `ENOENT` if the destination does not exist.
    pub fn del_dest(&self, service: &ServiceKey, address: IpAddr, port: u16) -> Result<(), Error> {
        self.change(
            codec::encode_dest_key(IPVS_CMD_DEL_DEST, service, address, port),
            format!("DEL_DEST {} on {service}", SocketAddr::new(address, port)),
        )
    }

    /// `IPVS_CMD_FLUSH`: deletes every service (`ipvsadm -C`).
    pub fn flush(&self) -> Result<(), Error> {
        self.change(Ok(codec::encode_bare(IPVS_CMD_FLUSH)), "FLUSH".to_owned())
    }

    /// `IPVS_CMD_ZERO`: zeroes the counters of one service, or of all with `None`.
    pub fn zero(&self, service: Option<&ServiceKey>) -> Result<(), Error> {
        match service {
            Some(key) => self.change(
                codec::encode_service_key(IPVS_CMD_ZERO, key),
                format!("ZERO {key}"),
            ),
            None => self.change(Ok(codec::encode_bare(IPVS_CMD_ZERO)), "ZERO all".to_owned()),
        }
    }
}

fn decode_error(op: &str, source: DecodeError) -> Error {
    Error::Decode {
        op: op.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<IpvsClient>();
    }

    /// This machine may or may not have IPVS; either way `connect` must give a
    /// usable client or the documented error, never something else.
    #[test]
    fn connect_reports_missing_ipvs_clearly() {
        match IpvsClient::connect() {
            Ok(_) => {}
            Err(Error::Unavailable) => {
                assert_eq!(
                    Error::Unavailable.to_string(),
                    "IPVS is not available in this kernel (no IPVS generic netlink family)"
                );
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
}

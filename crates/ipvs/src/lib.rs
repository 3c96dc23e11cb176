//! director-ipvs: the only code in director that speaks netlink.
//!
//! - [`IpvsClient`] programs the kernel's IPVS table over generic netlink
//!   (family `"IPVS"`): services, destinations, connection-synchronisation daemons, dumps
//!   with counters.
//! - [`VipBinder`] adds and removes virtual IPs on interfaces over rtnetlink,
//!   marked so that director only ever touches its own.
//! - [`types`] is the kernel-table model ([`Table`], [`Service`], [`Destination`]...),
//!   pure data shared with the reconciler.
//!
//! Both IO types are blocking (call them from `spawn_blocking`) and built on
//! neli's `NlRouter`, which handles sequence numbers, ACKs, errors and dumps.
//! Message payloads are encoded and decoded by this crate's own pure codecs
//! (`codec`, `vip`), tested byte for byte against the kernel's UAPI headers;
//! decoding never panics: a malformed reply is an [`Error::Decode`] naming the
//! attribute.
//!
//! Architecture invariant: imports only `director-kernel-table` of director, and only the runtime's
//! dataplane imports it: it is the daemon's one path to netlink.
//!
//! ```no_run
//! use director_ipvs::{Destination, Forwarding, IpvsClient, Protocol, Service, ServiceKey, VipBinder};
//!
//! let ipvs = IpvsClient::connect()?; // Error::Unavailable without IPVS in the kernel
//! let key = ServiceKey::Address {
//!     protocol: Protocol::Tcp,
//!     address: "192.168.10.180".parse()?,
//!     port: 80,
//! };
//! ipvs.new_service(&Service::new(key.clone(), "wrr"))?;
//! let mut real = Destination::new("192.168.10.120".parse()?, 80, Forwarding::Route, 1);
//! ipvs.new_dest(&key, &real)?;
//! real.weight = 5;
//! ipvs.set_dest(&key, &real)?; // a weight change is one SET_DEST
//! let table = ipvs.dump()?;
//! assert_eq!(table.get(&key).unwrap().destinations[0].destination, real);
//!
//! let vips = VipBinder::connect()?;
//! vips.add("eth0", "192.168.10.180".parse()?)?; // labelled eth0:dir, IFA_PROTO 68
//! assert_eq!(vips.owned("eth0")?, vec!["192.168.10.180".parse::<std::net::IpAddr>()?]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod client;
mod codec;
mod connections;
mod error;
mod nla;
mod transport;
/// The table's types, from the pure `director-kernel-table` crate.
pub use director_kernel_table as types;
mod vip;

pub use client::IpvsClient;
pub use connections::{read_connections, read_connections_from, CONNECTIONS_PATH};
pub use error::{DecodeError, Error};
pub use types::{
    Destination, DestinationEntry, DestinationStatus, Family, Forwarding, Info, Protocol, Service,
    ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, SyncState, Table, Tunnel,
    TunnelType,
};
pub use vip::{VipBinder, VIP_ADDR_PROTO, VIP_LABEL_SUFFIX};

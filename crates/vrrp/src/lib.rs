//! director-vrrp: the pure VRRP core of the director.
//!
//! Everything here is sans-IO: no sockets, no tokio, no clock reads. Time is
//! passed in as an [`Instant`] (a duration since an arbitrary epoch chosen by
//! the caller) and every decision comes back as data.
//!
//! - [`packet`]: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) advertisement codec,
//!   validation of received advertisements, gratuitous ARP and unsolicited
//!   Neighbor Advertisement builders. Wire compatible with keepalived.
//! - [`machine`]: the per-instance VRRP state machine (RFC 5798 section 6.4,
//!   with the RFC 3768 timer rules for v2 and keepalived's extensions:
//!   preempt delay, re-asserting master, fault state).
//! - [`sync_group`]: keepalived sync-group semantics (members fail over
//!   together).
//!
//! Architecture invariant: imports no other director crate and nothing that does IO; the daemon's VRRP shell
//! (`director-runtime`'s `vrrp`) is the only place its actions meet sockets.
//!
//! The IO shell's loop is:
//!
//! 1. build a [`Machine`] with a [`Config`] and call
//!    `handle(Input::Startup, now)`;
//! 2. for each received packet, [`packet::decode_validated`] it against
//!    [`Machine::expect`] and feed `Input::AdvertReceived` (see
//!    [`Input::from_advertisement`]);
//! 3. sleep until [`Machine::next_deadline`] and call [`Machine::on_tick`];
//! 4. execute the returned [`Action`]s in order (encode adverts with
//!    [`Machine::advertisement`], add or remove the VIPs, send gratuitous
//!    ARP / NA).

#![warn(missing_docs)]

pub mod machine;
pub mod packet;
pub mod sync_group;
mod time;

pub use machine::{Action, Config, ConfigError, Input, Machine, Reason, State, Stats};
pub use packet::{Advertisement, Auth, DecodeError, EncodeError, Expect, Family, RxInfo, Version};
pub use time::Instant;

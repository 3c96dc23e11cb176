//! The running parts of the daemon: everything that follows the desired state and acts on the world.
//!
//! - [`reconciler`]: the level-triggered loop. On a new revision, a health change, a VRRP role change or its
//!   timer it computes the desired kernel table (pure, `director-reconcile`), reads the kernel, plans and
//!   applies through the [`dataplane`], and reports the revision the kernel reached.
//! - [`dataplane`]: the kernel behind a small trait; the IPVS implementation is the only netlink user of the
//!   daemon (through `director-ipvs`), the in-memory one serves tests and hosts without IPVS.
//! - [`health`]: feeds `director-health`'s engine from the desired state and its verdicts to the reconciler
//!   and the audit log.
//! - [`vrrp`]: the VRRP shell around the pure `director-vrrp` machine (sockets, timers, tracks, notify).
//! - [`sync`]: the peer-sync shell (the `director.v1.Sync` service and one follower per peer).
//! - [`views`]: what the edges render: the desired objects joined with what the runtime knows (health,
//!   VRRP status), made for a caller's visibility.
//! - [`daemon`]: facts about the running daemon (node, version, dataplane); [`histogram`]: pass durations.
//!
//! Architecture invariants: the runtime writes the desired state only through `director-service` (health and
//! VRRP transitions are audited there, peer changes applied there); it imports no edge (no axum, no REST or
//! UI module, no `director.v1.Director` handler) and no option type of the binary: its settings are plain
//! structs the binary fills in.

pub mod connections;
pub mod daemon;
pub mod dataplane;
pub mod health;
pub mod histogram;
pub mod reconciler;
pub mod sync;
pub mod views;
pub mod vrrp;

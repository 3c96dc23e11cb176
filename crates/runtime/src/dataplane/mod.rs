//! The kernel, behind a small trait: dump the IPVS table, apply one operation, list the addresses director
//! bound. This module is the only code of the daemon that writes kernel state (through director-ipvs): IPVS
//! services and destinations, the IPVS connection-synchronisation daemons, and every VIP, whether of a
//! virtual server or of a VRRP group this node is master of. The reconciler is its only caller.
//!
//! Addresses need no IPVS, only rtnetlink, so they are written whatever the IPVS side is:
//!
//! | `--dataplane`            | IPVS table                 | addresses              |
//! |--------------------------|----------------------------|------------------------|
//! | `ipvs` (`auto` with IPVS) | [`IpvsDataplane`]          | rtnetlink              |
//! | `none` (`auto` without)  | [`AddressesOnly`]: none     | rtnetlink              |
//! | `memory`                 | [`MemoryDataplane`]        | rtnetlink (tests: memory) |

mod addresses;
mod ipvs;
mod memory;

pub use addresses::{AddressesOnly, Rtnetlink};
pub use ipvs::IpvsDataplane;
pub use memory::MemoryDataplane;

pub use director_kernel_table::connections::PageBuilder;

use director_kernel_table::Table;
use director_reconcile::Op;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error(transparent)]
    Kernel(#[from] director_ipvs::Error),
    #[error("{op}: {reason}")]
    Refused { op: String, reason: String },
    #[error("there is no IPVS table here (dataplane {0}): no connections to list")]
    NoTable(&'static str),
}

/// Addresses director bound, by interface.
pub type BoundVips = BTreeMap<String, BTreeSet<IpAddr>>;

/// A blocking interface to a dataplane; callers run it on blocking threads.
pub trait Dataplane: Send + Sync + 'static {
    /// `ipvs`, `memory` or `none`.
    fn kind(&self) -> &'static str;
    /// Whether there is an IPVS table to program (`none` has only addresses).
    fn has_table(&self) -> bool;
    /// The whole table with counters and the sync daemons, in one dump (empty without a table).
    fn dump(&self) -> Result<Table, DataplaneError>;
    /// One operation.
    fn apply(&self, op: &Op) -> Result<(), DataplaneError>;
    /// The addresses director bound, on every interface that has one.
    fn bound_vips(&self) -> Result<BoundVips, DataplaneError>;
    /// Streams the kernel's connection table into `page` (which keeps only the page it builds).
    fn connections(&self, page: &mut PageBuilder) -> Result<(), DataplaneError>;
}

//! The kernel, behind a small trait: dump, apply one operation, list the VIPs director bound. The IPVS
//! implementation is the only code of the daemon that reaches netlink (through director-ipvs); the in-memory
//! one serves tests and hosts without IPVS.

mod ipvs;
mod memory;

pub use ipvs::IpvsDataplane;
pub use memory::MemoryDataplane;

use director_kernel_table::Table;
use director_reconcile::Op;
use std::collections::BTreeSet;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error(transparent)]
    Kernel(#[from] director_ipvs::Error),
    #[error("{op}: {reason}")]
    Refused { op: String, reason: String },
}

/// A blocking interface to a dataplane; callers run it on blocking threads.
pub trait Dataplane: Send + Sync + 'static {
    /// `ipvs` or `memory`.
    fn kind(&self) -> &'static str;
    /// The whole table with counters, in one dump.
    fn dump(&self) -> Result<Table, DataplaneError>;
    /// One operation.
    fn apply(&self, op: &Op) -> Result<(), DataplaneError>;
    /// The addresses director bound on `interface`.
    fn bound_vips(&self, interface: &str) -> Result<BTreeSet<IpAddr>, DataplaneError>;
}

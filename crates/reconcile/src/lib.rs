//! Pure reconciliation (no IO, no clock): what the kernel should hold, and the fewest operations that get it
//! there from what it holds now.
//!
//! - [`desired_kernel`]: desired state x health x VRRP roles -> the IPVS table and the VIPs (by interface) this
//!   node should have.
//! - [`plan`]: that table diffed against one dump of the kernel -> a minimal list of [`Op`]s. A weight change is
//!   one `SetDest`, a scheduler or persistence change one `SetService`, a real server removal one `DelDest`.
//! - [`simulate`]: applies operations to a table in memory; the in-memory dataplane and the property tests use it.
//!
//! Architecture invariant: imports only `director-core` and `director-kernel-table` (no netlink, no tokio, no
//! clock); the runtime's reconciler is its only caller in the daemon, the binary's export its other.

mod desired;
mod plan;
pub mod simulate;

pub use desired::{
    desired_kernel, service_key, DesiredKernel, DesiredService, Health, Host, Inputs,
};
pub use plan::{plan, Op, Plan, PlanContext};

//! The pure core of director.
//!
//! Everything here is deterministic and free of IO: the desired-state model (virtual servers, real servers,
//! health-check specs, VRRP groups), its validation (field checks and cross-object checks), JSON merge patch
//! (RFC 7396), and what callers below admin see of its secrets (`secrets`). The daemon's service layer calls
//! into this crate before it writes anything.
//!
//! Architecture invariant: the bottom of the workspace. It imports no other director crate and nothing that
//! does IO (no tokio, no sqlx, no netlink, no clock: times are passed in); every other crate may import it.

pub mod audit;
pub mod error;
pub mod merge_patch;
pub mod model;
pub mod secrets;
pub mod state;

pub use error::{ErrorKind, ModelError};
pub use state::{DesiredState, Identities, VirtualServers};

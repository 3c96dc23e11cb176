//! The pure core of director.
//!
//! Everything here is deterministic and free of IO: the desired-state model (virtual servers, real servers,
//! health-check specs, VRRP groups), its validation (field checks and cross-object checks), JSON merge patch
//! (RFC 7396), and what callers below admin see of its secrets (`secrets`). The daemon's service layer calls
//! into this crate before it writes anything.

pub mod audit;
pub mod error;
pub mod merge_patch;
pub mod model;
pub mod secrets;
pub mod state;

pub use error::{ErrorKind, ModelError};
pub use state::{DesiredState, Identities, VirtualServers};

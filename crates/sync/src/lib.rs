//! director-sync: the pure core of peer configuration sync (no IO, no clock reads: time is passed in).
//!
//! Every replicated object (a virtual server's own fields, each real server, each VRRP group) is a
//! [`Register`]: a value (or a tombstone), the [`Stamp`] of the hybrid logical clock that wrote it, and a
//! [`VersionVector`] of the writes it has seen. Merging two registers is deterministic and order-free:
//!
//! - one version descends from the other: the newer wins, silently (a later write, not a conflict);
//! - neither descends from the other (written concurrently, e.g. on both sides of a partition): the value with
//!   the greater stamp (wall time, logical counter, node name) wins, the versions are joined, and the loser is
//!   reported as a [`Conflict`] so the caller can audit it.
//!
//! Because the merge is commutative, associative and idempotent, every node that has seen the same writes holds
//! the same registers, whatever the order they arrived in. [`objects`] maps registers to and from director's
//! model; [`materialize`] rebuilds a virtual server from its registers. A token revocation is a register too
//! ([`revocation`]): written once, never undone, dropped once the token has expired.
//!
//! Architecture invariant: imports only `director-core`; no IO, no clock reads. The service layer stores and
//! merges registers with it, the runtime's sync shell carries them.

#![forbid(unsafe_code)]

pub mod clock;
pub mod objects;
pub mod register;
pub mod revocation;
pub mod version;

pub use clock::{Clock, Skew, SkewBound, Stamp};
pub use objects::{materialize, ObjectKey, RealServerValue, VirtualServerValue, VrrpGroupValue};
pub use register::{merge, Conflict, Merge, Register};
pub use revocation::RevocationValue;
pub use version::{Causality, VersionVector};

/// What a peer sent that cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncError {
    #[error(
        "register key {0:?}: not vs/NAME, rs/NAME/ADDRESS:PORT, group/NAME or revoked/TOKEN-ID"
    )]
    Key(String),
    #[error("register {key}: {message}")]
    Value { key: String, message: String },
    /// One field of a register's value is missing or wrong.
    #[error("register {key}: {field} {message}")]
    Field {
        key: String,
        field: String,
        message: String,
    },
}

//! The desired-state model: what an operator declares, as it travels in JSON.
//!
//! Every type here has a `validate` method that checks what serde cannot: ranges, combinations and formats.
//! Unknown fields are refused at the edge that parses caller input (it names the field), not by serde here, so
//! that stored documents stay readable across versions. Cross-object checks live in [`crate::state`].

pub mod health_check;
pub mod name;
pub mod real_server;
pub mod role;
pub mod virtual_server;
pub mod vrrp_group;

pub use health_check::{CheckKind, HealthCheck};
pub use name::validate_name;
pub use real_server::{Forwarding, RealServer, RealServerKey};
pub use role::Role;
pub use virtual_server::{
    Family, Persistence, Protocol, Scheduler, SchedulerFlag, ServiceKey, SorryServer, VirtualServer,
};
pub use vrrp_group::{
    Auth, AuthType, ConnectionSync, Member, Notify, SyncSettings, Track, VrrpGroup,
};

pub(crate) fn default_true() -> bool {
    true
}

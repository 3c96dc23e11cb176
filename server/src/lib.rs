//! director: a daemon that manages Linux IPVS load balancers. This crate is the binary `director` and its one
//! composition root: it parses the command line ([`cli`], [`options`]) and wires the parts together
//! ([`serve`] for the daemon; [`import`], [`export`] and the admin commands for the rest).
//!
//! The flow of data is one-directional (see `docs/design.md` and `ARCHITECTURE.md`): the edges
//! (`director-http` for REST, the UI and /metrics, `director-grpc`, peer sync, import) call the service layer
//! (`director-service`), which validates with the pure model, writes the store with an audit entry in the same
//! transaction, and publishes the new desired state to the runtime (`director-runtime`: reconciler and
//! dataplane, health feed, VRRP, sync).
//!
//! Architecture invariants: nothing below this crate knows clap or the command line; every part takes plain
//! settings that [`options`] builds. This is the only crate that depends on every other; no other crate
//! depends on it (the end-to-end tests run its binary).

pub mod cli;
pub mod export;
pub mod import;
pub mod options;
pub mod serve;
pub mod telemetry;

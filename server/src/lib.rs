//! director: a daemon that manages Linux IPVS load balancers.
//!
//! The flow of data is one-directional (see `docs/design.md`): the edges ([`api`] for REST, [`web`] for the
//! UI, [`grpc`], peer [`sync`], [`import`]) call the [`service`] layer, which validates with the pure
//! `director-core` model, writes the [`store`] with an audit entry in the same transaction, and publishes the
//! new desired state to its subscribers: the [`reconciler`] (which drives the [`dataplane`]), the [`health`]
//! checker, [`vrrp`] and the [`metrics`]. [`serve`] wires them together.

pub mod api;
pub mod auth;
pub mod cert;
pub mod cli;
pub mod dataplane;
pub mod export;
pub mod grpc;
pub mod health;
pub mod import;
pub mod metrics;
pub mod reconciler;
pub mod runtime;
pub mod serve;
pub mod service;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod vrrp;
pub mod web;

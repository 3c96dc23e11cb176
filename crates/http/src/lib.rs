//! The HTTP edge of director: the REST API ([`api`], axum, with its OpenAPI document), the server-rendered web
//! UI ([`web`]), `/metrics` ([`metrics`]) and the probes, served by one [`router`] over one [`AppState`].
//!
//! Owns: parsing requests (strictly: unknown fields, duplicate keys and wrong types are refused naming the
//! field), the route tables with the role each route needs ([`routes`]: the auth tests and the OpenAPI
//! document are derived from them), rendering responses and pages, the UI's sessions and CSRF tokens, the
//! exposition of metrics.
//!
//! Architecture invariants: handlers decide nothing. Authorization, validation and the audit trail are the
//! service layer's (`director-service`), what is shown comes from the runtime's views (`director-runtime`);
//! this crate imports those two and the pure crates, never the gRPC edge, netlink or the binary's options.

pub mod api;
pub mod metrics;
pub mod router;
pub mod routes;
pub mod state;
pub mod web;

pub use router::router;
pub use state::{AppState, Limits};

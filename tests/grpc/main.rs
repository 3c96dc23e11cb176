//! End-to-end suite of the gRPC API: every test drives a real `director serve` process over gRPC on loopback
//! (its port from the harness, `--grpc-listen`) with its own temporary data directory.

mod support;

mod auth;
mod crud;
mod errors;
mod operations;
mod secrets;
mod services;
mod wait;
mod watch;

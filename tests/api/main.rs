//! End-to-end suite of the REST API: every test drives a real `director serve` process over HTTP on loopback
//! with its own temporary data directory.

mod audit;
mod auth;
mod bad_input;
mod concurrency;
mod connections;
mod crud;
mod dataplane;
mod durability;
mod health;
mod hosts;
mod logins;
mod logs;
mod metrics;
mod secrets;
mod tls;

//! End-to-end tests of the health engine against real servers on loopback.

mod engine;
mod http;
mod https;
mod script;
mod support;
mod tcp;

//! The gRPC contract of director (`proto/director/v1/*.proto`, package `director.v1`) compiled to Rust by
//! `build.rs` with protox (no `protoc`): the messages, the clients and the servers of `director.v1.Director`
//! (the API for pipelines) and `director.v1.Sync` (between peers).
//!
//! Owns: nothing but generated code and the encoded descriptor set. Architecture invariant: the daemon's gRPC
//! edge, its sync shell and directorctl all take their types from here, so the contract is compiled once and
//! no crate reaches another's edge for it.

#![allow(clippy::all, clippy::pedantic)]

tonic::include_proto!("director.v1");

/// The encoded `FileDescriptorSet` of the contract (with its imports): served by reflection, and used by
/// directorctl to print messages as JSON.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/director_descriptor.bin"));

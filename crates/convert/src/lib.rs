//! Conversions between director's desired state and the formats of the tools it replaces: keepalived.conf in
//! ([`import`]: parse with `director-keepalived`, map, merge into a batch for the service layer) and
//! keepalived.conf and `ipvsadm-save` out ([`export`]).
//!
//! Owns: the mapping of keepalived's keywords onto the model and back, the merge of an import into the
//! current state, the warnings that name file and line.
//!
//! Architecture invariant: pure code. It reads no file (includes come through `director_keepalived::Source`),
//! opens no database and has no runtime: it may import the model, the planner (for the table it exports) and
//! the service layer's *types* (`Batch`, `Outcome`), never the store, an edge or the runtime. The commands'
//! IO lives in the binary (`server/src/import.rs`, `export.rs`).

pub mod export;
pub mod import;

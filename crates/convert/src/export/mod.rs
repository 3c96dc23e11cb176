//! The desired state out, in the formats operators already know (`director export keepalived|ipvsadm`).
//!
//! - [`keepalived`] (pure): one node's keepalived.conf, the inverse of the import.
//! - [`ipvsadm`] (pure): the IPVS table the reconciler programs, in `ipvsadm-save -n` format.
//!
//! The IO shell (read the data directory, print to standard output, warnings to standard error) is the
//! binary's `export.rs`.

pub mod ipvsadm;
pub mod keepalived;

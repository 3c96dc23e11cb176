//! `director export keepalived|ipvsadm`: the desired state in the formats operators already know.
//!
//! - [`keepalived`] (pure): one node's keepalived.conf, the inverse of the import.
//! - [`ipvsadm`] (pure): the IPVS table the reconciler programs, in `ipvsadm-save -n` format.
//! - [`run`]: the IO shell (read the data directory, print to standard output, warnings to standard error).

pub mod ipvsadm;
pub mod keepalived;
pub mod run;

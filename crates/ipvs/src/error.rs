//! Errors of the IPVS client and the VIP binder.

use std::io;
use std::net::IpAddr;

/// A reply from the kernel that could not be decoded. Never a panic: every
/// malformed, truncated or unexpected reply ends up here, naming the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A fixed-size header or an attribute header is cut short.
    #[error("{what}: truncated, need {need} bytes, have {have}")]
    Truncated {
        /// What was being read (a header or the attribute set being walked).
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// An attribute header declares a length that does not fit.
    #[error("{context}: attribute type {ty} declares length {len}, {available} bytes available")]
    AttributeLength {
        /// The attribute set being walked.
        context: &'static str,
        /// The attribute type.
        ty: u16,
        /// The declared length.
        len: usize,
        /// The bytes left in the enclosing buffer.
        available: usize,
    },
    /// A required attribute is absent.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// An attribute's payload is too short (or of an unexpected size).
    #[error("attribute {attr}: expected {expected} bytes, got {got}")]
    Size {
        /// The attribute's name, as in `ip_vs.h` / `if_addr.h`.
        attr: &'static str,
        /// The expected payload size.
        expected: usize,
        /// The actual payload size.
        got: usize,
    },
    /// An attribute carries a value director does not know.
    #[error("attribute {attr}: unsupported value {value}")]
    Value {
        /// The attribute's name.
        attr: &'static str,
        /// The value received.
        value: u64,
    },
    /// A string attribute is not NUL-terminated UTF-8.
    #[error("attribute {attr}: not a NUL-terminated UTF-8 string")]
    String {
        /// The attribute's name.
        attr: &'static str,
    },
}

/// Errors of [`IpvsClient`](crate::IpvsClient) and [`VipBinder`](crate::VipBinder).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no "IPVS" generic netlink family.
    #[error("IPVS is not available in this kernel (no IPVS generic netlink family)")]
    Unavailable,
    /// A request was refused locally, before anything was sent: a field does not fit
    /// what the kernel accepts.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field (`scheduler`, `netmask`, `weight`...).
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The kernel answered an operation with an error code.
    /// Displays as e.g. `NEW_DEST 10.0.0.2:80 on tcp 10.0.0.1:80: File exists (os error 17)`.
    #[error("{op}: {source}")]
    Kernel {
        /// The operation and its object.
        op: String,
        /// The errno, as an `io::Error` (`raw_os_error()` is set).
        #[source]
        source: io::Error,
    },
    /// The netlink transport failed (socket error, unexpected message flow).
    #[error("{op}: netlink: {message}")]
    Netlink {
        /// The operation and its object.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// The kernel's reply could not be decoded.
    #[error("{op}: cannot decode the kernel's reply: {source}")]
    Decode {
        /// The operation and its object.
        op: String,
        /// The decoding error, naming the attribute.
        #[source]
        source: DecodeError,
    },
    /// The connection table (`/proc/net/ip_vs_conn`) could not be read.
    #[error("{path}: {source}")]
    ConnectionTable {
        /// The file read.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A line of the connection table could not be parsed.
    #[error("{path} line {line}: {source}")]
    ConnectionLine {
        /// The file read.
        path: String,
        /// The line, from 1.
        line: u64,
        /// The field that is wrong.
        #[source]
        source: director_kernel_table::connections::ParseError,
    },
    /// The network interface does not exist.
    #[error("interface {0:?} does not exist")]
    NoSuchInterface(String),
    /// The address is on the interface but director did not add it, so it is left alone.
    #[error("{address} on {interface} was not added by director; refusing to remove it")]
    NotOwned {
        /// The interface.
        interface: String,
        /// The address.
        address: IpAddr,
    },
}

impl Error {
    /// The errno of a [`Error::Kernel`] error (`libc::EEXIST`, `libc::ESRCH`...).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

//! Errors of the service layer, classified once so that every edge (REST, gRPC, UI) maps them the same way.

use crate::store::StoreError;
use director_core::{ErrorKind, ModelError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is well-formed JSON but not an acceptable object (422).
    #[error("{}", describe(field, message))]
    Invalid { field: String, message: String },
    /// The input cannot be read at all (400).
    #[error("{}", describe(field, message))]
    BadRequest { field: String, message: String },
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    /// Clashes with another object (409).
    #[error("{}", describe(field, message))]
    Conflict { field: String, message: String },
    /// `If-Match` named an older revision (412).
    #[error("the object is at revision {current}, not {expected}: reload it and try again")]
    Stale { expected: u64, current: u64 },
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins from this address or for this user name (429).
    #[error("too many failed logins: try again in {} s", seconds(retry_after))]
    TooManyAttempts { retry_after: Duration },
    /// Too many password checks at once (503).
    #[error(
        "the server is busy checking other logins: try again in {} s",
        seconds(retry_after)
    )]
    Busy { retry_after: Duration },
    /// A peer's changes carry a stamp too far ahead of this node's clock: refused whole (peer sync only).
    #[error("{peer}'s clock runs ahead: {skew}")]
    ClockSkew {
        peer: String,
        skew: director_sync::Skew,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Whole seconds, rounded up, at least 1 (as `Retry-After` gives them).
pub fn seconds(d: &Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

fn describe(field: &str, message: &str) -> String {
    if field.is_empty() {
        message.to_string()
    } else {
        format!("{field}: {message}")
    }
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid { field, .. }
            | ServiceError::BadRequest { field, .. }
            | ServiceError::Conflict { field, .. } => {
                Some(field.as_str()).filter(|f| !f.is_empty())
            }
            _ => None,
        }
    }

    /// When to try again (whole seconds), for the refusals that say so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::TooManyAttempts { retry_after } | ServiceError::Busy { retry_after } => {
                Some(seconds(retry_after))
            }
            _ => None,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid { .. } => "invalid",
            ServiceError::BadRequest { .. } => "bad_request",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Conflict { .. } => "conflict",
            ServiceError::Stale { .. } => "stale_revision",
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::TooManyAttempts { .. } => "too_many_requests",
            ServiceError::Busy { .. } => "unavailable",
            ServiceError::ClockSkew { .. } => "clock_skew",
            ServiceError::Store(_) | ServiceError::Internal(_) => "internal",
        }
    }
}

impl From<ModelError> for ServiceError {
    fn from(e: ModelError) -> Self {
        match e.kind {
            ErrorKind::Invalid => ServiceError::Invalid {
                field: e.field,
                message: e.message,
            },
            ErrorKind::Conflict => ServiceError::Conflict {
                field: e.field,
                message: e.message,
            },
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

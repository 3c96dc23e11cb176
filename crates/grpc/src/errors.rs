//! Service errors as gRPC statuses: classified once, here, for every RPC.
//!
//! The status message is the service's message (it names the field, as REST's does). Details: a
//! google.rpc.ErrorInfo whose reason is the REST error code in upper case (`STALE_REVISION`, `NO_DATAPLANE`...)
//! in the domain `director`, and for invalid input a google.rpc.BadRequest naming the field.

use director_service::ServiceError;
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of the ErrorInfo details.
pub const DOMAIN: &str = "director";

/// What a conflict means for the call that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Creating or changing an object clashed with another one: a duplicate name, address, VRID or real server.
    Duplicate,
    /// Deleting an object that others still refer to.
    InUse,
}

/// The status of a failed service call that may conflict as `conflict` says.
pub fn status_of(e: ServiceError, conflict: Conflict) -> Status {
    let code = match &e {
        ServiceError::Invalid { .. } | ServiceError::BadRequest { .. } => Code::InvalidArgument,
        ServiceError::NotFound { .. } => Code::NotFound,
        ServiceError::Conflict { .. } => match conflict {
            Conflict::Duplicate => Code::AlreadyExists,
            Conflict::InUse => Code::Aborted,
        },
        ServiceError::Stale { .. } | ServiceError::ClockSkew { .. } => Code::FailedPrecondition,
        ServiceError::Unauthenticated(_) => Code::Unauthenticated,
        ServiceError::Forbidden(_) => Code::PermissionDenied,
        ServiceError::TooManyAttempts { .. } => Code::ResourceExhausted,
        ServiceError::Busy { .. } => Code::Unavailable,
        ServiceError::Store(_) | ServiceError::Internal(_) => Code::Internal,
    };
    if code == Code::Internal {
        tracing::error!(error = %e, "gRPC call failed");
    }
    let field = e.field().map(str::to_string);
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    if let Some(field) = &field {
        metadata.insert("field".to_string(), field.clone());
        if code == Code::InvalidArgument {
            details.add_bad_request_violation(field.clone(), describe(&e));
        }
    }
    if let Some(seconds) = e.retry_after() {
        details.set_retry_info(Some(std::time::Duration::from_secs(seconds)));
    }
    details.set_error_info(e.code().to_ascii_uppercase(), DOMAIN, metadata);
    Status::with_error_details(code, e.to_string(), details)
}

/// The status of a failed service call that creates or changes an object.
pub fn status(e: ServiceError) -> Status {
    status_of(e, Conflict::Duplicate)
}

/// The message without the `field: ` prefix the status message carries.
fn describe(e: &ServiceError) -> String {
    match e {
        ServiceError::Invalid { message, .. }
        | ServiceError::BadRequest { message, .. }
        | ServiceError::Conflict { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// INVALID_ARGUMENT about a field of the request itself (not of a model object).
pub fn invalid(field: &str, message: impl Into<String>) -> Status {
    status(ServiceError::bad_request(field, message))
}

/// A status with an ErrorInfo reason and no field.
fn with_reason(code: Code, reason: &str, message: String) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, DOMAIN, HashMap::new()),
    )
}

/// FAILED_PRECONDITION: the call needs a dataplane and none runs.
/// FAILED_PRECONDITION: no IPVS table here, so no connection table either.
pub fn no_table(detail: &str) -> Status {
    with_reason(
        Code::FailedPrecondition,
        "NO_DATAPLANE",
        format!("no IPVS table on this node ({detail}): there is no connection table to list"),
    )
}

pub fn no_dataplane(detail: &str) -> Status {
    with_reason(
        Code::FailedPrecondition,
        "NO_DATAPLANE",
        format!(
            "no dataplane runs on this node ({detail}): nothing is applied to the kernel, so there is nothing to wait for"
        ),
    )
}

/// DEADLINE_EXCEEDED: a wait ran out of time.
pub fn timed_out(message: String) -> Status {
    with_reason(Code::DeadlineExceeded, "TIMEOUT", message)
}

/// UNAVAILABLE: the daemon is stopping.
pub fn shutting_down() -> Status {
    with_reason(
        Code::Unavailable,
        "SHUTTING_DOWN",
        "director is shutting down".to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_error_class() {
        let invalid = status(ServiceError::invalid("real_servers[0].weight", "too big"));
        assert_eq!(invalid.code(), Code::InvalidArgument);
        assert_eq!(invalid.message(), "real_servers[0].weight: too big");
        let details = invalid.get_error_details();
        let violation = &details.bad_request().expect("bad request").field_violations[0];
        assert_eq!(violation.field, "real_servers[0].weight");
        assert_eq!(violation.description, "too big");
        assert_eq!(details.error_info().expect("info").reason, "INVALID");

        let conflict = || ServiceError::Conflict {
            field: "name".into(),
            message: "in use".into(),
        };
        assert_eq!(status(conflict()).code(), Code::AlreadyExists);
        assert_eq!(status_of(conflict(), Conflict::InUse).code(), Code::Aborted);
        let stale = status(ServiceError::Stale {
            expected: 1,
            current: 2,
        });
        assert_eq!(stale.code(), Code::FailedPrecondition);
        assert_eq!(
            stale.get_error_details().error_info().expect("info").reason,
            "STALE_REVISION"
        );
        assert_eq!(
            status(ServiceError::Forbidden("no".into())).code(),
            Code::PermissionDenied
        );
        assert_eq!(
            status(ServiceError::Unauthenticated("no".into())).code(),
            Code::Unauthenticated
        );
        assert_eq!(
            status(ServiceError::NotFound {
                kind: "virtual server",
                name: "web".into()
            })
            .code(),
            Code::NotFound
        );
        let none = no_dataplane("--dataplane none");
        assert_eq!(none.code(), Code::FailedPrecondition);
        assert_eq!(
            none.get_error_details().error_info().expect("info").reason,
            "NO_DATAPLANE"
        );
    }
}

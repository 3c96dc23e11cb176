//! Why a command failed, and the exit code a script sees (documented in `directorctl --help`).

use tonic::{Code, Status};
use tonic_types::StatusExt;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A bad argument on the command line.
    #[error("{0}")]
    Usage(String),
    /// The apply file cannot be read or is not valid; the message carries the line and column.
    #[error("{0}")]
    File(String),
    /// No connection to the daemon.
    #[error("cannot reach {server}: {message}")]
    Connect { server: String, message: String },
    /// The daemon answered with an error.
    #[error("{}", describe(.0))]
    Call(Status),
    /// A failed call about something of a file, placed in it; `exit` is the code of the call's status.
    #[error("{message}")]
    About { message: String, exit: u8 },
    /// Standard output was closed by the reader: stop quietly.
    #[error("")]
    Closed,
    /// The daemon answered something this client cannot use.
    #[error("{0}")]
    Internal(String),
}

impl From<Status> for Failure {
    fn from(s: Status) -> Self {
        Failure::Call(s)
    }
}

pub const OK: u8 = 0;
pub const USAGE: u8 = 1;
pub const NOT_FOUND: u8 = 2;
pub const DENIED: u8 = 3;
pub const CONFLICT: u8 = 4;
pub const TIMEOUT: u8 = 5;
pub const UNAVAILABLE: u8 = 6;
pub const PRECONDITION: u8 = 7;
pub const INTERNAL: u8 = 8;

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::File(_) => USAGE,
            Failure::Connect { .. } => UNAVAILABLE,
            Failure::Internal(_) => INTERNAL,
            Failure::Closed => OK,
            Failure::About { exit, .. } => *exit,
            Failure::Call(s) => match s.code() {
                Code::Ok => OK,
                Code::InvalidArgument | Code::OutOfRange => USAGE,
                Code::NotFound => NOT_FOUND,
                Code::Unauthenticated | Code::PermissionDenied => DENIED,
                Code::AlreadyExists | Code::Aborted => CONFLICT,
                Code::FailedPrecondition if reason(s) == "STALE_REVISION" => CONFLICT,
                Code::FailedPrecondition => PRECONDITION,
                Code::DeadlineExceeded => TIMEOUT,
                Code::Unavailable => UNAVAILABLE,
                _ => INTERNAL,
            },
        }
    }
}

/// The ErrorInfo reason of a status (`STALE_REVISION`, `NO_DATAPLANE`...).
pub fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// The field a status names: the BadRequest violation, or the ErrorInfo's `field`.
pub fn field(s: &Status) -> Option<String> {
    let details = s.get_error_details();
    details
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map(|v| v.field.clone())
        .or_else(|| {
            details
                .error_info()
                .and_then(|i| i.metadata.get("field").cloned())
        })
        .filter(|f| !f.is_empty())
}

fn describe(s: &Status) -> String {
    let what = match s.code() {
        Code::Unavailable if s.message().is_empty() => "the server is unavailable".to_string(),
        _ => s.message().to_string(),
    };
    format!("{what} ({})", code_name(s.code()))
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tonic_types::ErrorDetails;

    fn with_reason(code: Code, reason: &str) -> Failure {
        Failure::Call(Status::with_error_details(
            code,
            "m",
            ErrorDetails::with_error_info(reason, "director", HashMap::new()),
        ))
    }

    #[test]
    fn codes_a_script_can_rely_on() {
        assert_eq!(Failure::Usage("x".into()).exit_code(), 1);
        assert_eq!(Failure::File("x".into()).exit_code(), 1);
        assert_eq!(Failure::Call(Status::invalid_argument("x")).exit_code(), 1);
        assert_eq!(Failure::Call(Status::not_found("x")).exit_code(), 2);
        assert_eq!(Failure::Call(Status::unauthenticated("x")).exit_code(), 3);
        assert_eq!(Failure::Call(Status::permission_denied("x")).exit_code(), 3);
        assert_eq!(Failure::Call(Status::already_exists("x")).exit_code(), 4);
        assert_eq!(Failure::Call(Status::aborted("x")).exit_code(), 4);
        assert_eq!(
            with_reason(Code::FailedPrecondition, "STALE_REVISION").exit_code(),
            4
        );
        assert_eq!(
            with_reason(Code::FailedPrecondition, "NO_DATAPLANE").exit_code(),
            7
        );
        assert_eq!(Failure::Call(Status::deadline_exceeded("x")).exit_code(), 5);
        assert_eq!(Failure::Call(Status::unavailable("x")).exit_code(), 6);
        assert_eq!(
            Failure::Connect {
                server: "s".into(),
                message: "refused".into()
            }
            .exit_code(),
            6
        );
        assert_eq!(Failure::Call(Status::internal("x")).exit_code(), 8);
    }
}

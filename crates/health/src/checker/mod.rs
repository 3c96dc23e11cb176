//! Checkers: one module per kind of check, all behind the [`Checker`] trait.
//!
//! A checker is built once per target from its spec ([`build`]) and then asked to [`Checker::check`] on each
//! tick. The engine bounds every check with the spec's timeout by dropping the future when it expires, so a
//! checker must release everything it holds on drop (sockets close by themselves; the script checker kills its
//! process group). Adding a kind (dns, udp, ping...) is one new module implementing [`Checker`] and one arm in
//! [`build`].

pub mod http;
pub mod http1;
pub mod script;
pub mod tcp;
pub mod tls;

use crate::target::Target;
use director_core::model::CheckKind;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

/// What a passed check reports besides success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Success {
    /// The weight a script check with `dynamic_weight` asked for.
    pub dynamic_weight: Option<u32>,
}

/// The future of one check.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<Success, CheckError>> + Send + 'a>>;

/// One kind of check, configured for one target.
pub trait Checker: Send + Sync + std::fmt::Debug {
    /// Runs one check. Must be cancel-safe: the engine drops the future at the timeout.
    fn check(&self) -> CheckFuture<'_>;
}

/// Why a check failed. The display form is what operators see as `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("connect refused")]
    Refused,
    #[error("connection reset")]
    Reset,
    #[error("host unreachable")]
    HostUnreachable,
    #[error("network unreachable")]
    NetworkUnreachable,
    #[error("cannot bind {0}")]
    Bind(String),
    #[error("connect failed: {0}")]
    Connect(String),
    /// Reading or writing an established connection failed.
    #[error("{0}")]
    Io(String),
    #[error("timeout after {0} ms")]
    Timeout(u64),
    #[error("tls: {0}")]
    Tls(String),
    /// The server's answer is not valid HTTP/1.x.
    #[error("bad response: {0}")]
    Protocol(String),
    #[error("status {0}")]
    Status(u16),
    #[error("digest mismatch: body md5 is {0}")]
    Digest(String),
    #[error("body does not match regex")]
    Regex,
    #[error("body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("exit {0}")]
    Exit(i32),
    #[error("killed by signal {0}")]
    Signal(i32),
    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },
    /// The spec cannot be run (validation should have refused it).
    #[error("invalid check: {0}")]
    Spec(String),
}

impl CheckError {
    /// Classifies an IO error of an established connection; `doing` says what failed (`read`, `write`).
    pub(crate) fn io(doing: &str, e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionReset => CheckError::Reset,
            io::ErrorKind::ConnectionRefused => CheckError::Refused,
            io::ErrorKind::UnexpectedEof => {
                CheckError::Io(format!("{doing} failed: connection closed"))
            }
            io::ErrorKind::BrokenPipe => {
                CheckError::Io(format!("{doing} failed: connection closed"))
            }
            _ => CheckError::Io(format!("{doing} failed: {e}")),
        }
    }
}

/// Builds the checker of a target; `None` for `type: none` (not checked, always up).
pub fn build(target: &Target) -> Result<Option<Arc<dyn Checker>>, CheckError> {
    Ok(match target.check.kind {
        CheckKind::None => None,
        CheckKind::Tcp => Some(Arc::new(tcp::TcpChecker::new(target)?)),
        CheckKind::Http => Some(Arc::new(http::HttpChecker::new(target, false)?)),
        CheckKind::Https => Some(Arc::new(http::HttpChecker::new(target, true)?)),
        CheckKind::Script => Some(Arc::new(script::ScriptChecker::new(target)?)),
    })
}

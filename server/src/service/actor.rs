//! Who makes a change, and through what.

use director_core::model::Role;
use std::fmt;

/// The path a change came in by; recorded as `via` in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Rest,
    Grpc,
    Ui,
    Sync,
    Import,
    Cli,
    Health,
    Vrrp,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Rest => "rest",
            Via::Grpc => "grpc",
            Via::Ui => "ui",
            Via::Sync => "sync",
            Via::Import => "import",
            Via::Cli => "cli",
            Via::Health => "health",
            Via::Vrrp => "vrrp",
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Actor {
    pub fn new(name: impl Into<String>, role: Role, via: Via) -> Self {
        Actor {
            name: name.into(),
            role,
            via,
        }
    }
}

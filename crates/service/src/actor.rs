//! Who makes a change, and through what.

use director_core::model::Role;
use director_core::secrets::Visibility;
use std::fmt;

/// The token of an `Authorization` value (HTTP header or gRPC metadata) of the form `Bearer <token>`;
/// `None` when the value is not that, or the token is empty.
pub fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

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
    pub const ALL: [Via; 8] = [
        Via::Rest,
        Via::Grpc,
        Via::Ui,
        Via::Sync,
        Via::Import,
        Via::Cli,
        Via::Health,
        Via::Vrrp,
    ];

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

    /// Whether this caller sees secrets (admins) or has them withheld (`director_core::secrets`).
    pub fn visibility(&self) -> Visibility {
        Visibility::of(self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens_are_read_and_other_values_refused() {
        assert_eq!(bearer_token(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        for bad in [
            &b"Basic abc"[..],
            b"Bearer ",
            b"Bearer    ",
            b"abc",
            b"Bearer \xff",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }
}

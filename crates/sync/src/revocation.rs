//! Token revocations as registers: `revoked/TOKEN-ID` holds what a node that never saw the token needs to
//! refuse it and to list it (its subject, kind, role, lifetime) and who revoked it when.
//!
//! A revocation is never undone: there is no tombstone of one, and two nodes revoking the same token at once
//! is no conflict (either value says the same: refused). Once the token has expired the register is of no use
//! and may be dropped ([`RevocationValue::expired`]); a copy arriving after that is ignored.

pub use crate::objects::{valid_token_id, MAX_TOKEN_ID};

use crate::objects::ObjectKey;
use crate::SyncError;
use director_core::model::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest subject and `revoked_by`.
pub const MAX_NAME: usize = 128;

/// What a revoked token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A user's login session.
    User,
    /// A service token (`director token create`).
    Service,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Service => "service",
        }
    }
}

/// The value of a `revoked/TOKEN-ID` register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationValue {
    /// The user name, or `token:NAME` for a service token.
    pub subject: String,
    pub kind: TokenKind,
    pub role: Role,
    /// When the token was issued and when it expires (Unix seconds).
    pub issued_at: i64,
    pub expires_at: i64,
    /// When it was revoked (milliseconds since the Unix epoch) and by whom.
    pub revoked_at_ms: u64,
    pub revoked_by: String,
}

impl RevocationValue {
    /// Whether the token has expired at `now_s` (Unix seconds): refused anyway, the revocation may go.
    pub fn expired(&self, now_s: i64) -> bool {
        self.expires_at <= now_s
    }

    /// Decodes the value of the register of token `id`, checking every field; an error names the register
    /// and the field.
    pub fn decode(id: &str, text: &str) -> Result<RevocationValue, SyncError> {
        let key = ObjectKey::Revocation(id.to_string()).to_string();
        let value: Value = serde_json::from_str(text).map_err(|e| SyncError::Value {
            key: key.clone(),
            message: e.to_string(),
        })?;
        let Value::Object(fields) = value else {
            return Err(SyncError::Value {
                key,
                message: "the revocation is not a JSON object".into(),
            });
        };
        let f = Fields { key: &key, fields };
        let kind = match f.string("kind", 16)? {
            "user" => TokenKind::User,
            "service" => TokenKind::Service,
            other => return Err(f.error("kind", format!("is {other:?}, not user or service"))),
        };
        let role = f
            .string("role", 16)?
            .parse::<Role>()
            .map_err(|_| f.error("role", "is not viewer, operator or admin"))?;
        let issued_at = f.integer("issued_at")?;
        let expires_at = f.integer("expires_at")?;
        if issued_at < 0 {
            return Err(f.error("issued_at", "is before 1970"));
        }
        if expires_at < issued_at {
            return Err(f.error("expires_at", "is before issued_at"));
        }
        let revoked_at_ms = u64::try_from(f.integer("revoked_at_ms")?)
            .map_err(|_| f.error("revoked_at_ms", "is before 1970"))?;
        Ok(RevocationValue {
            subject: f.name("subject")?.to_string(),
            kind,
            role,
            issued_at,
            expires_at,
            revoked_at_ms,
            revoked_by: f.name("revoked_by")?.to_string(),
        })
    }
}

/// The fields of a value being decoded, and the key it belongs to (for the errors).
struct Fields<'a> {
    key: &'a str,
    fields: Map<String, Value>,
}

impl Fields<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> SyncError {
        SyncError::Field {
            key: self.key.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn get(&self, field: &str) -> Result<&Value, SyncError> {
        self.fields
            .get(field)
            .ok_or_else(|| self.error(field, "is missing"))
    }

    fn string(&self, field: &str, max: usize) -> Result<&str, SyncError> {
        let s = self
            .get(field)?
            .as_str()
            .ok_or_else(|| self.error(field, "is not a string"))?;
        if s.len() > max {
            return Err(self.error(field, format!("is longer than {max} bytes")));
        }
        Ok(s)
    }

    /// A name: 1 to [`MAX_NAME`] bytes, no control characters.
    fn name(&self, field: &str) -> Result<&str, SyncError> {
        let s = self.string(field, MAX_NAME)?;
        if s.is_empty() {
            return Err(self.error(field, "is empty"));
        }
        if s.chars().any(char::is_control) {
            return Err(self.error(field, "holds control characters"));
        }
        Ok(s)
    }

    fn integer(&self, field: &str) -> Result<i64, SyncError> {
        self.get(field)?
            .as_i64()
            .ok_or_else(|| self.error(field, "is not an integer (Unix time)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::encode;
    use serde_json::json;

    fn value() -> RevocationValue {
        RevocationValue {
            subject: "token:ci".into(),
            kind: TokenKind::Service,
            role: Role::Operator,
            issued_at: 1_700_000_000,
            expires_at: 1_700_003_600,
            revoked_at_ms: 1_700_000_100_123,
            revoked_by: "admin".into(),
        }
    }

    #[test]
    fn a_revocation_round_trips_and_expires_with_its_token() {
        let v = value();
        let text = encode(&v);
        assert_eq!(RevocationValue::decode("abc", &text), Ok(v.clone()));
        assert_eq!(
            serde_json::from_str::<Value>(&text).expect("json"),
            json!({"subject": "token:ci", "kind": "service", "role": "operator",
                   "issued_at": 1_700_000_000i64, "expires_at": 1_700_003_600i64,
                   "revoked_at_ms": 1_700_000_100_123u64, "revoked_by": "admin"})
        );
        assert!(!v.expired(1_700_003_599));
        assert!(v.expired(1_700_003_600));
        // A field a later version adds is no reason to refuse the revocation.
        let mut more = serde_json::to_value(&v).expect("json");
        more["reason"] = json!("leaked");
        assert_eq!(
            RevocationValue::decode("abc", &more.to_string()),
            Ok(v.clone())
        );
        let key = ObjectKey::Revocation("abc".into());
        assert_eq!(key.to_string(), "revoked/abc");
        assert_eq!("revoked/abc".parse::<ObjectKey>(), Ok(key.clone()));
        assert!(!key.is_desired_state());
        assert_eq!(key.virtual_server(), None);
    }

    #[test]
    fn a_bad_revocation_is_refused_naming_the_field() {
        let good = serde_json::to_value(value()).expect("json");
        let cases: Vec<(&str, Value)> = vec![
            ("subject", json!(null)),
            ("subject", json!("")),
            ("subject", json!("a\nb")),
            ("subject", json!("x".repeat(200))),
            ("kind", json!("robot")),
            ("kind", json!(3)),
            ("role", json!("root")),
            ("issued_at", json!(-5)),
            ("issued_at", json!("yesterday")),
            ("expires_at", json!(1_600_000_000)),
            ("expires_at", json!(1.5)),
            ("revoked_at_ms", json!(-1)),
            ("revoked_by", json!("")),
        ];
        for (field, bad) in cases {
            let mut v = good.clone();
            if bad.is_null() {
                v.as_object_mut().expect("object").remove(field);
            } else {
                v[field] = bad.clone();
            }
            match RevocationValue::decode("abc", &v.to_string()) {
                Err(SyncError::Field { key, field: f, .. }) => {
                    assert_eq!((key.as_str(), f.as_str()), ("revoked/abc", field), "{bad}")
                }
                other => panic!("{field} = {bad}: {other:?}"),
            }
        }
        for text in ["[]", "3", "not json", "{\"subject\": "] {
            let err = RevocationValue::decode("abc", text).expect_err(text);
            assert!(
                err.to_string().contains("revoked/abc"),
                "{text}: {err} names the register"
            );
        }
    }
}

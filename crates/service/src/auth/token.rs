//! HS256 JSON Web Tokens: sessions from `POST /api/v1/auth/login` and service tokens from
//! `director token create`.

use director_core::model::Role;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A user's session: the user must still exist, and the user's current role applies.
    User,
    /// A service token for pipelines: its role is fixed when it is issued.
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name, or the service token's name.
    pub sub: String,
    pub role: Role,
    pub kind: TokenKind,
    pub iat: i64,
    pub exp: i64,
    /// The token's id: what `GET /api/v1/tokens` lists and a revocation names.
    pub jti: String,
    /// A user session's epoch: the session ends when the user's changes (password change, deletion).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub epoch: String,
}

impl Claims {
    /// Claims with a new random id (`jti`) and no epoch.
    pub fn new(sub: &str, role: Role, kind: TokenKind, now: i64, ttl_s: i64) -> Claims {
        Claims {
            sub: sub.to_string(),
            role,
            kind,
            iat: now,
            exp: now + ttl_s,
            jti: random_hex(12),
            epoch: String::new(),
        }
    }
}

/// `bytes` random bytes in hex.
pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long after its expiry a token is still accepted (clock skew between issuer and verifier).
pub const LEEWAY_S: u64 = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// Signs and checks tokens with one HS256 secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The secret from `file`, created with 32 random bytes and mode 0600 when it does not exist yet.
    pub fn load_or_create(file: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        use rand::RngCore;
        if !file.exists() {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
                .with_context(|| format!("creating the token secret {}", file.display()))?;
            f.write_all(hex.as_bytes())?;
            f.sync_all()?;
            tracing::info!(file = %file.display(), "generated a new token signing secret");
        }
        let secret =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let secret = secret.trim();
        anyhow::ensure!(
            secret.len() >= 32,
            "the token secret in {} is shorter than 32 characters",
            file.display()
        );
        Ok(Tokens::new(secret.as_bytes()))
    }

    /// A signed token of fresh claims (a new random id, no epoch).
    pub fn issue(&self, sub: &str, role: Role, kind: TokenKind, now: i64, ttl_s: i64) -> String {
        self.sign(&Claims::new(sub, role, kind, now, ttl_s))
    }

    pub fn sign(&self, claims: &Claims) -> String {
        // HS256 signing of a serializable struct cannot fail.
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_S;
        validation.set_required_spec_claims(&["exp", "sub"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let tok = t.issue("alice", Role::Operator, TokenKind::User, now, 60);
        let c = t.verify(&tok).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.role, c.kind),
            ("alice", Role::Operator, TokenKind::User)
        );
        assert_eq!(c.jti.len(), 24);
        let mut with_epoch = Claims::new("bob", Role::Viewer, TokenKind::User, now, 60);
        with_epoch.epoch = "e1".into();
        assert_eq!(t.verify(&t.sign(&with_epoch)).unwrap(), with_epoch);
    }

    #[test]
    fn expired_and_foreign_tokens_fail() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let other = Tokens::new(b"fedcba9876543210fedcba9876543210");
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            t.verify(&t.issue("a", Role::Admin, TokenKind::User, now - 7200, 60)),
            Err(TokenError::Expired)
        );
        assert!(matches!(
            t.verify(&other.issue("a", Role::Admin, TokenKind::User, now, 60)),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(t.verify("garbage"), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn secret_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        Tokens::load_or_create(&f).unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        Tokens::load_or_create(&f).unwrap();
    }
}

//! Issued tokens and their revocation: the record of every token this node issues (`tokens` in the store),
//! logout, the admin's list and revoke, and the in-memory set of revoked ids every authentication consults.
//! A revocation made by another process on this data directory (`director token revoke`) reaches the set
//! through [`Service::refresh_revocations`], which the daemon polls.

use super::{now, require, Actor, Result, Service, ServiceError, Via};
use crate::auth::{Claims, TokenKind};
use crate::store::{Store, TokenRow};
use director_core::model::Role;
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// Most tokens `GET /api/v1/tokens` lists.
pub const MAX_TOKENS_LISTED: u32 = 1000;

/// A token as the API shows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenView {
    /// The token's id (its `jti`).
    pub id: String,
    /// The user name of a session, `token:NAME` for a service token.
    pub subject: String,
    /// `user` (a login session) or `service` (`director token create`).
    pub kind: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub expires_at: String,
    /// When it was revoked (logout or revocation), if it was.
    pub revoked_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

impl From<TokenRow> for TokenView {
    fn from(t: TokenRow) -> Self {
        TokenView {
            role: t.role.parse().unwrap_or(Role::Viewer),
            id: t.id,
            subject: t.subject,
            kind: t.kind,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            revoked_by: t.revoked_by,
        }
    }
}

/// The ids of revoked tokens that have not expired, and the number of the last revocation read from the store.
#[derive(Debug, Default)]
pub(super) struct Revoked {
    ids: HashMap<String, i64>,
    seq: i64,
}

impl Revoked {
    pub(super) async fn load(store: &Store) -> Result<Self> {
        let now = unix_now();
        let seq = store.last_revocation().await?;
        let ids = store
            .revocations_after(0, now)
            .await?
            .into_iter()
            .map(|r| (r.id, r.expires_unix))
            .collect();
        Ok(Revoked { ids, seq })
    }

    /// Refuses `id` until `expires` (Unix seconds); forgets the ids that have expired by `now`.
    fn insert(&mut self, id: String, expires: i64, now: i64) {
        self.ids.retain(|_, exp| *exp > now);
        self.ids.insert(id, expires);
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }
}

pub(super) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The row recording the token of `claims`.
pub(super) fn token_row(claims: &Claims) -> TokenRow {
    TokenRow {
        id: claims.jti.clone(),
        subject: claims.sub.clone(),
        kind: match claims.kind {
            TokenKind::User => "user",
            TokenKind::Service => "service",
        }
        .to_string(),
        role: claims.role.to_string(),
        created_at: rfc3339(claims.iat),
        expires_at: rfc3339(claims.exp),
        expires_unix: claims.exp,
        revoked_at: None,
        revoked_by: None,
    }
}

fn describe(t: &TokenRow) -> String {
    match t.kind.as_str() {
        "service" => format!("service token {} ({})", t.subject, t.role),
        _ => format!("session of {}", t.subject),
    }
}

/// `from ADDRESS` or nothing.
pub(super) fn from_address(address: Option<IpAddr>) -> String {
    address.map(|a| format!(" from {a}")).unwrap_or_default()
}

impl Service {
    fn is_revoked(&self, id: &str) -> bool {
        self.revoked.read().map(|r| r.contains(id)).unwrap_or(true)
    }

    /// Refuses a revoked token (an authentication's first check after the signature).
    pub(super) fn check_not_revoked(&self, claims: &Claims) -> Result<()> {
        if self.is_revoked(&claims.jti) {
            return Err(ServiceError::Unauthenticated(
                "the token has been revoked: log in again".into(),
            ));
        }
        Ok(())
    }

    fn remember_revoked(&self, id: &str, expires: i64) {
        let mut r = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        r.insert(id.to_string(), expires, unix_now());
    }

    /// Reads the revocations made since the last read (by this process or another one on the same data
    /// directory, such as `director token revoke`). Cheap: an indexed query that finds nothing most of the time.
    pub async fn refresh_revocations(&self) -> Result<usize> {
        let seq = self.revoked.read().unwrap_or_else(|p| p.into_inner()).seq;
        let now = unix_now();
        let new = self.store.revocations_after(seq, now).await?;
        if new.is_empty() {
            return Ok(0);
        }
        let mut r = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        for rev in &new {
            r.seq = r.seq.max(rev.seq);
            r.insert(rev.id.clone(), rev.expires_unix, now);
        }
        Ok(new.len())
    }

    /// Polls the store for revocations every `every` until `stop` (the daemon runs this; see
    /// [`Service::refresh_revocations`]).
    pub fn watch_revocations(
        self: &Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match service.refresh_revocations().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(revocations = n, "read token revocations from the store")
                    }
                    Err(e) => tracing::warn!(error = %e, "reading token revocations"),
                }
            }
        })
    }

    /// Issues a service token (`director token create`): recorded, with its audit entry. Returns the token and
    /// its record.
    pub async fn create_service_token(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        ttl: Duration,
    ) -> Result<(String, TokenView)> {
        require(actor, Role::Admin)?;
        director_core::model::validate_name("name", name)?;
        let ttl_s = i64::try_from(ttl.as_secs())
            .map_err(|_| ServiceError::invalid("ttl", "is too long"))?;
        let subject = format!("token:{name}");
        let claims = Claims::new(&subject, role, TokenKind::Service, unix_now(), ttl_s);
        let row = token_row(&claims);
        let mut e = self.audit_entry(actor, "create", "token", subject.clone());
        e.summary = format!(
            "issued service token {name} (id {}) with role {role} for {}s",
            claims.jti, ttl_s
        );
        self.store.record_token(&row, &e).await?;
        Ok((self.tokens.sign(&claims), row.into()))
    }

    /// The tokens that have not expired, revoked or not, newest first (admin).
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenView>> {
        require(actor, Role::Admin)?;
        Ok(self
            .store
            .tokens(unix_now(), MAX_TOKENS_LISTED)
            .await?
            .into_iter()
            .map(TokenView::from)
            .collect())
    }

    pub async fn get_token(&self, actor: &Actor, id: &str) -> Result<TokenView> {
        require(actor, Role::Admin)?;
        self.store
            .token(id)
            .await?
            .map(TokenView::from)
            .ok_or_else(|| not_found(id))
    }

    /// Revokes a token by its id (admin): refused at once here; another daemon on the same data directory
    /// notices within its poll. Revoking a revoked token changes nothing.
    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<TokenView> {
        require(actor, Role::Admin)?;
        let row = self.store.token(id).await?.ok_or_else(|| not_found(id))?;
        let mut e = self.audit_entry(actor, "revoke", "token", id.to_string());
        e.summary = format!("revoked token {id} ({})", describe(&row));
        let at = now();
        let (row, _) = self.store.revoke_token(&row, &at, &actor.name, &e).await?;
        self.remember_revoked(&row.id, row.expires_unix);
        Ok(row.into())
    }

    /// Ends the session of `token` (any valid token may log itself out): the token is revoked for REST, gRPC
    /// and the UI alike, and the logout is audited.
    pub async fn logout(&self, token: &str, via: Via, address: Option<IpAddr>) -> Result<()> {
        let actor = self.authenticate(token, via).await?;
        let claims = self
            .tokens
            .verify(token)
            .map_err(|e| ServiceError::Unauthenticated(e.to_string()))?;
        let row = token_row(&claims);
        let mut e = self.audit_entry(&actor, "logout", "login", claims.sub.clone());
        e.summary = format!(
            "{} logged out{} via {via} (token {} revoked)",
            claims.sub,
            from_address(address),
            claims.jti
        );
        let (row, _) = self
            .store
            .revoke_token(&row, &now(), &actor.name, &e)
            .await?;
        self.remember_revoked(&row.id, row.expires_unix);
        tracing::info!(user = %claims.sub, via = %via, address = ?address, "logged out");
        Ok(())
    }
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "token",
        name: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::Revoked;

    #[test]
    fn revoked_ids_are_refused_until_they_expire() {
        let mut r = Revoked::default();
        r.insert("t1".into(), 100, 0);
        assert!(r.contains("t1") && !r.contains("t2"));
        r.insert("t2".into(), 300, 200);
        assert!(!r.contains("t1"), "expired entries are forgotten");
        assert!(r.contains("t2"));
    }
}

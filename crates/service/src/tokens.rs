//! Issued tokens and their revocation: the record of every token this node issues (`tokens` in the store),
//! logout, the admin's list and revoke, and the in-memory set of revoked ids every authentication consults.
//! A revocation made by another process on this data directory (`director token revoke`) reaches the set
//! through [`Service::refresh_revocations`], which the daemon polls.
//!
//! Revocations reach peers through the sync log: the daemon's watcher ([`Service::watch_revocations`]) writes
//! a `revoked/TOKEN-ID` register and a log entry for every revocation of the tokens table that has none yet
//! (made here over REST, gRPC or the UI, by the CLI while the daemon runs or while it was stopped), and drops
//! the registers and rows of tokens that have expired. Peers apply them in `sync.rs`.

use super::replica::encoded;
use super::{now, require, Actor, Result, Service, ServiceError, Via};
use crate::auth::{Claims, TokenKind};
use crate::store::{Revocation, StateChange, Store, TokenRow};
use director_core::model::Role;
use director_sync::objects::{encode, REVOCATION_PREFIX};
use director_sync::revocation::{self, RevocationValue};
use director_sync::{ObjectKey, Register};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// How long after its token expired a revocation (its register, its row) is kept before it is dropped.
const PRUNE_AFTER_EXPIRY_S: i64 = 300;
/// How often expired revocations are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

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
        let seq = store.last_revocation().await?;
        let ids = store
            .revocations_after(0, horizon())
            .await?
            .into_iter()
            .map(|r| (r.token.id, r.token.expires_unix))
            .collect();
        Ok(Revoked { ids, seq })
    }

    /// Refuses `id` until `expires` (Unix seconds); forgets the ids that expired before `horizon`.
    fn insert(&mut self, id: String, expires: i64, horizon: i64) {
        self.ids.retain(|_, exp| *exp > horizon);
        self.ids.insert(id, expires);
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }
}

pub(super) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Revocations of tokens that expired before this (Unix seconds) are of no use: the tokens are refused as
/// expired. Up to then (expiry plus the verifier's leeway) a revocation is kept, sent and applied.
pub(super) fn horizon() -> i64 {
    unix_now() - crate::auth::LEEWAY_S as i64 - 1
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

/// `unix_ms` as the audit log writes times (RFC 3339, UTC, milliseconds).
fn rfc3339_ms(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn unix_of(rfc3339: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The register value of a revoked token's row; `None` (with a warning) when the row would not pass a peer's
/// checks: a value a peer refuses would stop its sync with this node.
pub(super) fn revocation_value(row: &TokenRow) -> Option<RevocationValue> {
    let value = RevocationValue {
        subject: row.subject.clone(),
        kind: match row.kind.as_str() {
            "service" => revocation::TokenKind::Service,
            _ => revocation::TokenKind::User,
        },
        role: row.role.parse().ok()?,
        issued_at: unix_of(&row.created_at).map_or(0, |t| t.timestamp()),
        expires_at: row.expires_unix,
        revoked_at_ms: row
            .revoked_at
            .as_deref()
            .and_then(unix_of)
            .map_or_else(super::now_ms, |t| {
                u64::try_from(t.timestamp_millis()).unwrap_or(0)
            }),
        revoked_by: row.revoked_by.clone().unwrap_or_else(|| "unknown".into()),
    };
    let checked = if revocation::valid_token_id(&row.id) {
        RevocationValue::decode(&row.id, &encode(&value)).map(drop)
    } else {
        Err(director_sync::SyncError::Key(format!(
            "{REVOCATION_PREFIX}{}",
            row.id
        )))
    };
    match checked {
        Ok(()) => Some(value),
        Err(e) => {
            tracing::warn!(token = %row.id, "a revocation that peers would refuse is not sent to them: {e}");
            None
        }
    }
}

/// The row a revocation synced from a peer leaves in the tokens table.
pub(super) fn revoked_row(id: &str, v: &RevocationValue) -> TokenRow {
    TokenRow {
        id: id.to_string(),
        subject: v.subject.clone(),
        kind: v.kind.as_str().to_string(),
        role: v.role.to_string(),
        created_at: rfc3339(v.issued_at),
        expires_at: rfc3339(v.expires_at),
        expires_unix: v.expires_at,
        revoked_at: Some(rfc3339_ms(v.revoked_at_ms)),
        revoked_by: Some(v.revoked_by.clone()),
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
    pub(super) fn is_revoked(&self, id: &str) -> bool {
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

    pub(super) fn remember_revoked(&self, id: &str, expires: i64) {
        let mut r = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        r.insert(id.to_string(), expires, horizon());
    }

    /// Reads the revocations made since the last read (by this process or another one on the same data
    /// directory, such as `director token revoke`, or synced from a peer) and refuses them from now on.
    /// Cheap: an indexed query that finds nothing most of the time. Returns them.
    pub async fn refresh_revocations(&self) -> Result<Vec<Revocation>> {
        let seq = self.revoked.read().unwrap_or_else(|p| p.into_inner()).seq;
        let now = horizon();
        let new = self.store.revocations_after(seq, now).await?;
        if new.is_empty() {
            return Ok(new);
        }
        let mut r = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        for rev in &new {
            r.seq = r.seq.max(rev.seq);
            r.insert(rev.token.id.clone(), rev.token.expires_unix, now);
        }
        Ok(new)
    }

    /// Sends `revocations` to the peers: a `revoked/TOKEN-ID` register and one log entry for those that have
    /// no register yet (the others were sent already, or came from a peer). Returns how many were sent.
    pub async fn replicate_revocations(&self, revocations: &[Revocation]) -> Result<usize> {
        let horizon = horizon();
        let values: Vec<(String, RevocationValue)> = revocations
            .iter()
            .filter(|r| r.token.expires_unix > horizon)
            .filter_map(|r| revocation_value(&r.token).map(|v| (r.token.id.clone(), v)))
            .collect();
        if values.is_empty() {
            return Ok(0);
        }
        let _w = self.lock_writer().await;
        let mut pending: BTreeMap<String, Register> = BTreeMap::new();
        {
            let mut replica = self.replica();
            for (id, value) in values {
                let key = ObjectKey::Revocation(id).to_string();
                if replica.registers.contains_key(&key) || pending.contains_key(&key) {
                    continue;
                }
                let stamp = replica.tick();
                pending.insert(key, Register::written(None, stamp, Some(encode(&value))));
            }
        }
        if pending.is_empty() {
            return Ok(0);
        }
        let n = pending.len();
        let change = StateChange {
            revision: self.current().revision,
            at: now(),
            unchanged: true,
            registers: encoded(&pending),
            log_origin: Some(self.node.clone()),
            ..Default::default()
        };
        self.commit(change, None, move |replica| {
            replica.registers.extend(pending)
        })
        .await?;
        Ok(n)
    }

    /// Every revocation of a token that has not expired, sent to the peers unless it was already (those made
    /// while the daemon was stopped, or by a version that did not send them).
    async fn replicate_all_revocations(&self) -> Result<usize> {
        let all = self.store.revocations_after(0, horizon()).await?;
        self.replicate_revocations(&all).await
    }

    /// Drops what is kept of the tokens that expired before `before` (Unix seconds): their revocations'
    /// registers (a copy arriving later is ignored) and their rows. Returns how many registers went.
    pub async fn prune_revocations(&self, before: i64) -> Result<usize> {
        let _w = self.lock_writer().await;
        let expired: Vec<String> = {
            let replica = self.replica();
            replica
                .registers
                .range(REVOCATION_PREFIX.to_string()..)
                .take_while(|(k, _)| k.starts_with(REVOCATION_PREFIX))
                .filter(|(k, reg)| {
                    let id = &k[REVOCATION_PREFIX.len()..];
                    reg.value
                        .as_deref()
                        .and_then(|text| RevocationValue::decode(id, text).ok())
                        .is_some_and(|v| v.expired(before))
                })
                .map(|(k, _)| k.clone())
                .collect()
        };
        let n = expired.len();
        if n > 0 {
            let change = StateChange {
                revision: self.current().revision,
                at: now(),
                unchanged: true,
                register_deletes: expired.clone(),
                ..Default::default()
            };
            self.commit(change, None, move |replica| {
                for k in &expired {
                    replica.registers.remove(k);
                }
            })
            .await?;
        } else {
            drop(_w);
        }
        self.store.prune_tokens(before).await?;
        Ok(n)
    }

    /// Polls the store for revocations every `every` until `stop` (the daemon runs this; see
    /// [`Service::refresh_revocations`]), sends them to the peers ([`Service::replicate_revocations`]: at
    /// once for those made by this process) and drops expired ones now and then.
    pub fn watch_revocations(
        self: &Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            // All of them at the start, and again after a failure to send some.
            let mut sweep = true;
            let mut pruned: Option<Instant> = None;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if sweep {
                    match service.replicate_all_revocations().await {
                        Ok(n) => {
                            sweep = false;
                            if n > 0 {
                                tracing::info!(revocations = n, "token revocations sent to peers");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "sending token revocations to peers"),
                    }
                }
                if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    pruned = Some(Instant::now());
                    let before = unix_now() - PRUNE_AFTER_EXPIRY_S;
                    match service.prune_revocations(before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(
                            revocations = n,
                            "dropped the revocations of expired tokens"
                        ),
                        Err(e) => tracing::warn!(error = %e, "dropping expired token revocations"),
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                    _ = service.revocations_made.notified() => {}
                }
                let new = match service.refresh_revocations().await {
                    Ok(new) => new,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading token revocations");
                        continue;
                    }
                };
                if new.is_empty() {
                    continue;
                }
                tracing::info!(
                    revocations = new.len(),
                    "read token revocations from the store"
                );
                match service.replicate_revocations(&new).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(revocations = n, "token revocations sent to peers"),
                    Err(e) => {
                        tracing::warn!(error = %e, "sending token revocations to peers");
                        sweep = true;
                    }
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
        // The watcher sends it to the peers (in the daemon; the CLI's revocations the daemon finds itself).
        self.revocations_made.notify_one();
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
        self.revocations_made.notify_one();
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

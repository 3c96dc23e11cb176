//! Users, logins and token checks.

use super::tokens::{from_address, rfc3339, token_row, unix_now};
use super::{check_revision, now, require, Actor, Result, Service, ServiceError, Via};
use crate::auth::{
    hash_password, random_hex, verify_password, Claims, GateError, HashGate, TokenError, TokenKind,
    MIN_PASSWORD_LEN,
};
use crate::store::UserRow;
use director_core::model::{validate_name, Role};
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// What authenticating a session needs of its user, kept in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UserAuth {
    pub role: Role,
    /// Sessions carrying another epoch have ended.
    pub epoch: String,
}

impl UserAuth {
    pub fn of(u: &UserRow) -> Option<UserAuth> {
        Some(UserAuth {
            role: u.role.parse().ok()?,
            epoch: u.session_epoch.clone(),
        })
    }
}

/// Password hashes (logins, the decoy of unknown users, new passwords) running at once, how many more may
/// wait, and how long.
pub const HASHES_AT_ONCE: usize = 2;
pub const HASH_QUEUE: usize = 16;
pub const HASH_WAIT: Duration = Duration::from_millis(1500);

pub(super) fn hash_gate() -> HashGate {
    HashGate::new(HASHES_AT_ONCE, HASH_QUEUE, HASH_WAIT)
}

fn gate_error(e: GateError) -> ServiceError {
    match e {
        GateError::Busy { retry_after } => ServiceError::Busy { retry_after },
        GateError::Failed(m) => ServiceError::Internal(m),
    }
}

/// A user name as the audit log and the log may show it: printable, at most 64 characters.
fn shown_name(name: &str) -> String {
    let s: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    if s.is_empty() {
        "(empty)".to_string()
    } else {
        s
    }
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        UserView {
            role: u.role.parse().unwrap_or(Role::Viewer),
            name: u.name,
            revision: u.revision,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResult {
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub role: Role,
}

/// A real hash of a random password, checked when the user does not exist so that a failed login takes as
/// long either way and does not reveal which user names exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        use rand::RngCore;
        let mut p = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut p);
        hash_password(&format!("{p:?}")).unwrap_or_default()
    })
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

impl Service {
    async fn hash(&self, password: String) -> Result<String> {
        self.hashing
            .run(move || hash_password(&password))
            .await
            .map_err(gate_error)?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>> {
        require(actor, Role::Admin)?;
        Ok(self
            .store
            .users()
            .await?
            .into_iter()
            .map(UserView::from)
            .collect())
    }

    pub async fn get_user(&self, actor: &Actor, name: &str) -> Result<UserView> {
        require(actor, Role::Admin)?;
        self.store
            .user(name)
            .await?
            .map(UserView::from)
            .ok_or_else(|| not_found(name))
    }

    pub async fn create_user(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<UserView> {
        require(actor, Role::Admin)?;
        validate_name("name", name)?;
        check_password(password)?;
        let password_hash = self.hash(password.to_string()).await?;
        let _w = self.lock_writer().await;
        if self.store.user(name).await?.is_some() {
            return Err(ServiceError::Conflict {
                field: "name".into(),
                message: format!("user {name:?} already exists"),
            });
        }
        let at = now();
        let row = UserRow {
            name: name.to_string(),
            role: role.to_string(),
            password_hash,
            revision: 1,
            created_at: at.clone(),
            updated_at: at,
            session_epoch: random_hex(16),
        };
        let mut e = self.audit_entry(actor, "create", "user", name.to_string());
        e.summary = format!("created user {name} with role {role}");
        e.after = Some(json!({"name": name, "role": role}));
        self.store.write_user(name, Some(&row), &e).await?;
        self.cache_user(name, UserAuth::of(&row));
        Ok(row.into())
    }

    /// Changes a user's role and/or password.
    pub async fn update_user(
        &self,
        actor: &Actor,
        name: &str,
        role: Option<Role>,
        password: Option<&str>,
        if_match: Option<u64>,
    ) -> Result<UserView> {
        require(actor, Role::Admin)?;
        let new_hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(self.hash(p.to_string()).await?)
            }
            None => None,
        };
        let _w = self.lock_writer().await;
        let mut row = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, row.revision as u64)?;
        let old_role: Role = row.role.parse().unwrap_or(Role::Viewer);
        let mut summary = Vec::new();
        let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
        if let Some(r) = role.filter(|r| *r != old_role) {
            if old_role == Role::Admin {
                self.check_not_last_admin(name)?;
            }
            summary.push(format!("role {old_role} -> {r}"));
            before.insert("role".into(), json!(old_role));
            after.insert("role".into(), json!(r));
            row.role = r.to_string();
        }
        if let Some(h) = new_hash {
            summary.push("password changed (sessions ended)".to_string());
            row.password_hash = h;
            // Every session of the user ends: its tokens carry the old epoch.
            row.session_epoch = random_hex(16);
        }
        if summary.is_empty() {
            return Ok(row.into());
        }
        row.revision += 1;
        row.updated_at = now();
        let mut e = self.audit_entry(actor, "update", "user", name.to_string());
        e.fields = after
            .keys()
            .cloned()
            .chain(password.map(|_| "password".to_string()))
            .collect();
        e.summary = summary.join(", ");
        e.before = Some(before.into());
        e.after = Some(after.into());
        self.store.write_user(name, Some(&row), &e).await?;
        self.cache_user(name, UserAuth::of(&row));
        Ok(row.into())
    }

    pub async fn delete_user(
        &self,
        actor: &Actor,
        name: &str,
        if_match: Option<u64>,
    ) -> Result<()> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let row = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, row.revision as u64)?;
        if row.role == Role::Admin.as_str() {
            self.check_not_last_admin(name)?;
        }
        let mut e = self.audit_entry(actor, "delete", "user", name.to_string());
        e.summary = format!("deleted user {name} (role {})", row.role);
        e.before = Some(json!({"name": name, "role": row.role}));
        self.store.write_user(name, None, &e).await?;
        self.cache_user(name, None);
        Ok(())
    }

    fn check_not_last_admin(&self, name: &str) -> Result<()> {
        let admins = self
            .users
            .read()
            .map(|u| {
                u.iter()
                    .filter(|(n, a)| a.role == Role::Admin && *n != name)
                    .count()
            })
            .unwrap_or(0);
        if admins == 0 {
            return Err(ServiceError::Conflict {
                field: "role".into(),
                message: format!("{name} is the last admin; make another user admin first"),
            });
        }
        Ok(())
    }

    fn cache_user(&self, name: &str, auth: Option<UserAuth>) {
        if let Ok(mut users) = self.users.write() {
            match auth {
                Some(a) => users.insert(name.to_string(), a),
                None => users.remove(name),
            };
        }
    }

    /// Checks a user's password and issues a session token, recorded (so that it can be listed and revoked).
    ///
    /// Failed attempts are limited per client address and per user name (429 beyond the limit, neither
    /// audited nor counted); the password check waits for one of a few places (503 when none frees up soon).
    /// Both outcomes of a check are audited (`kind: login`).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        via: Via,
        address: Option<IpAddr>,
    ) -> Result<LoginResult> {
        let shown = shown_name(username);
        let refused = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(username, address, Instant::now());
        if let Err(r) = refused {
            tracing::warn!(user = %shown, address = ?address, via = %via, limit = ?r.limit,
                retry_after_s = r.retry_after.as_secs_f32(), "login refused: too many failed attempts");
            return Err(ServiceError::TooManyAttempts {
                retry_after: r.retry_after,
            });
        }
        let user = self.store.user(username).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        let ok = self
            .hashing
            .run(move || match hash {
                Some(h) => verify_password(&password, &h),
                None => verify_password(&password, decoy_hash()),
            })
            .await
            .map_err(|e| {
                tracing::warn!(user = %shown, address = ?address, via = %via, "login refused: {e}");
                gate_error(e)
            })?;
        let who = Actor::new(shown.clone(), Role::Viewer, via);
        let user = match (user, ok) {
            (Some(u), true) => u,
            _ => {
                self.limiter
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .failed(username, address, Instant::now());
                tracing::warn!(user = %shown, address = ?address, via = %via, "failed login");
                let mut e = self.audit_entry(&who, "login_failed", "login", shown.clone());
                e.summary = format!(
                    "failed login as {shown}{} via {via}: wrong user name or password",
                    from_address(address)
                );
                self.store.record(&e).await?;
                return Err(ServiceError::Unauthenticated(
                    "invalid username or password".into(),
                ));
            }
        };
        let auth = UserAuth::of(&user).ok_or_else(|| {
            ServiceError::Internal(format!("user {} has an unknown role", user.name))
        })?;
        self.limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .succeeded(username, address, Instant::now());
        let mut claims = Claims::new(
            &user.name,
            auth.role,
            TokenKind::User,
            unix_now(),
            self.session_ttl_s,
        );
        claims.epoch = auth.epoch.clone();
        let row = token_row(&claims);
        let mut e = self.audit_entry(&who, "login", "login", user.name.clone());
        e.summary = format!(
            "{} logged in{} via {via} (token {})",
            user.name,
            from_address(address),
            claims.jti
        );
        self.store.record_token(&row, &e).await?;
        self.cache_user(&user.name, Some(auth.clone()));
        tracing::info!(user = %user.name, address = ?address, via = %via, "logged in");
        Ok(LoginResult {
            token: self.tokens.sign(&claims),
            expires_at: rfc3339(claims.exp),
            role: auth.role,
        })
    }

    /// The actor a bearer token stands for. Revoked tokens are refused; sessions follow the user's current
    /// role and end with the user, or when the user's password changes.
    pub async fn authenticate(&self, token: &str, via: Via) -> Result<Actor> {
        let claims = self.tokens.verify(token).map_err(|e| match e {
            TokenError::Expired => {
                ServiceError::Unauthenticated("the token has expired: log in again".into())
            }
            TokenError::Invalid(_) => {
                ServiceError::Unauthenticated("the token is not valid".into())
            }
        })?;
        self.check_not_revoked(&claims)?;
        let role = match claims.kind {
            TokenKind::Service => claims.role,
            TokenKind::User => {
                let cached = self
                    .users
                    .read()
                    .ok()
                    .and_then(|u| u.get(&claims.sub).cloned());
                let user = match cached {
                    Some(a) => a,
                    None => {
                        // A user added by `director user add` while the daemon runs.
                        let row = self.store.user(&claims.sub).await?;
                        let auth = row.as_ref().and_then(UserAuth::of).ok_or_else(|| {
                            ServiceError::Unauthenticated(format!(
                                "user {} no longer exists",
                                claims.sub
                            ))
                        })?;
                        self.cache_user(&claims.sub, Some(auth.clone()));
                        auth
                    }
                };
                if user.epoch != claims.epoch {
                    return Err(ServiceError::Unauthenticated(
                        "the session has ended (the password was changed or the user replaced): log in again"
                            .into(),
                    ));
                }
                user.role
            }
        };
        Ok(Actor::new(claims.sub, role, via))
    }

    /// Whether any user exists (a fresh installation has none).
    pub async fn has_users(&self) -> Result<bool> {
        Ok(!self.store.users().await?.is_empty())
    }
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "user",
        name: name.to_string(),
    }
}

//! Users, logins and token checks.

use super::{check_revision, now, require, Actor, Result, Service, ServiceError, Via};
use crate::auth::{hash_password, verify_password, TokenError, TokenKind, MIN_PASSWORD_LEN};
use crate::store::UserRow;
use director_core::model::{validate_name, Role};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

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

async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
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
        let password_hash = hash(password.to_string()).await?;
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
        };
        let mut e = self.audit_entry(actor, "create", "user", name.to_string());
        e.summary = format!("created user {name} with role {role}");
        e.after = Some(json!({"name": name, "role": role}));
        self.store.write_user(name, Some(&row), &e).await?;
        self.cache_user(name, Some(role));
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
                Some(hash(p.to_string()).await?)
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
            summary.push("password changed".to_string());
            row.password_hash = h;
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
        self.cache_user(name, row.role.parse().ok());
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
                    .filter(|(n, r)| **r == Role::Admin && *n != name)
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

    fn cache_user(&self, name: &str, role: Option<Role>) {
        if let Ok(mut users) = self.users.write() {
            match role {
                Some(r) => users.insert(name.to_string(), r),
                None => users.remove(name),
            };
        }
    }

    /// Checks a user's password and issues a session token.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResult> {
        let user = self.store.user(username).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| decoy_hash().to_string(), |u| u.password_hash.clone());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let user = match (user, ok) {
            (Some(u), true) => u,
            _ => {
                tracing::warn!(user = username, "failed login");
                return Err(ServiceError::Unauthenticated(
                    "invalid username or password".into(),
                ));
            }
        };
        let role: Role = user.role.parse().map_err(ServiceError::Internal)?;
        self.cache_user(&user.name, Some(role));
        let now = chrono::Utc::now().timestamp();
        let token = self
            .tokens
            .issue(&user.name, role, TokenKind::User, now, self.session_ttl_s);
        let expires_at = chrono::DateTime::from_timestamp(now + self.session_ttl_s, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        Ok(LoginResult {
            token,
            expires_at,
            role,
        })
    }

    /// The actor a bearer token stands for. Sessions follow the user's current role and end with the user.
    pub async fn authenticate(&self, token: &str, via: Via) -> Result<Actor> {
        let claims = self.tokens.verify(token).map_err(|e| match e {
            TokenError::Expired => {
                ServiceError::Unauthenticated("the token has expired: log in again".into())
            }
            TokenError::Invalid(_) => {
                ServiceError::Unauthenticated("the token is not valid".into())
            }
        })?;
        let role = match claims.kind {
            TokenKind::Service => claims.role,
            TokenKind::User => {
                let cached = self
                    .users
                    .read()
                    .ok()
                    .and_then(|u| u.get(&claims.sub).copied());
                match cached {
                    Some(r) => r,
                    None => {
                        // A user added by `director user add` while the daemon runs.
                        let row = self.store.user(&claims.sub).await?;
                        let role = row.and_then(|u| u.role.parse().ok()).ok_or_else(|| {
                            ServiceError::Unauthenticated(format!(
                                "user {} no longer exists",
                                claims.sub
                            ))
                        })?;
                        self.cache_user(&claims.sub, Some(role));
                        role
                    }
                }
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

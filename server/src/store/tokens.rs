//! The tokens this node issued (never the tokens themselves: their id, subject, role and lifetime) and their
//! revocations.

use super::{audit, NewAuditEntry, Result, Store};

/// A token as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    /// The JWT's `jti`.
    pub id: String,
    pub subject: String,
    /// `user` or `service`.
    pub kind: String,
    pub role: String,
    pub created_at: String,
    pub expires_at: String,
    pub expires_unix: i64,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// A revoked token: refused until it expires.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Revocation {
    pub id: String,
    pub expires_unix: i64,
    /// The order of the revocation (see `Store::revocations_after`).
    pub seq: i64,
}

const COLUMNS: &str =
    "id, subject, kind, role, created_at, expires_at, expires_unix, revoked_at, revoked_by";

impl Store {
    /// Records an issued token with its audit entry, in one transaction.
    pub async fn record_token(&self, token: &TokenRow, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tokens (id, subject, kind, role, created_at, expires_at, expires_unix)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.subject)
        .bind(&token.kind)
        .bind(&token.role)
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .bind(token.expires_unix)
        .execute(&mut *tx)
        .await?;
        audit::insert(&mut tx, entry, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes `token` (recording it first if it has no row, as a token issued before tokens were recorded),
    /// with its audit entry, in one transaction. Returns the row as it is afterwards and whether this call
    /// revoked it (false: it was revoked already, and nothing was written).
    pub async fn revoke_token(
        &self,
        token: &TokenRow,
        at: &str,
        by: &str,
        entry: &NewAuditEntry,
    ) -> Result<(TokenRow, bool)> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tokens (id, subject, kind, role, created_at, expires_at, expires_unix)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&token.id)
        .bind(&token.subject)
        .bind(&token.kind)
        .bind(&token.role)
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .bind(token.expires_unix)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = ?, revoked_by = ?,
               revoked_seq = (SELECT COALESCE(MAX(revoked_seq), 0) + 1 FROM tokens)
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(by)
        .bind(&token.id)
        .execute(&mut *tx)
        .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            audit::insert(&mut tx, entry, None).await?;
        }
        let row: TokenRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?"))
            .bind(&token.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((row, revoked))
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRow>> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The tokens that expire after `now` (Unix seconds), revoked or not, newest first, at most `limit`.
    pub async fn tokens(&self, now: i64, limit: u32) -> Result<Vec<TokenRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tokens WHERE expires_unix > ? ORDER BY created_at DESC, id LIMIT ?"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The revocations made after the one numbered `seq`, of tokens that expire after `now`, in order.
    pub async fn revocations_after(&self, seq: i64, now: i64) -> Result<Vec<Revocation>> {
        Ok(sqlx::query_as(
            "SELECT id, expires_unix, revoked_seq AS seq FROM tokens
             WHERE revoked_seq > ? AND expires_unix > ? ORDER BY revoked_seq",
        )
        .bind(seq)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The number of the last revocation (0: none yet).
    pub async fn last_revocation(&self) -> Result<i64> {
        let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(revoked_seq), 0) FROM tokens")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq)
    }

    /// Forgets the tokens that expired before `before` (Unix seconds): they are refused anyway, and the audit
    /// log keeps their story. The last revocation stays, so that its number is never handed out again.
    pub async fn prune_tokens(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM tokens WHERE expires_unix < ?
               AND (revoked_seq IS NULL OR revoked_seq < (SELECT MAX(revoked_seq) FROM tokens))",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

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
    /// The token's row (`revoked_at` and `revoked_by` set).
    #[sqlx(flatten)]
    pub token: TokenRow,
    /// The order of the revocation (see `Store::revocations_after`).
    pub seq: i64,
}

const COLUMNS: &str =
    "id, subject, kind, role, created_at, expires_at, expires_unix, revoked_at, revoked_by";

impl Store {
    /// Records an issued token with its audit entry, in one transaction.
    pub async fn record_token(&self, token: &TokenRow, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_token(&mut tx, token, "").await?;
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
        let revoked = revoke_in(&mut tx, token, at, by).await?;
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
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS}, revoked_seq AS seq FROM tokens
             WHERE revoked_seq > ? AND expires_unix > ? ORDER BY revoked_seq"
        ))
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

/// Revokes `token` at `at` by `by` in `tx`, recording it first if it has no row (a token issued before tokens
/// were recorded, or on another node). Returns whether it was revoked here and now (false: it was already).
pub(super) async fn revoke_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    token: &TokenRow,
    at: &str,
    by: &str,
) -> Result<bool> {
    insert_token(tx, token, " ON CONFLICT (id) DO NOTHING").await?;
    let done = sqlx::query(
        "UPDATE tokens SET revoked_at = ?, revoked_by = ?,
           revoked_seq = (SELECT COALESCE(MAX(revoked_seq), 0) + 1 FROM tokens)
         WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(by)
    .bind(&token.id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a token's row; `conflict` is the statement's ON CONFLICT clause, if any.
async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    token: &TokenRow,
    conflict: &str,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO tokens (id, subject, kind, role, created_at, expires_at, expires_unix)
         VALUES (?, ?, ?, ?, ?, ?, ?){conflict}"
    ))
    .bind(&token.id)
    .bind(&token.subject)
    .bind(&token.kind)
    .bind(&token.role)
    .bind(&token.created_at)
    .bind(&token.expires_at)
    .bind(token.expires_unix)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, expires_unix: i64) -> TokenRow {
        TokenRow {
            id: id.into(),
            subject: "alice".into(),
            kind: "user".into(),
            role: "viewer".into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            expires_at: "later".into(),
            expires_unix,
            revoked_at: None,
            revoked_by: None,
        }
    }

    fn entry(action: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: "2026-12-01T00:00:00Z".into(),
            actor: "admin".into(),
            via: "rest".into(),
            node: "n1".into(),
            action: action.into(),
            kind: "token".into(),
            object: "t".into(),
            fields: Vec::new(),
            before: None,
            after: None,
            summary: String::new(),
            source: crate::store::Source::Change,
        }
    }

    /// Revocations are numbered in order, once per token (a second revocation writes nothing), a token without
    /// a row gets one, and pruning never lets a number be handed out again (a poller would miss it).
    #[tokio::test]
    async fn revocations_are_numbered_once_and_numbers_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        store
            .record_token(&row("a", 100), &entry("create"))
            .await
            .unwrap();
        store
            .record_token(&row("b", 5000), &entry("create"))
            .await
            .unwrap();
        let (a, done) = store
            .revoke_token(&row("a", 100), "t1", "admin", &entry("revoke"))
            .await
            .unwrap();
        assert!(done);
        assert_eq!(
            (a.revoked_at.as_deref(), a.revoked_by.as_deref()),
            (Some("t1"), Some("admin"))
        );
        let (_, again) = store
            .revoke_token(&row("a", 100), "t2", "bob", &entry("revoke"))
            .await
            .unwrap();
        assert!(!again, "revoked once");
        assert_eq!(
            store
                .token("a")
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .as_deref(),
            Some("t1")
        );
        // Issued before tokens were recorded: the revocation records it.
        store
            .revoke_token(&row("unrecorded", 5000), "t3", "admin", &entry("logout"))
            .await
            .unwrap();
        let seen: Vec<(String, i64)> = store
            .revocations_after(0, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.token.id, r.seq))
            .collect();
        assert_eq!(seen, [("a".to_string(), 1), ("unrecorded".to_string(), 2)]);
        assert_eq!(store.revocations_after(1, 0).await.unwrap().len(), 1);
        assert_eq!(
            store.revocations_after(0, 1000).await.unwrap().len(),
            1,
            "expired ones are left out"
        );

        // Pruning the expired: the last revocation's row stays, so the next number is still new.
        store
            .revoke_token(&row("b", 5000), "t4", "admin", &entry("revoke"))
            .await
            .unwrap();
        store
            .record_token(&row("c", 200), &entry("create"))
            .await
            .unwrap();
        assert_eq!(store.prune_tokens(1000).await.unwrap(), 2, "a and c");
        assert_eq!(store.last_revocation().await.unwrap(), 3);
        store
            .record_token(&row("d", 5000), &entry("create"))
            .await
            .unwrap();
        store
            .revoke_token(&row("d", 5000), "t5", "admin", &entry("revoke"))
            .await
            .unwrap();
        let after: Vec<i64> = store
            .revocations_after(3, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(after, [4]);
        let listed: Vec<String> = store
            .tokens(1000, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(listed.len(), 3, "b, d and unrecorded: {listed:?}");
        store.close().await;
    }
}

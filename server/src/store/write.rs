//! Writing a desired-state change: object rows, audit entries and the new revision in one transaction.

use super::audit::{insert, NewAuditEntry};
use super::{Result, Store};

/// A real server row to insert or replace.
#[derive(Debug, Clone)]
pub struct RealServerRow {
    pub virtual_server: String,
    pub endpoint: String,
    pub position: i64,
    pub spec: String,
}

/// Everything one service operation changes. Applied atomically by [`Store::apply`].
#[derive(Debug, Default)]
pub struct StateChange {
    /// The new global revision; every row written carries it.
    pub revision: u64,
    pub at: String,
    /// (name, spec JSON without real servers, service key)
    pub virtual_server_upserts: Vec<(String, String, String)>,
    pub virtual_server_deletes: Vec<String>,
    /// Virtual servers whose real servers changed but whose own row did not: only their revision moves.
    pub virtual_server_touches: Vec<String>,
    pub real_server_upserts: Vec<RealServerRow>,
    /// (virtual server, endpoint)
    pub real_server_deletes: Vec<(String, String)>,
    /// (name, spec JSON)
    pub vrrp_group_upserts: Vec<(String, String)>,
    pub vrrp_group_deletes: Vec<String>,
    pub audit: Vec<NewAuditEntry>,
}

impl Store {
    pub async fn apply(&self, change: &StateChange) -> Result<()> {
        let rev = change.revision as i64;
        let mut tx = self.pool().begin().await?;
        for name in &change.virtual_server_deletes {
            sqlx::query("DELETE FROM virtual_servers WHERE name = ?")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        for (vs, endpoint) in &change.real_server_deletes {
            sqlx::query("DELETE FROM real_servers WHERE virtual_server = ? AND endpoint = ?")
                .bind(vs)
                .bind(endpoint)
                .execute(&mut *tx)
                .await?;
        }
        for (name, spec, key) in &change.virtual_server_upserts {
            sqlx::query(
                "INSERT INTO virtual_servers (name, spec, service_key, revision, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, service_key = excluded.service_key,
                   revision = excluded.revision, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(spec)
            .bind(key)
            .bind(rev)
            .bind(&change.at)
            .bind(&change.at)
            .execute(&mut *tx)
            .await?;
        }
        for name in &change.virtual_server_touches {
            sqlx::query("UPDATE virtual_servers SET revision = ?, updated_at = ? WHERE name = ?")
                .bind(rev)
                .bind(&change.at)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        for row in &change.real_server_upserts {
            sqlx::query(
                "INSERT INTO real_servers (virtual_server, endpoint, position, spec, revision) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (virtual_server, endpoint) DO UPDATE SET position = excluded.position,
                   spec = excluded.spec, revision = excluded.revision",
            )
            .bind(&row.virtual_server)
            .bind(&row.endpoint)
            .bind(row.position)
            .bind(&row.spec)
            .bind(rev)
            .execute(&mut *tx)
            .await?;
        }
        for name in &change.vrrp_group_deletes {
            sqlx::query("DELETE FROM vrrp_groups WHERE name = ?")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        for (name, spec) in &change.vrrp_group_upserts {
            sqlx::query(
                "INSERT INTO vrrp_groups (name, spec, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
                   updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(spec)
            .bind(rev)
            .bind(&change.at)
            .bind(&change.at)
            .execute(&mut *tx)
            .await?;
        }
        for entry in &change.audit {
            insert(&mut tx, entry, Some(change.revision)).await?;
        }
        sqlx::query("UPDATE state_revision SET value = ? WHERE id = 1")
            .bind(rev)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

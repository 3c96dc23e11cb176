//! Writing a desired-state change: object rows, audit entries and the new revision in one transaction.

use super::audit::{insert_many, NewAuditEntry};
use sqlx::{QueryBuilder, Sqlite};

/// Rows per multi-row INSERT (at most 5 parameters each: well under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 1000;
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
    /// The desired state does not change (a peer's change that lost or was already here): only the audit
    /// entries, registers and cursor are written, without a revision.
    pub unchanged: bool,
    /// Sync registers to write: (key, JSON of `director_sync::Register`).
    pub registers: Vec<(String, String)>,
    /// A change made on this node, appended to the sync log for peers (JSON of `crate::sync::Change`).
    pub log: Option<String>,
    /// Peers' logs applied here: how far each now is.
    pub cursors: Vec<super::Cursor>,
}

impl Store {
    /// Writes the change in one transaction. Returns the sync log sequence number of a change made here.
    pub async fn apply(&self, change: &StateChange) -> Result<Option<u64>> {
        Ok(self.apply_all([change]).await?.pop().flatten())
    }

    /// Writes several changes, in order, in one transaction (one fsync): all or none. Returns each one's sync
    /// log sequence number.
    pub async fn apply_all<'a>(
        &self,
        changes: impl IntoIterator<Item = &'a StateChange>,
    ) -> Result<Vec<Option<u64>>> {
        let mut tx = self.pool().begin().await?;
        let mut seqs = Vec::new();
        for change in changes {
            seqs.push(apply_in(&mut tx, change).await?);
        }
        tx.commit().await?;
        Ok(seqs)
    }
}

async fn apply_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    change: &StateChange,
) -> Result<Option<u64>> {
    {
        let rev = change.revision as i64;
        for name in &change.virtual_server_deletes {
            sqlx::query("DELETE FROM virtual_servers WHERE name = ?")
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        for (vs, endpoint) in &change.real_server_deletes {
            sqlx::query("DELETE FROM real_servers WHERE virtual_server = ? AND endpoint = ?")
                .bind(vs)
                .bind(endpoint)
                .execute(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
        }
        for name in &change.virtual_server_touches {
            sqlx::query("UPDATE virtual_servers SET revision = ?, updated_at = ? WHERE name = ?")
                .bind(rev)
                .bind(&change.at)
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        for chunk in change.real_server_upserts.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO real_servers (virtual_server, endpoint, position, spec, revision) ",
            );
            q.push_values(chunk, |mut r, row| {
                // Borrowed, as below: an import writes tens of thousands of rows.
                r.push_bind(row.virtual_server.as_str())
                    .push_bind(row.endpoint.as_str())
                    .push_bind(row.position)
                    .push_bind(row.spec.as_str())
                    .push_bind(rev);
            });
            q.push(
                " ON CONFLICT (virtual_server, endpoint) DO UPDATE SET position = excluded.position,
                   spec = excluded.spec, revision = excluded.revision",
            );
            q.build().persistent(false).execute(&mut **tx).await?;
        }
        for name in &change.vrrp_group_deletes {
            sqlx::query("DELETE FROM vrrp_groups WHERE name = ?")
                .bind(name)
                .execute(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
        }
        let audit_revision = (!change.unchanged).then_some(change.revision);
        insert_many(tx, &change.audit, audit_revision).await?;
        if !change.unchanged {
            sqlx::query("UPDATE state_revision SET value = ? WHERE id = 1")
                .bind(rev)
                .execute(&mut **tx)
                .await?;
        }
        for chunk in change.registers.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO sync_registers (key, register) ");
            q.push_values(chunk, |mut r, (key, register)| {
                r.push_bind(key.as_str()).push_bind(register.as_str());
            });
            q.push(" ON CONFLICT (key) DO UPDATE SET register = excluded.register");
            q.build().persistent(false).execute(&mut **tx).await?;
        }
        let mut seq = None;
        if let Some(log) = &change.log {
            let done = sqlx::query("INSERT INTO sync_log (change) VALUES (?)")
                .bind(log)
                .execute(&mut **tx)
                .await?;
            seq = Some(done.last_insert_rowid() as u64);
        }
        for super::Cursor {
            origin,
            log_id,
            seq: applied,
        } in &change.cursors
        {
            sqlx::query(
                "INSERT INTO sync_cursors (origin, log_id, seq) VALUES (?, ?, ?)
                 ON CONFLICT (origin) DO UPDATE SET log_id = excluded.log_id, seq = excluded.seq",
            )
            .bind(origin)
            .bind(log_id)
            .bind(*applied as i64)
            .execute(&mut **tx)
            .await?;
        }
        Ok(seq)
    }
}

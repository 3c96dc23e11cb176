//! The sync tables: registers, this node's change log, and the cursors of the peers' logs.

use super::{Result, Store};

/// How far a peer's log has been applied here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub origin: String,
    pub log_id: String,
    pub seq: u64,
}

impl Store {
    /// This node's log identity, made (random) the first time.
    pub async fn sync_log_id(&self) -> Result<String> {
        let found: Option<(String,)> = sqlx::query_as("SELECT log_id FROM sync_meta WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        if let Some((id,)) = found {
            return Ok(id);
        }
        let id: String = (0..16)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        sqlx::query("INSERT OR IGNORE INTO sync_meta (id, log_id) VALUES (1, ?)")
            .bind(&id)
            .execute(self.pool())
            .await?;
        let (id,): (String,) = sqlx::query_as("SELECT log_id FROM sync_meta WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(id)
    }

    /// Every register: (key, JSON).
    pub async fn sync_registers(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT key, register FROM sync_registers")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn sync_cursors(&self) -> Result<Vec<Cursor>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT origin, log_id, seq FROM sync_cursors")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(origin, log_id, seq)| Cursor {
                origin,
                log_id,
                seq: seq.max(0) as u64,
            })
            .collect())
    }

    /// Up to `limit` changes of this node's log after `after`: (seq, JSON).
    pub async fn sync_log_after(&self, after: u64, limit: u32) -> Result<Vec<(u64, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, change FROM sync_log WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after as i64)
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, change)| (seq.max(0) as u64, change))
            .collect())
    }

    /// The last sequence number of this node's log (0 when empty).
    pub async fn sync_log_head(&self) -> Result<u64> {
        let (head,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM sync_log")
            .fetch_one(self.pool())
            .await?;
        Ok(head.unwrap_or(0).max(0) as u64)
    }
}

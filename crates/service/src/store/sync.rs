//! The sync tables: registers, this node's change log, and the cursors of the peers' logs.

use super::{NewAuditEntry, Result, Store, StoreError};
use director_sync::objects::encode;

/// A change's JSON without its audit entries (as the log stores it), completed with them.
fn with_audit(mut change: String, audit: &[NewAuditEntry]) -> String {
    change.pop();
    change.push_str(",\"audit\":");
    change.push_str(&encode(&audit));
    change.push('}');
    change
}

/// What the log stores of a change: its JSON without the audit entries, which are rows of the audit table
/// (see [`Store::sync_log_after`]).
pub(super) fn without_audit(origin: &str, registers: &[(String, String)]) -> String {
    let size: usize = registers.iter().map(|(k, r)| k.len() + r.len() + 8).sum();
    let mut out = String::with_capacity(size + 64);
    out.push_str("{\"origin\":");
    out.push_str(&encode(&origin));
    out.push_str(",\"registers\":[");
    for (i, (key, register)) in registers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        out.push_str(&encode(key));
        out.push(',');
        out.push_str(register);
        out.push(']');
    }
    out.push_str("]}");
    out
}

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

    /// Up to `limit` changes of this node's log after `after`: (seq, JSON of the change as peers receive it).
    /// A change's audit entries are read from the audit table, where the change wrote them.
    pub async fn sync_log_after(&self, after: u64, limit: u32) -> Result<Vec<(u64, String)>> {
        let rows: Vec<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT seq, change, audit_first, audit_count FROM sync_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after as i64)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, change, first, count) in rows {
            let seq = seq.max(0) as u64;
            // Entries written before the audit columns existed hold their entries inline.
            if let (Some(first), Some(count)) = (first, count) {
                let count = usize::try_from(count).unwrap_or(0);
                let audit = self.audit_written(first, count).await?;
                if audit.len() != count || !change.ends_with('}') {
                    return Err(StoreError::Corrupt {
                        what: format!("sync log entry {seq}"),
                        message: format!(
                            "{count} audit entries from id {first}, {} found",
                            audit.len()
                        ),
                    });
                }
                out.push((seq, with_audit(change, &audit)));
            } else {
                out.push((seq, change));
            }
        }
        Ok(out)
    }

    /// The last sequence number of this node's log (0 when empty).
    pub async fn sync_log_head(&self) -> Result<u64> {
        let (head,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM sync_log")
            .fetch_one(self.pool())
            .await?;
        Ok(head.unwrap_or(0).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;
    use director_sync::{Clock, Register};

    #[test]
    fn a_stored_entry_completed_with_its_audit_is_the_change_peers_decode() {
        let mut clock = Clock::new("a");
        let registers: Vec<(String, Register)> = ["rs/web/10.0.0.1:80", "vs/web"]
            .into_iter()
            .map(|k| {
                let stamp = clock.tick(1_700_000_000_000);
                (
                    k.to_string(),
                    Register::written(None, stamp, Some("{\"x\":\"\\\"\"}".into())),
                )
            })
            .collect();
        let audit = vec![NewAuditEntry {
            at: "2026-11-22T00:00:00Z".into(),
            actor: "alice".into(),
            via: "rest".into(),
            node: "a".into(),
            action: "update".into(),
            kind: "real_server".into(),
            object: "web/10.0.0.1:80".into(),
            fields: vec!["weight".into()],
            before: Some(serde_json::json!({"weight": 1})),
            after: Some(serde_json::json!({"weight": 2})),
            summary: "weight 1 -> 2".into(),
            source: crate::store::Source::Change,
        }];
        let change = Change {
            origin: "a \"quoted\"".into(),
            registers: registers.clone(),
            audit: audit.clone(),
        };
        let encoded: Vec<(String, String)> = registers
            .iter()
            .map(|(k, r)| (k.clone(), encode(r)))
            .collect();
        let text = with_audit(without_audit(&change.origin, &encoded), &audit);
        assert_eq!(text, encode(&change));
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), change);
    }
}

//! The history of the desired state, revision by revision, read back from the audit log: every entry of a
//! desired-state change carries the revision it produced. Followers (gRPC Watch) replay it, then read each
//! new revision as `subscribe()` announces it.

use super::{require, Actor, Result, Service};
use crate::store::AuditEntry;
use director_core::model::Role;

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
);

impl Service {
    /// The audit entries of the desired-state revisions in `after + 1 ..= upto`, in the order they were
    /// written (by revision, then within a revision as the change wrote them). Viewer.
    ///
    /// Entries are appended in commit order, so the scan starts after the last entry of a revision at or
    /// below `after`, found by walking the log backwards from its end: following the latest revisions reads
    /// only the tail of the log.
    pub async fn changes(&self, actor: &Actor, after: u64, upto: u64) -> Result<Vec<AuditEntry>> {
        require(actor, Role::Viewer)?;
        if upto <= after {
            return Ok(Vec::new());
        }
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let upto = i64::try_from(upto).unwrap_or(i64::MAX);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, actor, via, node, action, kind, object, before, after, summary, revision
             FROM audit
             WHERE id > COALESCE((SELECT id FROM audit WHERE revision IS NOT NULL AND revision <= ?1
                                  ORDER BY id DESC LIMIT 1), 0)
               AND revision > ?1 AND revision <= ?2
             ORDER BY id",
        )
        .bind(after)
        .bind(upto)
        .fetch_all(self.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    at,
                    actor,
                    via,
                    node,
                    action,
                    kind,
                    object,
                    before,
                    after,
                    summary,
                    revision,
                )| {
                    AuditEntry {
                        id,
                        at,
                        actor,
                        via,
                        node,
                        action,
                        kind,
                        object,
                        before: before.and_then(|s| serde_json::from_str(&s).ok()),
                        after: after.and_then(|s| serde_json::from_str(&s).ok()),
                        summary,
                        revision,
                    }
                },
            )
            .collect())
    }
}

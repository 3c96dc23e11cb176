//! The history of the desired state, revision by revision, read back from the audit log: every entry of a
//! desired-state change carries the revision it produced. Followers (gRPC Watch) replay it, then read each
//! new revision as `subscribe()` announces it.

use super::{require, visible_entries, Actor, Result, Service};
use crate::store::AuditEntry;
use director_core::model::Role;

impl Service {
    /// The audit entries of the desired-state revisions in `after + 1 ..= upto`, in the order they were
    /// written (by revision, then within a revision as the change wrote them), secrets withheld below admin.
    /// Viewer.
    pub async fn changes(&self, actor: &Actor, after: u64, upto: u64) -> Result<Vec<AuditEntry>> {
        require(actor, Role::Viewer)?;
        if upto <= after {
            return Ok(Vec::new());
        }
        let entries = self.store.audit_revisions(after, upto).await?;
        Ok(visible_entries(actor, entries))
    }
}

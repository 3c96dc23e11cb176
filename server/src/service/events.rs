//! Events that are not changes of the desired state but belong in the audit log: VRRP transitions.

use super::{Actor, Result, Service, Via};
use director_core::model::Role;
use serde_json::json;

impl Service {
    /// Records a VRRP transition of this node: via `vrrp`, actor the node, kind `vrrp_group`, action
    /// `transition`, before/after `{"role": ..}`, summary such as `backup -> master (priority 100, master
    /// down)`.
    pub async fn record_vrrp_transition(
        &self,
        group: &str,
        from: &str,
        to: &str,
        priority: u8,
        reason: &str,
    ) -> Result<()> {
        let actor = Actor::new(self.node.clone(), Role::Viewer, Via::Vrrp);
        let mut e = self.audit_entry(&actor, "transition", "vrrp_group", group.to_string());
        e.fields = vec!["role".to_string()];
        e.before = Some(json!({ "role": from }));
        e.after = Some(json!({ "role": to }));
        e.summary = format!("{from} -> {to} (priority {priority}, {reason})");
        self.store.record(&e).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::Tokens;
    use crate::service::{Actor, Service, Via};
    use crate::store::{AuditFilter, Store};
    use director_core::model::Role;

    #[tokio::test]
    async fn a_transition_is_audited_as_the_node_via_vrrp() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("d.db")).await.unwrap();
        let service = Service::open(store, "lvs-01".into(), Tokens::new(&[7u8; 32]), 3600)
            .await
            .unwrap();
        service
            .record_vrrp_transition("vi-1", "backup", "master", 100, "master down")
            .await
            .unwrap();
        let viewer = Actor::new("v", Role::Viewer, Via::Rest);
        let filter = AuditFilter {
            via: Some("vrrp".into()),
            ..AuditFilter::default()
        };
        let (entries, _) = service.audit(&viewer, &filter).await.unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.actor, "lvs-01");
        assert_eq!(e.node, "lvs-01");
        assert_eq!(e.kind, "vrrp_group");
        assert_eq!(e.action, "transition");
        assert_eq!(e.object, "vi-1");
        assert_eq!(e.before, Some(serde_json::json!({"role": "backup"})));
        assert_eq!(e.after, Some(serde_json::json!({"role": "master"})));
        assert_eq!(e.summary, "backup -> master (priority 100, master down)");
        assert_eq!(e.revision, None);
    }
}

//! Events that are not changes of the desired state but belong in the audit log: VRRP transitions, a stream
//! of their own (`source: vrrp`). The first roles after the daemon starts are one entry
//! ([`super::start_burst`]).

use super::start_burst::{self, Release};
use super::{Actor, Result, Service, Via};
use crate::store::NewAuditEntry;
use director_core::model::Role;
use serde_json::{json, Map};

/// A VRRP role change of this node, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpTransition {
    pub group: String,
    /// `init`, `backup`, `master`, `fault`.
    pub from: String,
    pub to: String,
    pub priority: u8,
    /// In words: `startup`, `master down`, `higher priority`...
    pub reason: String,
}

/// What the VRRP reporter writes: one transition, or the first roles at start (keyed by group).
pub type VrrpRelease = Release<String, VrrpTransition>;

/// The role a group has before its first transition.
const INIT: &str = "init";

impl Service {
    /// Records VRRP transitions of this node: via `vrrp`, actor the node, kind `vrrp_group`, action
    /// `transition`, before/after `{"role": ..}`, summary such as `backup -> master (priority 100, master
    /// down)`; a burst of first roles is one entry (object `*`, each group's role in `after.vrrp_groups`).
    pub async fn record_vrrp(&self, releases: &[VrrpRelease]) -> Result<()> {
        let entries: Vec<_> = releases
            .iter()
            .map(|r| match r {
                Release::One(t) => self.vrrp_entry(t),
                Release::Burst { results, waiting } => self.vrrp_burst_entry(results, waiting),
            })
            .collect();
        self.store.record_many(&entries).await?;
        Ok(())
    }

    fn vrrp_actor(&self) -> Actor {
        Actor::new(self.node.clone(), Role::Viewer, Via::Vrrp)
    }

    fn vrrp_entry(&self, t: &VrrpTransition) -> NewAuditEntry {
        let mut e = self.audit_entry(
            &self.vrrp_actor(),
            "transition",
            "vrrp_group",
            t.group.clone(),
        );
        e.fields = vec!["role".to_string()];
        e.before = Some(json!({ "role": t.from }));
        e.after = Some(json!({ "role": t.to }));
        e.summary = format!(
            "{} -> {} (priority {}, {})",
            t.from, t.to, t.priority, t.reason
        );
        e
    }

    fn vrrp_burst_entry(&self, results: &[VrrpTransition], waiting: &[String]) -> NewAuditEntry {
        let mut e = self.audit_entry(&self.vrrp_actor(), "transition", "vrrp_group", "*".into());
        let mut groups = Map::new();
        for t in results {
            groups.insert(
                t.group.clone(),
                json!({"role": t.to, "priority": t.priority, "reason": t.reason}),
            );
        }
        for g in waiting {
            groups.insert(g.clone(), json!({ "role": INIT }));
        }
        let count = |role: &str| results.iter().filter(|t| t.to == role).count();
        // From init a group becomes master, backup or fault.
        let outcomes: Vec<(&str, usize)> = ["master", "backup", "fault"]
            .into_iter()
            .map(|role| (role, count(role)))
            .collect();
        e.fields = vec!["role".to_string()];
        e.before = Some(json!({ "role": INIT }));
        e.after = Some(json!({ "vrrp_groups": groups }));
        e.summary = start_burst::summary(
            "vrrp",
            ("group", "groups"),
            INIT,
            &outcomes,
            (waiting.len(), "without a role yet"),
        );
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tokens;
    use crate::store::{AuditFilter, Source, Store};

    fn transition(group: &str, from: &str, to: &str, reason: &str) -> VrrpTransition {
        VrrpTransition {
            group: group.into(),
            from: from.into(),
            to: to.into(),
            priority: 100,
            reason: reason.into(),
        }
    }

    async fn service(dir: &tempfile::TempDir) -> Service {
        let store = Store::open(&dir.path().join("d.db")).await.unwrap();
        Service::open(store, "lvs-01".into(), Tokens::new(&[7u8; 32]), 3600)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_transition_is_audited_as_the_node_via_vrrp() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir).await;
        service
            .record_vrrp(&[Release::One(transition(
                "vi-1",
                "backup",
                "master",
                "master down",
            ))])
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
        assert_eq!(e.source, Source::Vrrp);
        assert_eq!(e.kind, "vrrp_group");
        assert_eq!(e.action, "transition");
        assert_eq!(e.object, "vi-1");
        assert_eq!(e.before, Some(serde_json::json!({"role": "backup"})));
        assert_eq!(e.after, Some(serde_json::json!({"role": "master"})));
        assert_eq!(e.summary, "backup -> master (priority 100, master down)");
        assert_eq!(e.revision, None);
        let (changes, _) = service
            .audit(&viewer, &AuditFilter::default())
            .await
            .unwrap();
        assert!(changes.is_empty(), "off the default view");
    }

    #[tokio::test]
    async fn the_first_roles_at_start_are_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(&dir).await;
        let burst = Release::Burst {
            results: vec![
                transition("vi-1", "init", "backup", "startup"),
                transition("vi-2", "init", "backup", "startup"),
                transition("vi-3", "init", "master", "address owner"),
            ],
            waiting: vec!["vi-4".to_string()],
        };
        service.record_vrrp(&[burst]).await.unwrap();
        let viewer = Actor::new("v", Role::Viewer, Via::Rest);
        let filter = AuditFilter {
            source: Some("vrrp".into()),
            ..AuditFilter::default()
        };
        let (entries, _) = service.audit(&viewer, &filter).await.unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.object, "*");
        assert_eq!(
            e.summary,
            "vrrp: 1 group init -> master, 2 init -> backup, 1 without a role yet"
        );
        assert_eq!(e.before, Some(json!({"role": "init"})));
        assert_eq!(
            e.after,
            Some(json!({"vrrp_groups": {
                "vi-1": {"role": "backup", "priority": 100, "reason": "startup"},
                "vi-2": {"role": "backup", "priority": 100, "reason": "startup"},
                "vi-3": {"role": "master", "priority": 100, "reason": "address owner"},
                "vi-4": {"role": "init"},
            }}))
        );
    }
}

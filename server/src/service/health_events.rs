//! Health transitions in the audit log: `via: health`, the node as the actor, the real server as the object.

use super::{Actor, Result, Service, Via};
use director_core::model::Role;
use director_health::Transition;
use serde_json::json;

impl Service {
    /// Records `up -> down` (with the error) and the like. Changes no desired state and no revision.
    pub async fn record_health_transition(&self, t: &Transition) -> Result<()> {
        self.record_health_transitions(std::slice::from_ref(t))
            .await
    }

    /// Records many transitions in one transaction (thousands arrive at once when a daemon starts).
    pub async fn record_health_transitions(&self, transitions: &[Transition]) -> Result<()> {
        let entries: Vec<_> = transitions.iter().map(|t| self.health_entry(t)).collect();
        self.store().record_many(&entries).await?;
        Ok(())
    }

    fn health_entry(&self, t: &Transition) -> crate::store::NewAuditEntry {
        let actor = Actor::new(self.node().to_string(), Role::Admin, Via::Health);
        let mut e = self.audit_entry(&actor, "transition", "real_server", t.id.to_string());
        e.fields = vec!["health".into()];
        e.before = Some(json!({"health": t.from.as_str()}));
        e.after = Some(json!({"health": t.to.as_str()}));
        e.summary = match &t.error {
            Some(err) => format!("health {} -> {}: {err}", t.from.as_str(), t.to.as_str()),
            None => format!("health {} -> {}", t.from.as_str(), t.to.as_str()),
        };
        e.at = chrono::DateTime::<chrono::Utc>::from(t.at)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        e
    }
}

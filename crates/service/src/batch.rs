//! Many objects written as one change (keepalived import): every object is checked against the state as
//! the earlier ones of the batch leave it, then all rows and one audit entry per object are written in one
//! transaction at one new revision. Nothing is written when any object is refused.

use super::{now, require, Actor, Result, Service, ServiceError};
use crate::store::StateChange;
use director_core::model::{Role, VirtualServer, VrrpGroup};
use director_core::{Identities, ModelError};

/// What a batch declares: VRRP groups first (virtual servers refer to them), then virtual servers. Objects
/// that exist are replaced (create-or-update); objects not named are left alone.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub vrrp_groups: Vec<VrrpGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

/// What happened to one object of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// The outcome of every object, in batch order, and the revision written (`None`: nothing changed).
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    pub revision: Option<u64>,
    pub vrrp_groups: Vec<(String, Outcome)>,
    pub virtual_servers: Vec<(String, Outcome)>,
}

impl Service {
    /// Creates or replaces every object of `batch` in one transaction. Admin.
    ///
    /// Errors name the object: the field is `vrrp_groups.<name>.<field>` or `virtual_servers.<name>.<field>`.
    pub async fn apply_batch(&self, actor: &Actor, batch: Batch) -> Result<BatchReport> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        let revision = state.revision + 1;
        let mut change = StateChange {
            revision,
            at: now(),
            ..Default::default()
        };
        let mut next = (*state).clone();
        let mut report = BatchReport::default();
        for mut group in batch.vrrp_groups {
            let name = group.name.clone();
            let within = |e: ModelError| named("vrrp_groups", &name, e);
            next.check_vrrp_group(&group).map_err(within)?;
            group.normalize();
            let old = next.vrrp_groups.get(&name).cloned();
            let outcome = if old.is_some() {
                Outcome::Updated
            } else {
                Outcome::Created
            };
            match self.stage_vrrp_group(actor, &name, old, Some(group), &mut change)? {
                Some(Some(record)) => {
                    next.vrrp_groups.insert(name.clone(), record);
                    report.vrrp_groups.push((name, outcome));
                }
                _ => report.vrrp_groups.push((name, Outcome::Unchanged)),
            }
        }
        // Checked against an index of the identities, not a search of every virtual server for each.
        let mut identities = Identities::of(&next);
        for mut vs in batch.virtual_servers {
            vs.normalize();
            let name = vs.name.clone();
            let within = |e: ModelError| named("virtual_servers", &name, e);
            next.check_virtual_server_among(&vs, &mut identities)
                .map_err(within)?;
            let old = next.virtual_servers.get(&name).cloned();
            let outcome = if old.is_some() {
                Outcome::Updated
            } else {
                Outcome::Created
            };
            match self.stage_virtual_server(actor, &name, old, Some(vs), &mut change)? {
                Some(Some(record)) => {
                    next.virtual_servers.insert(name.clone(), record);
                    report.virtual_servers.push((name, outcome));
                }
                _ => report.virtual_servers.push((name, Outcome::Unchanged)),
            }
        }
        if change.audit.is_empty() {
            return Ok(report);
        }
        let entries = change.audit.len();
        next.revision = revision;
        self.write_local(change, next).await?;
        report.revision = Some(revision);
        tracing::info!(
            revision,
            entries,
            actor = %actor.name,
            via = %actor.via,
            "batch applied"
        );
        Ok(report)
    }
}

fn named(kind: &str, name: &str, e: ModelError) -> ServiceError {
    let mut e = e;
    e.field = if e.field.is_empty() {
        format!("{kind}.{name}")
    } else {
        format!("{kind}.{name}.{}", e.field)
    };
    e.into()
}

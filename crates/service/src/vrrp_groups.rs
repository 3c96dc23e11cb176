//! VRRP groups.

use super::parse::{apply_patch, to_json};
use super::{check_revision, now, refuse_withheld, require, Actor, Result, Service, ServiceError};
use crate::store::StateChange;
use director_core::audit::diff;
use director_core::model::{Role, VrrpGroup};
use director_core::state::VrrpGroupRecord;
use serde_json::Value;
use std::sync::Arc;

impl Service {
    pub fn get_vrrp_group(&self, actor: &Actor, name: &str) -> Result<Arc<VrrpGroupRecord>> {
        require(actor, Role::Viewer)?;
        self.snapshot()
            .vrrp_groups
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    pub async fn create_vrrp_group(
        &self,
        actor: &Actor,
        mut group: VrrpGroup,
    ) -> Result<Arc<VrrpGroupRecord>> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        if state.vrrp_groups.contains_key(&group.name) {
            return Err(ServiceError::Conflict {
                field: "name".into(),
                message: format!("a VRRP group named {:?} already exists", group.name),
            });
        }
        // Nothing is stored for a "***" to stand for.
        refuse_withheld(group.withheld_field())?;
        state.check_vrrp_group(&group)?;
        group.normalize();
        let name = group.name.clone();
        Ok(self
            .commit_vrrp_group(actor, &name, None, Some(group))
            .await?
            .expect("created"))
    }

    pub async fn replace_vrrp_group(
        &self,
        actor: &Actor,
        name: &str,
        group: VrrpGroup,
        if_match: Option<u64>,
    ) -> Result<Arc<VrrpGroupRecord>> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        self.put_vrrp_group_locked(actor, name, group, if_match)
            .await
    }

    /// Applies a JSON merge patch under the writer lock.
    pub async fn patch_vrrp_group(
        &self,
        actor: &Actor,
        name: &str,
        patch: &Value,
        if_match: Option<u64>,
    ) -> Result<Arc<VrrpGroupRecord>> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let current = self
            .current()
            .vrrp_groups
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, current.revision)?;
        let group: VrrpGroup = apply_patch(&current.spec, patch)?;
        self.put_vrrp_group_locked(actor, name, group, None).await
    }

    async fn put_vrrp_group_locked(
        &self,
        actor: &Actor,
        name: &str,
        mut group: VrrpGroup,
        if_match: Option<u64>,
    ) -> Result<Arc<VrrpGroupRecord>> {
        if group.name != name {
            return Err(ServiceError::invalid(
                "name",
                format!(
                    "cannot rename {name:?} to {:?}: names are fixed",
                    group.name
                ),
            ));
        }
        let state = self.current();
        let old = state
            .vrrp_groups
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, old.revision)?;
        // A group written back as it was read with its secrets withheld keeps them.
        group.restore_withheld(&old.spec);
        refuse_withheld(group.withheld_field())?;
        state.check_vrrp_group(&group)?;
        group.normalize();
        Ok(self
            .commit_vrrp_group(actor, name, Some(old.clone()), Some(group))
            .await?
            .unwrap_or(old))
    }

    pub async fn delete_vrrp_group(
        &self,
        actor: &Actor,
        name: &str,
        if_match: Option<u64>,
    ) -> Result<()> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        let old = state
            .vrrp_groups
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, old.revision)?;
        state.check_vrrp_group_delete(name)?;
        self.commit_vrrp_group(actor, name, Some(old), None).await?;
        Ok(())
    }

    async fn commit_vrrp_group(
        &self,
        actor: &Actor,
        name: &str,
        old: Option<Arc<VrrpGroupRecord>>,
        new: Option<VrrpGroup>,
    ) -> Result<Option<Arc<VrrpGroupRecord>>> {
        let state = self.current();
        let revision = state.revision + 1;
        let mut change = StateChange {
            revision,
            at: now(),
            ..Default::default()
        };
        let Some(record) = self.stage_vrrp_group(actor, name, old, new, &mut change)? else {
            return Ok(None);
        };
        let mut next = (*state).clone();
        next.revision = revision;
        match &record {
            Some(r) => next.vrrp_groups.insert(name.to_string(), r.clone()),
            None => next.vrrp_groups.remove(name),
        };
        self.write_local(change, next).await?;
        tracing::info!(vrrp_group = name, revision, actor = %actor.name, via = %actor.via, "VRRP group changed");
        Ok(record)
    }

    /// Adds the row and audit entry of the change from `old` to `new` to `change` (at its revision).
    /// Returns `None` when nothing changed, else the new record (`Some(None)`: deleted). Writes nothing.
    pub(super) fn stage_vrrp_group(
        &self,
        actor: &Actor,
        name: &str,
        old: Option<Arc<VrrpGroupRecord>>,
        new: Option<VrrpGroup>,
        change: &mut StateChange,
    ) -> Result<Option<Option<Arc<VrrpGroupRecord>>>> {
        let revision = change.revision;
        let before = old.as_ref().map(|r| to_json(&r.spec)).transpose()?;
        let after = new.as_ref().map(to_json).transpose()?;
        let mut e = self.audit_entry(actor, "", "vrrp_group", name.to_string());
        match (&before, &after) {
            (None, Some(a)) => {
                e.action = "create".into();
                e.summary = format!(
                    "created VRRP group {name} (VRID {})",
                    new.as_ref().map_or(0, |g| g.vrid)
                );
                e.after = Some(a.clone());
            }
            (Some(b), None) => {
                e.action = "delete".into();
                e.summary = format!("deleted VRRP group {name}");
                e.before = Some(b.clone());
                change.vrrp_group_deletes.push(name.to_string());
            }
            (Some(b), Some(a)) => {
                let Some(d) = diff(b, a) else { return Ok(None) };
                e.action = "update".into();
                e.fields = d.fields;
                e.before = Some(d.before);
                e.after = Some(d.after);
                e.summary = d.summary;
            }
            (None, None) => return Ok(None),
        }
        if let Some(a) = &after {
            change
                .vrrp_group_upserts
                .push((name.to_string(), a.to_string()));
        }
        change.audit.push(e);
        Ok(Some(
            new.map(|spec| Arc::new(VrrpGroupRecord { spec, revision })),
        ))
    }
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "VRRP group",
        name: name.to_string(),
    }
}

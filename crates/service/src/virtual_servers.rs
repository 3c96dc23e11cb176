//! Virtual servers and their real servers.

use super::parse::{apply_patch, to_json};
use super::{check_revision, now, refuse_withheld, require, Actor, Result, Service, ServiceError};
use crate::store::{RealServerRow, StateChange};
use director_core::audit::diff;
use director_core::model::{RealServer, RealServerKey, Role, VirtualServer};
use director_core::state::VirtualServerRecord;
use director_core::DesiredState;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

impl Service {
    pub fn get_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Viewer)?;
        record(&self.snapshot(), name)
    }

    pub async fn create_virtual_server(
        &self,
        actor: &Actor,
        mut vs: VirtualServer,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Admin)?;
        vs.normalize();
        let _w = self.lock_writer().await;
        let state = self.current();
        if state.virtual_servers.contains_key(&vs.name) {
            return Err(ServiceError::Conflict {
                field: "name".into(),
                message: format!("a virtual server named {:?} already exists", vs.name),
            });
        }
        refuse_withheld(vs.withheld_field())?;
        state.check_virtual_server(&vs)?;
        self.commit_virtual_server(actor, &vs.name.clone(), None, Some(vs))
            .await
            .map(|r| r.expect("created"))
    }

    /// Replaces a virtual server (and its list of real servers) wholesale.
    pub async fn replace_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
        vs: VirtualServer,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Operator)?;
        let _w = self.lock_writer().await;
        self.put_virtual_server_locked(actor, name, vs, if_match)
            .await
    }

    /// Applies a JSON merge patch to a virtual server. The patch is applied under the writer lock, to the
    /// object as it is then, so concurrent patches of different fields never lose each other's changes.
    pub async fn patch_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
        patch: &Value,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Operator)?;
        let _w = self.lock_writer().await;
        let current = self
            .current()
            .virtual_servers
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        check_revision(if_match, current.revision)?;
        let vs: VirtualServer = apply_patch(&current.spec, patch)
            .map_err(|e| super::screen(actor, super::Scope::VirtualServer, e))?;
        self.put_virtual_server_locked(actor, name, vs, None).await
    }

    async fn put_virtual_server_locked(
        &self,
        actor: &Actor,
        name: &str,
        mut vs: VirtualServer,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        if vs.name != name {
            return Err(ServiceError::invalid(
                "name",
                format!("cannot rename {name:?} to {:?}: names are fixed", vs.name),
            ));
        }
        vs.normalize();
        let state = self.current();
        let old = record(&state, name)?;
        check_revision(if_match, old.revision)?;
        // Written back as read with its secrets withheld, it keeps them (an operator's PUT of a weight).
        vs.restore_withheld(&old.spec);
        authorize_change(actor, &old.spec, &vs)?;
        refuse_withheld(vs.withheld_field())?;
        state.check_virtual_server(&vs)?;
        Ok(self
            .commit_virtual_server(actor, name, Some(old.clone()), Some(vs))
            .await?
            .unwrap_or(old))
    }

    pub async fn delete_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
        if_match: Option<u64>,
    ) -> Result<()> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        let old = record(&state, name)?;
        check_revision(if_match, old.revision)?;
        state.check_virtual_server_delete(name)?;
        self.commit_virtual_server(actor, name, Some(old), None)
            .await?;
        Ok(())
    }

    pub fn get_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
    ) -> Result<(Arc<VirtualServerRecord>, RealServer)> {
        let record = self.get_virtual_server(actor, vs)?;
        let rs = record
            .spec
            .real_server(key)
            .cloned()
            .ok_or_else(|| rs_not_found(vs, key))?;
        Ok((record, rs))
    }

    pub async fn create_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        rs: RealServer,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        let old = record(&state, vs)?;
        if old.spec.real_server(&rs.key()).is_some() {
            return Err(ServiceError::Conflict {
                field: "address".into(),
                message: format!("{} is already a real server of {vs:?}", rs.key()),
            });
        }
        refuse_withheld(rs.withheld_field())?;
        old.spec.validate_real_server(&rs)?;
        let mut new = old.spec.clone();
        new.real_servers.push(rs);
        state
            .check_virtual_server(&new)
            .map_err(|e| strip_prefix(e, new.real_servers.len() - 1))?;
        Ok(self
            .commit_virtual_server(actor, vs, Some(old.clone()), Some(new))
            .await?
            .unwrap_or(old))
    }

    pub async fn replace_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
        rs: RealServer,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Operator)?;
        let _w = self.lock_writer().await;
        self.put_real_server_locked(actor, vs, key, rs, if_match)
            .await
    }

    /// Applies a JSON merge patch to a real server, under the writer lock (see `patch_virtual_server`).
    pub async fn patch_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
        patch: &Value,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        require(actor, Role::Operator)?;
        let _w = self.lock_writer().await;
        let record = self
            .current()
            .virtual_servers
            .get(vs)
            .cloned()
            .ok_or_else(|| not_found(vs))?;
        let current = record
            .spec
            .real_server(key)
            .ok_or_else(|| rs_not_found(vs, key))?;
        check_revision(if_match, record.real_server_revision(key))?;
        let rs: RealServer = apply_patch(current, patch)
            .map_err(|e| super::screen(actor, super::Scope::RealServer, e))?;
        self.put_real_server_locked(actor, vs, key, rs, None).await
    }

    async fn put_real_server_locked(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
        mut rs: RealServer,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        if rs.key() != *key {
            let field = if rs.address != key.address {
                "address"
            } else {
                "port"
            };
            return Err(ServiceError::invalid(
                field,
                format!(
                    "{} cannot become {}: delete the real server and create another",
                    key,
                    rs.key()
                ),
            ));
        }
        let state = self.current();
        let old = record(&state, vs)?;
        let index = old
            .spec
            .real_servers
            .iter()
            .position(|r| r.key() == *key)
            .ok_or_else(|| rs_not_found(vs, key))?;
        check_revision(if_match, old.real_server_revision(key))?;
        rs.restore_withheld(&old.spec.real_servers[index]);
        old.spec.validate_real_server(&rs)?;
        let withheld = rs.withheld_field();
        let mut new = old.spec.clone();
        new.real_servers[index] = rs;
        authorize_change(actor, &old.spec, &new)?;
        refuse_withheld(withheld)?;
        state
            .check_virtual_server(&new)
            .map_err(|e| strip_prefix(e, index))?;
        Ok(self
            .commit_virtual_server(actor, vs, Some(old.clone()), Some(new))
            .await?
            .unwrap_or(old))
    }

    pub async fn delete_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
        if_match: Option<u64>,
    ) -> Result<()> {
        require(actor, Role::Admin)?;
        let _w = self.lock_writer().await;
        let state = self.current();
        let old = record(&state, vs)?;
        if old.spec.real_server(key).is_none() {
            return Err(rs_not_found(vs, key));
        }
        check_revision(if_match, old.real_server_revision(key))?;
        let mut new = old.spec.clone();
        new.real_servers.retain(|r| r.key() != *key);
        state.check_virtual_server(&new)?;
        self.commit_virtual_server(actor, vs, Some(old), Some(new))
            .await?;
        Ok(())
    }

    /// Writes the change from `old` to `new` (either may be absent) with its audit entries, and publishes
    /// the new state. The caller holds the writer lock and has validated `new`. Returns the new record, or
    /// `None` when the object was deleted or nothing changed.
    async fn commit_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
        old: Option<Arc<VirtualServerRecord>>,
        new: Option<VirtualServer>,
    ) -> Result<Option<Arc<VirtualServerRecord>>> {
        let state = self.current();
        let revision = state.revision + 1;
        let mut change = StateChange {
            revision,
            at: now(),
            ..Default::default()
        };
        let Some(record) = self.stage_virtual_server(actor, name, old, new, &mut change)? else {
            return Ok(None);
        };
        let mut next = (*state).clone();
        next.revision = revision;
        match &record {
            Some(r) => next.virtual_servers.insert(name.to_string(), r.clone()),
            None => next.virtual_servers.remove(name),
        };
        self.write_local(change, next).await?;
        tracing::info!(virtual_server = name, revision, actor = %actor.name, via = %actor.via, "virtual server changed");
        Ok(record)
    }

    /// Adds the rows and audit entries of the change from `old` to `new` to `change` (at its revision).
    /// Returns `None` when nothing changed, else the new record (`Some(None)`: deleted). Writes nothing.
    pub(super) fn stage_virtual_server(
        &self,
        actor: &Actor,
        name: &str,
        old: Option<Arc<VirtualServerRecord>>,
        new: Option<VirtualServer>,
        change: &mut StateChange,
    ) -> Result<Option<Option<Arc<VirtualServerRecord>>>> {
        let revision = change.revision;
        let audited = change.audit.len();
        let old_spec = old.as_ref().map(|r| &r.spec);
        if old_spec.is_none() && new.is_none() {
            return Ok(None);
        }
        // A real-server change leaves the virtual server's own fields alone: no JSON of them is made then.
        let own_same = matches!((old_spec, &new), (Some(o), Some(n)) if o.same_own_fields(n));
        let mut own_changed = false;
        if !own_same {
            let old_own = old_spec.map(own_fields).transpose()?;
            let new_own = new.as_ref().map(own_fields).transpose()?;
            own_changed = match (&old_own, &new_own) {
                (None, Some(after)) => {
                    let mut e =
                        self.audit_entry(actor, "create", "virtual_server", name.to_string());
                    e.summary = format!(
                        "created virtual server {name} ({})",
                        describe(new.as_ref().expect("new"))
                    );
                    e.after = Some(after.clone());
                    change.audit.push(e);
                    true
                }
                (Some(before), None) => {
                    let mut e =
                        self.audit_entry(actor, "delete", "virtual_server", name.to_string());
                    e.summary = format!(
                        "deleted virtual server {name} ({})",
                        describe(old_spec.expect("old"))
                    );
                    e.before = Some(before.clone());
                    change.audit.push(e);
                    change.virtual_server_deletes.push(name.to_string());
                    false
                }
                (Some(before), Some(after)) => match diff(before, after) {
                    Some(d) => {
                        let mut e =
                            self.audit_entry(actor, "update", "virtual_server", name.to_string());
                        e.fields = d.fields;
                        e.before = Some(d.before);
                        e.after = Some(d.after);
                        e.summary = d.summary;
                        change.audit.push(e);
                        true
                    }
                    None => false,
                },
                (None, None) => false,
            };
            if let (Some(vs), Some(own), true) = (&new, &new_own, own_changed) {
                let key = vs.key().map(|k| k.to_string()).unwrap_or_default();
                change
                    .virtual_server_upserts
                    .push((name.to_string(), own.to_string(), key));
            }
        }

        // Real servers, one audit entry each.
        let old_rs: BTreeMap<RealServerKey, (usize, &RealServer)> = old_spec
            .map(|s| {
                s.real_servers
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.key(), (i, r)))
                    .collect()
            })
            .unwrap_or_default();
        let mut revisions = BTreeMap::new();
        let mut rs_changed = false;
        if let Some(vs) = &new {
            for (i, rs) in vs.real_servers.iter().enumerate() {
                let key = rs.key();
                // Unchanged: it keeps its revision; only a new position is written.
                let kept = |j: usize| {
                    let rev = old
                        .as_ref()
                        .map(|r| r.real_server_revision(&key))
                        .unwrap_or(revision);
                    (rev, j != i)
                };
                let (rev, write) = match old_rs.get(&key) {
                    None => {
                        let mut e = self.audit_entry(
                            actor,
                            "create",
                            "real_server",
                            format!("{name}/{key}"),
                        );
                        e.summary = format!("created real server {key} (weight {})", rs.weight);
                        e.after = Some(to_json(rs)?);
                        change.audit.push(e);
                        (revision, true)
                    }
                    // The same: no JSON is made of it (a weight change leaves nine of ten alone).
                    Some((j, before)) if *before == rs => kept(*j),
                    Some((j, before)) => match diff(&to_json(*before)?, &to_json(rs)?) {
                        None => kept(*j),
                        Some(d) => {
                            let mut e = self.audit_entry(
                                actor,
                                "update",
                                "real_server",
                                format!("{name}/{key}"),
                            );
                            e.fields = d.fields;
                            e.before = Some(d.before);
                            e.after = Some(d.after);
                            e.summary = d.summary;
                            change.audit.push(e);
                            (revision, true)
                        }
                    },
                };
                revisions.insert(key, rev);
                if write {
                    rs_changed = true;
                    change.real_server_upserts.push(RealServerRow {
                        virtual_server: name.to_string(),
                        endpoint: key.to_string(),
                        position: i as i64,
                        spec: serde_json::to_string(rs)
                            .map_err(|e| ServiceError::Internal(e.to_string()))?,
                    });
                }
            }
        }
        for (key, (_, rs)) in &old_rs {
            if new.as_ref().is_some_and(|n| n.real_server(key).is_some()) {
                continue;
            }
            let mut e = self.audit_entry(actor, "delete", "real_server", format!("{name}/{key}"));
            e.summary = format!("deleted real server {key} (weight {})", rs.weight);
            e.before = Some(to_json(*rs)?);
            change.audit.push(e);
            rs_changed = true;
            if new.is_some() {
                change
                    .real_server_deletes
                    .push((name.to_string(), key.to_string()));
            }
        }
        if !own_changed && !rs_changed && new.is_some() {
            return Ok(None);
        }
        if new.is_some() && !own_changed {
            change.virtual_server_touches.push(name.to_string());
        }
        if change.audit.len() == audited {
            // Only the order of the real servers changed: still a change, still audited.
            let order = |vs: Option<&VirtualServer>| -> Value {
                vs.map(|v| {
                    v.real_servers
                        .iter()
                        .map(|r| Value::String(r.key().to_string()))
                        .collect()
                })
                .unwrap_or_default()
            };
            let mut e = self.audit_entry(actor, "update", "virtual_server", name.to_string());
            e.fields = vec!["real_servers".into()];
            e.before = Some(serde_json::json!({ "real_servers": order(old_spec) }));
            e.after = Some(serde_json::json!({ "real_servers": order(new.as_ref()) }));
            e.summary = "real servers reordered".into();
            change.audit.push(e);
        }
        Ok(Some(new.map(|spec| {
            Arc::new(VirtualServerRecord {
                spec,
                revision,
                real_server_revisions: revisions,
            })
        })))
    }
}

/// Operators may change weights and the enabled flag of existing real servers; anything else needs admin.
pub(super) fn authorize_change(
    actor: &Actor,
    old: &VirtualServer,
    new: &VirtualServer,
) -> Result<()> {
    if actor.role >= Role::Admin {
        return Ok(());
    }
    let neutral = |vs: &VirtualServer| {
        let mut vs = vs.clone();
        for rs in &mut vs.real_servers {
            rs.weight = 0;
            rs.enabled = true;
        }
        vs
    };
    if neutral(old) != neutral(new) {
        return Err(ServiceError::Forbidden(format!(
            "{} is an operator: operators may change only the weight and enabled state of real servers",
            actor.name
        )));
    }
    Ok(())
}

/// A virtual server's own fields, without its real servers, as stored and audited.
fn own_fields(vs: &VirtualServer) -> Result<Value> {
    let mut v = to_json(vs)?;
    if let Value::Object(m) = &mut v {
        m.remove("real_servers");
    }
    Ok(v)
}

fn describe(vs: &VirtualServer) -> String {
    let key = vs.key().map(|k| k.to_string()).unwrap_or_default();
    format!(
        "{key}, {}, {}, {} real servers",
        vs.scheduler,
        vs.forwarding.as_str(),
        vs.real_servers.len()
    )
}

/// The virtual server `name` of a snapshot, or not found.
fn record(state: &DesiredState, name: &str) -> Result<Arc<VirtualServerRecord>> {
    state
        .virtual_servers
        .get(name)
        .cloned()
        .ok_or_else(|| not_found(name))
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "virtual server",
        name: name.to_string(),
    }
}

fn rs_not_found(vs: &str, key: &RealServerKey) -> ServiceError {
    ServiceError::NotFound {
        kind: "real server",
        name: format!("{vs}/{key}"),
    }
}

/// Errors about the real server being written are reported without the `real_servers[i].` prefix, since
/// the caller addressed the real server directly.
fn strip_prefix(e: director_core::ModelError, index: usize) -> director_core::ModelError {
    let prefix = format!("real_servers[{index}]");
    let mut e = e;
    if let Some(rest) = e.field.strip_prefix(&prefix) {
        e.field = rest.trim_start_matches('.').to_string();
    }
    e
}

//! Applying what peers send: their changes (registers merged, objects rebuilt and validated, their audit
//! entries kept with their origin node, conflicts audited) or, for a new empty node, a full copy.

use super::replica::{now_ms, Change};
use super::{Actor, Result, Service, ServiceError, Via};
use crate::store::{Cursor, NewAuditEntry, StateChange};
use director_core::model::{RealServerKey, Role, VirtualServer, VrrpGroup};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use director_sync::objects::VrrpGroupValue;
use director_sync::objects::REVOCATION_PREFIX;
use director_sync::objects::{
    decode, materialize, vrrp_group, RealServerValue, VirtualServerValue,
};
use director_sync::{merge, Conflict, Merge, ObjectKey, Register, RevocationValue, SyncError};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tokio::sync::watch;

/// What applying a peer's changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The new desired-state revision, if the desired state changed.
    pub revision: Option<u64>,
    /// Concurrent writes resolved (each audited as a conflict).
    pub conflicts: usize,
    /// Objects created, changed or deleted here.
    pub objects: usize,
    /// Token revocations taken from the peer (refused here from now on).
    pub revocations: usize,
}

/// Everything a new node needs to start from: every register, and how far each log is included.
#[derive(Debug, Clone, Default)]
pub struct SyncSnapshot {
    pub registers: Vec<(String, Register)>,
    pub cursors: Vec<Cursor>,
}

impl Service {
    /// This node's log identity.
    pub fn sync_log_id(&self) -> String {
        self.replica().log_id.clone()
    }

    /// Follows the last sequence number of this node's log.
    pub fn sync_log_head(&self) -> watch::Receiver<u64> {
        self.log_head.subscribe()
    }

    /// How far `origin`'s log has been applied here.
    pub fn sync_cursor(&self, origin: &str) -> Option<Cursor> {
        self.replica().cursors.get(origin).cloned()
    }

    /// Nothing synced, nothing written (but token revocations): a node that should start from a full copy.
    pub fn sync_is_empty(&self) -> bool {
        let r = self.replica();
        r.cursors.is_empty() && r.registers.keys().all(|k| k.starts_with(REVOCATION_PREFIX))
    }

    /// Up to `limit` entries of this node's log after `after`, decoded.
    pub async fn sync_log_after(&self, after: u64, limit: u32) -> Result<Vec<(u64, Change)>> {
        self.store
            .sync_log_after(after, limit)
            .await?
            .into_iter()
            .map(|(seq, text)| {
                serde_json::from_str(&text)
                    .map(|c| (seq, c))
                    .map_err(|e| ServiceError::Internal(format!("sync log entry {seq}: {e}")))
            })
            .collect()
    }

    /// Every register and every cursor, this node's own log included (at its head).
    pub fn sync_snapshot(&self) -> SyncSnapshot {
        let r = self.replica();
        let mut cursors: Vec<Cursor> = r.cursors.values().cloned().collect();
        cursors.push(Cursor {
            origin: self.node.clone(),
            log_id: r.log_id.clone(),
            seq: r.head,
        });
        SyncSnapshot {
            registers: r
                .registers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cursors,
        }
    }

    /// A digest of the desired state (objects only: no revisions, real servers in address order), equal on
    /// every node that holds the same configuration: the XOR of each object's SHA-256, each kept while its
    /// object is unchanged, so that a heartbeat after a weight change hashes one object, not all.
    pub fn digest(&self) -> String {
        let state = self.snapshot();
        let mut cache = self
            .digest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut total = [0u8; 32];
        let mut fold = |h: &[u8; 32]| total.iter_mut().zip(h).for_each(|(t, b)| *t ^= b);
        let mut vs_hashes = HashMap::with_capacity(state.virtual_servers.len());
        for (name, record) in &state.virtual_servers {
            let h = match cache.virtual_servers.get(name) {
                Some((r, h)) if Arc::ptr_eq(r, record) => *h,
                _ => {
                    let mut spec = record.spec.clone();
                    spec.real_servers.sort_by_key(|r| r.key());
                    object_hash(b"vs", name, &spec)
                }
            };
            fold(&h);
            vs_hashes.insert(name.clone(), (record.clone(), h));
        }
        let mut group_hashes = HashMap::with_capacity(state.vrrp_groups.len());
        for (name, record) in &state.vrrp_groups {
            let h = match cache.vrrp_groups.get(name) {
                Some((r, h)) if Arc::ptr_eq(r, record) => *h,
                _ => object_hash(b"group", name, &record.spec),
            };
            fold(&h);
            group_hashes.insert(name.clone(), (record.clone(), h));
        }
        cache.virtual_servers = vs_hashes;
        cache.vrrp_groups = group_hashes;
        total[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Applies entries of `peer`'s log (log `log_id`), in order. Entries at or below the cursor are skipped;
    /// anything malformed refuses the whole call and changes nothing.
    pub async fn apply_remote(
        &self,
        peer: &str,
        log_id: &str,
        entries: Vec<(u64, Change)>,
    ) -> Result<Applied> {
        let _w = self.lock_writer().await;
        let from = match self.replica().cursors.get(peer) {
            Some(c) if c.log_id == log_id => c.seq,
            _ => 0,
        };
        let mut registers = Vec::new();
        let mut audit = Vec::new();
        let mut last = from;
        for (seq, change) in entries {
            if seq <= last {
                continue;
            }
            if change.origin != peer {
                return Err(ServiceError::bad_request(
                    format!("changes[{seq}].origin"),
                    format!("{peer} sent a change made on {:?}", change.origin),
                ));
            }
            registers.extend(change.registers);
            audit.extend(change.audit);
            last = seq;
        }
        if last == from {
            return Ok(Applied::default());
        }
        let cursor = Cursor {
            origin: peer.to_string(),
            log_id: log_id.to_string(),
            seq: last,
        };
        self.merge_locked(peer, registers, Some(audit), vec![cursor])
            .await
    }

    /// Starts an empty node from a peer's full copy. Returns `None` (and changes nothing) when this node is
    /// not empty any more: it then follows the logs like any other.
    pub async fn apply_snapshot(
        &self,
        peer: &str,
        snapshot: SyncSnapshot,
    ) -> Result<Option<Applied>> {
        let _w = self.lock_writer().await;
        if !self.sync_is_empty() {
            return Ok(None);
        }
        let cursors = snapshot
            .cursors
            .into_iter()
            .filter(|c| c.origin != self.node)
            .collect();
        self.merge_locked(peer, snapshot.registers, None, cursors)
            .await
            .map(Some)
    }

    /// Merges registers (the writer lock held), rebuilds and validates the objects they touch, and writes
    /// it all in one transaction. `origin_audit`: the entries that travelled with the changes (`None` for a
    /// full copy: the objects are then audited here, as created by the peer).
    async fn merge_locked(
        &self,
        peer: &str,
        incoming: Vec<(String, Register)>,
        origin_audit: Option<Vec<NewAuditEntry>>,
        cursors: Vec<Cursor>,
    ) -> Result<Applied> {
        let now = now_ms();
        // Check everything first: nothing is applied from a malformed batch.
        let mut parsed = Vec::with_capacity(incoming.len());
        let mut revocations_in = Vec::new();
        for (key, reg) in incoming {
            let object: ObjectKey = key.parse().map_err(|e: director_sync::SyncError| {
                ServiceError::bad_request("registers", e.to_string())
            })?;
            if let ObjectKey::Revocation(id) = &object {
                let value = match &reg.value {
                    Some(text) => RevocationValue::decode(id, text).map_err(|e| {
                        let field = match &e {
                            SyncError::Field { field, .. } => format!("registers.{key}.{field}"),
                            _ => format!("registers.{key}"),
                        };
                        ServiceError::bad_request(field, e.to_string())
                    })?,
                    None => {
                        return Err(ServiceError::bad_request(
                            format!("registers.{key}.value"),
                            format!("register {key}: a revocation cannot be undone (no value)"),
                        ))
                    }
                };
                revocations_in.push((id.clone(), key, reg, value));
                continue;
            }
            if let Some(text) = &reg.value {
                let checked = match &object {
                    ObjectKey::VirtualServer(_) => {
                        decode::<VirtualServerValue>(&object, text).map(drop)
                    }
                    ObjectKey::RealServer(..) => decode::<RealServerValue>(&object, text).map(drop),
                    ObjectKey::VrrpGroup(_) => decode::<VrrpGroupValue>(&object, text).map(drop),
                    ObjectKey::Revocation(_) => Ok(()),
                };
                checked.map_err(|e| {
                    ServiceError::bad_request(format!("registers.{key}"), e.to_string())
                })?;
            }
            parsed.push((object, key, reg));
        }

        let mut pending: BTreeMap<String, Register> = BTreeMap::new();
        let mut revocations: Vec<(String, String, RevocationValue)> = Vec::new();
        let mut conflicts: Vec<NewAuditEntry> = Vec::new();
        let mut vs_touched = BTreeSet::new();
        let mut groups_touched = BTreeSet::new();
        {
            let mut replica = self.replica();
            // A peer whose clock runs ahead would drag this node's clock (and, through it, every other
            // node's) along: all or nothing, before anything is merged.
            let stamps = parsed
                .iter()
                .map(|(_, _, r)| &r.stamp)
                .chain(revocations_in.iter().map(|(_, _, r, _)| &r.stamp));
            replica
                .clock
                .observe_all(stamps, now, self.max_clock_skew)
                .map_err(|skew| ServiceError::ClockSkew {
                    peer: peer.to_string(),
                    skew,
                })?;
            for (object, key, reg) in parsed {
                let held = replica.get(&pending, &key).cloned();
                let merged = match merge(held.as_ref(), &reg) {
                    Merge::Keep => continue,
                    Merge::Take(r) => r,
                    Merge::Join { merged, conflict } => {
                        if let Some(c) = conflict {
                            conflicts.push(self.conflict_entry(&object, &c));
                        }
                        merged
                    }
                };
                pending.insert(key, merged);
                match &object {
                    ObjectKey::VrrpGroup(n) => groups_touched.insert(n.clone()),
                    ObjectKey::VirtualServer(n) | ObjectKey::RealServer(n, _) => {
                        vs_touched.insert(n.clone())
                    }
                    ObjectKey::Revocation(_) => false,
                };
            }
            // Revocations: never undone, so any merge is the same refusal. One of a token that has expired
            // is of no use (it may have been dropped here already) and is not kept.
            let horizon = super::tokens::horizon();
            for (id, key, reg, value) in revocations_in {
                if value.expired(horizon) {
                    continue;
                }
                let held = replica.get(&pending, &key).cloned();
                let merged = match merge(held.as_ref(), &reg) {
                    Merge::Keep => continue,
                    Merge::Take(r) => r,
                    Merge::Join { merged, .. } => merged,
                };
                pending.insert(key, merged);
                revocations.push((id, reg.stamp.node.clone(), value));
            }
        }

        let state = self.current();
        let mut next = (*state).clone();
        let revision = state.revision + 1;
        let mut change = StateChange {
            revision,
            at: super::now(),
            cursors,
            ..Default::default()
        };
        let actor = Actor::new(peer, Role::Admin, Via::Sync);
        let mut objects = 0;
        let mut refused = Vec::new();

        // Groups first (virtual servers refer to them), their deletes last.
        let mut group_deletes = Vec::new();
        for name in &groups_touched {
            match self.declared_group(&pending, name)? {
                Some(group) => {
                    let old = next.vrrp_groups.get(name).cloned();
                    if old.as_ref().is_some_and(|o| o.spec == group) {
                        continue;
                    }
                    if let Err(e) = next.check_vrrp_group(&group) {
                        refused.push(("vrrp_group", name.clone(), e.to_string()));
                        continue;
                    }
                    if let Some(Some(r)) =
                        self.stage_vrrp_group(&actor, name, old, Some(group), &mut change)?
                    {
                        next.vrrp_groups.insert(name.clone(), r);
                        objects += 1;
                    }
                }
                None => group_deletes.push(name.clone()),
            }
        }
        for name in &vs_touched {
            let declared = self.declared_virtual_server(&pending, name)?;
            let old = next.virtual_servers.get(name).cloned();
            if old.as_ref().map(|o| &o.spec) == declared.as_ref() {
                continue;
            }
            let checked = match &declared {
                Some(vs) => next.check_virtual_server(vs),
                None if old.is_some() => next.check_virtual_server_delete(name),
                None => continue,
            };
            if let Err(e) = checked {
                refused.push(("virtual_server", name.clone(), e.to_string()));
                continue;
            }
            if let Some(record) =
                self.stage_virtual_server(&actor, name, old, declared, &mut change)?
            {
                match record {
                    Some(r) => next.virtual_servers.insert(name.clone(), r),
                    None => next.virtual_servers.remove(name),
                };
                objects += 1;
            }
        }
        for name in group_deletes {
            let Some(old) = next.vrrp_groups.get(&name).cloned() else {
                continue;
            };
            if let Err(e) = next.check_vrrp_group_delete(&name) {
                refused.push(("vrrp_group", name.clone(), e.to_string()));
                continue;
            }
            if self
                .stage_vrrp_group(&actor, &name, Some(old), None, &mut change)?
                .is_some()
            {
                next.vrrp_groups.remove(&name);
                objects += 1;
            }
        }

        if let Some(entries) = origin_audit {
            change.audit = entries;
        }
        for (id, origin, value) in &revocations {
            change
                .token_revocations
                .push(super::tokens::revoked_row(id, value));
            if self.is_revoked(id) {
                continue;
            }
            let mut e = self.audit_entry(&actor, "revoke", "token", id.clone());
            e.summary = format!(
                "token {id} ({} {}, role {}) revoked on {origin} by {}: refused here too",
                value.kind.as_str(),
                value.subject,
                value.role,
                value.revoked_by
            );
            change.audit.push(e);
        }
        let n_conflicts = conflicts.len();
        change.audit.extend(conflicts);
        for (kind, name, why) in refused {
            let mut e = self.audit_entry(&actor, "conflict", kind, name.clone());
            e.summary = format!("{kind} {name} as synced from {peer} not applied here: {why}");
            tracing::warn!(peer, object = %name, "synced change not applied: {why}");
            change.audit.push(e);
        }
        change.unchanged = objects == 0;
        change.registers = pending
            .iter()
            .map(|(k, r)| (k.clone(), director_sync::objects::encode(r)))
            .collect();
        let cursors = change.cursors.clone();
        let applied = Applied {
            revision: (objects > 0).then_some(revision),
            conflicts: n_conflicts,
            objects,
            revocations: revocations.len(),
        };
        next.revision = revision;
        self.commit(change, (objects > 0).then_some(next), move |replica| {
            replica.registers.extend(pending);
            for c in cursors {
                replica.cursors.insert(c.origin.clone(), c);
            }
        })
        .await?;
        // Durable: refused from now on (the row is read again by the poll, which changes nothing).
        for (id, _, value) in &revocations {
            self.remember_revoked(id, value.expires_at);
        }
        if objects > 0 {
            tracing::info!(
                peer,
                revision,
                objects,
                conflicts = n_conflicts,
                "synced changes applied"
            );
        }
        if !revocations.is_empty() {
            tracing::info!(
                peer,
                revocations = revocations.len(),
                "synced token revocations applied"
            );
        }
        Ok(applied)
    }

    /// Audits that `peer`'s changes are refused because its clock runs more than the bound ahead of this
    /// node's (`kind: peer`, `action: clock_skew`, this node the actor). The follower calls it once when the
    /// refusals start, not at every retry.
    pub async fn record_clock_skew(&self, peer: &str, skew: &director_sync::Skew) -> Result<()> {
        let actor = Actor::new(self.node.clone(), Role::Admin, Via::Sync);
        let mut e = self.audit_entry(&actor, "clock_skew", "peer", peer.to_string());
        e.after = Some(serde_json::json!({
            "stamp": skew.stamp.to_string(),
            "ahead_ms": skew.ahead_ms,
            "max_clock_skew_ms": skew.bound_ms,
        }));
        e.summary = format!(
            "changes from {peer} refused: {skew}; nothing of {peer}'s is applied here until its stamps are within the bound"
        );
        self.store.record(&e).await?;
        Ok(())
    }

    /// The VRRP group `name` as the registers (staged first) declare it; `None`: deleted or never declared.
    fn declared_group(
        &self,
        pending: &BTreeMap<String, Register>,
        name: &str,
    ) -> Result<Option<VrrpGroup>> {
        let key = ObjectKey::VrrpGroup(name.to_string());
        let replica = self.replica();
        let Some(value) = held::<VrrpGroupValue>(&replica, pending, &key)? else {
            return Ok(None);
        };
        vrrp_group(name, &value).map(Some).map_err(sync_error)
    }

    /// The virtual server `name` as the registers (staged first) declare it, with its real servers.
    fn declared_virtual_server(
        &self,
        pending: &BTreeMap<String, Register>,
        name: &str,
    ) -> Result<Option<VirtualServer>> {
        let key = ObjectKey::VirtualServer(name.to_string());
        let replica = self.replica();
        let Some(own) = held::<VirtualServerValue>(&replica, pending, &key)? else {
            return Ok(None);
        };
        let mut members: Vec<(RealServerKey, RealServerValue)> = Vec::new();
        for (k, reg) in replica.real_servers_of(name, pending) {
            let (Ok(ObjectKey::RealServer(_, endpoint)), Some(text)) =
                (k.parse::<ObjectKey>(), reg.value.as_ref())
            else {
                continue;
            };
            let object = ObjectKey::RealServer(name.to_string(), endpoint);
            members.push((endpoint, decode(&object, text).map_err(sync_error)?));
        }
        let mut vs =
            materialize(name, &own, members.iter().map(|(k, v)| (k, v))).map_err(sync_error)?;
        vs.normalize();
        Ok(Some(vs))
    }

    /// The audit entry of a concurrent write that lost, written the same on every node that sees both.
    fn conflict_entry(&self, object: &ObjectKey, c: &Conflict) -> NewAuditEntry {
        let (kind, name) = match object {
            ObjectKey::VirtualServer(n) => ("virtual_server", n.clone()),
            ObjectKey::RealServer(n, k) => ("real_server", format!("{n}/{k}")),
            ObjectKey::VrrpGroup(n) => ("vrrp_group", n.clone()),
            ObjectKey::Revocation(id) => ("token", id.clone()),
        };
        let actor = Actor::new(c.loser.node.clone(), Role::Admin, Via::Sync);
        let mut e = self.audit_entry(&actor, "conflict", kind, name.clone());
        let spec = |v: &Option<String>| -> Option<Value> {
            v.as_ref().map(|text| {
                serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|mut j| j.get_mut("spec").map(Value::take))
                    .unwrap_or(Value::Null)
            })
        };
        e.before = spec(&c.lost_value);
        e.after = spec(&c.won_value);
        let what = |v: &Option<String>| if v.is_some() { "change" } else { "delete" };
        e.summary = format!(
            "concurrent writes of {name}: the {} made on {} at {} won; the {} made on {} at {} lost",
            what(&c.won_value),
            c.winner.node,
            c.winner.wall_ms,
            what(&c.lost_value),
            c.loser.node,
            c.loser.wall_ms,
        );
        e
    }
}

/// The digests of the objects of the last state digested.
#[derive(Default)]
pub(super) struct DigestCache {
    virtual_servers: HashMap<String, (Arc<VirtualServerRecord>, [u8; 32])>,
    vrrp_groups: HashMap<String, (Arc<VrrpGroupRecord>, [u8; 32])>,
}

fn object_hash(kind: &[u8], name: &str, spec: &impl serde::Serialize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(kind);
    h.update(b"\0");
    h.update(name.as_bytes());
    h.update(b"\0");
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    h.finalize().into()
}

/// The live value the registers (staged first) hold for `key`, decoded; `None`: deleted or never declared.
fn held<T: for<'de> serde::Deserialize<'de>>(
    replica: &super::replica::Replica,
    pending: &BTreeMap<String, Register>,
    key: &ObjectKey,
) -> Result<Option<T>> {
    replica
        .get(pending, &key.to_string())
        .and_then(|r| r.value.as_deref())
        .map(|text| decode(key, text).map_err(sync_error))
        .transpose()
}

fn sync_error(e: director_sync::SyncError) -> ServiceError {
    ServiceError::bad_request("registers", e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tokens;
    use crate::store::{AuditFilter, Store};
    use director_core::model::RealServer;

    async fn node(name: &str, dir: &tempfile::TempDir) -> Service {
        let store = Store::open(&dir.path().join(format!("{name}.db")))
            .await
            .expect("store");
        Service::open(store, name.into(), Tokens::new(&[7u8; 32]), 3600)
            .await
            .expect("service")
    }

    fn admin() -> Actor {
        Actor::new("admin", Role::Admin, Via::Rest)
    }

    fn web() -> VirtualServer {
        serde_json::from_value(serde_json::json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
            "real_servers": [{"address": "10.9.0.1", "port": 80, "weight": 1}]
        }))
        .expect("vs")
    }

    /// Everything `from` logged after `after`, applied on `to`.
    async fn pull(from: &Service, to: &Service, after: u64) -> Applied {
        let entries = from.sync_log_after(after, 1000).await.expect("log");
        to.apply_remote(from.node(), &from.sync_log_id(), entries)
            .await
            .expect("apply")
    }

    async fn weight_of(s: &Service) -> u32 {
        let rs: &RealServer = &s.snapshot().virtual_servers["web"].spec.real_servers[0];
        rs.weight
    }

    #[tokio::test]
    async fn changes_travel_once_and_concurrent_ones_resolve_alike() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        a.create_virtual_server(&admin(), web())
            .await
            .expect("create");
        let applied = pull(&a, &b, 0).await;
        assert_eq!(applied.objects, 1);
        assert_eq!(a.digest(), b.digest());
        // Applying the same entries again changes nothing (the cursor skips them).
        assert_eq!(pull(&a, &b, 0).await, Applied::default());

        // Concurrent weight changes: a, then b a little later.
        let key: RealServerKey = "10.9.0.1:80".parse().expect("key");
        let patch = |w: u32| serde_json::json!({ "weight": w });
        let head_a = *a.sync_log_head().borrow();
        let head_b = *b.sync_log_head().borrow();
        a.patch_real_server(&admin(), "web", &key, &patch(5), None)
            .await
            .expect("a");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        b.patch_real_server(&admin(), "web", &key, &patch(7), None)
            .await
            .expect("b");
        let at_b = pull(&a, &b, head_a).await;
        let at_a = pull(&b, &a, head_b).await;
        assert_eq!((at_a.conflicts, at_b.conflicts), (1, 1));
        assert_eq!((weight_of(&a).await, weight_of(&b).await), (7, 7));
        assert_eq!(a.digest(), b.digest());
        let viewer = Actor::new("v", Role::Viewer, Via::Rest);
        for s in [&a, &b] {
            let filter = AuditFilter {
                action: Some("conflict".into()),
                ..AuditFilter::default()
            };
            let (entries, _) = s.audit(&viewer, &filter).await.expect("audit");
            assert_eq!(entries.len(), 1, "{}", s.node());
            assert_eq!(entries[0].actor, "a", "the loser");
            // The weight change itself is in both logs, with its origin node.
            let filter = AuditFilter {
                field: Some("weight".into()),
                ..AuditFilter::default()
            };
            let (entries, _) = s.audit(&viewer, &filter).await.expect("audit");
            let nodes: BTreeSet<_> = entries.iter().map(|e| e.node.as_str()).collect();
            assert_eq!(nodes, BTreeSet::from(["a", "b"]));
        }
    }

    #[tokio::test]
    async fn malformed_changes_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        a.create_virtual_server(&admin(), web())
            .await
            .expect("create");
        let good = a.sync_log_after(0, 10).await.expect("log");
        let revision = b.snapshot().revision;
        let mut cases = Vec::new();
        let mut bad_key = good.clone();
        bad_key[0].1.registers[0].0 = "user/root".into();
        cases.push((bad_key, "registers"));
        let mut bad_value = good.clone();
        bad_value[0].1.registers[0].1.value = Some("{\"spec\": 3}".into());
        cases.push((bad_value, "registers."));
        let mut forged = good.clone();
        forged[0].1.origin = "c".into();
        cases.push((forged, "origin"));
        for (entries, field) in cases {
            let err = b
                .apply_remote("a", &a.sync_log_id(), entries)
                .await
                .expect_err("refused");
            assert!(
                err.field().is_some_and(|f| f.contains(field)),
                "{err} should name {field}"
            );
            assert_eq!(b.snapshot().revision, revision, "nothing applied");
            assert!(b.sync_cursor("a").is_none(), "the cursor did not move");
        }
        // The good one still applies afterwards.
        assert_eq!(pull(&a, &b, 0).await.objects, 1);
    }

    #[tokio::test]
    async fn a_peer_whose_clock_runs_ahead_is_refused_whole_and_moves_no_clock() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        let b = b.with_max_clock_skew(director_sync::SkewBound::from_millis(60_000));
        a.create_virtual_server(&admin(), web())
            .await
            .expect("create");
        let mut other = web();
        other.name = "other".into();
        other.address = Some("10.0.0.2".parse().expect("ip"));
        a.create_virtual_server(&admin(), other)
            .await
            .expect("create");
        let good = a.sync_log_after(0, 10).await.expect("log");
        assert_eq!(good.len(), 2);
        let revision = b.snapshot().revision;
        let stamp_now = || b.replica().clock.clone().tick(now_ms());

        // The second change was made an hour ahead: neither is applied, the cursor stays, the clock too.
        let before = stamp_now();
        let mut skewed = good.clone();
        for (_, reg) in &mut skewed[1].1.registers {
            reg.stamp.wall_ms = now_ms() + 3_600_000;
        }
        let err = b
            .apply_remote("a", &a.sync_log_id(), skewed)
            .await
            .expect_err("refused");
        match &err {
            ServiceError::ClockSkew { peer, skew } => {
                assert_eq!(peer, "a");
                assert!(skew.ahead_ms > 3_500_000, "{skew}");
                assert_eq!(skew.bound_ms, 60_000);
            }
            other => panic!("not a clock skew: {other}"),
        }
        assert_eq!(b.snapshot().revision, revision, "nothing applied");
        assert!(b.snapshot().virtual_servers.is_empty());
        assert!(b.sync_cursor("a").is_none(), "the cursor did not move");
        let after = stamp_now();
        assert!(
            after.wall_ms < before.wall_ms + 3_000_000,
            "the clock was not dragged ahead: {before} then {after}"
        );

        // A full copy carrying such a stamp is refused the same way.
        let mut copy = a.sync_snapshot();
        copy.registers[0].1.stamp.wall_ms = now_ms() + 3_600_000;
        let err = b.apply_snapshot("a", copy).await.expect_err("refused");
        assert!(matches!(err, ServiceError::ClockSkew { .. }), "{err}");
        assert!(b.snapshot().virtual_servers.is_empty());

        // Just within the bound, and behind: applied.
        let mut near = good.clone();
        for (_, reg) in &mut near[1].1.registers {
            reg.stamp.wall_ms = now_ms() + 50_000;
        }
        let applied = b
            .apply_remote("a", &a.sync_log_id(), near)
            .await
            .expect("applied");
        assert_eq!(applied.objects, 2);
        assert_eq!(b.sync_cursor("a").map(|c| c.seq), Some(good[1].0));

        // The entry the follower writes when the refusals start.
        b.record_clock_skew(
            "a",
            &director_sync::SkewBound::from_millis(1)
                .check(&good[0].1.registers[0].1.stamp, 0)
                .expect_err("ahead of 0"),
        )
        .await
        .expect("audit");
        let (entries, _) = b
            .audit(
                &admin(),
                &AuditFilter {
                    kind: Some("peer".into()),
                    ..AuditFilter::default()
                },
            )
            .await
            .expect("audit");
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].action.as_str(), entries[0].object.as_str()),
            ("clock_skew", "a")
        );
        assert!(
            entries[0].summary.contains("changes from a refused"),
            "{}",
            entries[0].summary
        );
    }

    /// `a` sends its new revocations to the peers, as the daemon's watcher does.
    async fn send_revocations(a: &Service) -> usize {
        let new = a.refresh_revocations().await.expect("refresh");
        a.replicate_revocations(&new).await.expect("replicate")
    }

    async fn accepted(s: &Service, token: &str) -> bool {
        s.authenticate(token, Via::Rest).await.is_ok()
    }

    #[tokio::test]
    async fn a_revocation_travels_and_the_token_is_refused_on_the_peer_also_after_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        let (token, view) = a
            .create_service_token(
                &admin(),
                "ci",
                Role::Viewer,
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("token");
        let (other, _) = a
            .create_service_token(
                &admin(),
                "other",
                Role::Viewer,
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("token");
        assert!(accepted(&b, &token).await, "one secret: good on b too");
        a.revoke_token(&admin(), &view.id).await.expect("revoke");
        assert_eq!(send_revocations(&a).await, 1);
        assert_eq!(send_revocations(&a).await, 0, "sent once");
        let applied = pull(&a, &b, 0).await;
        assert_eq!((applied.revocations, applied.objects), (1, 0));
        assert!(!accepted(&b, &token).await, "refused on the peer at once");
        assert!(accepted(&b, &other).await, "only that one");
        let listed = b.list_tokens(&admin()).await.expect("list");
        assert_eq!(listed.len(), 1, "{listed:?}");
        let t = &listed[0];
        assert_eq!(
            (t.id.as_str(), t.subject.as_str(), t.kind.as_str(), t.role),
            (view.id.as_str(), "token:ci", "service", Role::Viewer)
        );
        assert_eq!(t.expires_at, view.expires_at);
        assert!(t.revoked_at.is_some());
        assert_eq!(t.revoked_by.as_deref(), Some("admin"));
        // b audits it, and does not send it back (it came from a).
        let (entries, _) = b
            .audit(
                &admin(),
                &AuditFilter {
                    kind: Some("token".into()),
                    ..AuditFilter::default()
                },
            )
            .await
            .expect("audit");
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert!(
            entries[0].summary.contains("revoked on a"),
            "{}",
            entries[0].summary
        );
        assert_eq!(send_revocations(&b).await, 0);
        assert_eq!(pull(&a, &b, 0).await, Applied::default(), "applied once");

        // A logout on b travels back to a.
        let head_b = *b.sync_log_head().borrow();
        b.logout(&other, Via::Rest, None).await.expect("logout");
        assert_eq!(send_revocations(&b).await, 1);
        assert!(accepted(&a, &other).await);
        assert_eq!(pull(&b, &a, head_b).await.revocations, 1);
        assert!(!accepted(&a, &other).await, "logged out on b, refused on a");

        // After a restart b still refuses it (the tokens table), and still holds the register.
        let b_store = b.store().clone();
        drop(b);
        b_store.close().await;
        let b = node("b", &dir).await;
        assert!(!accepted(&b, &token).await, "refused after a restart");
        assert!(!b.sync_is_empty());
        assert_eq!(send_revocations(&b).await, 0);
    }

    #[tokio::test]
    async fn a_malformed_revocation_is_refused_naming_the_field_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        let (token, view) = a
            .create_service_token(
                &admin(),
                "ci",
                Role::Admin,
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("token");
        a.revoke_token(&admin(), &view.id).await.expect("revoke");
        send_revocations(&a).await;
        let good = a.sync_log_after(0, 10).await.expect("log");
        let key = format!("revoked/{}", view.id);
        assert_eq!(good[0].1.registers[0].0, key);
        let with_value = |f: &dyn Fn(&mut Value)| {
            let mut entries = good.clone();
            let reg = &mut entries[0].1.registers[0].1;
            let mut v: Value =
                serde_json::from_str(reg.value.as_deref().expect("value")).expect("json");
            f(&mut v);
            reg.value = Some(v.to_string());
            entries
        };
        let mut tombstone = good.clone();
        tombstone[0].1.registers[0].1.value = None;
        let mut bad_key = good.clone();
        bad_key[0].1.registers[0].0 = "revoked/not an id".into();
        let cases = vec![
            (
                with_value(&|v| v["role"] = "root".into()),
                format!("registers.{key}.role"),
            ),
            (
                with_value(&|v| v["expires_at"] = "soon".into()),
                format!("registers.{key}.expires_at"),
            ),
            (
                with_value(&|v| {
                    v.as_object_mut().expect("object").remove("subject");
                }),
                format!("registers.{key}.subject"),
            ),
            (
                with_value(&|v| *v = Value::Array(vec![])),
                format!("registers.{key}"),
            ),
            (tombstone, format!("registers.{key}.value")),
            (bad_key, "registers".to_string()),
        ];
        for (entries, field) in cases {
            let err = b
                .apply_remote("a", &a.sync_log_id(), entries)
                .await
                .expect_err("refused");
            assert_eq!(err.field(), Some(field.as_str()), "{err}");
            assert!(accepted(&b, &token).await, "nothing applied: {err}");
            assert!(b.sync_cursor("a").is_none(), "the cursor did not move");
            assert!(b.list_tokens(&admin()).await.expect("list").is_empty());
        }
        assert_eq!(pull(&a, &b, 0).await.revocations, 1, "the good one applies");
        assert!(!accepted(&b, &token).await);
    }

    #[tokio::test]
    async fn the_revocation_of_an_expired_token_is_dropped_and_not_taken_again() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        let (_, view) = a
            .create_service_token(
                &admin(),
                "ci",
                Role::Viewer,
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("token");
        a.revoke_token(&admin(), &view.id).await.expect("revoke");
        send_revocations(&a).await;
        let key = format!("revoked/{}", view.id);
        // Not expired yet: kept.
        assert_eq!(
            a.prune_revocations(super::super::tokens::unix_now())
                .await
                .expect("prune"),
            0
        );
        // Past its expiry: the register and the row go.
        let later = super::super::tokens::unix_now() + 7200;
        assert_eq!(a.prune_revocations(later).await.expect("prune"), 1);
        assert!(!a.replica().registers.contains_key(&key));
        assert!(
            !a.store()
                .sync_registers()
                .await
                .expect("registers")
                .iter()
                .any(|(k, _)| *k == key),
            "deleted from the store too"
        );
        assert_eq!(a.prune_revocations(later).await.expect("prune"), 0);
        // A copy of an expired one arriving is ignored (no register, no row).
        let mut old = a.sync_log_after(0, 10).await.expect("log");
        let reg = &mut old[0].1.registers[0].1;
        let mut v: Value =
            serde_json::from_str(reg.value.as_deref().expect("value")).expect("json");
        v["issued_at"] = 1_000.into();
        v["expires_at"] = 2_000.into();
        reg.value = Some(v.to_string());
        let applied = b
            .apply_remote("a", &a.sync_log_id(), old)
            .await
            .expect("applied");
        assert_eq!(applied.revocations, 0);
        assert!(b.sync_cursor("a").is_some(), "the entry is consumed");
        assert!(!b.replica().registers.contains_key(&key));
        assert!(b.list_tokens(&admin()).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_delete_wins_over_an_older_copy_and_a_recreated_name_starts_afresh() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (node("a", &dir).await, node("b", &dir).await);
        a.create_virtual_server(&admin(), web())
            .await
            .expect("create");
        pull(&a, &b, 0).await;
        let head = *b.sync_log_head().borrow();
        b.delete_virtual_server(&admin(), "web", None)
            .await
            .expect("delete");
        let mut again = web();
        again.real_servers[0].address = "10.9.0.2".parse().expect("ip");
        b.create_virtual_server(&admin(), again)
            .await
            .expect("recreate");
        pull(&b, &a, head).await;
        let rs: Vec<String> = a.snapshot().virtual_servers["web"]
            .spec
            .real_servers
            .iter()
            .map(|r| r.key().to_string())
            .collect();
        assert_eq!(
            rs,
            ["10.9.0.2:80"],
            "the old real server does not come back"
        );
        assert_eq!(a.digest(), b.digest());
    }
}

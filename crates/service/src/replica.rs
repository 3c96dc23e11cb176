//! This node's replica of the synced configuration: the registers of every object (tombstones included), the
//! hybrid logical clock, this node's change log and how far each peer's log has been applied. Every local
//! change of the desired state is turned into registers here and appended to the log, in the same
//! transaction as the change itself (`Service::write_local`).

use super::{Result, Service, ServiceError};
use crate::store::{Cursor, NewAuditEntry, StateChange, Store};
use director_core::DesiredState;
use director_sync::objects::{encode, RealServerValue, VirtualServerValue, VrrpGroupValue};
use director_sync::{Clock, ObjectKey, Register, Stamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// One change made on a node, as its log holds it and peers receive it: the registers it wrote and its audit
/// entries (which keep their origin node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub origin: String,
    pub registers: Vec<(String, Register)>,
    pub audit: Vec<NewAuditEntry>,
}

/// Each register with its JSON, as the store keeps it.
pub(super) fn encoded(registers: &BTreeMap<String, Register>) -> Vec<(String, String)> {
    registers
        .iter()
        .map(|(k, r)| (k.clone(), encode(r)))
        .collect()
}

pub(crate) struct Replica {
    pub log_id: String,
    pub clock: Clock,
    pub registers: BTreeMap<String, Register>,
    pub cursors: BTreeMap<String, Cursor>,
    /// The last sequence number of this node's log.
    pub head: u64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("stored sync {what} is corrupt: {e}"))
}

impl Replica {
    pub async fn load(store: &Store, node: &str) -> Result<Replica> {
        let mut clock = Clock::new(node);
        let mut registers = BTreeMap::new();
        for (key, text) in store.sync_registers().await? {
            let reg: Register = serde_json::from_str(&text).map_err(|e| corrupt(&key, e))?;
            clock.observe(&reg.stamp);
            registers.insert(key, reg);
        }
        let cursors = store
            .sync_cursors()
            .await?
            .into_iter()
            .map(|c| (c.origin.clone(), c))
            .collect();
        Ok(Replica {
            log_id: store.sync_log_id().await?,
            clock,
            registers,
            cursors,
            head: store.sync_log_head().await?,
        })
    }

    pub fn tick(&mut self) -> Stamp {
        self.clock.tick(now_ms())
    }

    /// The live registers of the real servers of virtual server `name`.
    pub fn real_servers_of<'a>(
        &'a self,
        name: &'a str,
        pending: &'a BTreeMap<String, Register>,
    ) -> impl Iterator<Item = (String, Register)> + 'a {
        let prefix = format!("rs/{name}/");
        let mut all: BTreeMap<String, Register> = BTreeMap::new();
        // The staged registers override the held ones.
        for map in [&self.registers, pending] {
            all.extend(
                map.range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, r)| (k.clone(), r.clone())),
            );
        }
        all.into_iter()
    }

    /// The register of `key`, with the ones staged in `pending` first.
    pub fn get<'a>(
        &'a self,
        pending: &'a BTreeMap<String, Register>,
        key: &str,
    ) -> Option<&'a Register> {
        pending.get(key).or_else(|| self.registers.get(key))
    }

    /// The incarnation of a live virtual server register.
    fn incarnation(&self, pending: &BTreeMap<String, Register>, name: &str) -> Option<Stamp> {
        let key = ObjectKey::VirtualServer(name.to_string()).to_string();
        let text = self.get(pending, &key)?.value.as_ref()?;
        // Only the stamp is read; the spec is skipped.
        #[derive(Deserialize)]
        struct Incarnation {
            incarnation: Stamp,
        }
        serde_json::from_str::<Incarnation>(text)
            .ok()
            .map(|v| v.incarnation)
    }

    /// The registers a local change writes, derived from its rows.
    pub fn registers_of(&mut self, change: &StateChange) -> BTreeMap<String, Register> {
        let mut pending: BTreeMap<String, Register> = BTreeMap::new();
        let write = |replica: &mut Replica,
                     pending: &mut BTreeMap<String, Register>,
                     key: String,
                     value: Option<String>| {
            let stamp = replica.tick();
            let reg = Register::written(replica.get(pending, &key), stamp, value);
            pending.insert(key, reg);
        };
        for name in &change.virtual_server_deletes {
            let rs: Vec<String> = self
                .real_servers_of(name, &pending)
                .filter(|(_, r)| r.value.is_some())
                .map(|(k, _)| k)
                .collect();
            for key in rs {
                write(self, &mut pending, key, None);
            }
            write(
                self,
                &mut pending,
                ObjectKey::VirtualServer(name.clone()).to_string(),
                None,
            );
        }
        for (name, spec, _) in &change.virtual_server_upserts {
            let spec = serde_json::from_str(spec).unwrap_or_default();
            let incarnation = match self.incarnation(&pending, name) {
                Some(s) => s,
                None => self.tick(),
            };
            let value = encode(&VirtualServerValue { incarnation, spec });
            write(
                self,
                &mut pending,
                ObjectKey::VirtualServer(name.clone()).to_string(),
                Some(value),
            );
        }
        for (vs, endpoint) in &change.real_server_deletes {
            write(self, &mut pending, format!("rs/{vs}/{endpoint}"), None);
        }
        // Rows come grouped by virtual server: its incarnation is read once per group.
        let mut last: Option<(&str, Option<Stamp>)> = None;
        for row in &change.real_server_upserts {
            let incarnation = match &last {
                Some((name, stamp)) if *name == row.virtual_server => stamp.clone(),
                _ => {
                    let stamp = self.incarnation(&pending, &row.virtual_server);
                    last = Some((&row.virtual_server, stamp.clone()));
                    stamp
                }
            };
            let Some(incarnation) = incarnation else {
                continue;
            };
            let value = RealServerValue::encode_with_spec_text(
                &incarnation,
                u32::try_from(row.position).unwrap_or(u32::MAX),
                &row.spec,
            );
            write(
                self,
                &mut pending,
                format!("rs/{}/{}", row.virtual_server, row.endpoint),
                Some(value),
            );
        }
        for name in &change.vrrp_group_deletes {
            write(
                self,
                &mut pending,
                ObjectKey::VrrpGroup(name.clone()).to_string(),
                None,
            );
        }
        for (name, spec) in &change.vrrp_group_upserts {
            let value = encode(&VrrpGroupValue {
                spec: serde_json::from_str(spec).unwrap_or_default(),
            });
            write(
                self,
                &mut pending,
                ObjectKey::VrrpGroup(name.clone()).to_string(),
                Some(value),
            );
        }
        pending
    }
}

impl Service {
    /// Writes a change made on this node, leading to `next`: its registers and a log entry for the peers go
    /// in the same transaction as its rows and audit entries. The caller holds the writer lock (released once
    /// the change is staged); returns once the change is durable and `next` published.
    pub(super) async fn write_local(
        &self,
        mut change: StateChange,
        next: DesiredState,
    ) -> Result<()> {
        let pending = self.replica().registers_of(&change);
        if !pending.is_empty() {
            change.registers = encoded(&pending);
            change.log_origin = Some(self.node.clone());
        }
        self.commit(change, Some(next), move |replica| {
            replica.registers.extend(pending)
        })
        .await?;
        Ok(())
    }

    /// A database that holds objects but no registers (made before sync, or by an older director) gets
    /// registers for everything, logged as one change so that peers receive it.
    pub(super) async fn bootstrap_registers(&self, state: &DesiredState) -> Result<()> {
        let has_object_registers = self
            .replica()
            .registers
            .keys()
            .any(|k| !k.starts_with(director_sync::objects::REVOCATION_PREFIX));
        if has_object_registers
            || (state.virtual_servers.is_empty() && state.vrrp_groups.is_empty())
        {
            return Ok(());
        }
        let mut change = StateChange {
            revision: state.revision,
            at: super::now(),
            unchanged: true,
            ..Default::default()
        };
        for (name, g) in &state.vrrp_groups {
            change
                .vrrp_group_upserts
                .push((name.clone(), super::parse::to_json(&g.spec)?.to_string()));
        }
        for (name, vs) in &state.virtual_servers {
            let mut own = super::parse::to_json(&vs.spec)?;
            if let Some(m) = own.as_object_mut() {
                m.remove("real_servers");
            }
            change
                .virtual_server_upserts
                .push((name.clone(), own.to_string(), String::new()));
            for (i, rs) in vs.spec.real_servers.iter().enumerate() {
                change
                    .real_server_upserts
                    .push(crate::store::RealServerRow {
                        virtual_server: name.clone(),
                        endpoint: rs.key().to_string(),
                        position: i as i64,
                        spec: super::parse::to_json(rs)?.to_string(),
                    });
            }
        }
        // Only the registers and the log entry are written: the rows are there already.
        let pending = self.replica().registers_of(&change);
        let registers = encoded(&pending);
        let write = StateChange {
            revision: state.revision,
            at: change.at,
            unchanged: true,
            log_origin: Some(self.node.clone()),
            registers,
            ..Default::default()
        };
        let seq = self.store.apply(&write).await?;
        let mut replica = self.replica();
        replica.registers.extend(pending);
        if let Some(seq) = seq {
            replica.head = seq;
        }
        tracing::info!(
            objects = replica.registers.len(),
            "sync registers made for the objects already stored"
        );
        Ok(())
    }
}

//! Operator actions on existing objects: set a real server's weight, enable or disable a real server or a
//! virtual server, undrain a real server, and drain or undrain a host (every real server with one address,
//! in every virtual server, as one change). The single-object actions are a merge patch of one field through
//! the same path as REST's PATCH (authorization, validation, audit), so that every edge (gRPC, UI forms) gets
//! them without writing the logic again.
//!
//! Where an undrain finds the weight to restore: the audit log. The last entry of the real server that set
//! its weight from a positive value to 0 holds that value (`before.weight`); a real server without one (it
//! was created with weight 0, or the entry is gone) gets [`UNDRAIN_DEFAULT_WEIGHT`].

use super::virtual_servers::authorize_change;
use super::{now, require, Actor, Result, Service, ServiceError};
use crate::store::{AuditFilter, Source, StateChange};
use director_core::model::{RealServerKey, Role};
use director_core::state::VirtualServerRecord;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use utoipa::ToSchema;

/// The weight an undrain gives a real server whose weight before its drain is not in the audit log.
pub const UNDRAIN_DEFAULT_WEIGHT: u32 = 1;

/// How many weight changes of one real server an undrain looks back through for its last drain.
const DRAIN_LOOKBACK: u32 = 50;

/// One real server of a host drain or undrain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HostRealServer {
    pub virtual_server: String,
    /// `ADDRESS:PORT` (IPv6 as `[2001:db8::1]:80`).
    pub endpoint: String,
    /// The weight before this call.
    pub weight_before: u32,
    /// The weight after it.
    pub weight: u32,
    /// Whether this call changed it (false: it had that weight already).
    pub changed: bool,
}

/// What a host drain or undrain did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HostChange {
    /// The host's address, as director writes it.
    pub address: String,
    /// The revision of the change; when nothing changed, the current revision.
    pub revision: u64,
    /// Whether anything changed (false: every real server of the host had its weight already).
    pub changed: bool,
    /// Every real server with the address, by virtual server and endpoint.
    pub real_servers: Vec<HostRealServer>,
    /// What happened, in a sentence.
    pub message: String,
}

/// A backend host: the real servers with one address, in every virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Host {
    pub address: String,
    /// Whether every real server of the host has weight 0.
    pub drained: bool,
    pub real_servers: Vec<HostMember>,
}

/// One real server of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HostMember {
    pub virtual_server: String,
    pub endpoint: String,
    pub weight: u32,
    pub enabled: bool,
}

impl Service {
    /// Sets the weight of a real server (0 drains it). Operator.
    pub async fn set_real_server_weight(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
        weight: u32,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        self.patch_real_server(actor, vs, key, &json!({ "weight": weight }), if_match)
            .await
    }

    /// Gives a drained real server back the weight it had before its last drain (see the module). Returns
    /// the record and the weight set. Operator.
    pub async fn undrain_real_server(
        &self,
        actor: &Actor,
        vs: &str,
        key: &RealServerKey,
    ) -> Result<(Arc<VirtualServerRecord>, u32)> {
        require(actor, Role::Operator)?;
        let weight = self
            .weight_before_drain(vs, key)
            .await?
            .unwrap_or(UNDRAIN_DEFAULT_WEIGHT);
        let record = self
            .set_real_server_weight(actor, vs, key, weight, None)
            .await?;
        Ok((record, weight))
    }

    /// Enables or disables a real server (operator) or, with no `key`, the virtual server itself (admin).
    pub async fn set_enabled(
        &self,
        actor: &Actor,
        vs: &str,
        key: Option<&RealServerKey>,
        enabled: bool,
        if_match: Option<u64>,
    ) -> Result<Arc<VirtualServerRecord>> {
        let patch = json!({ "enabled": enabled });
        match key {
            Some(key) => {
                self.patch_real_server(actor, vs, key, &patch, if_match)
                    .await
            }
            None => self.patch_virtual_server(actor, vs, &patch, if_match).await,
        }
    }

    /// Every backend host of the desired state (the addresses of real servers), in address order. Viewer.
    pub fn hosts(&self, actor: &Actor) -> Result<Vec<Host>> {
        require(actor, Role::Viewer)?;
        let state = self.snapshot();
        let mut hosts: BTreeMap<IpAddr, Vec<HostMember>> = BTreeMap::new();
        for (name, record) in state.virtual_servers.iter() {
            for rs in &record.spec.real_servers {
                hosts.entry(rs.address).or_default().push(HostMember {
                    virtual_server: name.clone(),
                    endpoint: rs.key().to_string(),
                    weight: rs.weight,
                    enabled: rs.enabled,
                });
            }
        }
        Ok(hosts
            .into_iter()
            .map(|(address, real_servers)| Host {
                address: address.to_string(),
                drained: real_servers.iter().all(|m| m.weight == 0),
                real_servers,
            })
            .collect())
    }

    /// Drains a host: every real server with `address` (any port), in every virtual server, gets weight 0,
    /// as one change (one revision, one audit entry per real server changed). Draining a drained host
    /// changes nothing and says so. Operator.
    pub async fn drain_host(&self, actor: &Actor, address: IpAddr) -> Result<HostChange> {
        require(actor, Role::Operator)?;
        self.set_host_weights(actor, address, &BTreeMap::new(), true)
            .await
    }

    /// Undrains a host: every real server with `address` that has weight 0 gets back the weight it had
    /// before its last drain (see the module), as one change. Operator.
    pub async fn undrain_host(&self, actor: &Actor, address: IpAddr) -> Result<HostChange> {
        require(actor, Role::Operator)?;
        // The audit log is read before the writer lock is taken, so that no writer waits on these reads.
        let mut restore = BTreeMap::new();
        for (name, record) in self.snapshot().virtual_servers.iter() {
            for rs in &record.spec.real_servers {
                if rs.address == address && rs.weight == 0 {
                    let key = rs.key();
                    if let Some(w) = self.weight_before_drain(name, &key).await? {
                        restore.insert((name.clone(), key), w);
                    }
                }
            }
        }
        self.set_host_weights(actor, address, &restore, false).await
    }

    /// The weight a real server had before its last drain, from the audit log.
    pub async fn weight_before_drain(&self, vs: &str, key: &RealServerKey) -> Result<Option<u32>> {
        let filter = AuditFilter {
            object: Some(format!("{vs}/{key}")),
            field: Some("weight".into()),
            ..Default::default()
        };
        let sources = BTreeSet::from([Source::Change]);
        let entries = self
            .store
            .audit(&filter, &sources, DRAIN_LOOKBACK, None)
            .await?;
        Ok(entries.iter().find_map(|e| {
            let before = e.before.as_ref()?.get("weight")?.as_u64()?;
            let after = e.after.as_ref()?.get("weight")?.as_u64()?;
            (after == 0 && before > 0)
                .then(|| u32::try_from(before).ok())
                .flatten()
        }))
    }

    /// Drain (`drain`: weight 0) or undrain (weight 0 becomes the weight of `restore`, else
    /// [`UNDRAIN_DEFAULT_WEIGHT`]) every real server of `address`, in one change.
    async fn set_host_weights(
        &self,
        actor: &Actor,
        address: IpAddr,
        restore: &BTreeMap<(String, RealServerKey), u32>,
        drain: bool,
    ) -> Result<HostChange> {
        let verb = if drain { "drain" } else { "undrain" };
        let _w = self.lock_writer().await;
        let state = self.current();
        let revision = state.revision + 1;
        let mut change = StateChange {
            revision,
            at: now(),
            ..Default::default()
        };
        let mut next = (*state).clone();
        let mut real_servers = Vec::new();
        for (name, old) in state.virtual_servers.iter() {
            if !old.spec.real_servers.iter().any(|rs| rs.address == address) {
                continue;
            }
            let mut new = old.spec.clone();
            for rs in new
                .real_servers
                .iter_mut()
                .filter(|rs| rs.address == address)
            {
                let key = rs.key();
                let before = rs.weight;
                rs.weight = match (drain, before) {
                    (true, _) => 0,
                    (false, 0) => restore
                        .get(&(name.clone(), key))
                        .copied()
                        .unwrap_or(UNDRAIN_DEFAULT_WEIGHT),
                    (false, w) => w,
                };
                real_servers.push(HostRealServer {
                    virtual_server: name.clone(),
                    endpoint: key.to_string(),
                    weight_before: before,
                    weight: rs.weight,
                    changed: rs.weight != before,
                });
            }
            authorize_change(actor, &old.spec, &new)?;
            next.check_virtual_server(&new)?;
            let audited = change.audit.len();
            if let Some(Some(record)) =
                self.stage_virtual_server(actor, name, Some(old.clone()), Some(new), &mut change)?
            {
                next.virtual_servers.insert(name.clone(), record);
            }
            for e in &mut change.audit[audited..] {
                e.summary = format!("{} ({verb} of host {address})", e.summary);
            }
        }
        if real_servers.is_empty() {
            return Err(ServiceError::NotFound {
                kind: "host",
                name: address.to_string(),
            });
        }
        let changed = real_servers.iter().filter(|r| r.changed).count();
        let vss: BTreeSet<&str> = real_servers
            .iter()
            .map(|r| r.virtual_server.as_str())
            .collect();
        let whole = format!(
            "{} real server{} in {} virtual server{}",
            real_servers.len(),
            plural(real_servers.len()),
            vss.len(),
            plural(vss.len())
        );
        if change.audit.is_empty() {
            let message = if drain {
                format!("{address} is drained already: {whole}, all at weight 0; nothing changed")
            } else {
                format!("{address} is not drained: {whole}, none at weight 0; nothing changed")
            };
            return Ok(HostChange {
                address: address.to_string(),
                revision: state.revision,
                changed: false,
                real_servers,
                message,
            });
        }
        next.revision = revision;
        self.write_local(change, next).await?;
        tracing::info!(%address, revision, changed, actor = %actor.name, via = %actor.via, "host {verb}ed");
        Ok(HostChange {
            address: address.to_string(),
            revision,
            changed: true,
            message: format!(
                "{verb}ed {address}: {changed} of {whole} {}",
                if drain {
                    "set to weight 0".to_string()
                } else {
                    "given back their weight".to_string()
                }
            ),
            real_servers,
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A host's address as a caller writes it: IPv4 or IPv6, IPv6 also in brackets (`[2001:db8::1]`).
pub fn parse_host_address(text: &str) -> Result<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse().map_err(|_| {
        ServiceError::bad_request(
            "address",
            format!("{text:?} is not an IPv4 or IPv6 address (such as 192.0.2.10 or 2001:db8::10)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_parse_in_both_families_and_name_the_field() {
        assert_eq!(
            parse_host_address("192.0.2.10").ok(),
            Some(IpAddr::from([192, 0, 2, 10]))
        );
        let v6: IpAddr = "2001:db8::10".parse().expect("v6");
        assert_eq!(parse_host_address("2001:db8::10").ok(), Some(v6));
        assert_eq!(parse_host_address("[2001:db8::10]").ok(), Some(v6));
        for bad in ["", "web", "192.0.2.10:80", "[192.0.2.10", "300.1.1.1"] {
            let e = parse_host_address(bad).expect_err(bad);
            assert_eq!(e.field(), Some("address"), "{bad}");
            assert_eq!(e.code(), "bad_request", "{bad}");
        }
    }
}

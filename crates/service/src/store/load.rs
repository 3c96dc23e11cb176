//! Reading the whole desired state at start-up.

use super::{Result, Store, StoreError};
use director_core::model::{RealServer, VirtualServer, VrrpGroup};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use director_core::DesiredState;
use std::collections::BTreeMap;
use std::sync::Arc;

fn corrupt(what: String, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        message: e.to_string(),
    }
}

impl Store {
    pub async fn load_state(&self) -> Result<DesiredState> {
        let (revision,): (i64,) = sqlx::query_as("SELECT value FROM state_revision WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let mut real_servers: BTreeMap<String, Vec<(RealServer, u64)>> = BTreeMap::new();
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT virtual_server, endpoint, spec, revision FROM real_servers ORDER BY virtual_server, position",
        )
        .fetch_all(self.pool())
        .await?;
        for (vs, endpoint, spec, rev) in rows {
            let rs: RealServer = serde_json::from_str(&spec)
                .map_err(|e| corrupt(format!("real server {vs}/{endpoint}"), e))?;
            real_servers.entry(vs).or_default().push((rs, rev as u64));
        }
        let mut state = DesiredState {
            revision: revision as u64,
            ..Default::default()
        };
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT name, spec, revision FROM virtual_servers")
                .fetch_all(self.pool())
                .await?;
        for (name, spec, rev) in rows {
            let mut vs: VirtualServer = serde_json::from_str(&spec)
                .map_err(|e| corrupt(format!("virtual server {name}"), e))?;
            let mut revisions = BTreeMap::new();
            for (rs, rs_rev) in real_servers.remove(&name).unwrap_or_default() {
                revisions.insert(rs.key(), rs_rev);
                vs.real_servers.push(rs);
            }
            let record = VirtualServerRecord {
                spec: vs,
                revision: rev as u64,
                real_server_revisions: revisions,
            };
            state.virtual_servers.insert(name, Arc::new(record));
        }
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT name, spec, revision FROM vrrp_groups")
                .fetch_all(self.pool())
                .await?;
        for (name, spec, rev) in rows {
            let group: VrrpGroup = serde_json::from_str(&spec)
                .map_err(|e| corrupt(format!("VRRP group {name}"), e))?;
            state.vrrp_groups.insert(
                name,
                Arc::new(VrrpGroupRecord {
                    spec: group,
                    revision: rev as u64,
                }),
            );
        }
        Ok(state)
    }
}

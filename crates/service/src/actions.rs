//! Operator actions on one existing object: set a real server's weight, enable or disable a real server or a
//! virtual server. Each is a merge patch of one field through the same path as REST's PATCH (authorization,
//! validation, audit), so that every edge (gRPC, UI forms) gets them without writing the logic again.

use super::{Actor, Result, Service};
use director_core::model::RealServerKey;
use director_core::state::VirtualServerRecord;
use serde_json::json;
use std::sync::Arc;

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
}

//! What the API returns: the declared objects plus their read-only parts (revision, health, status). Every
//! view is made for a caller's [`Visibility`]: secrets withheld below admin (`director_core::secrets`).

use director_core::model::{CheckKind, RealServer, VirtualServer, VrrpGroup};
use director_core::secrets::{Visibility, Withhold};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// A real server's health as this node sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthView {
    /// up, down or unknown (not checked yet: no traffic while the virtual server has `alpha`).
    pub status: String,
    /// Since when the status holds (RFC 3339).
    pub since: String,
    /// When the last check finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<String>,
    /// Why the last check failed: "connect refused", "status 503", "timeout after 3000 ms"...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<f64>,
    /// The weight a script check with `dynamic_weight` set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_weight: Option<u32>,
    /// Checks run so far.
    pub checks: u64,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<&director_health::HealthState> for HealthView {
    fn from(h: &director_health::HealthState) -> Self {
        HealthView {
            status: h.status.as_str().to_string(),
            since: rfc3339(h.since),
            last_check: h.last_check.map(rfc3339),
            last_error: h.last_error.clone(),
            consecutive_successes: h.consecutive_successes,
            consecutive_failures: h.consecutive_failures,
            last_latency_ms: h.last_latency.map(|d| d.as_secs_f64() * 1000.0),
            dynamic_weight: h.dynamic_weight,
            checks: h.checks,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RealServerView {
    #[serde(flatten)]
    pub spec: RealServer,
    pub revision: u64,
    pub health: HealthView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VirtualServerView {
    #[serde(flatten)]
    pub spec: VirtualServer,
    pub real_servers: Vec<RealServerView>,
    pub revision: u64,
}

impl VirtualServerView {
    /// The checker's state of each real server.
    pub fn with_health(mut self, health: &crate::health::HealthSnapshot) -> Self {
        let name = self.spec.name.clone();
        self.real_servers = self
            .real_servers
            .into_iter()
            .map(|r| r.with_health(&name, health))
            .collect();
        self
    }

    pub fn new(record: &VirtualServerRecord, started_at: &str, visibility: Visibility) -> Self {
        let mut spec = record.spec.visible(visibility).into_owned();
        let real_servers = std::mem::take(&mut spec.real_servers)
            .into_iter()
            .map(|rs| RealServerView::new(record, &spec, rs, started_at, Visibility::Full))
            .collect();
        VirtualServerView {
            spec,
            real_servers,
            revision: record.revision,
        }
    }
}

impl RealServerView {
    /// `rs` of `vs`, as a caller with `visibility` may see it (`Full` for a real server already withheld).
    pub fn new(
        record: &VirtualServerRecord,
        vs: &VirtualServer,
        mut rs: RealServer,
        started_at: &str,
        visibility: Visibility,
    ) -> Self {
        if visibility == Visibility::Redacted {
            rs.withhold();
        }
        let kind = rs
            .health_check
            .as_ref()
            .or(vs.health_check.as_ref())
            .map_or(CheckKind::None, |h| h.kind);
        // Without a check a server counts as up; checked servers are unknown until their first result.
        let status = if kind == CheckKind::None {
            "up"
        } else {
            "unknown"
        };
        RealServerView {
            revision: record.real_server_revision(&rs.key()),
            health: HealthView {
                status: status.to_string(),
                since: started_at.to_string(),
                last_check: None,
                last_error: None,
                consecutive_successes: 0,
                consecutive_failures: 0,
                last_latency_ms: None,
                dynamic_weight: None,
                checks: 0,
            },
            spec: rs,
        }
    }

    /// The checker's state of this real server, where it is checked.
    pub fn with_health(
        mut self,
        virtual_server: &str,
        health: &crate::health::HealthSnapshot,
    ) -> Self {
        let id = director_health::TargetId::new(virtual_server, self.spec.key());
        if let Some(h) = health.get(&id) {
            self.health = HealthView::from(h);
        }
        self
    }
}

/// A VRRP group as declared, with its revision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VrrpGroupView {
    #[serde(flatten)]
    pub spec: VrrpGroup,
    pub revision: u64,
    /// This node's view of the group (read-only); absent when this node does not run it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::vrrp::GroupStatus>,
}

impl VrrpGroupView {
    pub fn new(r: &VrrpGroupRecord, visibility: Visibility) -> Self {
        VrrpGroupView {
            spec: r.spec.visible(visibility).into_owned(),
            revision: r.revision,
            status: crate::vrrp::status::current(&r.spec.name),
        }
    }
}

/// A page of virtual servers.
#[derive(Debug, Serialize, ToSchema)]
pub struct VirtualServerList {
    pub items: Vec<VirtualServerView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The global revision the page was read at.
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RealServerList {
    pub items: Vec<RealServerView>,
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VrrpGroupList {
    pub items: Vec<VrrpGroupView>,
    pub revision: u64,
}

/// The serialized JSON of virtual-server views, reused while neither the virtual server nor the health of its
/// real servers changed, so that a list page is a concatenation of cached bytes rather than a clone and a
/// serialization of every object.
///
/// An entry is valid for the exact record it was made from (the snapshot shares unchanged records between
/// revisions, and the entry holds its record, so pointer identity cannot be reused), the same daemon start
/// time (the `since` of real servers not checked yet) and equal health states of each of its real servers.
#[derive(Default)]
pub struct ViewCache {
    /// By name and by whether secrets are shown: admins and the other roles read different bytes.
    entries: std::sync::RwLock<std::collections::HashMap<(String, Visibility), CachedView>>,
}

struct CachedView {
    record: std::sync::Arc<VirtualServerRecord>,
    started_at: String,
    /// The checker's state of each real server, in the order of `record.spec.real_servers`.
    health: Vec<Option<director_health::HealthState>>,
    json: std::sync::Arc<[u8]>,
}

/// The checker's state of each real server of `record`, in order.
fn health_of<'a>(
    record: &VirtualServerRecord,
    health: &'a crate::health::HealthSnapshot,
) -> Vec<Option<&'a director_health::HealthState>> {
    if health.is_empty() {
        return vec![None; record.spec.real_servers.len()];
    }
    let mut id = director_health::TargetId::new(
        record.spec.name.as_str(),
        director_core::model::RealServerKey {
            address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        },
    );
    record
        .spec
        .real_servers
        .iter()
        .map(|rs| {
            id.real_server = rs.key();
            health.get(&id)
        })
        .collect()
}

impl ViewCache {
    /// The JSON of `VirtualServerView::new(record, started_at, visibility).with_health(health)`.
    pub fn json(
        &self,
        record: &std::sync::Arc<VirtualServerRecord>,
        started_at: &str,
        health: &crate::health::HealthSnapshot,
        visibility: Visibility,
    ) -> Result<std::sync::Arc<[u8]>, serde_json::Error> {
        let current = health_of(record, health);
        let valid = |e: &CachedView| {
            std::sync::Arc::ptr_eq(&e.record, record)
                && e.started_at == started_at
                && e.health.len() == current.len()
                && e.health.iter().zip(&current).all(|(a, b)| a.as_ref() == *b)
        };
        let key = (record.spec.name.clone(), visibility);
        if let Ok(entries) = self.entries.read() {
            if let Some(e) = entries.get(&key).filter(|e| valid(e)) {
                return Ok(e.json.clone());
            }
        }
        let json: std::sync::Arc<[u8]> = serde_json::to_vec(
            &VirtualServerView::new(record, started_at, visibility).with_health(health),
        )?
        .into();
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(
                key,
                CachedView {
                    record: record.clone(),
                    started_at: started_at.to_string(),
                    health: current.into_iter().map(|h| h.cloned()).collect(),
                    json: json.clone(),
                },
            );
        }
        Ok(json)
    }

    /// Drops the entries of virtual servers that are gone or changed in `state`, once the cache holds more
    /// entries than `state` has virtual servers for both visibilities (deleted ones would otherwise stay
    /// forever).
    pub fn prune(&self, state: &director_core::DesiredState) {
        let over = self
            .entries
            .read()
            .map(|e| e.len() > 2 * state.virtual_servers.len())
            .unwrap_or(false);
        if !over {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|(name, _), e| {
                state
                    .virtual_servers
                    .get(name)
                    .is_some_and(|r| std::sync::Arc::ptr_eq(r, &e.record))
            });
        }
    }
}

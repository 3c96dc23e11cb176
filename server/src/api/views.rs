//! What the API returns: the declared objects plus their read-only parts (revision, health, status).

use director_core::model::{CheckKind, RealServer, VirtualServer, VrrpGroup};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// A real server's health as this node sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthView {
    /// up, down or unknown (not checked yet).
    pub status: String,
    /// Since when the status holds (RFC 3339).
    pub since: String,
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
    pub fn new(record: &VirtualServerRecord, started_at: &str) -> Self {
        let mut spec = record.spec.clone();
        let real_servers = std::mem::take(&mut spec.real_servers)
            .into_iter()
            .map(|rs| RealServerView::new(record, &spec, rs, started_at))
            .collect();
        VirtualServerView {
            spec,
            real_servers,
            revision: record.revision,
        }
    }
}

impl RealServerView {
    pub fn new(
        record: &VirtualServerRecord,
        vs: &VirtualServer,
        rs: RealServer,
        started_at: &str,
    ) -> Self {
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
            },
            spec: rs,
        }
    }
}

/// A VRRP group as declared, with its revision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VrrpGroupView {
    #[serde(flatten)]
    pub spec: VrrpGroup,
    pub revision: u64,
}

impl From<&VrrpGroupRecord> for VrrpGroupView {
    fn from(r: &VrrpGroupRecord) -> Self {
        VrrpGroupView {
            spec: r.spec.clone(),
            revision: r.revision,
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

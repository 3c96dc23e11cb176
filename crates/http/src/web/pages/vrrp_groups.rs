//! `/vrrp-groups`: the groups as declared, with this node's part in each (role, priorities, master and
//! transitions) when VRRP runs here.

use crate::web::error::{UiError, UiResult};
use crate::web::ui::{ago, when, Chrome, Ui};
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use director_core::model::VrrpGroup;
use director_core::secrets::{withheld_command, Withhold};
use director_runtime::vrrp::GroupStatus;

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub name: String,
    pub vrid: u32,
    pub version: u32,
    pub addresses: String,
    pub members: usize,
    /// This node's role; empty when it is not a member (or VRRP does not run here).
    pub role: String,
    pub master: String,
    pub virtual_servers: usize,
}

#[derive(Template)]
#[template(path = "vrrp_list.html", config = "../../web/templates/askama.toml")]
struct ListPage {
    chrome: Chrome,
    running: bool,
    rows: Vec<GroupRow>,
}

/// `GET /vrrp-groups`.
pub async fn list(ui: Ui) -> UiResult<Response> {
    let state = ui.app.service.snapshot();
    let running = ui.app.vrrp.enabled();
    let statuses = ui.app.vrrp.status();
    let rows = state
        .vrrp_groups
        .values()
        .map(|g| {
            let spec = &g.spec;
            let st = statuses.get(&spec.name);
            GroupRow {
                name: spec.name.clone(),
                vrid: spec.vrid,
                version: spec.version,
                addresses: spec.virtual_addresses.join(", "),
                members: spec.members.len(),
                role: st.map(|s| s.role.to_string()).unwrap_or_default(),
                master: st
                    .and_then(|s| s.master_address.clone())
                    .unwrap_or_default(),
                virtual_servers: state
                    .virtual_servers
                    .values()
                    .filter(|v| v.spec.vrrp_group.as_deref() == Some(spec.name.as_str()))
                    .count(),
            }
        })
        .collect();
    ui.page(&ListPage {
        chrome: ui.chrome("VRRP groups", "vrrp-groups"),
        running,
        rows,
    })
}

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub node: String,
    pub interface: String,
    pub priority: String,
    pub unicast_peers: String,
    pub this_node: bool,
}

#[derive(Debug, Clone)]
pub struct TrackRow {
    pub what: String,
    pub weight: i32,
    pub failing: bool,
}

/// This node's live view of the group.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub role: String,
    pub since: String,
    pub since_ago: String,
    pub priority: u8,
    pub effective_priority: u8,
    pub master: String,
    pub primary_address: String,
    pub transitions: u64,
    pub last_transition: Option<String>,
    pub split_brain: Option<String>,
    pub fault: Option<String>,
    pub last_error: Option<String>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub rejected: u64,
    pub malformed: u64,
    pub failed_tracks: Vec<String>,
}

impl StatusView {
    fn new(s: GroupStatus) -> Self {
        let now = chrono::Utc::now();
        StatusView {
            role: s.role.to_string(),
            since_ago: ago(&s.since, now),
            since: when(&s.since),
            priority: s.priority,
            effective_priority: s.effective_priority,
            master: s.master_address.unwrap_or_default(),
            primary_address: s.primary_address.unwrap_or_default(),
            transitions: s.transitions,
            last_transition: s
                .last_transition
                .map(|t| format!("{} -> {} ({}) {}", t.from, t.to, t.reason, ago(&t.at, now))),
            split_brain: s
                .split_brain
                .then(|| s.other_master.unwrap_or_else(|| "another node".into())),
            fault: s.fault_reason,
            last_error: s.last_error,
            adverts_sent: s.adverts_sent,
            adverts_received: s.adverts_received,
            rejected: s.rejected_packets,
            malformed: s.malformed_packets,
            failed_tracks: s.failed_tracks,
        }
    }
}

#[derive(Template)]
#[template(path = "vrrp_detail.html", config = "../../web/templates/askama.toml")]
struct DetailPage {
    chrome: Chrome,
    g: VrrpGroup,
    revision: u64,
    auth: String,
    members: Vec<MemberRow>,
    tracks: Vec<TrackRow>,
    virtual_servers: Vec<String>,
    running: bool,
    status: Option<StatusView>,
}

/// `GET /vrrp-groups/{name}`.
pub async fn detail(ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    let record = ui.app.service.get_vrrp_group(ui.actor(), &name)?;
    // Secrets (track and notify scripts' arguments) withheld below admin; the password is never shown.
    let g = record.spec.visible(ui.actor().visibility()).into_owned();
    let node = ui.app.runtime.node.clone();
    let status = ui.app.vrrp.group_status(&name);
    let failed: Vec<String> = status
        .as_ref()
        .map(|s| s.failed_tracks.clone())
        .unwrap_or_default();
    let members = g
        .members
        .iter()
        .map(|m| MemberRow {
            node: m.node.clone(),
            interface: m
                .interface
                .clone()
                .or_else(|| g.interface.clone())
                .unwrap_or_default(),
            priority: m.priority.unwrap_or(g.priority).to_string(),
            unicast_peers: m
                .unicast_peers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            this_node: m.node == node,
        })
        .collect();
    let tracks = g
        .track
        .iter()
        .map(|t| {
            let what = if let Some(v) = &t.virtual_server {
                format!("virtual_server {v}")
            } else if let Some(i) = &t.interface {
                format!("interface {i}")
            } else if let Some(s) = &t.script {
                format!("script {}", s.join(" "))
            } else {
                "?".to_string()
            };
            // The VRRP instance names a failed script track with its arguments withheld.
            let named = match &t.script {
                Some(s) => format!("script {}", withheld_command(s).join(" ")),
                None => what.clone(),
            };
            let failing = failed.iter().any(|f| f.starts_with(&named));
            TrackRow {
                what,
                weight: t.weight,
                failing,
            }
        })
        .collect();
    let auth = match &g.auth {
        None => "none".to_string(),
        Some(a) if a.password.is_some() => "password (hidden)".to_string(),
        Some(_) => "none".to_string(),
    };
    let virtual_servers = ui
        .app
        .service
        .snapshot()
        .virtual_servers
        .values()
        .filter(|v| v.spec.vrrp_group.as_deref() == Some(name.as_str()))
        .map(|v| v.spec.name.clone())
        .collect();
    if g.name != name {
        return Err(UiError::NotFound(format!("VRRP group {name:?} not found")));
    }
    ui.page(&DetailPage {
        chrome: ui.chrome(format!("VRRP group {name}"), "vrrp-groups"),
        revision: record.revision,
        auth,
        members,
        tracks,
        virtual_servers,
        running: ui.app.vrrp.enabled(),
        status: status.map(StatusView::new),
        g,
    })
}

//! `/vrrp-groups`: the groups as declared, with this node's part in each (role, priorities, master and
//! transitions) when VRRP runs here.

use crate::web::error::{UiError, UiResult};
use crate::web::form::{field_error, Fields};
use crate::web::session::Flash;
use crate::web::ui::{self, ago, when, Chrome, Posted, Ui};
use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::{Role, VrrpGroup};
use director_core::secrets::{withheld_command, Withhold};
use director_runtime::vrrp::GroupStatus;
use director_service::require;
use serde_json::{json, Map, Value};

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
    /// The interface of its sync daemons (empty without connection_sync).
    pub sync_interface: String,
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
    /// The form's values: the group's `connection_sync`, empty strings for defaults.
    sync: SyncForm,
    /// The sync daemons this node's kernel runs now (after the last reconcile pass).
    daemons: Vec<String>,
    admin: bool,
}

/// `connection_sync` as the form shows it.
#[derive(Debug, Clone, Default)]
pub struct SyncForm {
    pub on: bool,
    pub interface: String,
    pub sync_id: String,
    pub max_packet_len: String,
    pub mcast_group: String,
    pub mcast_port: String,
    pub mcast_ttl: String,
}

impl SyncForm {
    fn of(g: &VrrpGroup) -> Self {
        let text = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        match &g.connection_sync {
            None => SyncForm::default(),
            Some(c) => SyncForm {
                on: true,
                interface: c.interface.clone(),
                sync_id: text(c.sync_id),
                max_packet_len: text(c.max_packet_len),
                mcast_group: c.mcast_group.map(|a| a.to_string()).unwrap_or_default(),
                mcast_port: text(c.mcast_port),
                mcast_ttl: text(c.mcast_ttl),
            },
        }
    }
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
            sync_interface: g
                .sync_settings_for(&m.node)
                .map(|s| s.interface)
                .unwrap_or_default(),
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
    let daemons = ui
        .app
        .reconciler
        .as_ref()
        .map(|r| {
            r.status()
                .sync_daemons
                .iter()
                .map(|d| format!("{} on {}, sync id {}", d.state, d.interface, d.sync_id))
                .collect()
        })
        .unwrap_or_default();
    ui.page(&DetailPage {
        chrome: ui.chrome(format!("VRRP group {name}"), "vrrp-groups"),
        sync: SyncForm::of(&g),
        daemons,
        admin: ui.actor().role == Role::Admin,
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

/// The page of a group, for a redirect: only a group name (a slug) makes a Location.
fn group_page(name: &str) -> UiResult<String> {
    director_core::model::validate_name("name", name)
        .map_err(|_| UiError::NotFound(format!("VRRP group {name:?} not found")))?;
    Ok(format!("/vrrp-groups/{name}"))
}

/// `GET` on the form's URL (a reload after posting): back to the group.
pub async fn back(_ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    Ok(Redirect::to(&group_page(&name)?).into_response())
}

/// The merge patch of the connection-sync form: `{"connection_sync": null}` when `remove` is asked, else
/// the object with the filled-in fields (numbers as numbers; anything else as typed, for the service to
/// refuse naming the field).
fn connection_sync_patch(fields: &Fields) -> Value {
    if fields.text("remove") == "yes" {
        return json!({"connection_sync": null});
    }
    let mut c = Map::new();
    c.insert("interface".into(), json!(fields.text("interface")));
    for name in ["sync_id", "max_packet_len", "mcast_port", "mcast_ttl"] {
        let v = fields.text(name);
        if !v.is_empty() {
            let value = v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n));
            c.insert(name.into(), value);
        }
    }
    let group = fields.text("mcast_group");
    if !group.is_empty() {
        c.insert("mcast_group".into(), json!(group));
    }
    json!({ "connection_sync": Value::Object(c) })
}

/// `POST /vrrp-groups/{name}/connection-sync`: sets (or removes) the group's `connection_sync`, against the
/// revision the form was shown with.
pub async fn connection_sync(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    require(ui.actor(), Role::Admin)?;
    let page = group_page(&name)?;
    let if_match = fields.text("revision").parse::<u64>().ok();
    let patch = connection_sync_patch(&fields);
    match ui
        .app
        .service
        .patch_vrrp_group(ui.actor(), &name, &patch, if_match)
        .await
    {
        Ok(_) if patch["connection_sync"].is_null() => Ok(ui::redirect(
            &page,
            Flash::ok(format!("{name} no longer runs IPVS sync daemons.")),
        )),
        Ok(_) => Ok(ui::redirect(
            &page,
            Flash::ok(format!(
                "Connection sync of {name} saved: the next reconcile pass starts its sync daemons."
            )),
        )),
        Err(e) => match field_error(&e) {
            Some(f) if !f.field.is_empty() => Ok(ui::redirect(
                &page,
                Flash::error(format!("{}: {}", f.field, f.message)),
            )),
            Some(f) => Ok(ui::redirect(&page, Flash::error(f.message))),
            None => Err(e.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_a_merge_patch() {
        let f = Fields::parse(
            b"interface=eth1&sync_id=7&max_packet_len=&mcast_group=239.0.0.9&mcast_port=x",
        );
        assert_eq!(
            connection_sync_patch(&f),
            json!({"connection_sync": {"interface": "eth1", "sync_id": 7, "mcast_group": "239.0.0.9",
                   "mcast_port": "x"}})
        );
        let f = Fields::parse(b"interface=eth1&remove=yes");
        assert_eq!(connection_sync_patch(&f), json!({"connection_sync": null}));
    }

    #[test]
    fn only_a_group_name_makes_a_redirect() {
        assert_eq!(group_page("vi-1").unwrap(), "/vrrp-groups/vi-1");
        assert!(group_page("a\nb").is_err());
        assert!(group_page("../x").is_err());
    }
}

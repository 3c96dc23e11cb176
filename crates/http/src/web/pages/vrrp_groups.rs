//! `/vrrp-groups`: the groups as declared, with this node's part in each (role, priorities, master and
//! transitions) when VRRP runs here, and the create / edit / delete forms (admin, as in REST; the service
//! validates, and an error lands next to its input in the form as typed).

use super::ConfirmPage;
use crate::web::error::{UiError, UiResult};
use crate::web::form::{self, field_error, FormState};
use crate::web::session::Flash;
use crate::web::ui::{self, ago, when, Chrome, Posted, Ui};
use crate::web::vrrp_form::{self, BLANK_ROWS, MAX_ROWS, TRACK_KINDS};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::{Role, VrrpGroup};
use director_core::secrets::{withheld_command, Withhold};
use director_runtime::vrrp::GroupStatus;
use director_service::parse::{from_json, to_json};
use director_service::{require, ServiceError};

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
    /// Whether the group has `connection_sync`.
    sync_on: bool,
    /// What this node's sync daemons run with for the group (`None`: not a member, or no connection sync).
    sync_here: Option<String>,
    /// The sync daemons this node's kernel runs now (after the last reconcile pass).
    daemons: Vec<String>,
    admin: bool,
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
        sync_on: g.connection_sync.is_some(),
        sync_here: g.sync_settings_for(&node).map(|s| s.to_string()),
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

// ---- create, edit, delete ----

#[derive(Template)]
#[template(path = "vrrp_form.html", config = "../../web/templates/askama.toml")]
struct FormPage {
    chrome: Chrome,
    creating: bool,
    name: String,
    revision: u64,
    form: FormState,
    members: Vec<usize>,
    tracks: Vec<usize>,
    /// Whether a password is stored (an empty password input keeps it).
    password_stored: bool,
    virtual_servers: Vec<String>,
    track_kinds: Vec<&'static str>,
}

impl FormPage {
    /// `rows`: how many member and track rows the form shows.
    fn new(
        ui: &Ui,
        creating: bool,
        name: &str,
        revision: u64,
        form: FormState,
        (members, tracks): (usize, usize),
        password_stored: bool,
    ) -> Self {
        let title = if creating {
            "New VRRP group".to_string()
        } else {
            format!("Edit VRRP group {name}")
        };
        FormPage {
            chrome: ui.chrome(title, "vrrp-groups"),
            creating,
            name: name.to_string(),
            revision,
            form,
            members: (0..members).collect(),
            tracks: (0..tracks).collect(),
            password_stored,
            virtual_servers: ui
                .app
                .service
                .snapshot()
                .virtual_servers
                .keys()
                .cloned()
                .collect(),
            track_kinds: TRACK_KINDS.to_vec(),
        }
    }
}

fn has_password(g: &VrrpGroup) -> bool {
    g.auth.as_ref().is_some_and(|a| a.password.is_some())
}

/// `GET /vrrp-groups/_new`.
pub async fn new_form(ui: Ui) -> UiResult<Response> {
    // Judged before the form is offered: writing VRRP groups needs an admin, as in REST.
    require(ui.actor(), Role::Admin)?;
    let page = FormPage::new(
        &ui,
        true,
        "",
        0,
        FormState::new(vrrp_form::blank()),
        (BLANK_ROWS, BLANK_ROWS),
        false,
    );
    ui.page(&page)
}

/// `GET /vrrp-groups/{name}/edit`.
pub async fn edit_form(ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    require(ui.actor(), Role::Admin)?;
    let record = ui.app.service.get_vrrp_group(ui.actor(), &name)?;
    let g = &record.spec;
    let page = FormPage::new(
        &ui,
        false,
        &name,
        record.revision,
        FormState::new(vrrp_form::fields_of(g)),
        (g.members.len() + BLANK_ROWS, g.track.len() + BLANK_ROWS),
        has_password(g),
    );
    ui.page(&page)
}

/// `POST /vrrp-groups`: create.
pub async fn create(posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    let actor = ui.actor().clone();
    require(&actor, Role::Admin)?;
    let (members, tracks) = (
        fields.rows("members", MAX_ROWS),
        fields.rows("track", MAX_ROWS),
    );
    let inputs = vrrp_form::inputs(members, tracks);
    let again = |state: FormState| {
        let page = FormPage::new(&ui, true, "", 0, state, (members, tracks), false);
        ui.page_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let built = vrrp_form::to_json(&fields, None, members, tracks);
    let (group, rows) = match form::read(&fields, &inputs, built, from_json::<VrrpGroup>) {
        Ok(v) => v,
        Err(state) => return again(state),
    };
    let name = group.name.clone();
    match ui.app.service.create_vrrp_group(&actor, group).await {
        Ok(record) => Ok(ui::redirect(
            &group_page(&name)?,
            Flash::ok(format!(
                "Created VRRP group {name} (VRID {}).",
                record.spec.vrid
            )),
        )),
        Err(e) => again(form::refused(e, &fields, &rows, &inputs)?),
    }
}

/// `POST /vrrp-groups/{name}`: save the edit form, against the revision it was shown with.
pub async fn update(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    let actor = ui.actor().clone();
    require(&actor, Role::Admin)?;
    let page = group_page(&name)?;
    let record = ui.app.service.get_vrrp_group(&actor, &name)?;
    let base = to_json(&record.spec)?;
    let revision = fields.text("revision").parse::<u64>().ok();
    let shown_revision = revision.unwrap_or(record.revision);
    let (members, tracks) = (
        fields.rows("members", MAX_ROWS),
        fields.rows("track", MAX_ROWS),
    );
    let inputs = vrrp_form::inputs(members, tracks);
    let password_stored = has_password(&record.spec);
    let again = |status: StatusCode, state: FormState| {
        let page = FormPage::new(
            &ui,
            false,
            &name,
            shown_revision,
            state,
            (members, tracks),
            password_stored,
        );
        ui.page_with(status, &page)
    };
    let built = vrrp_form::to_json(&fields, Some(&base), members, tracks);
    let (group, rows) = match form::read(&fields, &inputs, built, from_json::<VrrpGroup>) {
        Ok(v) => v,
        Err(state) => return again(StatusCode::UNPROCESSABLE_ENTITY, state),
    };
    match ui
        .app
        .service
        .replace_vrrp_group(&actor, &name, group, revision)
        .await
    {
        Ok(_) => Ok(ui::redirect(
            &page,
            Flash::ok(format!("Saved VRRP group {name}.")),
        )),
        Err(e) => {
            let status = if matches!(e, ServiceError::Stale { .. }) {
                StatusCode::PRECONDITION_FAILED
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            again(status, form::refused(e, &fields, &rows, &inputs)?)
        }
    }
}

/// `POST /vrrp-groups/{name}/delete` (after confirmation). A group that virtual servers use stays, and
/// its page says why.
pub async fn delete(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    require(ui.actor(), Role::Admin)?;
    let page = group_page(&name)?;
    let record = ui.app.service.get_vrrp_group(ui.actor(), &name)?;
    if fields.text("confirm") != "yes" {
        return ui.page(&ConfirmPage {
            chrome: ui.chrome(format!("Delete {name}?"), "vrrp-groups"),
            heading: format!("Delete VRRP group {name}?"),
            message: format!(
                "VRID {} stops on every director: its addresses ({}) are released. This cannot be undone.",
                record.spec.vrid,
                record.spec.virtual_addresses.join(", ")
            ),
            action: format!("{page}/delete"),
            fields: Vec::new(),
            button: "Delete".into(),
            cancel: page,
        });
    }
    match ui
        .app
        .service
        .delete_vrrp_group(ui.actor(), &name, None)
        .await
    {
        Ok(()) => Ok(ui::redirect(
            "/vrrp-groups",
            Flash::ok(format!("Deleted VRRP group {name}.")),
        )),
        Err(e) => match field_error(&e) {
            Some(f) => Ok(ui::redirect(&page, Flash::error(f.message))),
            None => Err(e.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_group_name_makes_a_redirect() {
        assert_eq!(group_page("vi-1").unwrap(), "/vrrp-groups/vi-1");
        assert!(group_page("a\nb").is_err());
        assert!(group_page("../x").is_err());
    }
}

//! `/virtual-servers`: the list with search, a virtual server's page with its real servers (live part at
//! `/virtual-servers/{name}/live`), and the create / edit / delete forms.

use super::{
    real_server_path, AuditRow, BulkResult, ConfirmPage, HealthCell, Healths, BULK_ACTIONS,
};
use crate::state::AppState;
use crate::web::chart::{self, Share};
use crate::web::error::{UiError, UiResult};
use crate::web::form::{self, Fields, FormState};
use crate::web::kernel::{self, rate};
use crate::web::session::Flash;
use crate::web::ui::{self, Chrome, Posted, Ui};
use crate::web::vs_form::{self, CHECK_KINDS, NEW_ROWS};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use director_core::model::vrrp_group::parse_vip;
use director_core::model::{RealServerKey, Role, Scheduler, VirtualServer};
use director_core::secrets::Withhold;
use director_core::state::{DesiredState, VirtualServerRecord};
use director_runtime::vrrp::VrrpRole;
use director_service::parse::{from_json, to_json};
use director_service::store::AuditFilter;
use director_service::{require, Actor, ServiceError};
use serde::Deserialize;
use std::collections::HashMap;

/// Rows per page of the list.
const PAGE: usize = 50;
/// How far back the charts go.
pub const CHART_WINDOW_S: i64 = 600;

const FLAGS: [&str; 7] = [
    "sh-fallback",
    "sh-port",
    "mh-fallback",
    "mh-port",
    "flag-1",
    "flag-2",
    "flag-3",
];

// ---- the list ----

#[derive(Debug, Clone)]
pub struct ListRow {
    pub name: String,
    pub service: String,
    pub scheduler: String,
    pub forwarding: String,
    pub group: String,
    pub enabled: bool,
    pub rs_total: usize,
    pub rs_up: usize,
    pub rs_down: usize,
    pub rs_out: usize,
    pub active: Option<u64>,
    /// This node's part in serving it, from its VRRP group's role here: (text, badge class).
    pub here: Option<(&'static str, &'static str)>,
}

/// The VRRP group that carries a virtual server's address: the one it names, else the first group (by
/// name) whose virtual addresses hold its address.
pub fn carrying_group<'a>(state: &'a DesiredState, vs: &'a VirtualServer) -> Option<&'a str> {
    if let Some(g) = &vs.vrrp_group {
        return Some(g);
    }
    let address = vs.address?;
    state
        .vrrp_groups
        .iter()
        .find(|(_, g)| {
            g.spec
                .virtual_addresses
                .iter()
                .any(|v| parse_vip(v).is_ok_and(|(a, _)| a == address))
        })
        .map(|(name, _)| name.as_str())
}

/// The badge of a virtual server whose carrying group has `role` on this node: served here while this node
/// is the master, backup here while it is not (yet); `None` without a group or a role here (not a member,
/// or VRRP off).
pub fn here_badge(role: Option<VrrpRole>) -> Option<(&'static str, &'static str)> {
    match role? {
        VrrpRole::Master => Some(("served here", "role-master")),
        VrrpRole::Backup | VrrpRole::Init => Some(("backup here", "role-backup")),
        VrrpRole::Fault => Some(("fault here: not served", "role-fault")),
    }
}

#[derive(Template)]
#[template(path = "vs_list.html", config = "../../web/templates/askama.toml")]
struct ListPage {
    chrome: Chrome,
    q: String,
    rows: Vec<ListRow>,
    matching: usize,
    first: bool,
    next: Option<String>,
    has_kernel: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

fn service_text(vs: &VirtualServer) -> String {
    vs.key().map(|k| k.to_string()).unwrap_or_default()
}

fn matches(record: &VirtualServerRecord, q: &str) -> bool {
    let vs = &record.spec;
    q.is_empty()
        || vs.name.contains(q)
        || service_text(vs).contains(q)
        || vs.vrrp_group.as_deref().is_some_and(|g| g.contains(q))
        || vs
            .real_servers
            .iter()
            .any(|r| r.key().to_string().contains(q))
}

/// `GET /virtual-servers?q=&after=`.
pub async fn list(ui: Ui, Query(query): Query<ListQuery>) -> UiResult<Response> {
    let now = chrono::Utc::now();
    let q = query.q.unwrap_or_default().trim().to_lowercase();
    let state = ui.app.service.snapshot();
    let latest = ui.app.web.history.latest();
    let healths = Healths::new(&ui.app, now);
    let roles = ui.app.vrrp.status();
    let mut rows = Vec::new();
    let mut matching = 0;
    let mut next = None;
    for (name, record) in &state.virtual_servers {
        if !matches(record, &q) {
            continue;
        }
        matching += 1;
        if query.after.as_deref().is_some_and(|a| name.as_str() <= a) {
            continue;
        }
        if rows.len() == PAGE {
            if next.is_none() {
                let last = rows
                    .last()
                    .map_or(String::new(), |r: &ListRow| r.name.clone());
                let qs: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("q", &q)
                    .append_pair("after", &last)
                    .finish();
                next = Some(format!("/virtual-servers?{qs}"));
            }
            continue;
        }
        let vs = &record.spec;
        let mut row = ListRow {
            name: name.clone(),
            service: service_text(vs),
            scheduler: vs.scheduler.to_string(),
            forwarding: vs.forwarding.as_str().to_string(),
            group: vs.vrrp_group.clone().unwrap_or_default(),
            enabled: vs.enabled,
            rs_total: vs.real_servers.len(),
            rs_up: 0,
            rs_down: 0,
            rs_out: 0,
            active: None,
            here: here_badge(
                carrying_group(&state, vs)
                    .and_then(|g| roles.get(g))
                    .map(|st| st.role),
            ),
        };
        for rs in &vs.real_servers {
            let h = healths.of(record, vs, rs);
            match h.status.as_str() {
                "up" => row.rs_up += 1,
                "down" => row.rs_down += 1,
                _ => {}
            }
            if !rs.enabled || rs.weight == 0 {
                row.rs_out += 1;
            }
        }
        if let Some((_, table)) = &latest {
            row.active = Some(kernel::service(table, vs).map_or(0, |s| {
                s.destinations
                    .iter()
                    .map(|d| u64::from(d.status.active_conns))
                    .sum()
            }));
        }
        rows.push(row);
    }
    ui.page(&ListPage {
        chrome: ui.chrome("Virtual servers", "virtual-servers"),
        q,
        rows,
        matching,
        first: query.after.is_none(),
        next,
        has_kernel: latest.is_some(),
    })
}

// ---- a virtual server's page ----

/// What the page says about the virtual server itself.
#[derive(Debug, Clone)]
pub struct Detail {
    pub name: String,
    pub service: String,
    pub revision: u64,
    pub scheduler: String,
    pub forwarding: String,
    pub persistence: String,
    pub one_packet: bool,
    pub vrrp_group: Option<String>,
    pub health_check: String,
    pub sorry: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub enabled: bool,
    /// `None` without kernel readings; `Some(None)` when the kernel has no such service.
    pub kernel: Option<Option<KernelService>>,
    pub split: Option<chart::Split>,
}

#[derive(Debug, Clone)]
pub struct KernelService {
    pub conns: u64,
    pub cps: String,
    pub inbps: String,
    pub outbps: String,
}

/// A real server's kernel destination.
#[derive(Debug, Clone)]
pub struct KernelDest {
    pub weight: u32,
    pub active: u32,
    pub inactive: u32,
    pub cps: String,
    pub inbps: String,
    pub outbps: String,
}

#[derive(Debug, Clone)]
pub struct RsRow {
    pub key: String,
    pub path: String,
    pub form: String,
    pub weight: u32,
    pub enabled: bool,
    /// The real server's own forwarding method, when it overrides the virtual server's.
    pub forwarding: Option<String>,
    /// Share of new connections by weight, e.g. `50%`; empty when it takes none.
    pub share: String,
    pub health: HealthCell,
    /// `None` when the kernel has no such destination (or there are no readings: see the table).
    pub kernel: Option<KernelDest>,
    pub chart: Option<String>,
    /// An error of the last weight change, and the weight typed.
    pub error: Option<String>,
    pub typed: Option<String>,
}

impl RsRow {
    /// The weight to show in the input: as typed after an error, else the stored one.
    pub fn weight_value(&self) -> String {
        self.typed
            .clone()
            .unwrap_or_else(|| self.weight.to_string())
    }
}

/// The real-server table (also the live fragment).
#[derive(Debug, Clone)]
pub struct RsTable {
    pub rows: Vec<RsRow>,
    pub operator: bool,
    pub admin: bool,
    pub csrf: String,
    pub has_kernel: bool,
    pub sampled: String,
}

#[derive(Template)]
#[template(path = "vs_detail.html", config = "../../web/templates/askama.toml")]
struct DetailPage {
    chrome: Chrome,
    d: Detail,
    table: RsTable,
    add: FormState,
    recent: Vec<AuditRow>,
    /// The result of a bulk action just taken.
    bulk: Option<BulkResult>,
    /// The bulk actions, each with the question it asks first (empty: none).
    bulk_actions: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "vs_rows.html", config = "../../web/templates/askama.toml")]
struct RowsFragment {
    table: RsTable,
}

fn describe(vs: &VirtualServer, revision: u64) -> Detail {
    let mut scheduler = vs.scheduler.to_string();
    if !vs.scheduler_flags.is_empty() {
        let flags: Vec<&str> = vs.scheduler_flags.iter().map(|f| f.as_str()).collect();
        scheduler = format!("{scheduler} ({})", flags.join(", "));
    }
    let persistence = match &vs.persistence {
        None => "none".to_string(),
        Some(p) => match &p.netmask {
            Some(m) => format!("{} s, netmask {m}", p.timeout_s),
            None => format!("{} s", p.timeout_s),
        },
    };
    let health_check = match &vs.health_check {
        None => "none: real servers count as up".to_string(),
        Some(h) => {
            let mut s = format!(
                "{} every {} ms, timeout {} ms, rise {}, fall {}",
                h.kind.as_str(),
                h.interval_ms,
                h.timeout_ms,
                h.rise,
                h.fall
            );
            if let Some(p) = &h.path {
                s.push_str(&format!(", path {p}"));
            }
            if let Some(c) = &h.command {
                s.push_str(&format!(", command {}", c.join(" ")));
            }
            s
        }
    };
    Detail {
        name: vs.name.clone(),
        service: service_text(vs),
        revision,
        scheduler,
        forwarding: vs.forwarding.as_str().to_string(),
        persistence,
        one_packet: vs.one_packet,
        vrrp_group: vs.vrrp_group.clone(),
        health_check,
        sorry: vs.sorry_server.as_ref().map_or_else(
            || "none".to_string(),
            |s| format!("{}", std::net::SocketAddr::new(s.address, s.port as u16)),
        ),
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        enabled: vs.enabled,
        kernel: None,
        split: None,
    }
}

/// A weight change that failed, shown on its row.
pub struct RowError {
    pub key: RealServerKey,
    pub typed: String,
    pub message: String,
}

/// The virtual server's description and its real-server table.
pub fn build(
    app: &AppState,
    ui: &Ui,
    record: &VirtualServerRecord,
    row_error: Option<RowError>,
) -> (Detail, RsTable) {
    let now = chrono::Utc::now();
    let vs = &record.spec;
    // The description shows the health check's command: its arguments are withheld below admin.
    let mut d = describe(&vs.visible(ui.actor().visibility()), record.revision);
    let latest = app.web.history.latest();
    let kernel_service = latest
        .as_ref()
        .and_then(|(_, t)| kernel::service(t, vs).cloned());
    let series = kernel::service_key(vs)
        .map(|k| app.web.history.service(&k))
        .unwrap_or_default();
    if let Some((_, _)) = &latest {
        d.kernel = Some(kernel_service.as_ref().map(|s| {
            KernelService {
                conns: s
                    .destinations
                    .iter()
                    .map(|d| u64::from(d.status.active_conns))
                    .sum(),
                cps: rate(s.stats.cps),
                inbps: rate(s.stats.inbps),
                outbps: rate(s.stats.outbps),
            }
        }));
    }
    let lookup = Healths::new(app, now);
    let healths: Vec<HealthCell> = vs
        .real_servers
        .iter()
        .map(|rs| lookup.of(record, vs, rs))
        .collect();
    // Which real servers take new connections: enabled, weighted and not down.
    let taking: Vec<bool> = vs
        .real_servers
        .iter()
        .zip(&healths)
        .map(|(rs, h)| rs.enabled && rs.weight > 0 && !h.is("down"))
        .collect();
    let takes = |i: usize| taking[i];
    let total: u64 = (0..vs.real_servers.len())
        .filter(|i| takes(*i))
        .map(|i| u64::from(vs.real_servers[i].weight))
        .sum();
    let shares: Vec<Share> = vs
        .real_servers
        .iter()
        .enumerate()
        .map(|(i, rs)| Share {
            label: rs.key().to_string(),
            weight: if takes(i) { rs.weight } else { 0 },
        })
        .collect();
    d.split = chart::weight_split(&shares);
    let by_endpoint: HashMap<_, _> = series.into_iter().collect();
    let rows = vs
        .real_servers
        .iter()
        .zip(healths)
        .enumerate()
        .map(|(i, (rs, h))| {
            let key = rs.key();
            let dest = kernel_service
                .as_ref()
                .and_then(|s| kernel::destination(s, &key));
            let samples = by_endpoint.get(&(key.address, key.port));
            let error = row_error.as_ref().filter(|e| e.key == key);
            RsRow {
                key: key.to_string(),
                path: real_server_path(&vs.name, &key),
                form: format!("rs{i}"),
                weight: rs.weight,
                enabled: rs.enabled,
                forwarding: rs
                    .forwarding
                    .filter(|f| *f != vs.forwarding)
                    .map(|f| f.as_str().to_string()),
                share: if takes(i) && total > 0 {
                    chart::percent(f64::from(rs.weight) * 100.0 / total as f64)
                } else {
                    String::new()
                },
                health: h,
                kernel: dest.map(|d| KernelDest {
                    weight: d.destination.weight,
                    active: d.status.active_conns,
                    inactive: d.status.inactive_conns,
                    cps: rate(d.status.stats.cps),
                    inbps: rate(d.status.stats.inbps),
                    outbps: rate(d.status.stats.outbps),
                }),
                chart: samples.and_then(|s| {
                    chart::sparkline(
                        s,
                        now.timestamp(),
                        CHART_WINDOW_S,
                        &format!("Connections of {key}"),
                    )
                }),
                error: error.map(|e| e.message.clone()),
                typed: error.map(|e| e.typed.clone()),
            }
        })
        .collect();
    let table = RsTable {
        rows,
        operator: ui.session.operator(),
        admin: ui.session.admin(),
        csrf: ui.session.csrf.clone(),
        has_kernel: latest.is_some(),
        sampled: latest
            .map(|(at, _)| format!("{} s ago", (now.timestamp() - at).max(0)))
            .unwrap_or_default(),
    };
    (d, table)
}

/// The blank form to add a real server.
pub fn blank_add(vs: &VirtualServer) -> FormState {
    FormState::new(Fields::from_pairs([
        ("port", vs.port.map(|p| p.to_string()).unwrap_or_default()),
        ("weight", "1".to_string()),
        ("enabled", "on".to_string()),
    ]))
}

/// Renders a virtual server's page, with the add form as given and a row's error, if any.
pub async fn render_detail(
    ui: &Ui,
    name: &str,
    status: StatusCode,
    add: Option<FormState>,
    row_error: Option<RowError>,
    bulk: Option<BulkResult>,
) -> UiResult<Response> {
    let record = ui.app.service.get_virtual_server(ui.actor(), name)?;
    let (d, table) = build(&ui.app, ui, &record, row_error);
    let now = chrono::Utc::now();
    let snapshot = ui.app.service.snapshot();
    let recent = ui
        .app
        .service
        .audit(
            ui.actor(),
            &AuditFilter {
                name: Some(name.to_string()),
                limit: Some(8),
                ..Default::default()
            },
        )
        .await?
        .0
        .into_iter()
        .map(|e| {
            AuditRow::new(e, now, |kind, obj| match kind {
                "virtual_server" => snapshot.virtual_servers.contains_key(obj),
                _ => snapshot.vrrp_groups.contains_key(obj),
            })
        })
        .collect();
    ui.page_with(
        status,
        &DetailPage {
            chrome: ui.chrome(format!("Virtual server {name}"), "virtual-servers"),
            add: add.unwrap_or_else(|| blank_add(&record.spec)),
            d,
            table,
            recent,
            bulk,
            bulk_actions: BULK_ACTIONS.to_vec(),
        },
    )
}

/// `GET /virtual-servers/{name}`.
pub async fn detail(ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    render_detail(&ui, &name, StatusCode::OK, None, None, None).await
}

/// `GET /virtual-servers/{name}/live`: the real-server table alone.
pub async fn live(ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    let record = ui.app.service.get_virtual_server(ui.actor(), &name)?;
    let (_, table) = build(&ui.app, &ui, &record, None);
    ui.page(&RowsFragment { table })
}

// ---- create, edit, delete ----

#[derive(Template)]
#[template(path = "vs_form.html", config = "../../web/templates/askama.toml")]
struct FormPage {
    chrome: Chrome,
    creating: bool,
    name: String,
    revision: u64,
    form: FormState,
    rows: Vec<usize>,
    groups: Vec<String>,
    schedulers: Vec<&'static str>,
    flags: Vec<&'static str>,
    kinds: Vec<&'static str>,
}

impl FormPage {
    fn new(ui: &Ui, creating: bool, name: &str, revision: u64, form: FormState) -> Self {
        let title = if creating {
            "New virtual server".to_string()
        } else {
            format!("Edit virtual server {name}")
        };
        FormPage {
            chrome: ui.chrome(title, "virtual-servers"),
            creating,
            name: name.to_string(),
            revision,
            form,
            rows: if creating {
                (0..NEW_ROWS).collect()
            } else {
                Vec::new()
            },
            groups: ui
                .app
                .service
                .snapshot()
                .vrrp_groups
                .keys()
                .cloned()
                .collect(),
            schedulers: Scheduler::ALL.iter().map(|s| s.as_str()).collect(),
            flags: FLAGS.to_vec(),
            kinds: CHECK_KINDS.iter().map(|k| k.as_str()).collect(),
        }
    }
}

/// `GET /virtual-servers/_new`.
pub async fn new_form(ui: Ui) -> UiResult<Response> {
    if !ui.session.admin() {
        return Err(UiError::Forbidden(
            "creating virtual servers needs the admin role".into(),
        ));
    }
    let page = FormPage::new(&ui, true, "", 0, FormState::new(vs_form::blank()));
    ui.page(&page)
}

/// `GET /virtual-servers/{name}/edit`.
pub async fn edit_form(ui: Ui, Path(name): Path<String>) -> UiResult<Response> {
    let record = ui.app.service.get_virtual_server(ui.actor(), &name)?;
    if !ui.session.admin() {
        return Err(UiError::Forbidden(
            "editing virtual servers needs the admin role".into(),
        ));
    }
    let page = FormPage::new(
        &ui,
        false,
        &name,
        record.revision,
        FormState::new(vs_form::fields_of(&record.spec)),
    );
    ui.page(&page)
}

/// `POST /virtual-servers`: create.
pub async fn create(posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    let actor: Actor = ui.actor().clone();
    // The service decides; this only refuses a role the form is not offered to before reading it.
    require(&actor, Role::Admin)?;
    let inputs = vs_form::inputs(NEW_ROWS);
    let built = vs_form::to_json(&fields, None, NEW_ROWS);
    let (vs, rows) = match form::read(&fields, &inputs, built, from_json::<VirtualServer>) {
        Ok(v) => v,
        Err(state) => {
            let page = FormPage::new(&ui, true, "", 0, state);
            return ui.page_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let name = vs.name.clone();
    match ui.app.service.create_virtual_server(&actor, vs).await {
        Ok(record) => Ok(ui::redirect(
            &format!("/virtual-servers/{name}"),
            Flash::ok(format!(
                "Created virtual server {name} with {} real server{}.",
                record.spec.real_servers.len(),
                if record.spec.real_servers.len() == 1 {
                    ""
                } else {
                    "s"
                }
            )),
        )),
        Err(e) => {
            let state = form::refused(e, &fields, &rows, &inputs)?;
            let page = FormPage::new(&ui, true, "", 0, state);
            ui.page_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// `POST /virtual-servers/{name}`: save the edit form.
pub async fn update(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    let actor = ui.actor().clone();
    require(&actor, Role::Admin)?;
    let record = ui.app.service.get_virtual_server(&actor, &name)?;
    let base = to_json(&record.spec)?;
    let revision = fields.text("revision").parse::<u64>().ok();
    let shown_revision = revision.unwrap_or(record.revision);
    let inputs = vs_form::inputs(0);
    let built = vs_form::to_json(&fields, Some(&base), 0);
    let (vs, rows) = match form::read(&fields, &inputs, built, from_json::<VirtualServer>) {
        Ok(v) => v,
        Err(state) => {
            let page = FormPage::new(&ui, false, &name, shown_revision, state);
            return ui.page_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    match ui
        .app
        .service
        .replace_virtual_server(&actor, &name, vs, revision)
        .await
    {
        Ok(_) => Ok(ui::redirect(
            &format!("/virtual-servers/{name}"),
            Flash::ok(format!("Saved virtual server {name}.")),
        )),
        Err(e) => {
            let stale = matches!(e, ServiceError::Stale { .. });
            let state = form::refused(e, &fields, &rows, &inputs)?;
            let page = FormPage::new(&ui, false, &name, shown_revision, state);
            let status = if stale {
                StatusCode::PRECONDITION_FAILED
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            ui.page_with(status, &page)
        }
    }
}

/// `POST /virtual-servers/{name}/delete` (after confirmation).
pub async fn delete(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    // Judged before the confirmation is offered: only an admin may delete.
    require(ui.actor(), Role::Admin)?;
    let record = ui.app.service.get_virtual_server(ui.actor(), &name)?;
    if fields.text("confirm") != "yes" {
        let n = record.spec.real_servers.len();
        return ui.page(&ConfirmPage {
            chrome: ui.chrome(format!("Delete {name}?"), "virtual-servers"),
            heading: format!("Delete virtual server {name}?"),
            message: format!(
                "{} ({} real server{}) is removed from every director; its connections are cut. This cannot be undone.",
                service_text(&record.spec),
                n,
                if n == 1 { "" } else { "s" }
            ),
            action: format!("/virtual-servers/{name}/delete"),
            fields: Vec::new(),
            button: "Delete".into(),
            cancel: format!("/virtual-servers/{name}"),
        });
    }
    ui.app
        .service
        .delete_virtual_server(ui.actor(), &name, None)
        .await?;
    Ok(ui::redirect(
        "/virtual-servers",
        Flash::ok(format!("Deleted virtual server {name}.")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_service::parse::from_json;
    use serde_json::json;

    #[test]
    fn a_virtual_server_is_served_here_only_where_its_group_is_master() {
        assert_eq!(
            here_badge(Some(VrrpRole::Master)),
            Some(("served here", "role-master"))
        );
        assert_eq!(
            here_badge(Some(VrrpRole::Backup)),
            Some(("backup here", "role-backup"))
        );
        assert_eq!(
            here_badge(Some(VrrpRole::Init)),
            Some(("backup here", "role-backup"))
        );
        assert_eq!(
            here_badge(None),
            None,
            "no group, not a member, or VRRP off"
        );
    }

    #[test]
    fn the_carrying_group_is_the_named_one_else_the_one_holding_the_address() {
        let mut state = DesiredState::default();
        for (name, vip) in [("vi-1", "192.168.10.180/32"), ("vi-2", "192.168.10.181")] {
            let g: director_core::model::VrrpGroup = from_json(json!({
                "name": name, "vrid": 51, "virtual_addresses": [vip], "interface": "eth0"}))
            .unwrap();
            state.vrrp_groups.insert(
                name.to_string(),
                std::sync::Arc::new(director_core::state::VrrpGroupRecord {
                    spec: g,
                    revision: 1,
                }),
            );
        }
        let vs = |v: serde_json::Value| -> VirtualServer { from_json(v).unwrap() };
        let named = vs(
            json!({"name": "a", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "vrrp_group": "vi-2"}),
        );
        assert_eq!(carrying_group(&state, &named), Some("vi-2"));
        let by_address =
            vs(json!({"name": "b", "protocol": "tcp", "address": "192.168.10.181", "port": 80}));
        assert_eq!(carrying_group(&state, &by_address), Some("vi-2"));
        let none = vs(json!({"name": "c", "protocol": "tcp", "address": "10.0.0.2", "port": 80}));
        assert_eq!(carrying_group(&state, &none), None);
        let fwmark = vs(json!({"name": "d", "fwmark": 7}));
        assert_eq!(carrying_group(&state, &fwmark), None);
    }
}

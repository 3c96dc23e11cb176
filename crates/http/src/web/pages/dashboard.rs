//! `/`: the node at a glance. `/live` renders the same status part alone, for the page's refresh script.

use super::Healths;
use crate::state::AppState;
use crate::web::error::UiResult;
use crate::web::ui::{ago, span, when, Chrome, Ui};
use askama::Template;
use axum::response::Response;
use director_runtime::reconciler::PassReport;

/// The last pass of the reconciler.
#[derive(Debug, Clone)]
pub struct PassRow {
    pub when: String,
    pub ago: String,
    pub revision: u64,
    pub duration: String,
    /// `2 set_dest, 1 new_service`, or `none`.
    pub ops: String,
    pub errors: Vec<String>,
}

impl PassRow {
    fn new(p: &PassReport, now: chrono::DateTime<chrono::Utc>) -> Self {
        let ops: Vec<String> = p.ops.iter().map(|(k, n)| format!("{n} {k}")).collect();
        PassRow {
            when: when(&p.at),
            ago: ago(&p.at, now),
            revision: p.revision,
            duration: format!("{:.1} ms", p.duration_us as f64 / 1000.0),
            ops: if ops.is_empty() {
                "none".into()
            } else {
                ops.join(", ")
            },
            errors: p.errors.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReconcileView {
    pub passes: u64,
    pub errors: u64,
    /// The last pass failed: the kernel is not at the desired revision.
    pub failing: bool,
    /// The last pass that failed, with its errors.
    pub last_failure: Option<PassRow>,
    pub operations: String,
    pub last: Option<PassRow>,
    pub last_change: Option<PassRow>,
    pub unmanaged: Vec<String>,
}

/// This node's part in a VRRP group.
#[derive(Debug, Clone)]
pub struct VrrpRow {
    pub name: String,
    pub vrid: u32,
    pub addresses: String,
    /// master, backup, fault, init; empty when this node is not a member.
    pub role: String,
    pub priority: String,
    pub master: String,
    pub since: String,
    pub problem: Option<String>,
}

/// A peer director and how far behind its changes are applied here.
#[derive(Debug, Clone)]
pub struct PeerRow {
    pub node: String,
    pub address: String,
    /// In sync, or how far behind (changes, time), or why not connected.
    pub lag: String,
    pub last_contact: String,
    pub ok: bool,
}

/// A virtual server that needs a look.
#[derive(Debug, Clone)]
pub struct Attention {
    pub name: String,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub version: &'static str,
    pub uptime: String,
    pub started: String,
    pub dataplane_active: String,
    pub dataplane_requested: String,
    pub dataplane_detail: String,
    pub ipvs: bool,
    pub revision: u64,
    pub applied: Option<u64>,
    /// None without a dataplane.
    pub reconcile: Option<ReconcileView>,
    pub vs_total: usize,
    pub vs_disabled: usize,
    pub rs_total: usize,
    pub rs_up: usize,
    pub rs_down: usize,
    pub rs_unknown: usize,
    pub rs_drained: usize,
    pub rs_disabled: usize,
    pub attention: Vec<Attention>,
    pub attention_more: usize,
    /// None: VRRP does not run on this node.
    pub vrrp: Option<Vec<VrrpRow>>,
    /// None: peer sync does not run on this node / no peers are configured.
    pub peers: Option<Vec<PeerRow>>,
    pub kernel_services: Option<usize>,
    pub active_conns: Option<u64>,
    pub sampled: String,
}

#[derive(Template)]
#[template(path = "dashboard.html", config = "../../web/templates/askama.toml")]
struct DashboardPage {
    chrome: Chrome,
    s: Status,
}

#[derive(Template)]
#[template(
    path = "dashboard_live.html",
    config = "../../web/templates/askama.toml"
)]
struct DashboardLive {
    s: Status,
}

impl Status {
    /// Whether the kernel has reached the desired revision.
    pub fn in_sync(&self) -> bool {
        self.applied == Some(self.revision)
    }

    /// The last reconcile pass failed: the kernel is not where the status would otherwise suggest.
    pub fn failing(&self) -> bool {
        self.reconcile.as_ref().is_some_and(|r| r.failing)
    }
}

const ATTENTION_SHOWN: usize = 10;

/// What the dashboard shows, from the app's current state.
pub fn status(app: &AppState) -> Status {
    let now = chrono::Utc::now();
    let state = app.service.snapshot();
    let dp = &app.runtime.dataplane;
    let mut s = Status {
        version: app.runtime.version,
        uptime: span(app.runtime.started.elapsed().as_secs()),
        started: when(&app.runtime.started_at),
        dataplane_active: dp.active.clone(),
        dataplane_requested: dp.requested.clone(),
        dataplane_detail: dp.detail.clone(),
        ipvs: dp.active == "ipvs",
        revision: state.revision,
        applied: app.service.applied_revision(),
        reconcile: app.reconciler.as_ref().map(|r| {
            let st = r.status();
            ReconcileView {
                passes: st.passes,
                errors: st.errors,
                failing: st.failing,
                last_failure: st.last_failure.as_ref().map(|p| PassRow::new(p, now)),
                operations: st
                    .operations
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                last: st.last_pass.as_ref().map(|p| PassRow::new(p, now)),
                last_change: st.last_change.as_ref().map(|p| PassRow::new(p, now)),
                unmanaged: st
                    .last_pass
                    .as_ref()
                    .map(|p| p.unmanaged.clone())
                    .unwrap_or_default(),
            }
        }),
        vs_total: state.virtual_servers.len(),
        vs_disabled: 0,
        rs_total: 0,
        rs_up: 0,
        rs_down: 0,
        rs_unknown: 0,
        rs_drained: 0,
        rs_disabled: 0,
        attention: Vec::new(),
        attention_more: 0,
        vrrp: None,
        peers: app.sync.enabled().then(|| {
            app.sync
                .peers()
                .into_iter()
                .map(|p| PeerRow {
                    lag: match (p.state.as_str(), p.lag_changes) {
                        ("connected", 0) if p.in_sync => "in sync".to_string(),
                        ("connected", 0) => "caught up, digest differs".to_string(),
                        ("connected", n) => format!("{n} changes behind ({} ms)", p.lag_ms),
                        (state, _) => match &p.error {
                            Some(e) => format!("{state}: {e}"),
                            None => state.to_string(),
                        },
                    },
                    last_contact: p
                        .last_contact_ms
                        .map_or_else(|| "never".to_string(), |ms| format!("{} s ago", ms / 1000)),
                    ok: p.state == "connected" && p.in_sync,
                    node: p.node,
                    address: p.address,
                })
                .collect()
        }),
        kernel_services: None,
        active_conns: None,
        sampled: String::new(),
    };
    let healths = Healths::new(app, now);
    for (name, record) in &state.virtual_servers {
        let vs = &record.spec;
        if !vs.enabled {
            s.vs_disabled += 1;
        }
        let mut live = 0u32;
        let mut down = 0usize;
        for rs in &vs.real_servers {
            s.rs_total += 1;
            let h = healths.of(record, vs, rs);
            match h.status.as_str() {
                "up" => s.rs_up += 1,
                "down" => {
                    s.rs_down += 1;
                    down += 1;
                }
                _ => s.rs_unknown += 1,
            }
            if !rs.enabled {
                s.rs_disabled += 1;
            } else if rs.weight == 0 {
                s.rs_drained += 1;
            } else if h.status != "down" {
                live += 1;
            }
        }
        if !vs.enabled {
            continue;
        }
        let problem = if vs.real_servers.is_empty() {
            Some("no real servers".to_string())
        } else if live < vs.quorum {
            Some(format!(
                "{live} of {} real servers take traffic (quorum {})",
                vs.real_servers.len(),
                vs.quorum
            ))
        } else if down > 0 {
            Some(format!(
                "{down} real server{} down",
                if down == 1 { "" } else { "s" }
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            if s.attention.len() < ATTENTION_SHOWN {
                s.attention.push(Attention {
                    name: name.clone(),
                    problem,
                });
            } else {
                s.attention_more += 1;
            }
        }
    }
    if app.vrrp.enabled() {
        let statuses = app.vrrp.status();
        s.vrrp = Some(
            state
                .vrrp_groups
                .values()
                .map(|g| {
                    let spec = &g.spec;
                    let st = statuses.get(&spec.name);
                    VrrpRow {
                        name: spec.name.clone(),
                        vrid: spec.vrid,
                        addresses: spec.virtual_addresses.join(", "),
                        role: st.map(|x| x.role.to_string()).unwrap_or_default(),
                        priority: st
                            .map(|x| {
                                if x.effective_priority != x.priority {
                                    format!("{} (configured {})", x.effective_priority, x.priority)
                                } else {
                                    x.priority.to_string()
                                }
                            })
                            .unwrap_or_default(),
                        master: st
                            .and_then(|x| x.master_address.clone())
                            .unwrap_or_default(),
                        since: st.map(|x| ago(&x.since, now)).unwrap_or_default(),
                        problem: st.and_then(|x| {
                            if x.split_brain {
                                Some(format!(
                                    "split brain: another master {}",
                                    x.other_master.clone().unwrap_or_default()
                                ))
                            } else {
                                x.fault_reason.clone().or_else(|| x.last_error.clone())
                            }
                        }),
                    }
                })
                .collect(),
        );
    }
    if let Some((at, table)) = app.web.history.latest() {
        s.kernel_services = Some(table.services.len());
        s.active_conns = Some(
            table
                .services
                .iter()
                .flat_map(|e| &e.destinations)
                .map(|d| u64::from(d.status.active_conns))
                .sum(),
        );
        s.sampled = format!("{} s ago", (now.timestamp() - at).max(0));
    }
    s
}

/// `GET /`.
pub async fn page(ui: Ui) -> UiResult<Response> {
    let s = status(&ui.app);
    ui.page(&DashboardPage {
        chrome: ui.chrome("Dashboard", "dashboard"),
        s,
    })
}

/// `GET /live`: the status part of the dashboard.
pub async fn live(ui: Ui) -> UiResult<Response> {
    ui.page(&DashboardLive { s: status(&ui.app) })
}

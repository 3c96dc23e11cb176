//! `/api/v1/status`, `/healthz`, `/readyz`.

use super::error::{ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
use axum::extract::State;
use axum::Json;
use director_core::model::Role;
use director_runtime::daemon::DataplaneInfo;
use director_runtime::reconciler::ReconcileStatus;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    pub virtual_servers: usize,
    pub real_servers: usize,
    pub vrrp_groups: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    pub node: String,
    pub version: String,
    pub started_at: String,
    pub uptime_s: u64,
    /// The revision of the desired state.
    pub revision: u64,
    /// The revision the kernel has reached; null while no dataplane applies the state.
    pub applied_revision: Option<u64>,
    pub dataplane: DataplaneInfo,
    /// The reconcile loop: passes, operations, errors, the last pass. Without IPVS (`none`) it binds only the
    /// addresses of VRRP groups.
    pub reconciler: Option<ReconcileStatus>,
    pub counts: Counts,
    /// Real servers by health, and the checker's figures.
    pub health: HealthSummary,
    /// This node's VRRP groups.
    pub vrrp: VrrpSummary,
    /// Peer sync: this node's digest of the desired state and each peer's state and lag.
    pub sync: SyncSummary,
}

/// Peer sync, as this node sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncSummary {
    /// False without `--peers`.
    pub enabled: bool,
    /// A digest of the desired state (objects only): equal on nodes that hold the same configuration.
    pub digest: String,
    /// The last sequence number of this node's change log.
    pub log_head: u64,
    pub peers: Vec<director_runtime::sync::PeerView>,
}

/// The health checker.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthSummary {
    /// Real servers with a check.
    pub checked: usize,
    pub up: usize,
    pub down: usize,
    /// Not checked yet.
    pub unknown: usize,
    /// Checks run since start.
    pub checks: u64,
    /// How late checks start against their schedule, 99th percentile (ms).
    pub lateness_p99_ms: f64,
    /// The real servers that are down, with the last error.
    pub down_servers: Vec<DownServer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DownServer {
    /// `web/192.168.10.120:80`
    pub real_server: String,
    pub since: String,
    pub last_error: Option<String>,
}

/// This node's part in VRRP.
#[derive(Debug, Serialize, ToSchema)]
pub struct VrrpSummary {
    /// False with `--vrrp off`.
    pub enabled: bool,
    /// One entry per group this node is a member of.
    pub groups: Vec<director_runtime::vrrp::GroupStatus>,
}

#[utoipa::path(get, operation_id = "getStatus", path = "/api/v1/status", tag = "status",
    responses((status = 200, body = Status), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn status(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<Status>> {
    director_service::require(&actor, Role::Viewer)?;
    let state = app.service.snapshot();
    let rt = &app.runtime;
    Ok(Json(Status {
        node: rt.node.clone(),
        version: rt.version.to_string(),
        started_at: rt.started_at.clone(),
        uptime_s: rt.started.elapsed().as_secs(),
        revision: state.revision,
        applied_revision: app.service.applied_revision(),
        dataplane: rt.dataplane.clone(),
        reconciler: app.reconciler.as_ref().map(|r| (*r.status()).clone()),
        counts: Counts {
            virtual_servers: state.virtual_servers.len(),
            real_servers: state.real_server_count(),
            vrrp_groups: state.vrrp_groups.len(),
        },
        health: health_summary(&app.health),
        vrrp: VrrpSummary {
            enabled: app.vrrp.enabled(),
            groups: app.vrrp.status().into_values().collect(),
        },
        sync: SyncSummary {
            enabled: app.sync.enabled(),
            digest: app.service.digest(),
            log_head: *app.service.sync_log_head().borrow(),
            peers: app.sync.peers(),
        },
    }))
}

fn health_summary(engine: &director_health::Engine) -> HealthSummary {
    use director_health::Status;
    let snapshot = engine.snapshot();
    let stats = engine.stats();
    let count = |s: Status| snapshot.values().filter(|h| h.status == s).count();
    HealthSummary {
        checked: snapshot.len(),
        up: count(Status::Up),
        down: count(Status::Down),
        unknown: count(Status::Unknown),
        checks: stats.checks,
        lateness_p99_ms: stats.lateness.p99.as_secs_f64() * 1000.0,
        down_servers: snapshot
            .iter()
            .filter(|(_, h)| h.status == Status::Down)
            .map(|(id, h)| DownServer {
                real_server: id.to_string(),
                since: chrono::DateTime::<chrono::Utc>::from(h.since)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                last_error: h.last_error.clone(),
            })
            .collect(),
    }
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Why this node is not ready, one reason per check that failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub reasons: Vec<NotReady>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotReady {
    /// `dataplane`, `reconcile` or `store`.
    pub check: &'static str,
    pub message: String,
}

/// How long the store's write lock may take to get for the node to count as ready.
const STORE_PROBE: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness: 200 when this node does its job, 503 with the reasons when it does not: the dataplane is
/// missing (`--dataplane auto` without IPVS; `none` and `memory` are choices, not failures), the last
/// reconcile pass failed (the kernel is not at the desired revision), or the store cannot be written.
/// `/healthz` is liveness only.
pub async fn readyz(State(app): State<AppState>) -> (axum::http::StatusCode, Json<Readiness>) {
    let mut reasons = Vec::new();
    let dp = &app.runtime.dataplane;
    if dp.requested == "auto" && dp.active == "none" {
        reasons.push(NotReady {
            check: "dataplane",
            message: dp.detail.clone(),
        });
    }
    if let Some(r) = &app.reconciler {
        let status = r.status();
        if let Some(failed) = status.last_failure.as_ref().filter(|_| status.failing) {
            reasons.push(NotReady {
                check: "reconcile",
                message: format!(
                    "the last reconcile pass failed: revision {} is not applied (the kernel is at {}): {}",
                    failed.revision,
                    status
                        .applied_revision
                        .map_or_else(|| "none".to_string(), |r| r.to_string()),
                    failed.errors.join("; ")
                ),
            });
        }
    }
    if let Err(e) = app.service.store().writable(STORE_PROBE).await {
        tracing::warn!(error = %e, "not ready: the store cannot be written");
        reasons.push(NotReady {
            check: "store",
            message: e,
        });
    }
    let status = if reasons.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready: reasons.is_empty(),
            reasons,
        }),
    )
}

//! `/api/v1/status`, `/healthz`, `/readyz`.

use super::error::{ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
use crate::reconciler::ReconcileStatus;
use crate::runtime::DataplaneInfo;
use axum::extract::State;
use axum::Json;
use director_core::model::Role;
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
    /// The reconcile loop: passes, operations, errors, the last pass. Absent without a dataplane.
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
    pub peers: Vec<crate::sync::PeerView>,
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
    pub groups: Vec<crate::vrrp::GroupStatus>,
}

#[utoipa::path(get, operation_id = "getStatus", path = "/api/v1/status", tag = "status",
    responses((status = 200, body = Status), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn status(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<Status>> {
    crate::service::require(&actor, Role::Viewer)?;
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

/// Readiness: the store answers.
pub async fn readyz(State(app): State<AppState>) -> (axum::http::StatusCode, &'static str) {
    match sqlx::query("SELECT 1")
        .execute(app.service.store().pool())
        .await
    {
        Ok(_) => (axum::http::StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable\n",
            )
        }
    }
}

//! `/api/v1/status`, `/healthz`, `/readyz`.

use super::error::{ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
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
    pub counts: Counts,
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
        applied_revision: None,
        dataplane: rt.dataplane.clone(),
        counts: Counts {
            virtual_servers: state.virtual_servers.len(),
            real_servers: state.real_server_count(),
            vrrp_groups: state.vrrp_groups.len(),
        },
    }))
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

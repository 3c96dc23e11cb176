//! `/api/v1/dataplane` (the kernel table as observed, with counters) and `/api/v1/plan` (what the next
//! reconcile pass would change).

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use director_core::model::Role;
use serde::Serialize;
use utoipa::ToSchema;

/// The kernel table as observed now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataplaneView {
    /// ipvs or memory.
    pub dataplane: String,
    /// Services with their destinations, counters and connection counts (the kernel's own view).
    #[schema(value_type = Object)]
    pub table: director_kernel_table::Table,
    /// The VIP interface and the addresses director bound on it (those of virtual servers without a VRRP
    /// group; `ip addr` shows the VRRP groups' too).
    pub vip_interface: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub vips: Vec<std::net::IpAddr>,
}

/// What the next reconcile pass would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// The desired-state revision the plan was computed from.
    pub revision: u64,
    /// Operations, in the order they would be applied.
    #[schema(value_type = Vec<Object>)]
    pub ops: Vec<director_reconcile::Op>,
    /// One line per operation, as `director plan` prints them.
    pub summary: Vec<String>,
    /// Desired services already in the kernel that director did not create: adopted without change.
    pub adopted: Vec<String>,
    /// Kernel services director neither owns nor wants: left alone.
    pub unmanaged: Vec<String>,
}

/// The reconciler, if it programs an IPVS table (without one, it only binds VRRP's addresses).
pub(super) fn with_table(
    app: &AppState,
) -> Result<&std::sync::Arc<director_runtime::reconciler::Reconciler>, ApiError> {
    app.reconciler
        .as_ref()
        .filter(|r| r.dataplane().has_table())
        .ok_or_else(|| no_dataplane(app))
}

fn no_dataplane(app: &AppState) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_dataplane",
        format!(
            "no dataplane runs on this node: {}",
            app.runtime.dataplane.detail
        ),
    )
}

#[utoipa::path(get, operation_id = "getDataplane", path = "/api/v1/dataplane", tag = "status",
    responses((status = 200, body = DataplaneView), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn observed(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<DataplaneView>> {
    director_service::require(&actor, Role::Viewer)?;
    let r = with_table(&app)?;
    let (table, mut vips) = r.observed().await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "dataplane",
            format!("reading the kernel table: {e}"),
        )
    })?;
    Ok(Json(DataplaneView {
        dataplane: r.dataplane().kind().to_string(),
        table,
        vip_interface: r.vip_interface().map(str::to_string),
        vips: r
            .vip_interface()
            .and_then(|i| vips.remove(i))
            .map(|v| v.into_iter().collect())
            .unwrap_or_default(),
    }))
}

#[utoipa::path(get, operation_id = "getPlan", path = "/api/v1/plan", tag = "status",
    responses((status = 200, body = PlanView), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn plan(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<PlanView>> {
    director_service::require(&actor, Role::Viewer)?;
    let r = with_table(&app)?;
    let (revision, plan) = r.preview().await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "dataplane",
            format!("reading the kernel table: {e}"),
        )
    })?;
    Ok(Json(PlanView {
        revision,
        summary: plan.ops.iter().map(ToString::to_string).collect(),
        ops: plan.ops,
        adopted: plan.adopted.iter().map(ToString::to_string).collect(),
        unmanaged: plan.unmanaged.iter().map(ToString::to_string).collect(),
    }))
}

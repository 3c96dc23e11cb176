//! `/api/v1/audit`: the audit log, newest first: the changes by default, the health and VRRP transitions
//! with `source`.

use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiQuery, Auth};
use super::AppState;
use axum::extract::State;
use axum::Json;
use director_service::store::{AuditEntry, AuditFilter};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "listAudit", path = "/api/v1/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult<Json<AuditPage>> {
    let (items, next_cursor) = app.service.audit(&actor, &filter).await?;
    Ok(Json(AuditPage { items, next_cursor }))
}

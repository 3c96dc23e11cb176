//! `/api/v1/connections`: the kernel's connection table (`ipvsadm -Lnc`), filtered and paged. The table can
//! hold millions of entries: each page is one pass over it that holds only the page.

use super::dataplane::with_table;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiQuery, Auth};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use director_core::model::Role;
use director_runtime::connections::{ConnectionList, ConnectionQuery, QueryError};

/// A refused query: an unknown virtual server is 404, anything else 400; both name the field.
pub fn query_error(e: QueryError) -> ApiError {
    let status = match e {
        QueryError::UnknownVirtualServer(_) => StatusCode::NOT_FOUND,
        QueryError::Invalid { .. } => StatusCode::BAD_REQUEST,
    };
    let code = if status == StatusCode::NOT_FOUND {
        "not_found"
    } else {
        "bad_request"
    };
    ApiError::new(status, code, e.to_string()).with_field(e.field())
}

#[utoipa::path(get, operation_id = "listConnections", path = "/api/v1/connections", tag = "status",
    params(ConnectionQuery),
    responses((status = 200, body = ConnectionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<ConnectionQuery>,
) -> ApiResult<Json<ConnectionList>> {
    director_service::require(&actor, Role::Viewer)?;
    let state = app.service.snapshot();
    let page = query.page(&state).map_err(query_error)?;
    let r = with_table(&app)?;
    let page = r.connections(page).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "dataplane",
            format!("reading the connection table: {e}"),
        )
    })?;
    Ok(Json(ConnectionList::new(page, &state)))
}

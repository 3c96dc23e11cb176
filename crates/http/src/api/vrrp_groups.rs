//! `/api/v1/vrrp-groups`.

use super::error::{ApiResult, ErrorBody};
use super::extract::{Auth, IfMatch, JsonBody};
use super::{created, with_etag, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use director_core::model::{Role, VrrpGroup};
use director_runtime::views::{VrrpGroupList, VrrpGroupView};

#[utoipa::path(get, operation_id = "listVrrpGroups", path = "/api/v1/vrrp-groups", tag = "vrrp-groups",
    responses((status = 200, body = VrrpGroupList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Response> {
    director_service::require(&actor, Role::Viewer)?;
    let state = app.service.snapshot();
    let items = state
        .vrrp_groups
        .values()
        .map(|g| VrrpGroupView::new(g, actor.visibility()))
        .collect();
    Ok(with_etag(
        state.revision,
        &VrrpGroupList {
            items,
            revision: state.revision,
        },
    ))
}

#[utoipa::path(post, operation_id = "createVrrpGroup", path = "/api/v1/vrrp-groups", tag = "vrrp-groups", request_body = VrrpGroup,
    responses((status = 201, body = VrrpGroupView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    body: JsonBody,
) -> ApiResult<Response> {
    let group: VrrpGroup = body.parse_for(&actor, director_service::Scope::AdminOnly)?;
    let record = app.service.create_vrrp_group(&actor, group).await?;
    let location = format!("/api/v1/vrrp-groups/{}", record.spec.name);
    Ok(created(
        &location,
        record.revision,
        &VrrpGroupView::new(&record, actor.visibility()),
    ))
}

#[utoipa::path(get, operation_id = "getVrrpGroup", path = "/api/v1/vrrp-groups/{name}", tag = "vrrp-groups", params(("name" = String, Path)),
    responses((status = 200, body = VrrpGroupView, headers(("ETag" = String))), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let record = app.service.get_vrrp_group(&actor, &name)?;
    Ok(with_etag(
        record.revision,
        &VrrpGroupView::new(&record, actor.visibility()),
    ))
}

#[utoipa::path(put, operation_id = "replaceVrrpGroup", path = "/api/v1/vrrp-groups/{name}", tag = "vrrp-groups", request_body = VrrpGroup,
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = VrrpGroupView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
    body: JsonBody,
) -> ApiResult<Response> {
    let group: VrrpGroup = body.parse_for(&actor, director_service::Scope::AdminOnly)?;
    let record = app
        .service
        .replace_vrrp_group(&actor, &name, group, if_match)
        .await?;
    Ok(with_etag(
        record.revision,
        &VrrpGroupView::new(&record, actor.visibility()),
    ))
}

#[utoipa::path(patch, operation_id = "patchVrrpGroup", path = "/api/v1/vrrp-groups/{name}", tag = "vrrp-groups",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "RFC 7396 merge patch"),
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = VrrpGroupView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    let record = app
        .service
        .patch_vrrp_group(&actor, &name, &patch, if_match)
        .await?;
    Ok(with_etag(
        record.revision,
        &VrrpGroupView::new(&record, actor.visibility()),
    ))
}

#[utoipa::path(delete, operation_id = "deleteVrrpGroup", path = "/api/v1/vrrp-groups/{name}", tag = "vrrp-groups",
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<StatusCode> {
    app.service
        .delete_vrrp_group(&actor, &name, if_match)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/virtual-servers` and their real servers.

use super::chunks::Chunks;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiQuery, Auth, IfMatch, JsonBody};
use super::{created, with_etag, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use director_core::model::{Protocol, RealServer, RealServerKey, VirtualServer};
use director_runtime::views::{
    RealServerList, RealServerView, ViewCache, VirtualServerList, VirtualServerView,
};
use director_service::Scope;
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the virtual-server list. Pages are ordered by name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Names containing this text.
    pub q: Option<String>,
    pub protocol: Option<Protocol>,
    /// Virtual address.
    pub address: Option<String>,
    pub port: Option<u32>,
    pub fwmark: Option<u32>,
    pub vrrp_group: Option<String>,
    pub enabled: Option<bool>,
    /// Virtual servers with a real server at this address.
    pub real_server: Option<String>,
    /// 1..1000, default 100.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "listVirtualServers", path = "/api/v1/virtual-servers", tag = "virtual-servers", params(ListQuery),
    responses((status = 200, body = VirtualServerList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    director_service::require(&actor, director_core::model::Role::Viewer)?;
    let limit = q.limit.unwrap_or(director_service::DEFAULT_PAGE);
    if !(1..=director_service::MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "limit must be between 1 and 1000",
        )
        .with_field("limit"));
    }
    if q.port.is_some_and(|p| p > 65535) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "port must be between 0 and 65535",
        )
        .with_field("port"));
    }
    let address = q
        .address
        .as_deref()
        .map(|a| a.parse::<std::net::IpAddr>())
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "address is not an IP address",
            )
            .with_field("address")
        })?;
    let real_server = q
        .real_server
        .as_deref()
        .map(|a| a.parse::<std::net::IpAddr>())
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "real_server is not an IP address",
            )
            .with_field("real_server")
        })?;
    let state = app.service.snapshot();
    let start = match &q.cursor {
        Some(c) => std::ops::Bound::Excluded(c.clone()),
        None => std::ops::Bound::Unbounded,
    };
    let health = app.health.snapshot();
    let mut items: Vec<std::sync::Arc<[u8]>> = Vec::new();
    let mut last: Option<&str> = None;
    let mut next_cursor = None;
    for (name, record) in state
        .virtual_servers
        .range::<_, String>((start, std::ops::Bound::Unbounded))
    {
        let vs = &record.spec;
        let keep = q.q.as_deref().is_none_or(|t| name.contains(t))
            && q.protocol.is_none_or(|p| vs.protocol == Some(p))
            && address.is_none_or(|a| vs.address == Some(a))
            && q.port.is_none_or(|p| vs.port == Some(p))
            && q.fwmark.is_none_or(|m| vs.fwmark == Some(m))
            && q.vrrp_group
                .as_deref()
                .is_none_or(|g| vs.vrrp_group.as_deref() == Some(g))
            && q.enabled.is_none_or(|e| vs.enabled == e)
            && real_server.is_none_or(|a| vs.real_servers.iter().any(|r| r.address == a));
        if !keep {
            continue;
        }
        if items.len() == limit as usize {
            next_cursor = last;
            break;
        }
        items.push(
            VIEWS
                .json(record, &app.runtime.started_at, &health, actor.visibility())
                .map_err(serialize_error)?,
        );
        last = Some(&vs.name);
    }
    VIEWS.prune(&state);
    let body = list_body(items, next_cursor, state.revision).map_err(serialize_error)?;
    Ok(json_with_etag(state.revision, body))
}

/// The views of the listed virtual servers, serialized once per change (see [`ViewCache`]).
static VIEWS: std::sync::LazyLock<ViewCache> = std::sync::LazyLock::new(ViewCache::default);

fn serialize_error(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "cannot serialize a response");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "cannot serialize the response",
    )
}

/// The JSON of a [`VirtualServerList`] whose items are already serialized, as chunks that share them.
fn list_body(
    items: Vec<std::sync::Arc<[u8]>>,
    next_cursor: Option<&str>,
    revision: u64,
) -> Result<Chunks, serde_json::Error> {
    let mut body = Chunks::with_capacity(2 * items.len() + 4);
    body.push_static(b"{\"items\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            body.push_static(b",");
        }
        body.push(bytes::Bytes::from_owner(item));
    }
    body.push_static(b"]");
    let mut tail = Vec::with_capacity(64);
    if let Some(c) = next_cursor {
        tail.extend_from_slice(b",\"next_cursor\":");
        serde_json::to_writer(&mut tail, c)?;
    }
    tail.extend_from_slice(format!(",\"revision\":{revision}}}").as_bytes());
    body.push(tail.into());
    Ok(body)
}

/// A JSON body already serialized, with an `ETag` of `revision` (as [`with_etag`] answers).
fn json_with_etag(revision: u64, body: Chunks) -> Response {
    use axum::http::{header, HeaderValue};
    let mut response = Response::new(axum::body::Body::new(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        headers.insert(header::ETAG, v);
    }
    response
}

#[utoipa::path(post, operation_id = "createVirtualServer", path = "/api/v1/virtual-servers", tag = "virtual-servers", request_body = VirtualServer,
    responses((status = 201, body = VirtualServerView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    body: JsonBody,
) -> ApiResult<Response> {
    let vs: VirtualServer = body.parse_for(&actor, Scope::AdminOnly)?;
    let record = app.service.create_virtual_server(&actor, vs).await?;
    let location = format!("/api/v1/virtual-servers/{}", record.spec.name);
    Ok(created(
        &location,
        record.revision,
        &VirtualServerView::new(&record, &app.runtime.started_at, actor.visibility())
            .with_health(&app.health.snapshot_of(&record.spec.name)),
    ))
}

#[utoipa::path(get, operation_id = "getVirtualServer", path = "/api/v1/virtual-servers/{name}", tag = "virtual-servers",
    params(("name" = String, Path)),
    responses((status = 200, body = VirtualServerView, headers(("ETag" = String))), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let record = app.service.get_virtual_server(&actor, &name)?;
    Ok(with_etag(
        record.revision,
        &VirtualServerView::new(&record, &app.runtime.started_at, actor.visibility())
            .with_health(&app.health.snapshot_of(&record.spec.name)),
    ))
}

#[utoipa::path(put, operation_id = "replaceVirtualServer", path = "/api/v1/virtual-servers/{name}", tag = "virtual-servers", request_body = VirtualServer,
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = VirtualServerView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
    body: JsonBody,
) -> ApiResult<Response> {
    let vs: VirtualServer = body.parse_for(&actor, Scope::VirtualServer)?;
    let record = app
        .service
        .replace_virtual_server(&actor, &name, vs, if_match)
        .await?;
    Ok(with_etag(
        record.revision,
        &VirtualServerView::new(&record, &app.runtime.started_at, actor.visibility())
            .with_health(&app.health.snapshot_of(&record.spec.name)),
    ))
}

#[utoipa::path(patch, operation_id = "patchVirtualServer", path = "/api/v1/virtual-servers/{name}", tag = "virtual-servers",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "RFC 7396 merge patch"),
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = VirtualServerView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody),
        (status = 422, body = ErrorBody)),
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
        .patch_virtual_server(&actor, &name, &patch, if_match)
        .await?;
    Ok(with_etag(
        record.revision,
        &VirtualServerView::new(&record, &app.runtime.started_at, actor.visibility())
            .with_health(&app.health.snapshot_of(&record.spec.name)),
    ))
}

#[utoipa::path(delete, operation_id = "deleteVirtualServer", path = "/api/v1/virtual-servers/{name}", tag = "virtual-servers",
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
        .delete_virtual_server(&actor, &name, if_match)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn endpoint(text: &str) -> ApiResult<RealServerKey> {
    text.parse().map_err(|m: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m).with_field("endpoint")
    })
}

fn rs_view(
    app: &AppState,
    actor: &director_service::Actor,
    record: &director_core::state::VirtualServerRecord,
    key: &RealServerKey,
) -> ApiResult<Response> {
    let rs = record.spec.real_server(key).cloned().ok_or_else(|| {
        ApiError::not_found(format!("real server {}/{key} not found", record.spec.name))
    })?;
    let view = RealServerView::new(
        record,
        &record.spec,
        rs,
        &app.runtime.started_at,
        actor.visibility(),
    )
    .with_health(
        &record.spec.name,
        &app.health.snapshot_of(&record.spec.name),
    );
    Ok(with_etag(view.revision, &view))
}

#[utoipa::path(get, operation_id = "listRealServers", path = "/api/v1/virtual-servers/{name}/real-servers", tag = "real-servers",
    params(("name" = String, Path)),
    responses((status = 200, body = RealServerList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let record = app.service.get_virtual_server(&actor, &name)?;
    let items = record
        .spec
        .real_servers
        .iter()
        .map(|rs| {
            RealServerView::new(
                &record,
                &record.spec,
                rs.clone(),
                &app.runtime.started_at,
                actor.visibility(),
            )
            .with_health(
                &record.spec.name,
                &app.health.snapshot_of(&record.spec.name),
            )
        })
        .collect();
    Ok(with_etag(
        record.revision,
        &RealServerList {
            items,
            revision: record.revision,
        },
    ))
}

#[utoipa::path(post, operation_id = "createRealServer", path = "/api/v1/virtual-servers/{name}/real-servers", tag = "real-servers",
    request_body = RealServer, params(("name" = String, Path)),
    responses((status = 201, body = RealServerView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    let rs: RealServer = body.parse_for(&actor, Scope::AdminOnly)?;
    let key = rs.key();
    let record = app.service.create_real_server(&actor, &name, rs).await?;
    let rs = record
        .spec
        .real_server(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("real server vanished"))?;
    let view = RealServerView::new(
        &record,
        &record.spec,
        rs,
        &app.runtime.started_at,
        actor.visibility(),
    )
    .with_health(
        &record.spec.name,
        &app.health.snapshot_of(&record.spec.name),
    );
    Ok(created(
        &format!("/api/v1/virtual-servers/{name}/real-servers/{key}"),
        view.revision,
        &view,
    ))
}

#[utoipa::path(get, operation_id = "getRealServer", path = "/api/v1/virtual-servers/{name}/real-servers/{endpoint}", tag = "real-servers",
    params(("name" = String, Path), ("endpoint" = String, Path, description = "192.168.10.120:80 or [2001:db8::1]:80")),
    responses((status = 200, body = RealServerView, headers(("ETag" = String))), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((name, ep)): Path<(String, String)>,
) -> ApiResult<Response> {
    let key = endpoint(&ep)?;
    let (record, _) = app.service.get_real_server(&actor, &name, &key)?;
    rs_view(&app, &actor, &record, &key)
}

#[utoipa::path(put, operation_id = "replaceRealServer", path = "/api/v1/virtual-servers/{name}/real-servers/{endpoint}", tag = "real-servers",
    request_body = RealServer,
    params(("name" = String, Path), ("endpoint" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = RealServerView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((name, ep)): Path<(String, String)>,
    IfMatch(if_match): IfMatch,
    body: JsonBody,
) -> ApiResult<Response> {
    director_service::require(&actor, Scope::RealServer.role())?;
    let key = endpoint(&ep)?;
    let rs: RealServer = body.parse_for(&actor, Scope::RealServer)?;
    let record = app
        .service
        .replace_real_server(&actor, &name, &key, rs, if_match)
        .await?;
    rs_view(&app, &actor, &record, &key)
}

#[utoipa::path(patch, operation_id = "patchRealServer", path = "/api/v1/virtual-servers/{name}/real-servers/{endpoint}", tag = "real-servers",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "RFC 7396 merge patch, e.g. {\"weight\": 5}"),
    params(("name" = String, Path), ("endpoint" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = RealServerView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((name, ep)): Path<(String, String)>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    let key = endpoint(&ep)?;
    let record = app
        .service
        .patch_real_server(&actor, &name, &key, &patch, if_match)
        .await?;
    rs_view(&app, &actor, &record, &key)
}

#[utoipa::path(delete, operation_id = "deleteRealServer", path = "/api/v1/virtual-servers/{name}/real-servers/{endpoint}", tag = "real-servers",
    params(("name" = String, Path), ("endpoint" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_real(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((name, ep)): Path<(String, String)>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<StatusCode> {
    let key = endpoint(&ep)?;
    app.service
        .delete_real_server(&actor, &name, &key, if_match)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/hosts`: backend hosts (the addresses of real servers) across every virtual server, and draining
//! or undraining one everywhere as one change.

use super::error::{ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
use axum::extract::{Path, State};
use axum::Json;
use director_service::{parse_host_address, Host, HostChange};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HostList {
    /// Every address that is a real server somewhere, in address order, with its real servers.
    pub items: Vec<Host>,
}

#[utoipa::path(get, operation_id = "listHosts", path = "/api/v1/hosts", tag = "hosts",
    responses((status = 200, body = HostList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<HostList>> {
    Ok(Json(HostList {
        items: app.service.hosts(&actor)?,
    }))
}

/// Drains the host everywhere: every real server with this address (any port), in every virtual server,
/// gets weight 0 in one change (one revision, one audit entry per real server). Open connections finish.
/// A drained host stays as it is (`changed: false`).
#[utoipa::path(post, operation_id = "drainHost", path = "/api/v1/hosts/{address}/drain", tag = "hosts",
    params(("address" = String, Path, description = "IPv4 or IPv6 address of the host")),
    responses((status = 200, body = HostChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "No real server has this address")),
    security(("bearer" = [])))]
pub async fn drain(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(address): Path<String>,
) -> ApiResult<Json<HostChange>> {
    director_service::require(&actor, director_core::model::Role::Operator)?;
    let address = parse_host_address(&address)?;
    Ok(Json(app.service.drain_host(&actor, address).await?))
}

/// Undrains the host everywhere: each of its real servers at weight 0 gets back the weight it had before its
/// last drain (from the audit log; 1 when none is recorded), in one change. Real servers with a weight are
/// left alone.
#[utoipa::path(post, operation_id = "undrainHost", path = "/api/v1/hosts/{address}/undrain", tag = "hosts",
    params(("address" = String, Path, description = "IPv4 or IPv6 address of the host")),
    responses((status = 200, body = HostChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "No real server has this address")),
    security(("bearer" = [])))]
pub async fn undrain(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(address): Path<String>,
) -> ApiResult<Json<HostChange>> {
    director_service::require(&actor, director_core::model::Role::Operator)?;
    let address = parse_host_address(&address)?;
    Ok(Json(app.service.undrain_host(&actor, address).await?))
}

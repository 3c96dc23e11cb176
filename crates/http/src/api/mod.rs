//! The REST API (axum): routes, extractors and error mapping. Handlers are thin: they parse, call the service
//! layer and render the runtime's views (`director_runtime::views`).

mod audit;
mod chunks;
pub mod connections;
mod contract;
mod dataplane;
pub mod docs;
mod error;
mod extract;
mod hosts;
pub mod status;
mod tokens;
mod users;
mod virtual_servers;
mod vrrp_groups;

pub use error::{ApiError, ApiResult};
pub use extract::ClientAddr;

use crate::routes::{ADMIN, OPERATOR, PUBLIC, VIEWER};
use crate::state::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Where the REST API is served.
pub const API_BASE: &str = "/api/v1";

crate::routes::routes! {
    /// Every route of the REST API (under [`API_BASE`]), with who may call it. A unit test in `contract.rs`
    /// checks that the OpenAPI document lists the same routes.
    pub const ROUTES; fn api_routes;
    "/auth/login" => post(users::login, PUBLIC);
    "/auth/logout" => post(users::logout, VIEWER);
    "/status" => get(status::status, VIEWER);
    "/virtual-servers" =>
        get(virtual_servers::list, VIEWER),
        post(virtual_servers::create, ADMIN);
    "/virtual-servers/{name}" =>
        get(virtual_servers::get, VIEWER),
        put(virtual_servers::replace, OPERATOR),
        patch(virtual_servers::patch, OPERATOR),
        delete(virtual_servers::delete, ADMIN);
    "/virtual-servers/{name}/real-servers" =>
        get(virtual_servers::list_real, VIEWER),
        post(virtual_servers::create_real, ADMIN);
    "/virtual-servers/{name}/real-servers/{endpoint}" =>
        get(virtual_servers::get_real, VIEWER),
        put(virtual_servers::replace_real, OPERATOR),
        patch(virtual_servers::patch_real, OPERATOR),
        delete(virtual_servers::delete_real, ADMIN);
    "/hosts" => get(hosts::list, VIEWER);
    "/hosts/{address}/drain" => post(hosts::drain, OPERATOR);
    "/hosts/{address}/undrain" => post(hosts::undrain, OPERATOR);
    "/vrrp-groups" =>
        get(vrrp_groups::list, VIEWER),
        post(vrrp_groups::create, ADMIN);
    "/vrrp-groups/{name}" =>
        get(vrrp_groups::get, VIEWER),
        put(vrrp_groups::replace, ADMIN),
        patch(vrrp_groups::patch, ADMIN),
        delete(vrrp_groups::delete, ADMIN);
    "/audit" => get(audit::list, VIEWER);
    "/dataplane" => get(dataplane::observed, VIEWER);
    "/connections" => get(connections::list, VIEWER);
    "/plan" => get(dataplane::plan, VIEWER);
    "/users" =>
        get(users::list, ADMIN),
        post(users::create, ADMIN);
    "/users/{name}" =>
        get(users::get, ADMIN),
        patch(users::patch, ADMIN),
        delete(users::delete, ADMIN);
    "/tokens" => get(tokens::list, ADMIN);
    "/tokens/{id}" =>
        get(tokens::get, ADMIN),
        delete(tokens::revoke, ADMIN);
}

/// A JSON response with an `ETag` of the object's revision.
pub fn with_etag<T: Serialize>(revision: u64, body: &T) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// 201 with `Location` and `ETag`.
pub fn created<T: Serialize>(location: &str, revision: u64, body: &T) -> Response {
    let mut response = with_etag(revision, body);
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

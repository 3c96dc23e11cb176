//! The REST API (axum): routes, extractors, views and error mapping. Handlers are thin: they parse, call the
//! service layer and render.

mod audit;
mod chunks;
mod contract;
mod dataplane;
pub mod docs;
mod error;
mod extract;
pub mod routes;
mod status;
mod tokens;
mod users;
pub mod views;
mod virtual_servers;
mod vrrp_groups;

pub use error::{ApiError, ApiResult};
pub use extract::ClientAddr;

use crate::reconciler::Reconciler;
use crate::runtime::Runtime;
use crate::service::Service;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use routes::{ADMIN, OPERATOR, PUBLIC, VIEWER};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub runtime: Arc<Runtime>,
    /// None without a dataplane.
    pub reconciler: Option<Arc<Reconciler>>,
    /// The health checker of the real servers.
    pub health: Arc<director_health::Engine>,
    /// This node's VRRP instances (a disabled handle with `--vrrp off`).
    pub vrrp: crate::vrrp::VrrpHandle,
    /// The web UI's own state (counter history for the charts).
    pub web: crate::web::WebContext,
    /// `/metrics`: access setting, HTTP request counters, peer-lag source.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Peer sync: the peers' status (disabled without `--peers`).
    pub sync: crate::sync::Sync,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub body_bytes: usize,
    pub request_timeout: Duration,
}

/// Where the REST API is served.
pub const API_BASE: &str = "/api/v1";

routes::routes! {
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

pub fn router(state: AppState, limits: Limits) -> Router {
    let metrics = state.metrics.clone();
    let api = api_routes()
        .fallback(|| async { ApiError::not_found("no such API route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        });
    Router::new()
        .nest(API_BASE, api)
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(status::readyz))
        .route("/metrics", get(crate::metrics::handler))
        // At the top level, so that `/api/v1/docs` redirects to `/api/v1/docs/` (nested, it would point to
        // `/docs/`). It also serves the document at `/api/v1/openapi.json`.
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
                .external_url_unchecked("/api/v1/openapi.json", docs::openapi()),
        )
        .merge(crate::web::router())
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        // Outermost, so 408 and 413 answers are counted too; `layer` wraps each route, so the matched
        // route template is known.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track_requests,
        ))
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

//! The REST API (axum): routes, extractors, views and error mapping. Handlers are thin: they parse, call the
//! service layer and render.

mod audit;
mod chunks;
mod contract;
mod dataplane;
pub mod docs;
mod error;
mod extract;
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

pub fn router(state: AppState, limits: Limits) -> Router {
    use axum::routing::post;
    let metrics = state.metrics.clone();
    let api = Router::new()
        .route("/auth/login", post(users::login))
        .route("/auth/logout", post(users::logout))
        .route("/status", get(status::status))
        .route(
            "/virtual-servers",
            get(virtual_servers::list).post(virtual_servers::create),
        )
        .route(
            "/virtual-servers/{name}",
            get(virtual_servers::get)
                .put(virtual_servers::replace)
                .patch(virtual_servers::patch)
                .delete(virtual_servers::delete),
        )
        .route(
            "/virtual-servers/{name}/real-servers",
            get(virtual_servers::list_real).post(virtual_servers::create_real),
        )
        .route(
            "/virtual-servers/{name}/real-servers/{endpoint}",
            get(virtual_servers::get_real)
                .put(virtual_servers::replace_real)
                .patch(virtual_servers::patch_real)
                .delete(virtual_servers::delete_real),
        )
        .route(
            "/vrrp-groups",
            get(vrrp_groups::list).post(vrrp_groups::create),
        )
        .route(
            "/vrrp-groups/{name}",
            get(vrrp_groups::get)
                .put(vrrp_groups::replace)
                .patch(vrrp_groups::patch)
                .delete(vrrp_groups::delete),
        )
        .route("/audit", get(audit::list))
        .route("/dataplane", get(dataplane::observed))
        .route("/plan", get(dataplane::plan))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{name}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route("/tokens", get(tokens::list))
        .route("/tokens/{id}", get(tokens::get).delete(tokens::revoke))
        .fallback(|| async { ApiError::not_found("no such API route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        });
    Router::new()
        .nest("/api/v1", api)
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

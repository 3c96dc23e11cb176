//! The HTTP edge's one router: the REST API under `/api/v1`, its OpenAPI document and Swagger UI, the probes
//! (`/healthz`, `/readyz`), `/metrics` and the web UI, with the limits and layers they share.

use crate::state::{AppState, Limits};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP service of the daemon.
pub fn router(state: AppState, limits: Limits) -> Router {
    let metrics = state.metrics.clone();
    let api = crate::api::api_routes()
        .fallback(|| async { crate::api::ApiError::not_found("no such API route") })
        .method_not_allowed_fallback(|| async {
            crate::api::ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        });
    Router::new()
        .nest(crate::api::API_BASE, api)
        .route("/healthz", get(crate::api::status::healthz))
        .route("/readyz", get(crate::api::status::readyz))
        .route("/metrics", get(crate::metrics::scrape::handler))
        // At the top level, so that `/api/v1/docs` redirects to `/api/v1/docs/` (nested, it would point to
        // `/docs/`). It also serves the document at `/api/v1/openapi.json`.
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
                .external_url_unchecked("/api/v1/openapi.json", crate::api::docs::openapi()),
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

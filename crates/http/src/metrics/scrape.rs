//! `GET /metrics`: access control, then one scrape of the daemon's state, collected and rendered off the
//! request threads.

use super::{collect, text, MetricsAccess};
use crate::api::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use director_service::{bearer_token, Via};
use std::sync::Arc;

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.metrics.access() {
        MetricsAccess::Open => {}
        MetricsAccess::Off => {
            return ApiError::not_found("metrics are turned off (--metrics off)").into_response()
        }
        MetricsAccess::Token => {
            if let Err(e) = authenticate(&state, &headers).await {
                return e.into_response();
            }
        }
    }
    match scrape(&state).await {
        Ok(body) => {
            let mut response = body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(text::CONTENT_TYPE),
            );
            response
        }
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e).into_response(),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let unauthenticated = |m: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m).with_field("Authorization")
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthenticated("a bearer token is required to read the metrics (--metrics token)")
    })?;
    let token = bearer_token(value.as_bytes())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    state.service.authenticate(token, Via::Rest).await?;
    Ok(())
}

/// Reads everything, then collects and renders on a blocking thread (large tables make long texts).
async fn scrape(state: &AppState) -> Result<String, String> {
    let snapshot = state.service.snapshot();
    // Read before the table: a scrape that says a revision is applied shows a table at least that new.
    let applied_revision = state.service.applied_revision();
    let mut kernel = None;
    let mut reconcile = None;
    if let Some(r) = &state.reconciler {
        reconcile = Some((r.status(), r.pass_durations()));
    }
    if let Some(r) = state
        .reconciler
        .as_ref()
        .filter(|r| r.dataplane().has_table())
    {
        let (table, fresh) = match r.observed().await {
            Ok((t, _)) => (Some(Arc::new(t)), true),
            Err(e) => {
                tracing::debug!(error = %e, "metrics: reading the kernel table failed; reporting the last one");
                (state.service.observed(), false)
            }
        };
        if let Some(table) = table {
            let effective = r.effective(&table);
            kernel = Some((table, fresh, effective));
        }
    }
    let health = state.health.snapshot();
    let health_stats = state.health.stats();
    let vrrp = state.vrrp.status();
    let requests = state.metrics.http.counts();
    let request_durations = state.metrics.http.durations();
    let peers = state.metrics.peers();
    let runtime = state.runtime.clone();
    tokio::task::spawn_blocking(move || {
        let scrape = collect::Scrape {
            runtime: &runtime,
            state: &snapshot,
            applied_revision,
            kernel: kernel
                .as_ref()
                .map(|(table, fresh, effective)| collect::KernelView {
                    table,
                    fresh: *fresh,
                    effective: Some(effective),
                }),
            reconcile: reconcile
                .as_ref()
                .map(|(status, durations)| collect::ReconcileView {
                    status,
                    pass_durations: durations,
                }),
            health: &health,
            health_stats,
            vrrp: &vrrp,
            requests: &requests,
            request_durations: &request_durations,
            peers: peers.as_deref(),
        };
        text::render(&collect::collect(&scrape))
    })
    .await
    .map_err(|e| format!("rendering the metrics: {e}"))
}

//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4).
//!
//! No global registry: at each scrape the handler reads the daemon's state (desired state, a fresh kernel
//! dump, the reconciler's status and effective table, the health checker, the VRRP status board, the HTTP
//! counters, the peers) and [`collect`] maps it to families that [`text`] renders. Only what has no other
//! home is accumulated here: the HTTP request counters ([`http`]) and the peer-lag source that peer sync
//! feeds ([`Metrics::set_peer_source`]). The pass-duration histogram lives in the reconciler.
//!
//! Access (`--metrics`, `DIRECTOR_METRICS`): `open` (default; Prometheus scrapes without credentials),
//! `token` (a bearer token of any role, e.g. a viewer service token from `director token create`), `off`
//! (404).

pub mod collect;
pub mod histogram;
pub mod http;
pub mod text;

pub use histogram::{Histogram, HistogramSnapshot};
pub use http::track_requests;

use crate::api::{ApiError, AppState};
use crate::service::{bearer_token, Via};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MetricsAccess {
    /// Anyone who reaches the HTTP listener (as Prometheus scrapes by default).
    #[default]
    Open,
    /// Callers with a bearer token of any role.
    Token,
    /// Not served (404).
    Off,
}

/// What peer sync reports about one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerLag {
    /// The peer's node name.
    pub peer: String,
    /// Whether sync with the peer currently works.
    pub up: bool,
    /// How far the peer's copy of the desired state is behind ours; `None` when unknown.
    pub lag: Option<Duration>,
}

/// Called at each scrape for the current state of every peer.
pub type PeerLagSource = Arc<dyn Fn() -> Vec<PeerLag> + Send + Sync>;

/// The metrics state of the daemon. Cheap to share (`Arc`).
pub struct Metrics {
    access: MetricsAccess,
    http: http::HttpMetrics,
    peers: RwLock<Option<PeerLagSource>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(access: MetricsAccess) -> Arc<Self> {
        Arc::new(Metrics {
            access,
            http: http::HttpMetrics::default(),
            peers: RwLock::new(None),
        })
    }

    pub fn access(&self) -> MetricsAccess {
        self.access
    }

    /// Where `director_sync_peer_up` and `director_sync_peer_lag_seconds` come from (until set, both
    /// families are empty). The source runs at every scrape: keep it cheap (read a snapshot, no IO).
    pub fn set_peer_source(&self, source: PeerLagSource) {
        if let Ok(mut p) = self.peers.write() {
            *p = Some(source);
        }
    }

    fn peers(&self) -> Option<Vec<PeerLag>> {
        let source = self.peers.read().ok().and_then(|p| p.clone())?;
        Some(source())
    }
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.metrics.access {
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

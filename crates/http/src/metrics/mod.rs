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
pub mod http;
pub mod scrape;
pub mod text;

pub use director_runtime::histogram::{Histogram, HistogramSnapshot};
pub use http::track_requests;

use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

    pub(crate) fn peers(&self) -> Option<Vec<PeerLag>> {
        let source = self.peers.read().ok().and_then(|p| p.clone())?;
        Some(source())
    }
}

//! What every handler of the HTTP edge reads: the service, the runtime's parts, and the edge's own state.

use director_runtime::daemon::Runtime;
use director_runtime::reconciler::Reconciler;
use director_service::Service;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub runtime: Arc<Runtime>,
    /// None without a dataplane.
    pub reconciler: Option<Arc<Reconciler>>,
    /// The health checker of the real servers.
    pub health: Arc<director_health::Engine>,
    /// This node's VRRP instances (a disabled handle with `--vrrp off`).
    pub vrrp: director_runtime::vrrp::VrrpHandle,
    /// The web UI's own state (counter history for the charts).
    pub web: crate::web::history::WebContext,
    /// `/metrics`: access setting, HTTP request counters, peer-lag source.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Peer sync: the peers' status (disabled without `--peers`).
    pub sync: director_runtime::sync::Sync,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub body_bytes: usize,
    pub request_timeout: Duration,
}

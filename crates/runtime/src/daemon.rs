//! Facts about the running daemon that the API reports.

use serde::Serialize;
use std::time::Instant;
use utoipa::ToSchema;

/// Which dataplane runs, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataplaneInfo {
    /// What `--dataplane` asked for: auto, ipvs or none.
    pub requested: String,
    /// What runs: ipvs or none.
    pub active: String,
    /// Why, in words (shown in the log, the status and the UI).
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Runtime {
    pub node: String,
    pub version: &'static str,
    /// RFC 3339.
    pub started_at: String,
    pub started: Instant,
    pub dataplane: DataplaneInfo,
}

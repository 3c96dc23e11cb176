//! What the reconciler reports in `/api/v1/status`.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One pass.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PassReport {
    /// RFC 3339.
    pub at: String,
    /// The desired-state revision the pass worked from.
    pub revision: u64,
    pub duration_us: u64,
    /// Operations applied, by kind (new_service, set_service, del_service, new_dest, set_dest, del_dest,
    /// add_vip, del_vip).
    pub ops: BTreeMap<String, u64>,
    pub errors: Vec<String>,
    /// Kernel services director neither owns nor wants, left alone.
    pub unmanaged: Vec<String>,
}

impl PassReport {
    pub fn new(revision: u64) -> Self {
        PassReport {
            at: crate::service::now(),
            revision,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ReconcileStatus {
    /// ipvs or memory.
    pub dataplane: String,
    /// The revision the kernel has reached.
    pub applied_revision: Option<u64>,
    pub passes: u64,
    /// Operations applied since start, by kind.
    pub operations: BTreeMap<String, u64>,
    pub errors: u64,
    pub last_pass: Option<PassReport>,
    /// The last pass that changed something or failed.
    pub last_change: Option<PassReport>,
}

impl ReconcileStatus {
    pub fn record(&mut self, report: &PassReport, applied: Option<u64>) {
        self.passes += 1;
        self.applied_revision = applied;
        for (k, n) in &report.ops {
            *self.operations.entry(k.clone()).or_default() += n;
        }
        self.errors += report.errors.len() as u64;
        if !report.ops.is_empty() || !report.errors.is_empty() {
            self.last_change = Some(report.clone());
        }
        self.last_pass = Some(report.clone());
    }
}

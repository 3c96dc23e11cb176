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
    /// add_vip, del_vip, start_sync_daemon, stop_sync_daemon).
    pub ops: BTreeMap<String, u64>,
    pub errors: Vec<String>,
    /// Kernel services director neither owns nor wants, left alone.
    pub unmanaged: Vec<String>,
}

impl PassReport {
    pub fn new(revision: u64) -> Self {
        PassReport {
            at: director_service::now(),
            revision,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ReconcileStatus {
    /// ipvs, memory or none (no IPVS table: addresses only).
    pub dataplane: String,
    /// The revision the kernel has reached.
    pub applied_revision: Option<u64>,
    pub passes: u64,
    /// Operations applied since start, by kind.
    pub operations: BTreeMap<String, u64>,
    pub errors: u64,
    /// The last pass failed (a kernel read or an operation): the kernel is not at the desired revision and
    /// `applied_revision` stays at the last revision a pass applied in full.
    pub failing: bool,
    /// The last pass that failed, with its errors (kept after later passes succeed).
    pub last_failure: Option<PassReport>,
    pub last_pass: Option<PassReport>,
    /// The last pass that changed something or failed.
    pub last_change: Option<PassReport>,
    /// The IPVS connection-synchronisation daemons running after the last pass that read the kernel,
    /// master first.
    pub sync_daemons: Vec<SyncDaemonStatus>,
}

/// An IPVS connection-synchronisation daemon (`ipvsadm --list --daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncDaemonStatus {
    /// `master` (sends this node's connections) or `backup` (receives the master's).
    pub state: String,
    pub interface: String,
    pub sync_id: u32,
    /// As the kernel reports them (null before Linux 4.3).
    pub max_packet_len: Option<u16>,
    pub mcast_group: Option<String>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
    /// Started (or adopted) by director for a VRRP group's `connection_sync`; false: started by someone
    /// else and left alone.
    pub managed: bool,
}

impl SyncDaemonStatus {
    pub fn of(d: &director_kernel_table::SyncDaemon, managed: bool) -> Self {
        SyncDaemonStatus {
            state: d.state.name().to_string(),
            interface: d.interface.clone(),
            sync_id: d.sync_id,
            max_packet_len: d.max_packet_len,
            mcast_group: d.mcast_group.map(|g| g.to_string()),
            mcast_port: d.mcast_port,
            mcast_ttl: d.mcast_ttl,
            managed,
        }
    }
}

impl ReconcileStatus {
    pub fn record(&mut self, report: &PassReport, applied: Option<u64>) {
        self.passes += 1;
        self.applied_revision = applied;
        for (k, n) in &report.ops {
            *self.operations.entry(k.clone()).or_default() += n;
        }
        self.errors += report.errors.len() as u64;
        self.failing = !report.errors.is_empty();
        if self.failing {
            self.last_failure = Some(report.clone());
        }
        if !report.ops.is_empty() || !report.errors.is_empty() {
            self.last_change = Some(report.clone());
        }
        self.last_pass = Some(report.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(revision: u64, errors: &[&str]) -> PassReport {
        PassReport {
            revision,
            errors: errors.iter().map(|e| e.to_string()).collect(),
            ..PassReport::new(revision)
        }
    }

    #[test]
    fn a_failed_pass_is_failing_until_one_succeeds_and_stays_on_record() {
        let mut s = ReconcileStatus::default();
        s.record(&pass(3, &[]), Some(3));
        assert!(!s.failing);
        s.record(&pass(4, &["set_dest: refused"]), Some(3));
        assert!(s.failing);
        assert_eq!(
            s.applied_revision,
            Some(3),
            "the failed revision is not applied"
        );
        assert_eq!(s.errors, 1);
        s.record(&pass(4, &[]), Some(4));
        assert!(!s.failing);
        let failure = s.last_failure.as_ref().expect("kept on record");
        assert_eq!((failure.revision, failure.errors.len()), (4, 1));
    }
}

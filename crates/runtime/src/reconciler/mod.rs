//! The reconcile loop: on every desired-state revision, health or role change, and on a periodic resync, it
//! computes the desired kernel table (pure), reads the kernel once, plans the difference (pure) and applies it.
//! Level-triggered: it never replays events, so drift made by hand is repaired on the next pass.

mod ownership;
mod status;

pub use status::{PassReport, ReconcileStatus};

use crate::dataplane::{Dataplane, DataplaneError};
use director_core::model::RealServerKey;
use director_kernel_table::{ServiceKey, Table};
use director_reconcile::{
    desired_kernel, plan, DesiredKernel, Health, Inputs, Op, Plan, PlanContext,
};
use director_service::Service;
use ownership::Ownership;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Whether this node is master of a VRRP group (`None`: VRRP does not run here).
pub type RoleFn = Arc<dyn Fn(&str) -> Option<bool> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct ReconcilerConfig {
    pub node: String,
    /// Periodic pass even without changes, to repair drift.
    pub resync: Duration,
    /// Where VIPs of virtual servers without a VRRP group are bound.
    pub vip_interface: Option<String>,
    /// Delete kernel services director neither owns nor wants.
    pub remove_unmanaged: bool,
    /// On stop, remove what director owns (by default the table stays, so traffic flows on).
    pub clear_on_stop: bool,
    /// Where the set of services director created is kept across restarts.
    pub ownership_file: PathBuf,
}

pub struct Reconciler {
    service: Arc<Service>,
    dataplane: Arc<dyn Dataplane>,
    config: ReconcilerConfig,
    ownership: Mutex<Ownership>,
    health: RwLock<Option<Arc<director_health::Engine>>>,
    roles: RwLock<Option<RoleFn>>,
    below_quorum: watch::Sender<Arc<BTreeSet<String>>>,
    status: watch::Sender<Arc<ReconcileStatus>>,
    wake: Notify,
    /// Durations of the passes, for `/metrics`.
    pass_durations: crate::histogram::Histogram,
}

/// The conditions of one pass, read once at its start.
struct LiveInputs {
    /// The checker's states; real servers without an entry (no check) count as up.
    health: Option<director_health::Snapshot>,
    roles: Option<RoleFn>,
    below: Arc<BTreeSet<String>>,
    /// Real servers in the kernel right now. One that has not been checked since this daemon started keeps
    /// the kernel's view (up), so a restart never pulls servers out while their first checks run.
    in_kernel: std::collections::HashSet<(String, RealServerKey)>,
    /// Real servers with a health check. One the checker does not know yet (the pass ran before the checker
    /// took the new desired state) is unknown, not up: `alpha` keeps it out until its first success.
    checked: std::collections::HashSet<(String, RealServerKey)>,
}

impl LiveInputs {
    fn state(&self, vs: &str, rs: &RealServerKey) -> Option<&director_health::HealthState> {
        self.health
            .as_ref()?
            .get(&director_health::TargetId::new(vs, *rs))
    }
}

impl Inputs for LiveInputs {
    fn health(&self, vs: &str, rs: &RealServerKey) -> Health {
        match self.state(vs, rs) {
            None if self.checked.contains(&(vs.to_string(), *rs))
                && !self.in_kernel.contains(&(vs.to_string(), *rs)) =>
            {
                Health::Unknown
            }
            None => Health::Up,
            Some(s) => match s.status {
                director_health::Status::Up => Health::Up,
                director_health::Status::Down => Health::Down,
                director_health::Status::Unknown
                    if s.checks == 0 && self.in_kernel.contains(&(vs.to_string(), *rs)) =>
                {
                    Health::Up
                }
                director_health::Status::Unknown => Health::Unknown,
            },
        }
    }
    fn dynamic_weight(&self, vs: &str, rs: &RealServerKey) -> Option<u32> {
        self.state(vs, rs).and_then(|s| s.dynamic_weight)
    }
    fn is_master(&self, group: &str) -> Option<bool> {
        self.roles.as_ref().and_then(|r| r(group))
    }
    fn was_below_quorum(&self, vs: &str) -> bool {
        self.below.contains(vs)
    }
}

impl Reconciler {
    pub fn new(
        service: Arc<Service>,
        dataplane: Arc<dyn Dataplane>,
        config: ReconcilerConfig,
    ) -> Arc<Self> {
        let ownership = Ownership::load(&config.ownership_file);
        let status = ReconcileStatus {
            dataplane: dataplane.kind().to_string(),
            ..Default::default()
        };
        Arc::new(Reconciler {
            service,
            dataplane,
            ownership: Mutex::new(ownership),
            config,
            health: RwLock::new(None),
            roles: RwLock::new(None),
            below_quorum: watch::channel(Arc::new(BTreeSet::new())).0,
            status: watch::channel(Arc::new(status)).0,
            wake: Notify::new(),
            pass_durations: crate::histogram::Histogram::new(crate::histogram::PASS_BUCKETS),
        })
    }

    pub fn dataplane(&self) -> &Arc<dyn Dataplane> {
        &self.dataplane
    }

    pub fn vip_interface(&self) -> Option<&str> {
        self.config.vip_interface.as_deref()
    }

    /// Where real-server health comes from (until set, every real server counts as up).
    pub fn set_health(&self, health: Arc<director_health::Engine>) {
        if let Ok(mut h) = self.health.write() {
            *h = Some(health);
        }
        self.wake();
    }

    /// Where VRRP roles come from (until set, virtual servers of a group run on every member).
    pub fn set_roles(&self, roles: RoleFn) {
        if let Ok(mut r) = self.roles.write() {
            *r = Some(roles);
        }
        self.wake();
    }

    /// Asks for a pass now (a health or role change).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The virtual servers below their quorum after the last pass.
    pub fn below_quorum(&self) -> watch::Receiver<Arc<BTreeSet<String>>> {
        self.below_quorum.subscribe()
    }

    pub fn status(&self) -> Arc<ReconcileStatus> {
        self.status.borrow().clone()
    }

    /// How long the passes took since start.
    pub fn pass_durations(&self) -> crate::histogram::HistogramSnapshot {
        self.pass_durations.snapshot()
    }

    /// The table this node wants given `observed` (health, roles and quorum applied): the effective weights.
    pub fn effective(&self, observed: &Table) -> DesiredKernel {
        self.desired(observed).1
    }

    /// Runs passes until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut revisions = self.service.subscribe();
        let mut resync = tokio::time::interval(self.config.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                changed = revisions.changed() => if changed.is_err() { break },
                _ = self.wake.notified() => {}
                _ = resync.tick() => {}
            }
            self.pass().await;
        }
        if self.config.clear_on_stop {
            self.clear().await;
        }
    }

    fn inputs(&self, state: &director_core::DesiredState, observed: &Table) -> LiveInputs {
        let by_key: std::collections::HashMap<&ServiceKey, &director_kernel_table::ServiceEntry> =
            observed
                .services
                .iter()
                .map(|e| (&e.service.key, e))
                .collect();
        let mut in_kernel = std::collections::HashSet::new();
        let checked = director_health::targets(state)
            .into_iter()
            .map(|t| (t.id.virtual_server, t.id.real_server))
            .collect();
        for (name, record) in &state.virtual_servers {
            let Some(entry) =
                director_reconcile::service_key(&record.spec).and_then(|k| by_key.get(&k).copied())
            else {
                continue;
            };
            for d in &entry.destinations {
                let key = RealServerKey {
                    address: d.destination.address,
                    port: d.destination.port,
                };
                in_kernel.insert((name.clone(), key));
            }
        }
        LiveInputs {
            health: self
                .health
                .read()
                .ok()
                .and_then(|h| h.as_ref().map(|e| e.snapshot())),
            roles: self.roles.read().ok().and_then(|r| r.clone()),
            below: self.below_quorum.borrow().clone(),
            in_kernel,
            checked,
        }
    }

    fn desired(&self, observed: &Table) -> (u64, DesiredKernel) {
        let state = self.service.snapshot();
        (
            state.revision,
            desired_kernel(&state, &self.config.node, &self.inputs(&state, observed)),
        )
    }

    /// Reads the kernel once: its table and the VIPs director bound.
    async fn observe(&self) -> Result<(Table, BTreeSet<std::net::IpAddr>), DataplaneError> {
        let dp = self.dataplane.clone();
        let vip_if = self.config.vip_interface.clone();
        tokio::task::spawn_blocking(move || {
            let table = dp.dump()?;
            let vips = match &vip_if {
                Some(i) => dp.bound_vips(i)?,
                None => BTreeSet::new(),
            };
            Ok((table, vips))
        })
        .await
        .unwrap_or_else(|e| {
            Err(DataplaneError::Refused {
                op: "dump".into(),
                reason: e.to_string(),
            })
        })
    }

    /// The set of services director created. A panic elsewhere while it was held leaves it usable (whole
    /// keys are inserted and removed): it is recovered rather than skipped, since forgetting what director
    /// owns would leave its services behind as unmanaged.
    fn ownership(&self) -> std::sync::MutexGuard<'_, Ownership> {
        self.ownership.lock().unwrap_or_else(|poisoned| {
            tracing::warn!("the ownership set was poisoned by a panic; recovering it");
            poisoned.into_inner()
        })
    }

    fn context(&self, bound_vips: BTreeSet<std::net::IpAddr>) -> PlanContext {
        PlanContext {
            owned: self.ownership().services().clone(),
            remove_unmanaged: self.config.remove_unmanaged,
            vip_interface: self.config.vip_interface.clone(),
            bound_vips,
        }
    }

    /// What the next pass would do, without doing it.
    pub async fn preview(&self) -> Result<(u64, Plan), DataplaneError> {
        let (observed, vips) = self.observe().await?;
        let (revision, desired) = self.desired(&observed);
        Ok((revision, plan(&desired, &observed, &self.context(vips))))
    }

    /// The kernel table as it is now, with counters.
    pub async fn observed(&self) -> Result<(Table, BTreeSet<std::net::IpAddr>), DataplaneError> {
        self.observe().await
    }

    /// One pass: desired, observe, plan, apply.
    pub async fn pass(&self) -> PassReport {
        let started = Instant::now();
        let (observed, vips) = match self.observe().await {
            Ok(o) => o,
            Err(e) => {
                let mut report = PassReport::new(self.service.snapshot().revision);
                report.errors.push(format!("reading the kernel table: {e}"));
                return self.finish(report, started);
            }
        };
        let (revision, desired) = self.desired(&observed);
        self.below_quorum.send_if_modified(|b| {
            let changed = **b != desired.below_quorum;
            if changed {
                *b = Arc::new(desired.below_quorum.clone());
            }
            changed
        });
        let mut report = PassReport::new(revision);
        let plan = plan(&desired, &observed, &self.context(vips));
        report.unmanaged = plan.unmanaged.iter().map(ToString::to_string).collect();
        let observed_keys: BTreeSet<ServiceKey> = observed
            .services
            .iter()
            .map(|e| e.service.key.clone())
            .collect();
        self.service.set_observed(Arc::new(observed));
        let dp = self.dataplane.clone();
        let ops = plan.ops.clone();
        let n = ops.len();
        let results = match tokio::task::spawn_blocking(move || {
            ops.iter()
                .map(|op| (op.clone(), apply_one(dp.as_ref(), op)))
                .collect::<Vec<_>>()
        })
        .await
        {
            Ok(results) => results,
            Err(e) => {
                // What the task applied before it died is unknown: the pass failed, and the next one reads
                // the kernel afresh.
                tracing::error!(error = %e, ops = n, "applying the plan failed");
                report
                    .errors
                    .push(format!("applying {n} operations failed: {e}"));
                Vec::new()
            }
        };
        {
            let mut own = self.ownership();
            for key in &plan.adopted {
                own.insert(key.clone());
            }
            for (op, result) in &results {
                match (op, result) {
                    (Op::NewService { service }, Ok(())) => own.insert(service.key.clone()),
                    (Op::DelService { key }, Ok(())) => own.remove(key),
                    _ => {}
                }
            }
            // Services that vanished and are no longer wanted are no longer ours.
            let gone: Vec<ServiceKey> = own
                .services()
                .iter()
                .filter(|k| !observed_keys.contains(*k) && !desired.services.contains_key(*k))
                .cloned()
                .collect();
            for k in gone {
                own.remove(&k);
            }
            if let Err(e) = own.save() {
                report.errors.push(format!(
                    "saving {}: {e}",
                    self.config.ownership_file.display()
                ));
            }
        }
        for (op, result) in results {
            match result {
                Ok(()) => *report.ops.entry(op.kind().to_string()).or_default() += 1,
                Err(e) => {
                    tracing::warn!(%op, error = %e, "kernel operation failed");
                    report.errors.push(e);
                }
            }
        }
        self.finish(report, started)
    }

    /// Records the pass in the status, then (if it succeeded) announces the revision as applied: whoever
    /// sees the new applied revision also sees the pass that applied it.
    fn finish(&self, mut report: PassReport, started: Instant) -> PassReport {
        let elapsed = started.elapsed();
        self.pass_durations.observe(elapsed);
        report.duration_us = elapsed.as_micros() as u64;
        if !report.ops.is_empty() || !report.errors.is_empty() {
            tracing::info!(revision = report.revision, ops = ?report.ops, errors = report.errors.len(), duration_us = report.duration_us, "reconcile pass");
        }
        let applied = if report.errors.is_empty() {
            Some(report.revision)
        } else {
            self.service.applied_revision()
        };
        self.status.send_modify(|s| {
            let s = Arc::make_mut(s);
            s.record(&report, applied);
        });
        if report.errors.is_empty() {
            self.service.set_applied(report.revision);
        }
        report
    }

    /// Removes everything director owns (services and VIPs): `--clear-on-stop`.
    async fn clear(&self) {
        let owned: Vec<ServiceKey> = self.ownership().services().iter().cloned().collect();
        let vips = match self.observe().await {
            Ok((_, vips)) => vips,
            Err(_) => BTreeSet::new(),
        };
        let mut ops: Vec<Op> = owned
            .into_iter()
            .map(|key| Op::DelService { key })
            .collect();
        if let Some(i) = &self.config.vip_interface {
            ops.extend(vips.into_iter().map(|address| Op::DelVip {
                interface: i.clone(),
                address,
            }));
        }
        let dp = self.dataplane.clone();
        let n = ops.len();
        let failed = tokio::task::spawn_blocking(move || {
            ops.iter().filter(|op| dp.apply(op).is_err()).count()
        })
        .await
        .unwrap_or(n);
        {
            let mut own = self.ownership();
            own.clear();
            if let Err(e) = own.save() {
                tracing::warn!(file = %self.config.ownership_file.display(), error = %e, "cannot save the emptied ownership set");
            }
        }
        tracing::info!(
            removed = n - failed,
            failed,
            "cleared director's services and VIPs on stop"
        );
    }
}

/// One operation, a panic in the dataplane included: it fails this operation (named in the error) and the
/// pass, never the loop.
fn apply_one(dp: &dyn Dataplane, op: &Op) -> Result<(), String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dp.apply(op))) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(format!("{op}: the dataplane panicked: {why}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::MemoryDataplane;
    use director_core::model::{Role, VirtualServer};
    use director_service::auth::Tokens;
    use director_service::store::Store;
    use director_service::{Actor, Via};

    /// How the dataplane answers a new real server.
    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        Refuse,
        Panic,
    }

    /// The in-memory dataplane, with a fault on `NewDest` when asked.
    struct Faulty {
        inner: MemoryDataplane,
        fault: Mutex<Fault>,
    }

    impl Dataplane for Faulty {
        fn kind(&self) -> &'static str {
            "memory"
        }
        fn dump(&self) -> Result<Table, DataplaneError> {
            self.inner.dump()
        }
        fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
            let fault = *self.fault.lock().unwrap();
            match (op, fault) {
                (Op::NewDest { .. }, Fault::Refuse) => Err(DataplaneError::Refused {
                    op: op.to_string(),
                    reason: "Cannot allocate memory".into(),
                }),
                (Op::NewDest { .. }, Fault::Panic) => panic!("boom"),
                _ => self.inner.apply(op),
            }
        }
        fn bound_vips(
            &self,
            interface: &str,
        ) -> Result<BTreeSet<std::net::IpAddr>, DataplaneError> {
            self.inner.bound_vips(interface)
        }
    }

    struct Bench {
        _dir: tempfile::TempDir,
        service: Arc<Service>,
        dataplane: Arc<Faulty>,
        reconciler: Arc<Reconciler>,
    }

    async fn bench() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("d.db")).await.unwrap();
        let service = Arc::new(
            Service::open(store, "lvs-01".into(), Tokens::new(&[7u8; 32]), 3600)
                .await
                .unwrap(),
        );
        let dataplane = Arc::new(Faulty {
            inner: MemoryDataplane::new(),
            fault: Mutex::new(Fault::None),
        });
        let reconciler = Reconciler::new(
            service.clone(),
            dataplane.clone(),
            ReconcilerConfig {
                node: "lvs-01".into(),
                resync: Duration::from_secs(3600),
                vip_interface: None,
                remove_unmanaged: false,
                clear_on_stop: false,
                ownership_file: dir.path().join("owned.json"),
            },
        );
        Bench {
            _dir: dir,
            service,
            dataplane,
            reconciler,
        }
    }

    async fn add_virtual_server(b: &Bench, name: &str, last: u8) {
        let vs: VirtualServer = serde_json::from_value(serde_json::json!({
            "name": name, "protocol": "tcp", "address": format!("10.0.0.{last}"), "port": 80,
            "real_servers": [{"address": "10.0.1.1", "port": 80}]
        }))
        .unwrap();
        let admin = Actor::new("admin", Role::Admin, Via::Rest);
        b.service.create_virtual_server(&admin, vs).await.unwrap();
    }

    fn set_fault(b: &Bench, fault: Fault) {
        *b.dataplane.fault.lock().unwrap() = fault;
    }

    #[tokio::test]
    async fn a_refused_or_panicking_operation_leaves_the_revision_unapplied_with_the_error() {
        let b = bench().await;
        add_virtual_server(&b, "web", 1).await;
        let first = b.reconciler.pass().await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        let mut applied = b.service.applied_revision();
        assert_eq!(applied, Some(first.revision));

        for (fault, says) in [
            (Fault::Refuse, "Cannot allocate memory"),
            (Fault::Panic, "the dataplane panicked: boom"),
        ] {
            add_virtual_server(&b, &format!("vs-{}", says.len()), says.len() as u8).await;
            set_fault(&b, fault);
            let report = b.reconciler.pass().await;
            assert!(
                report.errors.iter().any(|e| e.contains(says)),
                "{:?}",
                report.errors
            );
            let status = b.reconciler.status();
            assert!(status.failing);
            assert_eq!(status.applied_revision, applied, "not applied");
            assert_eq!(b.service.applied_revision(), applied);
            let failure = status
                .last_failure
                .as_ref()
                .expect("the failure is on record");
            assert_eq!(failure.revision, report.revision);

            // The fault gone, the next pass applies the revision.
            set_fault(&b, Fault::None);
            let report = b.reconciler.pass().await;
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            assert!(!b.reconciler.status().failing);
            assert_eq!(b.service.applied_revision(), Some(report.revision));
            applied = Some(report.revision);
        }
    }

    #[tokio::test]
    async fn a_poisoned_ownership_set_still_records_what_the_pass_created() {
        let b = bench().await;
        let r = b.reconciler.clone();
        std::thread::spawn(move || {
            let _held = r.ownership.lock();
            panic!("poisoning the ownership set");
        })
        .join()
        .unwrap_err();
        assert!(b.reconciler.ownership.is_poisoned());
        add_virtual_server(&b, "web", 1).await;
        let report = b.reconciler.pass().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(b.reconciler.ownership().services().len(), 1);
    }
}

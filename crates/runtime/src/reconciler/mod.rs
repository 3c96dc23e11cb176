//! The reconcile loop: on every desired-state revision, health or VRRP role change, and on a periodic resync,
//! it computes the desired kernel (pure: IPVS services, and the VIPs by interface), reads the kernel once,
//! plans the difference (pure) and applies it through the dataplane. Level-triggered: it never replays events,
//! so drift made by hand is repaired on the next pass.
//!
//! It is the kernel's one writer: VRRP only decides roles. A VRRP instance that changes role asks for a pass
//! at once ([`BoundWatch::request`]); the pass binds the VIPs of the groups this node is master of (and
//! releases the others', wherever director bound them), then publishes what is bound, from which the new
//! master learns when to announce its addresses ([`BoundWatch`]).
//!
//! On stop, the IPVS table stays (unless `--clear-on-stop`), but the addresses follow VRRP until it has
//! stopped: a master hands over by releasing its VIPs.

mod bound;
mod ownership;
mod status;

pub use bound::{Bound, BoundWatch};
pub use status::{PassReport, ReconcileStatus, SyncDaemonStatus};

use crate::dataplane::{BoundVips, Dataplane, DataplaneError};
use bound::Passes;
use director_core::model::RealServerKey;
use director_kernel_table::{ServiceKey, SyncState, Table};
use director_reconcile::{
    desired_kernel, plan, DesiredKernel, Health, Host, Inputs, Op, Plan, PlanContext,
};
use director_service::Service;
use ownership::Ownership;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

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
    /// Numbers the passes, wakes the loop, publishes what each pass left bound.
    passes: Passes,
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
            passes: Passes::new(),
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
        self.passes.wake().notify_one();
    }

    /// What VRRP instances watch: ask for a pass, learn what it bound.
    pub fn bound(&self) -> BoundWatch {
        self.passes.watch()
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

    /// Runs passes until `shutdown` resolves; then, until `vrrp_stopped` resolves, only releases the addresses
    /// VRRP gives up (a stopping master's), once more at the end, and clears if asked to.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()>,
        vrrp_stopped: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        tokio::pin!(vrrp_stopped);
        let mut revisions = self.service.subscribe();
        let mut resync = tokio::time::interval(self.config.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wake = self.passes.wake();
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                changed = revisions.changed() => if changed.is_err() { break },
                _ = wake.notified() => {}
                _ = resync.tick() => {}
            }
            self.pass().await;
        }
        loop {
            tokio::select! {
                _ = &mut vrrp_stopped => break,
                _ = wake.notified() => {}
            }
            self.run_pass(Mode::Release).await;
        }
        self.run_pass(Mode::Release).await;
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
        let host = Host {
            node: &self.config.node,
            vip_interface: self.config.vip_interface.as_deref(),
            ipvs: self.dataplane.has_table(),
        };
        (
            state.revision,
            desired_kernel(&state, &host, &self.inputs(&state, observed)),
        )
    }

    /// Reads the kernel once: its table (unless `addresses_only`, or there is none) and the VIPs director
    /// bound, on every interface.
    async fn read(&self, addresses_only: bool) -> Result<(Table, BoundVips), DataplaneError> {
        let dp = self.dataplane.clone();
        tokio::task::spawn_blocking(move || {
            let table = if addresses_only {
                Table::default()
            } else {
                dp.dump()?
            };
            Ok((table, dp.bound_vips()?))
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

    fn context(&self, bound_vips: BoundVips) -> PlanContext {
        let own = self.ownership();
        PlanContext {
            owned: own.services().clone(),
            owned_sync_daemons: own.sync_daemons().clone(),
            remove_unmanaged: self.config.remove_unmanaged,
            bound_vips,
        }
    }

    /// What the next pass would do, without doing it.
    pub async fn preview(&self) -> Result<(u64, Plan), DataplaneError> {
        let (observed, vips) = self.read(false).await?;
        let (revision, desired) = self.desired(&observed);
        Ok((revision, plan(&desired, &observed, &self.context(vips))))
    }

    /// The kernel table as it is now, with counters, and the addresses director bound.
    pub async fn observed(&self) -> Result<(Table, BoundVips), DataplaneError> {
        self.read(false).await
    }

    /// One page of the kernel's connection table: one pass over it on a blocking thread, holding only the
    /// page (`PageBuilder`). Reading writes nothing, so it does not wait for a pass.
    pub async fn connections(
        &self,
        mut page: crate::dataplane::PageBuilder,
    ) -> Result<director_kernel_table::connections::ConnectionPage, DataplaneError> {
        let dp = self.dataplane.clone();
        tokio::task::spawn_blocking(move || {
            dp.connections(&mut page)?;
            Ok(page.finish())
        })
        .await
        .unwrap_or_else(|e| {
            Err(DataplaneError::Refused {
                op: "reading the connection table".into(),
                reason: e.to_string(),
            })
        })
    }

    /// One pass: desired, observe, plan, apply.
    pub async fn pass(&self) -> PassReport {
        self.run_pass(Mode::Full).await
    }

    async fn run_pass(&self, mode: Mode) -> PassReport {
        let started = Instant::now();
        // Numbered before the roles are read (in `desired`): see `BoundWatch::request`.
        let number = self.passes.start();
        let table = self.dataplane.has_table() && mode == Mode::Full;
        let (observed, vips) = match self.read(!table).await {
            Ok(o) => o,
            Err(e) => {
                let mut report = PassReport::new(self.service.snapshot().revision);
                report.errors.push(format!("reading the kernel: {e}"));
                return self.finish(report, started, false);
            }
        };
        let (revision, desired) = self.desired(&observed);
        if table {
            self.below_quorum.send_if_modified(|b| {
                let changed = **b != desired.below_quorum;
                if changed {
                    *b = Arc::new(desired.below_quorum.clone());
                }
                changed
            });
        }
        let mut report = PassReport::new(revision);
        let mut plan = plan(&desired, &observed, &self.context(vips.clone()));
        if mode == Mode::Release {
            plan.ops.retain(|op| matches!(op, Op::DelVip { .. }));
        }
        report.unmanaged = plan.unmanaged.iter().map(ToString::to_string).collect();
        let observed_keys: BTreeSet<ServiceKey> = observed
            .services
            .iter()
            .map(|e| e.service.key.clone())
            .collect();
        let observed_daemons = observed.sync_daemons.clone();
        if table {
            self.service.set_observed(Arc::new(observed));
        }
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
        let mut bound = vips;
        for (op, result) in &results {
            match (op, result) {
                (Op::AddVip { interface, address }, Ok(())) => {
                    bound.entry(interface.clone()).or_default().insert(*address);
                }
                (Op::DelVip { interface, address }, Ok(())) => {
                    if let Some(b) = bound.get_mut(interface) {
                        b.remove(address);
                    }
                }
                _ => {}
            }
        }
        self.passes.publish(number, bound);
        if table {
            let mut own = self.ownership();
            for key in &plan.adopted {
                own.insert(key.clone());
            }
            // A wanted daemon already running as wanted is adopted, as a matching service is.
            for (state, want) in &desired.sync_daemons {
                if observed_daemons
                    .iter()
                    .any(|d| d.state == *state && want.satisfied_by(d))
                {
                    own.insert_sync_daemon(*state);
                }
            }
            let mut running = observed_daemons.clone();
            for (op, result) in &results {
                match (op, result) {
                    (Op::NewService { service }, Ok(())) => own.insert(service.key.clone()),
                    (Op::DelService { key }, Ok(())) => own.remove(key),
                    (Op::StartSyncDaemon { daemon }, Ok(())) => {
                        own.insert_sync_daemon(daemon.state);
                        running.push(daemon.clone());
                    }
                    (Op::StopSyncDaemon { state }, Ok(())) => {
                        own.remove_sync_daemon(*state);
                        running.retain(|d| d.state != *state);
                    }
                    _ => {}
                }
            }
            // Daemons that stopped by themselves (or by hand) are no longer ours.
            for state in SyncState::ALL {
                if !running.iter().any(|d| d.state == state) {
                    own.remove_sync_daemon(state);
                }
            }
            running.sort_by_key(|d| d.state);
            let owned_daemons = own.sync_daemons().clone();
            self.status.send_modify(|s| {
                Arc::make_mut(s).sync_daemons = running
                    .iter()
                    .map(|d| SyncDaemonStatus::of(d, owned_daemons.contains(&d.state)))
                    .collect();
            });
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
        self.finish(report, started, table)
    }

    /// Records the pass in the status, then (if it succeeded and brought the IPVS table to the desired
    /// revision: not without a table, nor while stopping) announces the revision as applied: whoever sees the
    /// new applied revision also sees the pass that applied it.
    fn finish(&self, mut report: PassReport, started: Instant, applies: bool) -> PassReport {
        let elapsed = started.elapsed();
        self.pass_durations.observe(elapsed);
        report.duration_us = elapsed.as_micros() as u64;
        if !report.ops.is_empty() || !report.errors.is_empty() {
            tracing::info!(revision = report.revision, ops = ?report.ops, errors = report.errors.len(), duration_us = report.duration_us, "reconcile pass");
        }
        let applies = applies && report.errors.is_empty();
        let applied = if applies {
            Some(report.revision)
        } else {
            self.service.applied_revision()
        };
        self.status.send_modify(|s| {
            let s = Arc::make_mut(s);
            s.record(&report, applied);
        });
        if applies {
            self.service.set_applied(report.revision);
        }
        report
    }

    /// Removes everything director owns (services, sync daemons, and VIPs on every interface):
    /// `--clear-on-stop`.
    async fn clear(&self) {
        let (owned, daemons): (Vec<ServiceKey>, Vec<SyncState>) = {
            let own = self.ownership();
            (
                own.services().iter().cloned().collect(),
                own.sync_daemons().iter().copied().collect(),
            )
        };
        let vips = match self.read(true).await {
            Ok((_, vips)) => vips,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list director's addresses to clear them");
                BoundVips::new()
            }
        };
        let mut ops: Vec<Op> = owned
            .into_iter()
            .map(|key| Op::DelService { key })
            .chain(
                daemons
                    .into_iter()
                    .map(|state| Op::StopSyncDaemon { state }),
            )
            .collect();
        for (interface, addresses) in vips {
            ops.extend(addresses.into_iter().map(|address| Op::DelVip {
                interface: interface.clone(),
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
            "cleared director's services, sync daemons and VIPs on stop"
        );
    }
}

/// What a pass may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything the plan says.
    Full,
    /// Only release addresses (while stopping: the table stays, a stopping master gives its VIPs up).
    Release,
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
    use std::collections::BTreeMap;

    /// How the dataplane answers a new real server.
    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        Refuse,
        Panic,
        /// Binding an address fails.
        NoDevice,
    }

    /// The in-memory dataplane, with a fault on `NewDest` (or `AddVip`) when asked; without a table (`none`)
    /// when `table` is off.
    struct Faulty {
        inner: MemoryDataplane,
        fault: Mutex<Fault>,
        table: bool,
    }

    impl Dataplane for Faulty {
        fn kind(&self) -> &'static str {
            if self.table {
                "memory"
            } else {
                "none"
            }
        }
        fn has_table(&self) -> bool {
            self.table
        }
        fn dump(&self) -> Result<Table, DataplaneError> {
            if self.table {
                self.inner.dump()
            } else {
                Ok(Table::default())
            }
        }
        fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
            let fault = *self.fault.lock().unwrap();
            let refused = |reason: &str| {
                Err(DataplaneError::Refused {
                    op: op.to_string(),
                    reason: reason.into(),
                })
            };
            match (op, fault) {
                (Op::NewDest { .. }, Fault::Refuse) => refused("Cannot allocate memory"),
                (Op::NewDest { .. }, Fault::Panic) => panic!("boom"),
                (Op::AddVip { .. } | Op::StartSyncDaemon { .. }, Fault::NoDevice) => {
                    refused("No such device")
                }
                (Op::AddVip { .. } | Op::DelVip { .. }, _) => self.inner.apply(op),
                _ if !self.table => refused("no IPVS dataplane on this node"),
                _ => self.inner.apply(op),
            }
        }
        fn bound_vips(&self) -> Result<BoundVips, DataplaneError> {
            self.inner.bound_vips()
        }

        fn connections(
            &self,
            page: &mut crate::dataplane::PageBuilder,
        ) -> Result<(), DataplaneError> {
            self.inner.connections(page)
        }
    }

    struct Bench {
        _dir: tempfile::TempDir,
        service: Arc<Service>,
        dataplane: Arc<Faulty>,
        reconciler: Arc<Reconciler>,
    }

    async fn bench() -> Bench {
        bench_with(true, None).await
    }

    async fn bench_with(table: bool, vip_interface: Option<&str>) -> Bench {
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
            table,
        });
        let reconciler = Reconciler::new(
            service.clone(),
            dataplane.clone(),
            ReconcilerConfig {
                node: "lvs-01".into(),
                resync: Duration::from_secs(3600),
                vip_interface: vip_interface.map(str::to_string),
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

    /// A group `vi-1` of lvs-01 on `bond0` with VIP 10.0.0.1, the virtual server `web` on it, and `plain`
    /// (10.0.0.2) without a group; the roles from `master`.
    async fn group_and_servers(b: &Bench) -> Arc<std::sync::atomic::AtomicBool> {
        let admin = Actor::new("admin", Role::Admin, Via::Rest);
        let g: director_core::model::VrrpGroup = serde_json::from_value(serde_json::json!({
            "name": "vi-1", "vrid": 51, "virtual_addresses": ["10.0.0.1"], "interface": "eth0",
            "members": [{"node": "lvs-01", "interface": "bond0"}, {"node": "lvs-02"}]
        }))
        .unwrap();
        b.service.create_vrrp_group(&admin, g).await.unwrap();
        let web: VirtualServer = serde_json::from_value(serde_json::json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "vrrp_group": "vi-1",
            "real_servers": [{"address": "10.0.1.1", "port": 80}]
        }))
        .unwrap();
        b.service.create_virtual_server(&admin, web).await.unwrap();
        add_virtual_server(b, "plain", 2).await;
        let master = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let m = master.clone();
        b.reconciler.set_roles(Arc::new(move |_: &str| {
            Some(m.load(std::sync::atomic::Ordering::SeqCst))
        }));
        master
    }

    fn addresses(b: &Bench) -> Vec<String> {
        b.dataplane
            .bound_vips()
            .unwrap()
            .into_iter()
            .flat_map(|(i, a)| a.into_iter().map(move |a| format!("{a} on {i}")))
            .collect()
    }

    #[tokio::test]
    async fn the_vips_of_a_group_follow_its_role_and_the_new_master_learns_when_they_are_bound() {
        let b = bench_with(true, Some("eth9")).await;
        let master = group_and_servers(&b).await;
        let mut watch = b.reconciler.bound();
        let vip: std::net::IpAddr = "10.0.0.1".parse().unwrap();

        // Backup: the group's virtual server and address are absent; the plain one is there.
        let report = b.reconciler.pass().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(addresses(&b), ["10.0.0.2 on eth9"]);
        assert_eq!(b.dataplane.dump().unwrap().services.len(), 1);

        // Master: the instance asks for a pass; the pass binds the address once, on the member's interface,
        // and reports it bound.
        master.store(true, std::sync::atomic::Ordering::SeqCst);
        let ticket = watch.request();
        assert!(!watch.bound_since(ticket, "bond0", &[vip]));
        let report = b.reconciler.pass().await;
        assert_eq!(
            report.ops,
            BTreeMap::from([
                ("add_vip".to_string(), 1),
                ("new_service".to_string(), 1),
                ("new_dest".to_string(), 1)
            ])
        );
        assert!(watch.bound_since(ticket, "bond0", &[vip]));
        assert_eq!(addresses(&b), ["10.0.0.1 on bond0", "10.0.0.2 on eth9"]);
        assert!(b.reconciler.pass().await.ops.is_empty(), "nothing more");

        // While stopping, only addresses are released: the table stays.
        master.store(false, std::sync::atomic::Ordering::SeqCst);
        let report = b.reconciler.run_pass(Mode::Release).await;
        assert_eq!(report.ops, BTreeMap::from([("del_vip".to_string(), 1)]));
        assert_eq!(addresses(&b), ["10.0.0.2 on eth9"]);
        assert_eq!(b.dataplane.dump().unwrap().services.len(), 2);
        assert!(!watch.bound_since(0, "bond0", &[vip]));
        // A full pass as backup removes the service.
        let report = b.reconciler.pass().await;
        assert_eq!(report.ops, BTreeMap::from([("del_service".to_string(), 1)]));

        // A group deleted or moved leaves nothing behind: an address director bound where nothing is wanted
        // goes (here one left by an earlier run on another interface).
        b.dataplane
            .apply(&Op::AddVip {
                interface: "eth3".into(),
                address: "10.0.0.7".parse().unwrap(),
            })
            .unwrap();
        let report = b.reconciler.pass().await;
        assert_eq!(report.ops, BTreeMap::from([("del_vip".to_string(), 1)]));
        assert_eq!(addresses(&b), ["10.0.0.2 on eth9"]);
    }

    #[tokio::test]
    async fn roles_start_and_stop_the_sync_daemons_and_a_missing_interface_fails_the_pass() {
        let b = bench().await;
        let master = group_and_servers(&b).await;
        let admin = Actor::new("admin", Role::Admin, Via::Rest);
        let mut g = b.service.snapshot().vrrp_groups["vi-1"].spec.clone();
        g.connection_sync = Some(director_core::model::ConnectionSync {
            interface: "eth1".into(),
            sync_id: None,
            max_packet_len: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        });
        b.service
            .replace_vrrp_group(&admin, "vi-1", g, None)
            .await
            .unwrap();
        let daemons = |b: &Bench| {
            b.dataplane
                .dump()
                .unwrap()
                .sync_daemons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };

        // Backup: the backup daemon, sync id the VRID.
        let report = b.reconciler.pass().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(daemons(&b), ["backup on eth1 sync id 51"]);
        let status = b.reconciler.status();
        assert_eq!(status.sync_daemons.len(), 1);
        assert_eq!(
            (
                status.sync_daemons[0].state.as_str(),
                status.sync_daemons[0].managed
            ),
            ("backup", true)
        );

        // Master: the backup daemon stops, the master daemon starts.
        master.store(true, std::sync::atomic::Ordering::SeqCst);
        let report = b.reconciler.pass().await;
        assert_eq!(report.ops.get("stop_sync_daemon"), Some(&1));
        assert_eq!(report.ops.get("start_sync_daemon"), Some(&1));
        assert_eq!(daemons(&b), ["master on eth1 sync id 51"]);
        assert!(b.reconciler.pass().await.ops.is_empty(), "nothing more");

        // Back to backup, and the interface is missing: the pass fails naming it, nothing is applied.
        master.store(false, std::sync::atomic::Ordering::SeqCst);
        set_fault(&b, Fault::NoDevice);
        let report = b.reconciler.pass().await;
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("NEW_DAEMON backup on eth1") && e.contains("No such device")),
            "{:?}",
            report.errors
        );
        assert!(b.reconciler.status().failing, "a failure, never applied");
        assert!(
            daemons(&b).is_empty(),
            "the master daemon stopped, no backup"
        );
        set_fault(&b, Fault::None);
        let report = b.reconciler.pass().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(daemons(&b), ["backup on eth1 sync id 51"]);

        // connection_sync removed: director stops the daemon it started.
        let mut g = b.service.snapshot().vrrp_groups["vi-1"].spec.clone();
        g.connection_sync = None;
        b.service
            .replace_vrrp_group(&admin, "vi-1", g, None)
            .await
            .unwrap();
        let report = b.reconciler.pass().await;
        assert_eq!(
            report.ops,
            BTreeMap::from([("stop_sync_daemon".to_string(), 1)])
        );
        assert!(daemons(&b).is_empty());
        assert!(b.reconciler.status().sync_daemons.is_empty());
    }

    #[tokio::test]
    async fn without_a_table_only_group_addresses_are_written_and_a_failure_to_bind_shows() {
        let b = bench_with(false, Some("eth9")).await;
        let master = group_and_servers(&b).await;
        let mut watch = b.reconciler.bound();
        let vip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        master.store(true, std::sync::atomic::Ordering::SeqCst);

        set_fault(&b, Fault::NoDevice);
        let ticket = watch.request();
        let report = b.reconciler.pass().await;
        assert!(
            report.errors.iter().any(|e| e.contains("No such device")),
            "{:?}",
            report.errors
        );
        let status = b.reconciler.status();
        assert!(status.failing, "a failed bind is a failing pass");
        assert!(!watch.bound_since(ticket, "bond0", &[vip]), "not announced");

        set_fault(&b, Fault::None);
        let report = b.reconciler.pass().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.ops, BTreeMap::from([("add_vip".to_string(), 1)]));
        assert!(watch.bound_since(ticket, "bond0", &[vip]));
        assert_eq!(
            addresses(&b),
            ["10.0.0.1 on bond0"],
            "no plain VIP without IPVS"
        );
        let status = b.reconciler.status();
        assert!(!status.failing);
        assert_eq!(status.dataplane, "none");
        assert_eq!(
            status.applied_revision, None,
            "no IPVS table: nothing applied"
        );
        assert_eq!(b.service.applied_revision(), None);
    }
}

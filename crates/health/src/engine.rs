//! The engine: one Tokio task per target, a shared table of [`HealthState`]s, and the notifications the
//! daemon listens to.
//!
//! - [`Engine::set_targets`] diffs the wanted targets against the running ones: unchanged targets keep their
//!   task, schedule and state; a target whose check or connect parameters changed is rescheduled but keeps
//!   its status and counters (editing a check does not make the engine forget, unlike a keepalived reload);
//!   removed targets stop at once. [`Engine::update_targets`] does the same for part of the set (the targets
//!   of the virtual servers a revision touched), at the cost of what it changes.
//! - [`Engine::snapshot`] is a consistent copy of every state, shared until the next change.
//! - [`Engine::changes`] is bumped after every status or dynamic-weight change and whenever targets are added
//!   or removed, once the snapshot shows it.
//! - [`Engine::transitions`] carries each status change, for the audit log.
//!
//! Each task keeps a drift-free schedule (see [`crate::schedule`]) and bounds each check with the spec's
//! timeout by dropping it. A task writes its result only while its generation is current, so a replaced or
//! removed target's last in-flight check can never overwrite newer state.

use crate::checker::{self, CheckError, CheckFuture, Checker};
use crate::lateness::{LatenessHistogram, LatenessSummary};
use crate::schedule::Timing;
use crate::state::{HealthState, Outcome, Status, Transition};
use crate::target::{Target, TargetId};
use director_core::model::CheckKind;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Transitions buffered per [`Engine::transitions`] receiver before a slow one misses some
    /// (it then gets `RecvError::Lagged`).
    pub transitions_capacity: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transitions_capacity: 4096,
        }
    }
}

/// Counters for monitoring and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Targets currently known.
    pub targets: usize,
    /// Checks finished since the engine started.
    pub checks: u64,
    /// Of which failed.
    pub failures: u64,
    /// How late checks started relative to their schedule.
    pub lateness: LatenessSummary,
}

/// Health checks of a set of targets. Dropping the engine stops every check; [`Engine::shutdown`] also
/// waits for them to be gone.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    runtime: Handle,
    running: Mutex<HashMap<TargetId, Running>>,
}

#[derive(Debug)]
struct Running {
    target: Target,
    task: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    table: Mutex<Table>,
    changes: watch::Sender<u64>,
    transitions: broadcast::Sender<Transition>,
    checks: AtomicU64,
    failures: AtomicU64,
    lateness: LatenessHistogram,
    generations: AtomicU64,
}

#[derive(Debug, Default)]
struct Table {
    entries: BTreeMap<TargetId, Entry>,
    /// The last snapshot, until the next write.
    cached: Option<Arc<BTreeMap<TargetId, HealthState>>>,
}

#[derive(Debug)]
struct Entry {
    /// Which task may write this entry.
    generation: u64,
    state: HealthState,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The targets by id; when an id appears twice, the last one wins.
fn by_id(targets: Vec<Target>) -> BTreeMap<TargetId, Target> {
    let mut wanted = BTreeMap::new();
    for t in targets {
        if let Some(previous) = wanted.insert(t.id.clone(), t) {
            tracing::warn!(target_id = %previous.id, "target given twice; keeping the last one");
        }
    }
    wanted
}

impl Engine {
    /// Starts an engine with no targets on the current Tokio runtime.
    ///
    /// # Panics
    /// When called outside a Tokio runtime.
    pub fn start(options: Options) -> Engine {
        Engine::start_on(Handle::current(), options)
    }

    /// Starts an engine whose checks run on `runtime` (a runtime of their own keeps thousands of checks a
    /// second off the threads that serve requests).
    pub fn start_on(runtime: Handle, options: Options) -> Engine {
        let (changes, _) = watch::channel(0);
        let (transitions, _) = broadcast::channel(options.transitions_capacity.max(1));
        Engine {
            shared: Arc::new(Shared {
                table: Mutex::new(Table::default()),
                changes,
                transitions,
                checks: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                lateness: LatenessHistogram::default(),
                generations: AtomicU64::new(0),
            }),
            runtime,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Makes `targets` the set of checked targets (see the module documentation for what is kept).
    /// When an id appears twice, the last one wins.
    pub fn set_targets(&self, targets: Vec<Target>) {
        let wanted = by_id(targets);
        let gone: Vec<TargetId> = lock(&self.running)
            .keys()
            .filter(|id| !wanted.contains_key(*id))
            .cloned()
            .collect();
        self.apply(gone, wanted);
    }

    /// Changes part of the set of checked targets: stops the targets of `remove` (ids not checked are
    /// ignored) and makes each of `upsert` checked, as [`Engine::set_targets`] would (an unchanged target keeps
    /// its state and schedule, a changed one its state). It costs what it changes: the daemon calls it with
    /// the targets of the virtual servers a revision touched. An id in both is kept, as in `upsert`.
    pub fn update_targets(&self, remove: Vec<TargetId>, upsert: Vec<Target>) {
        let wanted = by_id(upsert);
        let remove = remove
            .into_iter()
            .filter(|id| !wanted.contains_key(id))
            .collect();
        self.apply(remove, wanted);
    }

    fn apply(&self, remove: Vec<TargetId>, wanted: BTreeMap<TargetId, Target>) {
        let now = SystemTime::now();
        let mut running = lock(&self.running);
        let mut table = lock(&self.shared.table);
        let mut changed = false;
        let mut transitions = Vec::new();

        for id in remove {
            let Some(mut r) = running.remove(&id) else {
                continue;
            };
            if let Some(task) = r.task.take() {
                task.abort();
            }
            table.entries.remove(&id);
            tracing::debug!(target_id = %id, "target removed");
            changed = true;
        }

        for (id, target) in wanted {
            if let Some(r) = running.get(&id) {
                if r.target == target {
                    continue;
                }
            }
            let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
            let unchecked = target.check.kind == CheckKind::None;
            let previous = running.remove(&id);
            match table.entries.get_mut(&id) {
                Some(entry) if previous.is_some() => {
                    entry.generation = generation;
                    if unchecked {
                        let c = entry.state.force(Status::Up, now);
                        if let Some((from, to)) = c.status {
                            changed = true;
                            transitions.push(Transition {
                                id: id.clone(),
                                from,
                                to,
                                at: now,
                                error: None,
                            });
                        }
                    }
                    if target.check.dynamic_weight != Some(true)
                        && entry.state.clear_dynamic_weight()
                    {
                        changed = true;
                    }
                    tracing::debug!(target_id = %id, "check changed; rescheduled, state kept");
                }
                _ => {
                    let state = if unchecked {
                        HealthState::unchecked(now)
                    } else {
                        HealthState::new(now)
                    };
                    table
                        .entries
                        .insert(id.clone(), Entry { generation, state });
                    changed = true;
                    tracing::debug!(target_id = %id, kind = target.check.kind.as_str(), "target added");
                }
            }
            if let Some(task) = previous.and_then(|p| p.task) {
                task.abort();
            }
            let task = (!unchecked).then(|| self.spawn(&target, generation));
            running.insert(id, Running { target, task });
        }

        if changed {
            table.cached = None;
        }
        drop(table);
        drop(running);
        for t in transitions {
            self.shared.publish(t);
        }
        if changed {
            self.shared.bump();
        }
    }

    fn spawn(&self, target: &Target, generation: u64) -> JoinHandle<()> {
        let checker: Arc<dyn Checker> = match checker::build(target) {
            Ok(Some(c)) => c,
            Ok(None) => Arc::new(Unrunnable(CheckError::Spec("no check to run".into()))),
            Err(e) => {
                tracing::warn!(target_id = %target.id, error = %e, "check cannot run; the target will stay down");
                Arc::new(Unrunnable(e))
            }
        };
        let task = Task {
            shared: self.shared.clone(),
            id: target.id.clone(),
            generation,
            checker,
            timing: Timing::of(&target.check),
            rise: target.check.rise,
            fall: target.check.fall,
        };
        self.runtime.spawn(task.run())
    }

    /// The state of the targets of one virtual server: what a view of one object needs. It reads the live
    /// table, so it costs that virtual server's targets, while [`Engine::snapshot`] copies every target after
    /// any check has finished.
    pub fn snapshot_of(&self, virtual_server: &str) -> crate::Snapshot {
        let first = TargetId::new(
            virtual_server,
            director_core::model::RealServerKey {
                address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                port: 0,
            },
        );
        let table = lock(&self.shared.table);
        Arc::new(
            table
                .entries
                .range(first..)
                .take_while(|(id, _)| id.virtual_server == virtual_server)
                .map(|(id, e)| (id.clone(), e.state.clone()))
                .collect(),
        )
    }

    /// The state of every target.
    pub fn snapshot(&self) -> crate::Snapshot {
        let mut table = lock(&self.shared.table);
        if let Some(cached) = &table.cached {
            return cached.clone();
        }
        let snapshot: Arc<BTreeMap<TargetId, HealthState>> = Arc::new(
            table
                .entries
                .iter()
                .map(|(id, e)| (id.clone(), e.state.clone()))
                .collect(),
        );
        table.cached = Some(snapshot.clone());
        snapshot
    }

    /// The state of one target.
    pub fn state(&self, id: &TargetId) -> Option<HealthState> {
        lock(&self.shared.table)
            .entries
            .get(id)
            .map(|e| e.state.clone())
    }

    /// A counter bumped on every status or dynamic-weight change and on added or removed targets.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Status changes from now on. Each receiver buffers [`Options::transitions_capacity`] of them.
    pub fn transitions(&self) -> broadcast::Receiver<Transition> {
        self.shared.transitions.subscribe()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            targets: lock(&self.running).len(),
            checks: self.shared.checks.load(Ordering::Relaxed),
            failures: self.shared.failures.load(Ordering::Relaxed),
            lateness: self.shared.lateness.summary(),
        }
    }

    /// Stops every check and waits until they are gone (a running script's process group is killed).
    pub async fn shutdown(self) {
        let tasks: Vec<JoinHandle<()>> = lock(&self.running)
            .drain()
            .filter_map(|(_, r)| r.task)
            .collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        tracing::debug!("health engine stopped");
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        for r in lock(&self.running).values() {
            if let Some(t) = &r.task {
                t.abort();
            }
        }
    }
}

impl Shared {
    fn bump(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn publish(&self, t: Transition) {
        match &t.error {
            Some(error) => {
                tracing::info!(target_id = %t.id, from = %t.from, to = %t.to, %error, "health changed")
            }
            None => tracing::info!(target_id = %t.id, from = %t.from, to = %t.to, "health changed"),
        }
        // No receiver is fine: nobody listens.
        let _ = self.transitions.send(t);
    }

    /// Records a check's outcome; false when the task's generation is no longer current (stop).
    fn record(
        &self,
        id: &TargetId,
        generation: u64,
        latency: Duration,
        outcome: Outcome,
        rise: u32,
        fall: u32,
    ) -> bool {
        self.checks.fetch_add(1, Ordering::Relaxed);
        let at = SystemTime::now();
        let error = match &outcome {
            Outcome::Failure { error } => Some(error.clone()),
            Outcome::Success { .. } => None,
        };
        let change = {
            let mut table = lock(&self.table);
            let Some(entry) = table
                .entries
                .get_mut(id)
                .filter(|e| e.generation == generation)
            else {
                return false;
            };
            let change = entry.state.observe(at, latency, outcome, rise, fall);
            table.cached = None;
            change
        };
        if let Some(error) = &error {
            self.failures.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target_id = %id, %error, "check failed");
        }
        if let Some((from, to)) = change.status {
            self.publish(Transition {
                id: id.clone(),
                from,
                to,
                at,
                error,
            });
        }
        if change.any() {
            self.bump();
        }
        true
    }
}

/// The checking loop of one target.
struct Task {
    shared: Arc<Shared>,
    id: TargetId,
    generation: u64,
    checker: Arc<dyn Checker>,
    timing: Timing,
    rise: u32,
    fall: u32,
}

impl Task {
    async fn run(self) {
        let mut scheduled = self
            .timing
            .first_start(Instant::now(), rand::random::<f64>());
        loop {
            tokio::time::sleep_until(scheduled).await;
            let started = Instant::now();
            self.shared
                .lateness
                .record(started.saturating_duration_since(scheduled));
            let outcome = match tokio::time::timeout(self.timing.timeout, self.checker.check())
                .await
            {
                Ok(Ok(success)) => Outcome::Success {
                    dynamic_weight: success.dynamic_weight,
                },
                Ok(Err(e)) => Outcome::Failure {
                    error: e.to_string(),
                },
                Err(_) => Outcome::Failure {
                    error: CheckError::Timeout(self.timing.timeout.as_millis() as u64).to_string(),
                },
            };
            let finished = Instant::now();
            let succeeded = outcome.is_success();
            if !self.shared.record(
                &self.id,
                self.generation,
                finished - started,
                outcome,
                self.rise,
                self.fall,
            ) {
                return;
            }
            scheduled = self.timing.next_start(scheduled, finished, succeeded);
        }
    }
}

/// Stands in for a check whose spec cannot run: every check fails with why.
#[derive(Debug)]
struct Unrunnable(CheckError);

impl Checker for Unrunnable {
    fn check(&self) -> CheckFuture<'_> {
        let e = self.0.clone();
        Box::pin(async move { Err(e) })
    }
}

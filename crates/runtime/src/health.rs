//! Health checking in the daemon: keeps the checker's targets in step with the desired state, wakes the
//! reconciler on every change, and writes every transition to the audit log (`via: health`, `source:
//! health`), the first results after the start as one entry.

use crate::reconciler::Reconciler;
use director_core::DesiredState;
use director_health::{target_changes, targets, Engine, Status, Target, TargetId, Transition};
use director_service::start_burst::StartBurst;
use director_service::{HealthRelease, Service};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What the reconciler and the views read: the state of every checked real server.
pub type HealthSnapshot = director_health::Snapshot;

/// Beyond the slowest first result the checks allow, for a loaded checker.
const FIRST_RESULTS_SLACK: Duration = Duration::from_secs(2);
/// The longest the first results after the start are held for one entry; later ones get their own.
const FIRST_RESULTS_WAIT_MAX: Duration = Duration::from_secs(60);

/// How long the first results of `targets` can take: the slowest warmup plus `rise` checks (a failure
/// decides at once), with some slack, at most [`FIRST_RESULTS_WAIT_MAX`].
pub fn first_results_wait(targets: &[Target]) -> Duration {
    let slowest = targets
        .iter()
        .map(|t| {
            let c = &t.check;
            let ms = c.warmup_ms.unwrap_or(0)
                + u64::from(c.rise.max(1) - 1).saturating_mul(c.interval_ms.max(c.timeout_ms))
                + c.timeout_ms;
            Duration::from_millis(ms)
        })
        .max()
        .unwrap_or_default();
    (slowest + FIRST_RESULTS_SLACK).min(FIRST_RESULTS_WAIT_MAX)
}

/// The checks run on a thread of their own with its own event loop: 5,000 checks a second wake it, not the
/// request threads, and no check's wakeup crosses threads. Falls back to the current runtime if the thread
/// cannot start.
fn checks_runtime() -> tokio::runtime::Handle {
    let built = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match built {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "no runtime of their own for health checks; they share the daemon's");
            return tokio::runtime::Handle::current();
        }
    };
    let handle = runtime.handle().clone();
    let spawned = std::thread::Builder::new()
        .name("health-checks".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()));
    match spawned {
        Ok(_) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "no thread of their own for health checks; they share the daemon's");
            tokio::runtime::Handle::current()
        }
    }
}

/// Starts the checker and the tasks that feed it and follow it.
pub fn start(
    service: Arc<Service>,
    reconciler: Option<Arc<Reconciler>>,
    shutdown: CancellationToken,
) -> Arc<Engine> {
    let engine = Arc::new(Engine::start_on(
        checks_runtime(),
        director_health::Options::default(),
    ));
    // Subscribed before the first targets are set: no transition is missed; and before the first state is
    // read: no revision is missed either.
    let transitions = engine.transitions();
    let revisions = service.subscribe();
    let state = service.snapshot();
    let first = targets(&state);
    let burst = StartBurst::new(
        first.iter().map(|t| t.id.clone()),
        Instant::now() + first_results_wait(&first),
    );
    let checked = first.iter().map(|t| t.id.clone()).collect();
    engine.set_targets(first);
    if let Some(r) = &reconciler {
        r.set_health(engine.clone());
    }
    tokio::spawn(follow(
        engine.clone(),
        service,
        revisions,
        Feed {
            state,
            checked,
            burst,
            transitions,
        },
        shutdown.clone(),
    ));
    // A health change reaches the kernel within one pass, without waiting for the periodic resync.
    if let Some(r) = reconciler {
        let (mut changes, stop) = (engine.changes(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    changed = changes.changed() => if changed.is_err() { break },
                }
                r.wake();
            }
        });
    }
    engine
}

/// What the feed keeps between wakeups.
struct Feed {
    /// The desired state the engine's targets were last made from.
    state: Arc<DesiredState>,
    /// The targets last given to the engine.
    checked: BTreeSet<TargetId>,
    /// The first results after the start, held for one entry.
    burst: StartBurst<TargetId, Transition>,
    transitions: broadcast::Receiver<Transition>,
}

impl Feed {
    /// Gives the engine the targets of the virtual servers that changed since the last state (a write costs
    /// what it changes, not the size of the table); returns the ids no longer checked.
    fn follow(&mut self, engine: &Engine, next: Arc<DesiredState>) -> Vec<TargetId> {
        let changes = target_changes(&self.state, &next);
        self.state = next;
        if changes.remove.is_empty() && changes.upsert.is_empty() {
            return Vec::new();
        }
        for id in &changes.remove {
            self.checked.remove(id);
        }
        self.checked
            .extend(changes.upsert.iter().map(|t| t.id.clone()));
        let gone = changes.remove.clone();
        engine.update_targets(changes.remove, changes.upsert);
        gone
    }
}

/// Keeps the engine's targets in step with the desired state and writes every transition to the audit log.
/// One task for both, so that a target gone from the desired state is no longer waited for by the burst
/// before its last transitions are read.
async fn follow(
    engine: Arc<Engine>,
    service: Arc<Service>,
    mut revisions: tokio::sync::watch::Receiver<u64>,
    mut feed: Feed,
    stop: CancellationToken,
) {
    let mut following = true;
    loop {
        let deadline = feed.burst.deadline();
        let wake = tokio::time::Instant::from_std(deadline.unwrap_or_else(Instant::now));
        let releases = tokio::select! {
            _ = stop.cancelled() => break,
            changed = revisions.changed(), if following => {
                if changed.is_err() {
                    following = false;
                    continue;
                }
                let gone = feed.follow(&engine, service.snapshot());
                gone.iter().flat_map(|id| feed.burst.forget(id)).collect()
            }
            t = feed.transitions.recv() => match t {
                Ok(t) => {
                    // Everything that arrived meanwhile goes in the same transaction.
                    let mut batch = vec![t];
                    while batch.len() < 5000 {
                        match feed.transitions.try_recv() {
                            Ok(t) => batch.push(t),
                            Err(_) => break,
                        }
                    }
                    let now = Instant::now();
                    batch
                        .into_iter()
                        .flat_map(|t| {
                            let first = t.from == Status::Unknown;
                            feed.burst.observe(t.id.clone(), first, t, now)
                        })
                        .collect()
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the audit log missed health transitions (too many at once)");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::time::sleep_until(wake), if deadline.is_some() => feed.burst.due(Instant::now()),
        };
        audit(&service, &releases).await;
    }
    // Stopping: what is held is written all the same.
    audit(&service, &feed.burst.finish()).await;
}

async fn audit(service: &Service, releases: &[HealthRelease]) {
    if releases.is_empty() {
        return;
    }
    if let Err(e) = service.record_health(releases).await {
        tracing::warn!(error = %e, entries = releases.len(), "could not audit health transitions");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::{CheckKind, HealthCheck, RealServerKey};

    fn target(
        last_octet: u8,
        interval_ms: u64,
        timeout_ms: u64,
        rise: u32,
        warmup_ms: Option<u64>,
    ) -> Target {
        let mut check = HealthCheck::new(CheckKind::Tcp);
        check.interval_ms = interval_ms;
        check.timeout_ms = timeout_ms;
        check.rise = rise;
        check.warmup_ms = warmup_ms;
        let key = RealServerKey {
            address: std::net::IpAddr::from([10, 0, 0, last_octet]),
            port: 80,
        };
        Target::new("web".to_string(), key.address, key.port, check)
    }

    #[test]
    fn the_first_results_are_waited_for_as_long_as_the_slowest_check_takes() {
        let ms = Duration::from_millis;
        assert_eq!(first_results_wait(&[]), FIRST_RESULTS_SLACK);
        // rise 1: one check, its timeout at most.
        assert_eq!(
            first_results_wait(&[target(1, 6000, 3000, 1, None)]),
            ms(3000) + FIRST_RESULTS_SLACK
        );
        // rise 3 after a warmup: two intervals more; the slowest target counts.
        assert_eq!(
            first_results_wait(&[
                target(1, 6000, 3000, 1, None),
                target(2, 1000, 500, 3, Some(2000)),
            ]),
            ms(2000 + 2 * 1000 + 500) + FIRST_RESULTS_SLACK
        );
        assert_eq!(
            first_results_wait(&[target(1, 60_000, 3000, 10, None)]),
            FIRST_RESULTS_WAIT_MAX
        );
    }
}

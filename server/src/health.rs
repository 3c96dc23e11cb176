//! Health checking in the daemon: keeps the checker's targets in step with the desired state, wakes the
//! reconciler on every change, and writes every transition to the audit log (`via: health`).

use crate::reconciler::Reconciler;
use crate::service::Service;
use director_core::model::CheckKind;
use director_core::DesiredState;
use director_health::{Engine, HealthState, Target, TargetId};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the reconciler and the views read: the state of every checked real server.
pub type HealthSnapshot = Arc<BTreeMap<TargetId, HealthState>>;

/// One target per real server of an enabled virtual server whose effective check is not `none` (disabled real
/// servers are checked too, so an operator sees their health before enabling them).
pub fn targets(state: &DesiredState) -> Vec<Target> {
    let mut out = Vec::new();
    for (name, record) in &state.virtual_servers {
        let vs = &record.spec;
        if !vs.enabled {
            continue;
        }
        for rs in &vs.real_servers {
            let Some(check) = rs.health_check.as_ref().or(vs.health_check.as_ref()) else {
                continue;
            };
            if check.kind == CheckKind::None {
                continue;
            }
            let key = rs.key();
            out.push(Target::new(
                name.clone(),
                key.address,
                key.port,
                check.clone(),
            ));
        }
    }
    out
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
    engine.set_targets(targets(&service.snapshot()));
    if let Some(r) = &reconciler {
        r.set_health(engine.clone());
    }
    // Follow the desired state.
    {
        let (engine, service, stop) = (engine.clone(), service.clone(), shutdown.clone());
        let mut revisions = service.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    changed = revisions.changed() => if changed.is_err() { break },
                }
                engine.set_targets(targets(&service.snapshot()));
            }
        });
    }
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
    // Every transition goes to the audit log.
    {
        let (mut transitions, stop) = (engine.transitions(), shutdown);
        tokio::spawn(async move {
            loop {
                let t = tokio::select! {
                    _ = stop.cancelled() => break,
                    t = transitions.recv() => t,
                };
                match t {
                    Ok(t) => {
                        // Everything that arrived meanwhile goes in the same transaction.
                        let mut batch = vec![t];
                        while batch.len() < 5000 {
                            match transitions.try_recv() {
                                Ok(t) => batch.push(t),
                                Err(_) => break,
                            }
                        }
                        if let Err(e) = service.record_health_transitions(&batch).await {
                            tracing::warn!(error = %e, transitions = batch.len(), "could not audit health transitions");
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "the audit log missed health transitions (too many at once)"
                        );
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
    engine
}

//! Waiting for the kernel: until the reconciler has applied a revision (`service.applied()`), and until a
//! drained real server has no active connections left (`service.observed()`, the kernel table as last dumped).

use super::errors;
use director_core::model::{RealServerKey, VirtualServer};
use director_kernel_table::Table;
use director_service::Service;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::Status;

/// How often the observed table is looked at while a drain waits for connections to end.
const DRAIN_POLL: Duration = Duration::from_millis(250);

/// Waits until the kernel has reached `revision`; returns the revision it has reached.
pub async fn applied(
    service: &Service,
    revision: u64,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<u64, Status> {
    let deadline = Instant::now() + timeout;
    let mut rx = service.applied();
    loop {
        let reached = *rx.borrow_and_update();
        if let Some(a) = reached.filter(|a| *a >= revision) {
            return Ok(a);
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() {
                return Err(errors::shutting_down());
            },
            _ = tokio::time::sleep_until(deadline) => {
                return Err(errors::timed_out(format!(
                    "the kernel has not reached revision {revision} after {} s (it is at {})",
                    timeout.as_secs_f32(),
                    reached.map_or_else(|| "no revision yet".to_string(), |a| format!("revision {a}")),
                )));
            }
            _ = shutdown.cancelled() => return Err(errors::shutting_down()),
        }
    }
}

/// The end of a drain wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub applied_revision: u64,
    pub active_connections: u32,
}

/// Waits until the kernel has the weight change of `revision`, then until the real server has no active
/// connections in the observed table.
pub async fn drained(
    service: &Service,
    vs: &VirtualServer,
    key: &RealServerKey,
    revision: u64,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<Drained, Status> {
    let what = format!("{}/{key}", vs.name);
    let targets = [(vs.clone(), *key)];
    drained_all(service, &targets, &what, revision, timeout, shutdown).await
}

/// Waits until the kernel has `revision`, then until the real servers of `targets` (each with its virtual
/// server) together have no active connections in the observed table; `what` names them in the timeout.
pub async fn drained_all(
    service: &Service,
    targets: &[(VirtualServer, RealServerKey)],
    what: &str,
    revision: u64,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<Drained, Status> {
    let started = Instant::now();
    let deadline = started + timeout;
    let applied_revision = applied(service, revision, timeout, shutdown).await?;
    loop {
        let active = service.observed().map(|table| {
            targets
                .iter()
                .map(|(vs, key)| active_connections(&table, vs, key))
                .fold(0u32, u32::saturating_add)
        });
        if active == Some(0) {
            return Ok(Drained {
                applied_revision,
                active_connections: 0,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(DRAIN_POLL) => {}
            _ = shutdown.cancelled() => return Err(errors::shutting_down()),
        }
        if Instant::now() >= deadline {
            return Err(errors::timed_out(format!(
                "{what} still has {} after {} s; its weight stays 0",
                active.map_or_else(
                    || "no observed kernel table".to_string(),
                    |n| format!("{n} active connections")
                ),
                timeout.as_secs_f32()
            )));
        }
    }
}

/// The active connections of a real server of a virtual server in a kernel table. A service or destination
/// the table does not have carries no connections through this node (0).
pub fn active_connections(table: &Table, vs: &VirtualServer, key: &RealServerKey) -> u32 {
    let Some(service_key) = director_reconcile::service_key(vs) else {
        return 0;
    };
    table
        .get(&service_key)
        .and_then(|entry| {
            entry
                .destinations
                .iter()
                .find(|d| d.destination.address == key.address && d.destination.port == key.port)
        })
        .map_or(0, |d| d.status.active_conns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_kernel_table::{
        Destination, DestinationEntry, DestinationStatus, Forwarding, Service as KernelService,
        ServiceEntry, Stats,
    };

    fn vs() -> VirtualServer {
        serde_json::from_value(serde_json::json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
            "real_servers": [{"address": "10.0.0.2", "port": 80}, {"address": "10.0.0.3", "port": 80}]
        }))
        .expect("virtual server")
    }

    fn table(conns: u32) -> Table {
        let key = director_reconcile::service_key(&vs()).expect("key");
        Table {
            sync_daemons: Vec::new(),
            services: vec![ServiceEntry {
                service: KernelService::new(key, "wlc"),
                stats: Stats::default(),
                destinations: vec![DestinationEntry {
                    destination: Destination::new(
                        "10.0.0.2".parse().expect("address"),
                        80,
                        Forwarding::Route,
                        0,
                    ),
                    status: DestinationStatus {
                        active_conns: conns,
                        ..Default::default()
                    },
                }],
            }],
        }
    }

    #[test]
    fn counts_the_destination_of_the_service() {
        let key: RealServerKey = "10.0.0.2:80".parse().expect("key");
        assert_eq!(active_connections(&table(7), &vs(), &key), 7);
        assert_eq!(active_connections(&table(0), &vs(), &key), 0);
    }

    /// A service on a store of its own whose kernel has revision 0 and the table `observed`.
    async fn service_observing(observed: Table) -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = director_service::store::Store::open(&dir.path().join("d.db"))
            .await
            .expect("store");
        let service = Service::open(
            store,
            "lvs-01".into(),
            director_service::auth::Tokens::new(&[7u8; 32]),
            3600,
        )
        .await
        .expect("service");
        service.set_applied(0);
        service.set_observed(std::sync::Arc::new(observed));
        (dir, service)
    }

    #[tokio::test]
    async fn a_drain_wait_on_open_connections_times_out_saying_how_many() {
        let (_dir, service) = service_observing(table(3)).await;
        let key: RealServerKey = "10.0.0.2:80".parse().expect("key");
        let targets = [(vs(), key)];
        let status = drained_all(
            &service,
            &targets,
            "host 10.0.0.2",
            0,
            Duration::from_millis(300),
            &CancellationToken::new(),
        )
        .await
        .expect_err("3 connections stay open");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert!(
            status
                .message()
                .starts_with("host 10.0.0.2 still has 3 active connections after 0.3 s"),
            "{}",
            status.message()
        );
    }

    #[tokio::test]
    async fn a_drain_wait_without_connections_ends_at_once() {
        let (_dir, service) = service_observing(table(0)).await;
        let key: RealServerKey = "10.0.0.2:80".parse().expect("key");
        let targets = [(vs(), key)];
        let drained = drained_all(
            &service,
            &targets,
            "host 10.0.0.2",
            0,
            Duration::from_secs(30),
            &CancellationToken::new(),
        )
        .await
        .expect("no connections");
        assert_eq!(
            drained,
            Drained {
                applied_revision: 0,
                active_connections: 0
            }
        );
    }

    #[test]
    fn absent_services_and_destinations_carry_nothing() {
        let other: RealServerKey = "10.0.0.3:80".parse().expect("key");
        assert_eq!(active_connections(&table(7), &vs(), &other), 0);
        assert_eq!(active_connections(&Table::default(), &vs(), &other), 0);
        let mut moved = vs();
        moved.port = Some(8080);
        let key: RealServerKey = "10.0.0.2:80".parse().expect("key");
        assert_eq!(active_connections(&table(7), &moved, &key), 0);
    }
}

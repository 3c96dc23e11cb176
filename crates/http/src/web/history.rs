//! A short in-memory history of the kernel's per-destination connection counters, for the charts of the UI.
//!
//! A sampler task reads the kernel table every few seconds (through the reconciler, which owns the dataplane)
//! and records, per destination, the active and inactive connection counts into a bounded ring. Destinations
//! that leave the kernel table lose their history; the number of tracked destinations is capped so a huge
//! table cannot grow the memory without bound. Recording is pure (the time is passed in).

use director_kernel_table::{ServiceKey, Table};
use director_runtime::reconciler::Reconciler;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The UI's own state, part of the edge's `AppState`.
#[derive(Clone, Default)]
pub struct WebContext {
    /// Connection counters of the last minutes, for the charts.
    pub history: Arc<CounterHistory>,
}

impl WebContext {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Starts the task that samples the kernel's counters for the charts (nothing to sample without a
/// dataplane), every few seconds and when the kernel reaches a new revision (`applied`, the service's
/// watch). It stops when `stop` is cancelled.
pub fn spawn_sampler(
    web: &WebContext,
    reconciler: Option<Arc<Reconciler>>,
    applied: tokio::sync::watch::Receiver<Option<u64>>,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let reconciler = reconciler?;
    Some(tokio::spawn(run_sampler(
        web.history.clone(),
        reconciler,
        applied,
        SAMPLE_EVERY,
        stop,
    )))
}

/// How often the sampler reads the kernel.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Samples kept per destination: ten minutes at one sample every five seconds.
pub const SAMPLES: usize = 120;
/// At most this many destinations are tracked (about 3 MB of samples).
pub const MAX_SERIES: usize = 20_000;

/// One reading of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Unix time, seconds.
    pub at: i64,
    pub active: u32,
    pub inactive: u32,
}

/// A destination of a kernel service: its address and port.
pub type Endpoint = (IpAddr, u16);

#[derive(Default)]
struct Inner {
    /// The last table read, and when.
    latest: Option<(i64, Arc<Table>)>,
    series: HashMap<ServiceKey, HashMap<Endpoint, VecDeque<Sample>>>,
    tracked: usize,
}

/// The history, shared by the sampler and the page handlers.
pub struct CounterHistory {
    capacity: usize,
    max_series: usize,
    inner: RwLock<Inner>,
}

impl Default for CounterHistory {
    fn default() -> Self {
        Self::new(SAMPLES, MAX_SERIES)
    }
}

impl CounterHistory {
    pub fn new(capacity: usize, max_series: usize) -> Self {
        CounterHistory {
            capacity: capacity.max(1),
            max_series,
            inner: RwLock::new(Inner::default()),
        }
    }

    /// Records the table read at `at` (unix seconds).
    pub fn record(&self, at: i64, table: Arc<Table>) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let mut next: HashMap<ServiceKey, HashMap<Endpoint, VecDeque<Sample>>> = HashMap::new();
        let mut tracked = 0usize;
        for entry in &table.services {
            let mut old = inner.series.remove(&entry.service.key).unwrap_or_default();
            let mut dests = HashMap::with_capacity(entry.destinations.len());
            for d in &entry.destinations {
                if tracked >= self.max_series {
                    break;
                }
                let endpoint = (d.destination.address, d.destination.port);
                let mut ring = old
                    .remove(&endpoint)
                    .unwrap_or_else(|| VecDeque::with_capacity(self.capacity));
                if ring.len() == self.capacity {
                    ring.pop_front();
                }
                ring.push_back(Sample {
                    at,
                    active: d.status.active_conns,
                    inactive: d.status.inactive_conns,
                });
                dests.insert(endpoint, ring);
                tracked += 1;
            }
            if !dests.is_empty() {
                next.insert(entry.service.key.clone(), dests);
            }
        }
        inner.series = next;
        inner.tracked = tracked;
        inner.latest = Some((at, table));
    }

    /// The last table read and when (unix seconds), if any.
    pub fn latest(&self) -> Option<(i64, Arc<Table>)> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .latest
            .clone()
    }

    /// The samples of every destination of one kernel service, oldest first.
    pub fn service(&self, key: &ServiceKey) -> HashMap<Endpoint, Vec<Sample>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner
            .series
            .get(key)
            .map(|dests| {
                dests
                    .iter()
                    .map(|(e, ring)| (*e, ring.iter().copied().collect()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many destinations have a history.
    pub fn tracked(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).tracked
    }
}

/// Reads the kernel table through the reconciler every `every`, and soon after the kernel reaches a new
/// revision (`applied`: so that a change shows at once), and records it, until `stop`.
pub async fn run_sampler(
    history: Arc<CounterHistory>,
    reconciler: Arc<Reconciler>,
    mut applied: watch::Receiver<Option<u64>>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    let mut watching = true;
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
            changed = applied.changed(), if watching => {
                if changed.is_err() {
                    watching = false;
                    continue;
                }
                // At most one extra reading a second, however fast the revisions come.
                let since = last.elapsed();
                if since < Duration::from_secs(1) {
                    tokio::time::sleep(Duration::from_secs(1) - since).await;
                }
            }
        }
        last = tokio::time::Instant::now();
        match reconciler.observed().await {
            Ok((table, _)) => {
                if failing {
                    tracing::info!("the UI's counter sampler reads the kernel table again");
                    failing = false;
                }
                history.record(chrono::Utc::now().timestamp(), Arc::new(table));
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the UI's counter sampler cannot read the kernel table");
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_kernel_table::{
        Destination, DestinationEntry, DestinationStatus, Forwarding, Protocol, Service,
        ServiceEntry,
    };

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Address {
            protocol: Protocol::Tcp,
            address: "10.0.0.1".parse().unwrap(),
            port,
        }
    }

    fn table(dests: &[(u16, &str, u32)]) -> Arc<Table> {
        let mut services: Vec<ServiceEntry> = Vec::new();
        for (port, addr, active) in dests {
            let dest = DestinationEntry {
                destination: Destination::new(addr.parse().unwrap(), 80, Forwarding::Route, 1),
                status: DestinationStatus {
                    active_conns: *active,
                    inactive_conns: active / 2,
                    ..Default::default()
                },
            };
            match services.iter_mut().find(|s| s.service.key == key(*port)) {
                Some(s) => s.destinations.push(dest),
                None => services.push(ServiceEntry {
                    service: Service::new(key(*port), "wrr"),
                    stats: Default::default(),
                    destinations: vec![dest],
                }),
            }
        }
        Arc::new(Table {
            services,
            sync_daemons: Vec::new(),
        })
    }

    #[test]
    fn rings_are_bounded_and_follow_the_table() {
        let h = CounterHistory::new(3, 100);
        for t in 0..5 {
            h.record(t, table(&[(80, "10.1.0.1", t as u32), (80, "10.1.0.2", 7)]));
        }
        let s = h.service(&key(80));
        let ep = ("10.1.0.1".parse().unwrap(), 80);
        let got: Vec<(i64, u32)> = s[&ep].iter().map(|x| (x.at, x.active)).collect();
        assert_eq!(
            got,
            vec![(2, 2), (3, 3), (4, 4)],
            "the oldest samples fall off"
        );
        assert_eq!(s[&ep][2].inactive, 2);

        // A destination leaving the kernel loses its history; a new one starts empty.
        h.record(5, table(&[(80, "10.1.0.2", 7), (81, "10.1.0.3", 1)]));
        let s = h.service(&key(80));
        assert!(!s.contains_key(&ep));
        assert_eq!(s[&("10.1.0.2".parse().unwrap(), 80)].len(), 3);
        assert_eq!(h.service(&key(81)).len(), 1);
        assert_eq!(h.tracked(), 2);
        assert_eq!(h.latest().map(|(at, _)| at), Some(5));
    }

    #[test]
    fn the_number_of_tracked_destinations_is_capped() {
        let h = CounterHistory::new(10, 2);
        h.record(
            0,
            table(&[
                (80, "10.1.0.1", 1),
                (80, "10.1.0.2", 1),
                (81, "10.1.0.3", 1),
            ]),
        );
        assert_eq!(h.tracked(), 2);
        assert!(h.service(&key(81)).is_empty());
    }
}

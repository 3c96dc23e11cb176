//! What VRRP learns from the reconciler: the addresses bound after each pass, so that a new master announces
//! its VIPs (gratuitous ARP, unsolicited neighbour advertisements) only once they are really there.
//!
//! Passes are numbered as they start. An instance that became master asks for a pass ([`BoundWatch::request`]
//! returns the number of the last pass started so far) and announces when a later pass (which read the roles
//! after the instance published its own) reports its addresses bound.

use crate::dataplane::BoundVips;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// The addresses on each interface after a pass.
#[derive(Debug, Clone, Default)]
pub struct Bound {
    /// The pass, numbered from 1 as passes start (0: none yet).
    pub pass: u64,
    pub addresses: Arc<BoundVips>,
}

/// The reconciler's side: numbers the passes and publishes what each left bound.
pub(super) struct Passes {
    started: Arc<AtomicU64>,
    wake: Arc<Notify>,
    bound: watch::Sender<Bound>,
}

impl Passes {
    pub(super) fn new() -> Self {
        Passes {
            started: Arc::new(AtomicU64::new(0)),
            wake: Arc::new(Notify::new()),
            bound: watch::channel(Bound::default()).0,
        }
    }

    /// A pass starts: its number. Called before the pass reads the roles.
    pub(super) fn start(&self) -> u64 {
        self.started.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(super) fn wake(&self) -> &Notify {
        &self.wake
    }

    pub(super) fn publish(&self, pass: u64, addresses: BoundVips) {
        self.bound.send_replace(Bound {
            pass,
            addresses: Arc::new(addresses),
        });
    }

    pub(super) fn watch(&self) -> BoundWatch {
        BoundWatch {
            started: self.started.clone(),
            wake: self.wake.clone(),
            rx: self.bound.subscribe(),
        }
    }
}

/// VRRP's handle on the reconciler: ask for a pass, learn when one that started after the ask has bound
/// what it needs. Cheap to clone.
#[derive(Clone)]
pub struct BoundWatch {
    started: Arc<AtomicU64>,
    wake: Arc<Notify>,
    rx: watch::Receiver<Bound>,
}

impl BoundWatch {
    /// Asks for a pass now. Returns a ticket: the passes numbered above it start after this call, so they see
    /// every role published before it.
    pub fn request(&self) -> u64 {
        let ticket = self.started.load(Ordering::SeqCst);
        self.wake.notify_one();
        ticket
    }

    /// Whether a pass numbered above `ticket` left every one of `addresses` bound on `interface`.
    pub fn bound_since(&mut self, ticket: u64, interface: &str, addresses: &[IpAddr]) -> bool {
        let b = self.rx.borrow_and_update();
        b.pass > ticket
            && addresses
                .iter()
                .all(|a| b.addresses.get(interface).is_some_and(|s| s.contains(a)))
    }

    /// Resolves when a pass has published what it left bound; never once the reconciler is gone.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn on(interface: &str, addresses: &[&str]) -> BoundVips {
        BTreeMap::from([(
            interface.to_string(),
            addresses
                .iter()
                .map(|a| a.parse().unwrap())
                .collect::<BTreeSet<IpAddr>>(),
        )])
    }

    #[test]
    fn only_a_pass_started_after_the_request_counts() {
        let passes = Passes::new();
        let mut w = passes.watch();
        let vip: IpAddr = "10.0.0.1".parse().unwrap();
        // A pass that started before the request bound the address (a previous mastership): not enough.
        let before = passes.start();
        let ticket = w.request();
        passes.publish(before, on("eth0", &["10.0.0.1"]));
        assert!(!w.bound_since(ticket, "eth0", &[vip]));
        // The next pass bound it: announce.
        let after = passes.start();
        passes.publish(after, on("eth0", &["10.0.0.1"]));
        assert!(w.bound_since(ticket, "eth0", &[vip]));
        // On another interface, or only some of the addresses: not bound.
        assert!(!w.bound_since(ticket, "eth1", &[vip]));
        assert!(!w.bound_since(ticket, "eth0", &[vip, "10.0.0.2".parse().unwrap()]));
    }

    #[tokio::test]
    async fn a_request_wakes_the_reconciler_and_a_publication_the_waiter() {
        let passes = Passes::new();
        let mut w = passes.watch();
        let _ = w.request();
        tokio::time::timeout(std::time::Duration::from_secs(5), passes.wake().notified())
            .await
            .expect("the request woke the reconciler");
        passes.publish(passes.start(), BoundVips::new());
        tokio::time::timeout(std::time::Duration::from_secs(5), w.changed())
            .await
            .expect("the publication reached the waiter");
    }
}

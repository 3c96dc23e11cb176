//! VRRP failover of the VIPs, interoperable with keepalived: the IO shell around the pure `director-vrrp`
//! core. VRRP decides roles; it writes no address.
//!
//! ```text
//! desired state ──> manager ──(spawn / reconfigure / force / stop)──> instance (one per group of this node)
//!                     ^  │                                              │  ├─ socket: raw IP proto 112 in/out
//!   instance events ──┘  └─> reporter: audit log (via vrrp), notify     │  ├─ machine (pure RFC 5798)
//!                                                                       │  ├─ status board ──> REST, roles
//!   below-quorum watch ──> tracker (interfaces, scripts, quorum) ──────>│  ├─ asks the reconciler for a pass
//!   reconciler: addresses bound after each pass ───────────────────────>│  └─ GARP / NA once they are bound
//! ```
//!
//! - [`manager`]: follows the desired state (`group.member_for(node)`), runs [`instance`]s, coordinates
//!   sync groups, reports transitions to the audit log and [`notify`].
//! - [`instance`]: one task per group: packets, timers, tracks, actions.
//! - [`socket`], [`announce`], [`interface`]: the kernel-facing parts (packets only).
//! - [`track`], [`split_brain`], [`spec`], [`status`]: small pure parts.
//!
//! The reconciler reads the roles from the status board: while this node is master of a group, it binds the
//! group's addresses (through the dataplane, the kernel's one writer) and programs the virtual servers tied
//! to it; otherwise it releases and removes them.

pub mod announce;
pub mod instance;
pub mod interface;
pub mod manager;
pub mod notify;
pub mod socket;
pub mod spec;
pub mod split_brain;
pub mod status;
pub mod track;

pub use status::{GroupStatus, StatusBoard, TransitionView, VrrpRole};

use crate::reconciler::BoundWatch;
use director_service::Service;
use instance::Shared;
use manager::{Manager, ManagerCommand};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long [`VrrpHandle::shutdown`] waits at most.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// Settings of the VRRP subsystem (`--vrrp`, `--vrrp-track-interval`, `--vrrp-notify-timeout`).
#[derive(Debug, Clone)]
pub struct VrrpOptions {
    pub enabled: bool,
    /// How often track scripts run (also their timeout).
    pub track_interval: Duration,
    /// Bound on each webhook call and notify script.
    pub notify_timeout: Duration,
}

impl Default for VrrpOptions {
    fn default() -> Self {
        VrrpOptions {
            enabled: true,
            track_interval: Duration::from_secs(1),
            notify_timeout: Duration::from_secs(10),
        }
    }
}

/// The running VRRP subsystem, as the rest of the daemon sees it. Cheap to clone.
#[derive(Clone)]
pub struct VrrpHandle {
    board: Arc<StatusBoard>,
    enabled: bool,
    commands: Option<mpsc::UnboundedSender<ManagerCommand>>,
}

impl VrrpHandle {
    /// A handle of a daemon that runs no VRRP (`--vrrp off`): no groups, no roles.
    pub fn disabled() -> Self {
        VrrpHandle {
            board: Arc::new(StatusBoard::default()),
            enabled: false,
            commands: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// This node's status of each of its groups; changes when a role, an effective priority, a master
    /// address, a split brain or a fault does (not on every advertisement).
    pub fn roles(&self) -> watch::Receiver<Arc<BTreeMap<String, GroupStatus>>> {
        self.board.subscribe()
    }

    /// The live status of every group of this node, counters included.
    pub fn status(&self) -> BTreeMap<String, GroupStatus> {
        self.board.snapshot()
    }

    pub fn group_status(&self, group: &str) -> Option<GroupStatus> {
        self.board.get(group)
    }

    /// Stops every instance gracefully (a master advertises priority 0 and gives up its role, and the
    /// reconciler releases its VIPs) and waits until the transitions are in the audit log and the
    /// notifications are out.
    pub async fn shutdown(&self) {
        let Some(commands) = &self.commands else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if commands.send(ManagerCommand::Shutdown(tx)).is_err() {
            return;
        }
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, rx).await.is_err() {
            tracing::warn!("VRRP did not stop within {}s", SHUTDOWN_TIMEOUT.as_secs());
        }
    }
}

/// Starts the VRRP manager of this node. `below_quorum`: the names of the virtual servers currently below
/// their quorum (the reconciler's watch with an IPVS table, [`track::desired_below_quorum`] without);
/// `bound`: the reconciler, which binds the addresses of the groups this node is master of.
pub fn start(
    service: Arc<Service>,
    options: VrrpOptions,
    below_quorum: watch::Receiver<Arc<BTreeSet<String>>>,
    bound: BoundWatch,
) -> VrrpHandle {
    if !options.enabled {
        tracing::info!("VRRP is off (--vrrp off): this node takes part in no VRRP group");
        return VrrpHandle::disabled();
    }
    let board = Arc::new(StatusBoard::default());
    status::register(board.clone());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        board: board.clone(),
        events: events_tx,
        below_quorum,
        track_interval: options.track_interval,
        epoch: std::time::Instant::now(),
        bound,
    });
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let manager = Manager::new(service.clone(), shared, options.notify_timeout);
    tokio::spawn(manager.run(service.subscribe(), commands_rx, events_rx));
    VrrpHandle {
        board,
        enabled: true,
        commands: Some(commands),
    }
}

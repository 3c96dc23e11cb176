//! What the VRRP instances of this node report: one [`GroupStatus`] per group, kept on a [`StatusBoard`].
//!
//! The board has two faces: the live map (counters change on every packet; read by the REST API) and a watch
//! of the same map that is re-published only when something the reconciler cares about changes (role,
//! effective priority, master address, split brain, fault), so that it is not woken by every advertisement.

use director_vrrp::State;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;
use utoipa::ToSchema;

/// The role of this node in a VRRP group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VrrpRole {
    /// Holds the virtual addresses and advertises.
    Master,
    /// Listens; takes over when the master goes silent.
    Backup,
    /// Not running (starting, stopped, or waiting for its interface to exist).
    #[default]
    Init,
    /// Cannot run: interface down, a track with weight 0 failed, or its sync group is in fault.
    Fault,
}

impl VrrpRole {
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpRole::Master => "master",
            VrrpRole::Backup => "backup",
            VrrpRole::Init => "init",
            VrrpRole::Fault => "fault",
        }
    }

    /// The state word of keepalived's notify scripts.
    pub fn keepalived_word(self) -> &'static str {
        match self {
            VrrpRole::Master => "MASTER",
            VrrpRole::Backup => "BACKUP",
            VrrpRole::Init => "STOP",
            VrrpRole::Fault => "FAULT",
        }
    }
}

impl From<State> for VrrpRole {
    fn from(s: State) -> Self {
        match s {
            State::Initialize => VrrpRole::Init,
            State::Backup => VrrpRole::Backup,
            State::Master => VrrpRole::Master,
            State::Fault => VrrpRole::Fault,
        }
    }
}

impl std::fmt::Display for VrrpRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One transition of the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TransitionView {
    pub from: VrrpRole,
    pub to: VrrpRole,
    /// startup, master down, higher priority, shutdown, fault, fault cleared, sync group, address owner.
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// This node's view of one VRRP group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct GroupStatus {
    pub group: String,
    pub role: VrrpRole,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub interface: String,
    /// Our address on the interface: the source of our advertisements.
    pub primary_address: Option<String>,
    /// The configured priority of this node.
    pub priority: u8,
    /// The priority advertised: `priority` plus the weights of the failed tracks, within 1..254.
    pub effective_priority: u8,
    /// The current master: this node as master, the sender of the last advertisement as backup.
    pub master_address: Option<String>,
    /// Transitions since the instance started.
    pub transitions: u64,
    pub last_transition: Option<TransitionView>,
    /// Since when the current role holds (RFC 3339).
    pub since: String,
    /// Another master was seen on the link recently (two masters at once).
    pub split_brain: bool,
    /// The other master of the last split brain.
    pub other_master: Option<String>,
    /// Received packets that are not well-formed VRRP advertisements (length, version, type, checksum...).
    pub malformed_packets: u64,
    /// Well-formed advertisements for our VRID refused: TTL not 255, wrong password, wrong interval...
    pub rejected_packets: u64,
    /// Dropped packets by reason (including `vrid_mismatch`: advertisements of other groups).
    pub drops: BTreeMap<String, u64>,
    pub adverts_received: u64,
    pub adverts_sent: u64,
    /// Tracks that currently fail, e.g. `virtual_server web (-20)`.
    pub failed_tracks: Vec<String>,
    /// Why the instance is in fault or cannot start.
    pub fault_reason: Option<String>,
    pub sync_group: Option<String>,
    /// The last error of an action (binding a VIP, sending an advertisement).
    pub last_error: Option<String>,
}

impl GroupStatus {
    /// The fields whose change the reconciler must hear about.
    fn significant(&self) -> (VrrpRole, u8, Option<&str>, bool, Option<&str>) {
        (
            self.role,
            self.effective_priority,
            self.master_address.as_deref(),
            self.split_brain,
            self.fault_reason.as_deref(),
        )
    }
}

/// The statuses of this node's groups.
#[derive(Debug)]
pub struct StatusBoard {
    live: Mutex<BTreeMap<String, GroupStatus>>,
    roles: watch::Sender<Arc<BTreeMap<String, GroupStatus>>>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        StatusBoard {
            live: Mutex::new(BTreeMap::new()),
            roles: watch::channel(Arc::new(BTreeMap::new())).0,
        }
    }
}

impl StatusBoard {
    /// Changes one group's status (creating it with `group` set), publishing to the watch if needed.
    pub fn update(&self, group: &str, f: impl FnOnce(&mut GroupStatus)) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let entry = live
            .entry(group.to_string())
            .or_insert_with(|| GroupStatus {
                group: group.to_string(),
                ..GroupStatus::default()
            });
        f(entry);
        let entry = entry.clone();
        let publish = match self.roles.borrow().get(group) {
            Some(old) => old.significant() != entry.significant(),
            None => true,
        };
        if publish {
            self.roles.send_replace(Arc::new(live.clone()));
        }
    }

    pub fn remove(&self, group: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.remove(group).is_some() {
            self.roles.send_replace(Arc::new(live.clone()));
        }
    }

    /// The live statuses, counters included.
    pub fn snapshot(&self) -> BTreeMap<String, GroupStatus> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, group: &str) -> Option<GroupStatus> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group)
            .cloned()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<BTreeMap<String, GroupStatus>>> {
        self.roles.subscribe()
    }
}

/// The board of the daemon's running VRRP manager, for the views that have no access to the app state.
static CURRENT: RwLock<Option<Arc<StatusBoard>>> = RwLock::new(None);

pub(crate) fn register(board: Arc<StatusBoard>) {
    *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = Some(board);
}

/// This node's status of `group`, if the VRRP manager of this process runs it.
pub fn current(group: &str) -> Option<GroupStatus> {
    CURRENT
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|b| b.get(group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_do_not_wake_the_reconciler_but_roles_do() {
        let board = StatusBoard::default();
        let mut rx = board.subscribe();
        board.update("vi-1", |s| s.role = VrrpRole::Backup);
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update()["vi-1"].role, VrrpRole::Backup);

        board.update("vi-1", |s| s.adverts_received += 1);
        assert!(!rx.has_changed().unwrap());
        assert_eq!(board.get("vi-1").unwrap().adverts_received, 1);

        board.update("vi-1", |s| s.role = VrrpRole::Master);
        assert!(rx.has_changed().unwrap());
        let roles = rx.borrow_and_update().clone();
        assert_eq!(roles["vi-1"].role, VrrpRole::Master);
        assert_eq!(roles["vi-1"].adverts_received, 1);

        board.remove("vi-1");
        assert!(rx.borrow_and_update().is_empty());
        assert!(board.snapshot().is_empty());
    }

    #[test]
    fn roles_serialize_as_the_api_says() {
        let s = GroupStatus {
            group: "vi-1".into(),
            role: VrrpRole::Master,
            ..GroupStatus::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["role"], "master");
        assert_eq!(v["split_brain"], false);
        assert_eq!(VrrpRole::from(State::Initialize).keepalived_word(), "STOP");
        assert_eq!(VrrpRole::Fault.to_string(), "fault");
    }
}

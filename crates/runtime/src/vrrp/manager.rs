//! The manager: runs one instance per VRRP group this node is a member of, following the desired state.
//!
//! On every new revision it compares the groups of this node (`group.member_for(node)`; a node without a
//! member entry does not take part) with the running instances: new groups start, removed ones stop
//! gracefully (priority 0), changed ones are reconfigured in place, or restarted when their identity
//! (interface, VRID, version, family, unicast source) changed. It coordinates sync groups (members fail
//! over together, `director_vrrp::sync_group`), and hands transitions to the reporter, which writes the audit
//! log (the first roles of the groups started with the daemon as one entry) and sends the notifications. On
//! shutdown every instance stops gracefully and the reporter drains.

use crate::vrrp::instance::{Command, Event, InstanceHandle, Shared, Transition};
use crate::vrrp::notify::{Notification, Notifier};
use crate::vrrp::spec::InstanceSpec;
use crate::vrrp::status::VrrpRole;
use director_core::DesiredState;
use director_service::start_burst::StartBurst;
use director_service::{Service, VrrpRelease, VrrpTransition};
use director_vrrp::sync_group::{follow, may_leave_fault};
use director_vrrp::State;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub enum ManagerCommand {
    Shutdown(oneshot::Sender<()>),
}

pub struct Manager {
    service: Arc<Service>,
    shared: Arc<Shared>,
    instances: BTreeMap<String, InstanceHandle>,
    /// Groups of this node that cannot run as declared, and why.
    refused: BTreeMap<String, String>,
    /// Last known state of each instance and whether it has a fault of its own (for sync groups).
    states: BTreeMap<String, State>,
    own_fault: BTreeMap<String, bool>,
    reporter: Option<mpsc::UnboundedSender<Report>>,
    reporter_task: JoinHandle<()>,
    notify_timeout: Duration,
}

impl Manager {
    pub fn new(service: Arc<Service>, shared: Arc<Shared>, notify_timeout: Duration) -> Self {
        let (reporter, rx) = mpsc::unbounded_channel();
        let reporter_task = tokio::spawn(report(service.clone(), rx, notify_timeout));
        Manager {
            service,
            shared,
            instances: BTreeMap::new(),
            refused: BTreeMap::new(),
            states: BTreeMap::new(),
            own_fault: BTreeMap::new(),
            reporter: Some(reporter),
            reporter_task,
            notify_timeout,
        }
    }

    pub async fn run(
        mut self,
        mut revision: watch::Receiver<u64>,
        mut commands: mpsc::UnboundedReceiver<ManagerCommand>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) {
        let mut following = true;
        self.apply(&self.service.snapshot()).await;
        // Before any of their transitions is forwarded: the groups started with the daemon.
        if let Some(r) = &self.reporter {
            let _ = r.send(Report::Start(self.instances.keys().cloned().collect()));
        }
        loop {
            tokio::select! {
                r = revision.changed(), if following => {
                    if r.is_err() {
                        following = false;
                        continue;
                    }
                    revision.borrow_and_update();
                    let state = self.service.snapshot();
                    self.apply(&state).await;
                }
                ev = events.recv() => {
                    if let Some(ev) = ev {
                        self.on_event(ev);
                    }
                }
                cmd = commands.recv() => {
                    let reply = cmd.map(|ManagerCommand::Shutdown(reply)| reply);
                    self.shutdown(&mut events).await;
                    if let Some(reply) = reply {
                        let _ = reply.send(());
                    }
                    return;
                }
            }
        }
    }

    async fn apply(&mut self, state: &DesiredState) {
        let node = self.service.node().to_string();
        let desired: BTreeMap<String, Result<InstanceSpec, String>> = state
            .groups_of_node(&node)
            .map(|(g, m)| {
                (
                    g.name.clone(),
                    InstanceSpec::new(g, &m).map_err(|e| e.to_string()),
                )
            })
            .collect();

        let gone: Vec<String> = self
            .instances
            .keys()
            .filter(|name| !matches!(desired.get(*name), Some(Ok(_))))
            .cloned()
            .collect();
        for name in gone {
            if let Some(h) = self.instances.remove(&name) {
                tracing::info!(group = %name, "VRRP group no longer runs on this node: stopping its instance");
                h.stop().await;
            }
            self.forget(&name);
        }
        let refused_gone: Vec<String> = self
            .refused
            .keys()
            .filter(|name| !matches!(desired.get(*name), Some(Err(_))))
            .cloned()
            .collect();
        for name in refused_gone {
            self.refused.remove(&name);
            if !self.instances.contains_key(&name) {
                self.shared.board.remove(&name);
            }
        }

        for (name, spec) in desired {
            let spec = match spec {
                Ok(s) => s,
                Err(e) => {
                    if self.refused.get(&name) != Some(&e) {
                        tracing::error!(group = %name, error = %e, "VRRP group cannot run on this node");
                    }
                    self.shared.board.update(&name, |s| {
                        s.role = VrrpRole::Fault;
                        s.fault_reason = Some(e.clone());
                    });
                    self.refused.insert(name, e);
                    continue;
                }
            };
            match self.instances.get_mut(&name) {
                None => {
                    self.instances
                        .insert(name, InstanceHandle::spawn(spec, self.shared.clone()));
                }
                Some(h) if h.spec == spec => {}
                Some(h) if h.spec.identity() != spec.identity() => {
                    tracing::info!(group = %name, "VRRP group identity changed (interface, VRID, version or source): restarting its instance");
                    if let Some(old) = self.instances.remove(&name) {
                        old.stop().await;
                    }
                    self.forget(&name);
                    self.instances
                        .insert(name, InstanceHandle::spawn(spec, self.shared.clone()));
                }
                Some(h) => h.reconfigure(spec),
            }
        }
    }

    fn forget(&mut self, name: &str) {
        self.states.remove(name);
        self.own_fault.remove(name);
        self.shared.board.remove(name);
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Transition(t) => {
                let state = match t.to {
                    VrrpRole::Master => State::Master,
                    VrrpRole::Backup => State::Backup,
                    VrrpRole::Fault => State::Fault,
                    VrrpRole::Init => State::Initialize,
                };
                let group = t.group.clone();
                if self.instances.contains_key(&group) {
                    self.states.insert(group.clone(), state);
                }
                if let Some(r) = &self.reporter {
                    let _ = r.send(Report::Transition(t));
                }
                self.follow_sync_group(&group);
            }
            Event::OwnFault { group, faulty } => {
                if !self.instances.contains_key(&group) {
                    return;
                }
                self.own_fault.insert(group.clone(), faulty);
                if faulty {
                    return;
                }
                let members = self.sync_members(&group);
                if members.is_empty() {
                    return;
                }
                let faults: Vec<bool> = members
                    .iter()
                    .map(|m| self.own_fault.get(m).copied().unwrap_or(false))
                    .collect();
                if may_leave_fault(&faults) {
                    tracing::info!(group = %group, "no member of the sync group is faulty any more: leaving fault");
                    for m in &members {
                        if let Some(h) = self.instances.get(m) {
                            h.send(Command::SyncFaultCleared);
                        }
                    }
                }
            }
        }
    }

    /// The running members of `group`'s sync group (itself included); empty when it has none.
    fn sync_members(&self, group: &str) -> Vec<String> {
        let Some(sync) = self
            .instances
            .get(group)
            .and_then(|h| h.spec.sync_group.clone())
        else {
            return Vec::new();
        };
        self.instances
            .iter()
            .filter(|(_, h)| h.spec.sync_group.as_deref() == Some(sync.as_str()))
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn follow_sync_group(&mut self, changed: &str) {
        let members: Vec<(String, State)> = self
            .sync_members(changed)
            .into_iter()
            .map(|m| {
                let s = self.states.get(&m).copied().unwrap_or(State::Initialize);
                (m, s)
            })
            .collect();
        if members.len() < 2 {
            return;
        }
        for (member, force) in follow(&members, &changed.to_string()) {
            tracing::info!(group = %member, follows = %changed, ?force, "sync group: following");
            if let Some(h) = self.instances.get(&member) {
                h.send(Command::Force(force));
            }
        }
    }

    async fn shutdown(&mut self, events: &mut mpsc::UnboundedReceiver<Event>) {
        let stops: Vec<_> = std::mem::take(&mut self.instances)
            .into_values()
            .map(|h| tokio::spawn(h.stop()))
            .collect();
        for s in stops {
            let _ = s.await;
        }
        // Report the last transitions (to init).
        while let Ok(ev) = events.try_recv() {
            if let Event::Transition(t) = ev {
                if let Some(r) = &self.reporter {
                    let _ = r.send(Report::Transition(t));
                }
            }
        }
        self.reporter = None;
        let drain = self.notify_timeout + Duration::from_secs(2);
        if tokio::time::timeout(drain, &mut self.reporter_task)
            .await
            .is_err()
        {
            tracing::warn!("VRRP notifications did not finish before shutdown");
            self.reporter_task.abort();
        }
    }
}

/// What the manager hands the reporter, in order.
enum Report {
    /// The groups started with the daemon: their first roles are one audit entry.
    Start(Vec<String>),
    Transition(Transition),
}

/// How long the first roles of the groups started with the daemon are waited for; a group later than this
/// gets an entry of its own.
const FIRST_ROLES_WAIT: Duration = Duration::from_secs(10);

/// Writes each transition to the audit log and sends its notifications, in order.
async fn report(
    service: Arc<Service>,
    mut rx: mpsc::UnboundedReceiver<Report>,
    notify_timeout: Duration,
) {
    let mut notifier = Notifier::new(notify_timeout);
    // Nothing to gather until the manager says which groups started with the daemon.
    let mut burst: StartBurst<String, VrrpTransition> =
        StartBurst::new(Vec::new(), std::time::Instant::now());
    loop {
        let deadline = burst.deadline();
        let wake = tokio::time::Instant::from_std(deadline.unwrap_or_else(std::time::Instant::now));
        let t = tokio::select! {
            r = rx.recv() => match r {
                None => break,
                Some(Report::Start(groups)) => {
                    burst = StartBurst::new(groups, std::time::Instant::now() + FIRST_ROLES_WAIT);
                    continue;
                }
                Some(Report::Transition(t)) => t,
            },
            _ = tokio::time::sleep_until(wake), if deadline.is_some() => {
                audit(&service, &burst.due(std::time::Instant::now())).await;
                continue;
            }
        };
        let audited = VrrpTransition {
            group: t.group.clone(),
            from: t.from.as_str().to_string(),
            to: t.to.as_str().to_string(),
            priority: t.priority,
            reason: t.reason.clone(),
        };
        let first = t.from == VrrpRole::Init;
        let releases = burst.observe(t.group.clone(), first, audited, std::time::Instant::now());
        audit(&service, &releases).await;
        if let Some(notify) = t.notify.clone() {
            notifier.send(
                notify,
                Notification {
                    node: service.node().to_string(),
                    group: t.group.clone(),
                    vrid: t.vrid,
                    from: t.from,
                    to: t.to,
                    state: t.to.keepalived_word(),
                    priority: t.priority,
                    reason: t.reason.clone(),
                    master_address: t.master_address.map(|a| a.to_string()),
                    at: t.at.clone(),
                },
            );
        }
    }
    audit(&service, &burst.finish()).await;
    notifier.close().await;
}

async fn audit(service: &Service, releases: &[VrrpRelease]) {
    if releases.is_empty() {
        return;
    }
    if let Err(e) = service.record_vrrp(releases).await {
        tracing::error!(error = %e, transitions = releases.len(), "cannot write VRRP transitions to the audit log");
    }
}

//! One VRRP instance: the IO shell around a [`Machine`].
//!
//! A task per instance. It opens the instance's sockets (retrying while the interface or its address is
//! missing), starts the tracker, and then loops: packets in (decoded, validated, counted when dropped), the
//! machine's timer (from `next_deadline`), the tracker's verdicts (priority, fault), announcement bursts, the
//! reconciler's reports of bound addresses, and commands from the manager (reconfigure, sync group forcing,
//! shutdown). The machine's actions are executed in order: advertisements out, transitions published on the
//! status board (the roles the reconciler reads) and reported to the manager (audit, notify, sync groups).
//!
//! The instance never writes an address: the reconciler binds the VIPs of the groups this node is master of
//! and releases the others' (a killed predecessor's included). On every transition the instance asks it for
//! a pass at once; on becoming master (or gaining addresses as master) it announces them (gratuitous ARP,
//! unsolicited NA) only once a pass that started after the transition reports them bound.

use crate::reconciler::BoundWatch;
use crate::vrrp::announce::{Announcer, Schedule};
use crate::vrrp::interface::{self, Link};
use crate::vrrp::socket::{Received, VrrpSocket};
use crate::vrrp::spec::InstanceSpec;
use crate::vrrp::split_brain::{Change, SplitBrain};
use crate::vrrp::status::{StatusBoard, TransitionView, VrrpRole};
use crate::vrrp::track::{effective_priority, Outcome, Tracker};
use director_vrrp::sync_group::Force;
use director_vrrp::{Action, Advertisement, DecodeError, Input, Machine, Reason, State};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a stopping instance may take before it is aborted.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a failed setup is retried.
const SETUP_RETRY: Duration = Duration::from_secs(1);
/// At most one warning per kind of problem per this period.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What the manager tells an instance.
#[derive(Debug)]
pub enum Command {
    /// Same identity, new settings.
    Reconfigure(Box<InstanceSpec>),
    /// Forced by the sync group.
    Force(Force),
    /// The sync group may leave fault.
    SyncFaultCleared,
    /// Stop: a master advertises priority 0 and releases its addresses.
    Shutdown,
}

/// What an instance tells the manager.
#[derive(Debug, Clone)]
pub enum Event {
    Transition(Transition),
    /// The instance's own fault condition (tracks, interface) started or ended.
    OwnFault {
        group: String,
        faulty: bool,
    },
}

/// One transition, with what the audit log and the notifications need.
#[derive(Debug, Clone)]
pub struct Transition {
    pub group: String,
    pub vrid: u8,
    pub from: VrrpRole,
    pub to: VrrpRole,
    /// In words: `master down`, `higher priority`...
    pub reason: String,
    pub priority: u8,
    pub master_address: Option<IpAddr>,
    /// RFC 3339.
    pub at: String,
    pub notify: Option<director_core::model::vrrp_group::Notify>,
}

/// What every instance shares.
pub struct Shared {
    pub board: Arc<StatusBoard>,
    pub events: mpsc::UnboundedSender<Event>,
    pub below_quorum: watch::Receiver<Arc<BTreeSet<String>>>,
    /// Interval (and timeout) of track scripts.
    pub track_interval: Duration,
    /// The zero of the machines' clocks.
    pub epoch: Instant,
    /// The reconciler, which binds the addresses: asked for a pass at every transition, and watched for the
    /// addresses to announce.
    pub bound: BoundWatch,
}

impl Shared {
    fn now(&self) -> director_vrrp::Instant {
        director_vrrp::Instant::from(self.epoch.elapsed())
    }

    fn to_instant(&self, t: director_vrrp::Instant) -> Instant {
        self.epoch + t.since_epoch()
    }
}

/// A running instance, as the manager holds it.
pub struct InstanceHandle {
    pub spec: InstanceSpec,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl InstanceHandle {
    pub fn spawn(spec: InstanceSpec, shared: Arc<Shared>) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(spec.clone(), shared, rx));
        InstanceHandle {
            spec,
            commands,
            task,
        }
    }

    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    pub fn reconfigure(&mut self, spec: InstanceSpec) {
        self.spec = spec.clone();
        self.send(Command::Reconfigure(Box::new(spec)));
    }

    /// Stops the instance gracefully and waits for it (aborting it after a timeout).
    pub async fn stop(self) {
        let _ = self.commands.send(Command::Shutdown);
        let mut task = self.task;
        match tokio::time::timeout(STOP_TIMEOUT, &mut task).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(group = %self.spec.group, "VRRP instance did not stop in time; aborted");
                task.abort();
            }
        }
    }
}

/// The sockets and facts of a set-up instance.
struct Io {
    link: Link,
    primary: IpAddr,
    socket: VrrpSocket,
    announcer: Option<Announcer>,
}

impl Io {
    fn open(spec: &InstanceSpec) -> Result<Io, String> {
        let link = interface::link(&spec.interface).map_err(|e| e.to_string())?;
        let primary = match spec.unicast_source {
            Some(a) => a,
            None => link
                .primary_address(spec.family, &spec.vips)
                .ok_or_else(|| match spec.family {
                    director_vrrp::Family::Ipv4 => {
                        format!("interface {} has no IPv4 address", spec.interface)
                    }
                    director_vrrp::Family::Ipv6 => {
                        format!(
                            "interface {} has no IPv6 link-local address",
                            spec.interface
                        )
                    }
                })?,
        };
        let socket = VrrpSocket::open(&spec.interface, link.index, primary).map_err(|e| {
            format!(
                "VRRP socket on {} from {primary}: {e} (VRRP needs root or CAP_NET_RAW)",
                spec.interface
            )
        })?;
        let announcer = match Announcer::open(&link) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(group = %spec.group, interface = %spec.interface, error = %e,
                    "cannot open the announcement sockets: no gratuitous ARP / neighbour advertisements");
                None
            }
        };
        Ok(Io {
            link,
            primary,
            socket,
            announcer,
        })
    }
}

enum Exit {
    Shutdown,
    /// The interface or our address changed under us: set up again.
    Rebuild,
}

async fn run(
    mut spec: InstanceSpec,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let group = spec.group.clone();
    shared.board.update(&group, |s| describe(s, &spec));
    let mut transitions = 0;
    loop {
        let mut last_error = String::new();
        let io = loop {
            match Io::open(&spec) {
                Ok(io) => break io,
                Err(e) => {
                    if e != last_error {
                        tracing::warn!(group = %group, error = %e, "VRRP instance cannot start; retrying");
                        last_error = e.clone();
                    }
                    shared.board.update(&group, |s| {
                        describe(s, &spec);
                        s.role = VrrpRole::Fault;
                        s.fault_reason = Some(e.clone());
                    });
                    tokio::select! {
                        cmd = commands.recv() => match cmd {
                            None | Some(Command::Shutdown) => return,
                            Some(Command::Reconfigure(s)) => spec = *s,
                            Some(_) => {}
                        },
                        _ = tokio::time::sleep(SETUP_RETRY) => {}
                    }
                }
            }
        };
        let mut instance = match Instance::start(spec.clone(), io, shared.clone(), transitions)
            .await
        {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(group = %group, error = %e, "VRRP instance refused its configuration");
                shared.board.update(&group, |s| {
                    s.role = VrrpRole::Fault;
                    s.fault_reason = Some(e.clone());
                });
                // Wait for a new configuration or the end.
                loop {
                    match commands.recv().await {
                        None | Some(Command::Shutdown) => return,
                        Some(Command::Reconfigure(s)) => {
                            spec = *s;
                            break;
                        }
                        Some(_) => {}
                    }
                }
                continue;
            }
        };
        let exit = instance.run(&mut commands).await;
        spec = instance.spec.clone();
        transitions = instance.transitions;
        match exit {
            Exit::Shutdown => return,
            Exit::Rebuild => {
                tracing::info!(group = %group, "interface or address changed: setting the instance up again");
            }
        }
    }
}

/// Fills the static fields of a status from the spec.
fn describe(s: &mut crate::vrrp::status::GroupStatus, spec: &InstanceSpec) {
    s.vrid = spec.vrid;
    s.version = spec.version.number();
    s.interface = spec.interface.clone();
    s.priority = spec.priority;
    s.sync_group = spec.sync_group.clone();
    if s.since.is_empty() {
        s.since = director_service::now();
    }
}

fn reason_words(reason: Reason) -> &'static str {
    match reason {
        Reason::Startup => "startup",
        Reason::AddressOwner => "address owner",
        Reason::MasterDown => "master down",
        Reason::HigherPriority => "higher priority",
        Reason::Shutdown => "shutdown",
        Reason::Fault => "fault",
        Reason::FaultCleared => "fault cleared",
        Reason::Sync => "sync group",
    }
}

/// Rate-limited warnings, one per kind per [`WARN_EVERY`].
#[derive(Default)]
struct Warnings {
    last: HashMap<&'static str, Instant>,
}

impl Warnings {
    fn allow(&mut self, kind: &'static str) -> bool {
        let now = Instant::now();
        match self.last.get(kind) {
            Some(t) if now.duration_since(*t) < WARN_EVERY => false,
            _ => {
                self.last.insert(kind, now);
                true
            }
        }
    }
}

struct Instance {
    spec: InstanceSpec,
    io: Io,
    shared: Arc<Shared>,
    machine: Machine,
    /// Kept for its lifetime: dropping it stops the tracking.
    _tracker: Tracker,
    outcome: watch::Receiver<Outcome>,
    /// The last tracker verdict applied.
    applied: Outcome,
    own_fault: bool,
    schedule: Schedule,
    split: SplitBrain,
    transitions: u64,
    warnings: Warnings,
    bound: BoundWatch,
    /// Addresses to announce once the reconciler reports them bound.
    pending: Option<Pending>,
}

/// Addresses a master announces once they are bound.
#[derive(Debug)]
struct Pending {
    /// A pass numbered above it must report them bound (see [`BoundWatch::request`]).
    ticket: u64,
    addresses: Vec<IpAddr>,
    /// The first announcement of a mastership: it starts the burst schedule (`garp` delay and refresh).
    became_master: bool,
}

impl Instance {
    async fn start(
        spec: InstanceSpec,
        io: Io,
        shared: Arc<Shared>,
        transitions: u64,
    ) -> Result<Instance, String> {
        let group = spec.group.clone();
        let (tracker, outcome) = Tracker::start(
            spec.interface.clone(),
            spec.tracks.clone(),
            shared.track_interval,
            shared.below_quorum.clone(),
        )
        .await;
        let machine = Machine::new(spec.machine_config(io.primary), shared.now())
            .map_err(|e| e.to_string())?;
        tracing::info!(
            group = %group, vrid = spec.vrid, version = %spec.version, interface = %spec.interface,
            source = %io.primary, priority = spec.priority, "VRRP instance starting"
        );
        let split = SplitBrain::new(spec.advert_interval_duration());
        let schedule = Schedule::new(spec.garp);
        let primary = io.primary;
        shared.board.update(&group, |s| {
            describe(s, &spec);
            s.primary_address = Some(primary.to_string());
            s.fault_reason = None;
        });
        let bound = shared.bound.clone();
        let mut i = Instance {
            spec,
            io,
            shared,
            machine,
            _tracker: tracker,
            outcome,
            applied: Outcome::default(),
            own_fault: false,
            schedule,
            split,
            transitions,
            warnings: Warnings::default(),
            bound,
            pending: None,
        };
        let first = i.outcome.borrow_and_update().clone();
        i.applied = first.clone();
        let priority = effective_priority(i.spec.priority, first.adjustment);
        let now = i.shared.now();
        let actions = i.machine.handle(Input::PriorityChanged { priority }, now);
        i.exec(actions).await;
        match &first.fault {
            Some(reason) => {
                i.own_fault = true;
                let _ = i.shared.events.send(Event::OwnFault {
                    group: i.spec.group.clone(),
                    faulty: true,
                });
                tracing::warn!(group = %i.spec.group, %reason, "VRRP instance starts in fault");
                let actions = i.machine.handle(Input::Fault, now);
                i.exec(actions).await;
            }
            None => {
                let actions = i.machine.handle(Input::Startup, now);
                i.exec(actions).await;
            }
        }
        i.publish_tracks();
        Ok(i)
    }

    async fn run(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) -> Exit {
        let mut outcome_open = true;
        loop {
            let deadline = self
                .machine
                .next_deadline()
                .map(|d| self.shared.to_instant(d));
            let announce = self.schedule.next();
            let split_check = self.split.next_check();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Shutdown) => {
                        let actions = self.machine.handle(Input::Shutdown, self.shared.now());
                        self.exec(actions).await;
                        return Exit::Shutdown;
                    }
                    Some(Command::Reconfigure(spec)) => self.reconfigure(*spec).await,
                    Some(Command::Force(force)) => {
                        let actions = self.machine.handle(force.input(), self.shared.now());
                        self.exec(actions).await;
                    }
                    Some(Command::SyncFaultCleared) => {
                        if !self.own_fault && self.machine.state() == State::Fault {
                            if self.changed_under_us() {
                                return Exit::Rebuild;
                            }
                            let actions = self.machine.handle(Input::FaultCleared, self.shared.now());
                            self.exec(actions).await;
                        }
                    }
                },
                r = self.io.socket.recv() => match r {
                    Ok(Ok(packet)) => self.on_packet(packet).await,
                    Ok(Err(e)) => self.count_drop("bad_ip_header", true, &e.to_string()),
                    Err(e) => {
                        if self.warnings.allow("recv") {
                            tracing::warn!(group = %self.spec.group, error = %e, "VRRP receive error");
                        }
                        self.shared.board.update(&self.spec.group, |s| s.last_error = Some(format!("receive: {e}")));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = sleep_until(deadline) => {
                    let actions = self.machine.on_tick(self.shared.now());
                    self.exec(actions).await;
                }
                r = self.outcome.changed(), if outcome_open => {
                    if r.is_err() {
                        outcome_open = false;
                        continue;
                    }
                    let outcome = self.outcome.borrow_and_update().clone();
                    if self.apply_outcome(outcome).await {
                        return Exit::Rebuild;
                    }
                }
                _ = self.bound.changed(), if self.pending.is_some() => self.announce_when_bound(),
                _ = sleep_until(announce) => {
                    if self.schedule.on_due(Instant::now()) && self.machine.state() == State::Master {
                        self.announce(&self.spec.vips.clone());
                    }
                }
                _ = sleep_until(split_check) => {
                    if self.split.expire(Instant::now()) == Change::Ended {
                        tracing::info!(group = %self.spec.group, "split brain over: one master again");
                        self.shared.board.update(&self.spec.group, |s| s.split_brain = false);
                    }
                }
            }
        }
    }

    /// Whether the interface was re-created or our address changed since the sockets were opened.
    fn changed_under_us(&self) -> bool {
        match interface::link(&self.spec.interface) {
            Ok(link) => {
                let primary = match self.spec.unicast_source {
                    Some(a) => Some(a),
                    None => link.primary_address(self.spec.family, &self.spec.vips),
                };
                link.index != self.io.link.index || primary != Some(self.io.primary)
            }
            Err(_) => false,
        }
    }

    /// Applies a tracker verdict; `true` when the instance must be set up again.
    async fn apply_outcome(&mut self, outcome: Outcome) -> bool {
        let now = self.shared.now();
        let priority = effective_priority(self.spec.priority, outcome.adjustment);
        if priority != self.machine.priority() {
            tracing::info!(group = %self.spec.group, from = self.machine.priority(), to = priority,
                failed = ?outcome.failed, "effective priority changed");
        }
        let actions = self
            .machine
            .handle(Input::PriorityChanged { priority }, now);
        self.exec(actions).await;
        let mut rebuild = false;
        match (&outcome.fault, self.own_fault) {
            (Some(reason), false) => {
                tracing::warn!(group = %self.spec.group, %reason, "VRRP instance enters fault");
                self.own_fault = true;
                self.applied = outcome.clone();
                self.publish_tracks();
                let _ = self.shared.events.send(Event::OwnFault {
                    group: self.spec.group.clone(),
                    faulty: true,
                });
                let actions = self.machine.handle(Input::Fault, now);
                self.exec(actions).await;
            }
            (None, true) => {
                tracing::info!(group = %self.spec.group, "VRRP instance fault cleared");
                self.own_fault = false;
                let _ = self.shared.events.send(Event::OwnFault {
                    group: self.spec.group.clone(),
                    faulty: false,
                });
                // In a sync group, the manager says when the whole group may leave fault.
                if self.spec.sync_group.is_none() && self.machine.state() == State::Fault {
                    if self.changed_under_us() {
                        rebuild = true;
                    } else {
                        let actions = self.machine.handle(Input::FaultCleared, now);
                        self.exec(actions).await;
                    }
                }
            }
            _ => {}
        }
        self.applied = outcome;
        self.publish_tracks();
        rebuild
    }

    fn publish_tracks(&self) {
        let failed = self.applied.failed.clone();
        let fault = if self.own_fault {
            self.applied.fault.clone()
        } else if self.machine.state() == State::Fault {
            Some(format!(
                "sync group {} is in fault",
                self.spec.sync_group.as_deref().unwrap_or_default()
            ))
        } else {
            None
        };
        let priority = self.machine.priority();
        self.shared.board.update(&self.spec.group, |s| {
            s.failed_tracks = failed;
            s.fault_reason = fault;
            s.effective_priority = priority;
        });
    }

    async fn reconfigure(&mut self, spec: InstanceSpec) {
        let now = self.shared.now();
        let old = std::mem::replace(&mut self.spec, spec);
        match self
            .machine
            .reconfigure(self.spec.machine_config(self.io.primary), now)
        {
            Ok(actions) => self.exec(actions).await,
            Err(e) => {
                tracing::error!(group = %self.spec.group, error = %e, "reconfiguration refused; keeping the old one");
                self.spec = old;
                return;
            }
        }
        tracing::info!(group = %self.spec.group, "VRRP instance reconfigured");
        self.schedule.set_options(self.spec.garp);
        self.split
            .set_interval(self.spec.advert_interval_duration());
        if old.tracks != self.spec.tracks || old.interface != self.spec.interface {
            let (tracker, outcome) = Tracker::start(
                self.spec.interface.clone(),
                self.spec.tracks.clone(),
                self.shared.track_interval,
                self.shared.below_quorum.clone(),
            )
            .await;
            self._tracker = tracker;
            self.outcome = outcome;
        }
        // The machine reset the effective priority to the new base: apply the tracks again.
        let outcome = self.outcome.borrow_and_update().clone();
        self.apply_outcome(outcome).await;
        // Out of its sync group, a member held in fault by the group leaves it on its own.
        if self.spec.sync_group.is_none() && !self.own_fault && self.machine.state() == State::Fault
        {
            let actions = self.machine.handle(Input::FaultCleared, self.shared.now());
            self.exec(actions).await;
        }
        let spec = self.spec.clone();
        self.shared
            .board
            .update(&self.spec.group, |s| describe(s, &spec));
    }

    async fn on_packet(&mut self, packet: Received) {
        let state = self.machine.state();
        if matches!(state, State::Initialize | State::Fault) {
            return;
        }
        let mut info = packet.info;
        if info.src == self.io.primary {
            return; // our own
        }
        // keepalived does not require TTL 255 on unicast advertisements (they may be routed).
        if !self.spec.unicast_peers.is_empty() && !info.dst.is_multicast() {
            info.ttl = director_vrrp::packet::VRRP_TTL;
        }
        let adv = match Advertisement::decode(&packet.payload, info.src, info.dst) {
            Ok(adv) => adv,
            Err(e) => {
                self.count_drop(e.code(), true, &format!("from {}: {e}", info.src));
                return;
            }
        };
        if let Err(e) = adv.validate(&self.machine.expect(), &info) {
            let other_group = matches!(e, DecodeError::VridMismatch { .. });
            self.count_drop(
                e.code(),
                !other_group,
                &format!("from {} (vrid {}): {e}", info.src, adv.vrid),
            );
            return;
        }
        let now = Instant::now();
        if state == State::Backup && adv.priority > 0 {
            let change = self.split.advert(info.src, now);
            self.on_split_change(change);
        }
        let actions = self
            .machine
            .handle(Input::from_advertisement(&adv, info.src), self.shared.now());
        self.exec(actions).await;
        let stats = *self.machine.stats();
        let master = self.machine.master_address().map(|a| a.to_string());
        self.shared.board.update(&self.spec.group, |s| {
            s.adverts_received = stats.adverts_received;
            s.master_address = master;
        });
    }

    /// Counts a dropped packet; `ours`: it was for this group (malformed or rejected), not another's.
    fn count_drop(&mut self, code: &'static str, ours: bool, detail: &str) {
        let structural = matches!(
            code,
            "too_short"
                | "unsupported_version"
                | "not_advertisement"
                | "address_count_mismatch"
                | "bad_checksum"
                | "family_mismatch"
                | "unsupported_auth"
                | "bad_ip_header"
        );
        if ours && self.warnings.allow(code) {
            tracing::warn!(group = %self.spec.group, reason = code, %detail,
                "dropped a VRRP packet (further ones of this kind are counted, not logged, for a minute)");
        } else {
            tracing::debug!(group = %self.spec.group, reason = code, %detail, "dropped a VRRP packet");
        }
        self.shared.board.update(&self.spec.group, |s| {
            *s.drops.entry(code.to_string()).or_insert(0) += 1;
            if structural {
                s.malformed_packets += 1;
            } else if ours {
                s.rejected_packets += 1;
            }
        });
    }

    fn on_split_change(&mut self, change: Change) {
        match change {
            Change::Started => {
                let other = self.split.other().map(|a| a.to_string());
                tracing::warn!(group = %self.spec.group, other_master = ?other, role = %self.machine.state(),
                    "SPLIT BRAIN: two masters on the link");
                self.shared.board.update(&self.spec.group, |s| {
                    s.split_brain = true;
                    s.other_master = other;
                });
            }
            Change::Ended => {
                tracing::info!(group = %self.spec.group, "split brain over: one master again");
                self.shared
                    .board
                    .update(&self.spec.group, |s| s.split_brain = false);
            }
            Change::None => {}
        }
    }

    async fn exec(&mut self, actions: Vec<Action>) {
        let mut became_master = false;
        let mut added = Vec::new();
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::BecomeMaster => became_master = true,
                Action::BecomeBackup => {
                    self.schedule.on_leave();
                    self.pending = None;
                }
                // The reconciler releases the removed addresses; the added ones are announced once bound.
                Action::VirtualAddressesChanged { added: a, .. } => added.extend(a),
                Action::StateChanged { from, to, reason } => self.on_transition(from, to, reason),
                Action::OtherMasterSeen { address, priority } => {
                    tracing::debug!(group = %self.spec.group, other = %address, priority,
                        "another master advertised; reasserting");
                    let change = self.split.other_master(address, Instant::now());
                    self.on_split_change(change);
                }
            }
        }
        let stats = *self.machine.stats();
        self.shared.board.update(&self.spec.group, |s| {
            s.adverts_sent = stats.adverts_sent;
        });
        if became_master || !added.is_empty() {
            // After the transition is on the board: the pass asked for now sees this node as master.
            let ticket = self.bound.request();
            let pending = match self.pending.take() {
                Some(p) if !became_master => Pending {
                    ticket,
                    addresses: p.addresses.into_iter().chain(added).collect(),
                    became_master: p.became_master,
                },
                _ if became_master => Pending {
                    ticket,
                    addresses: self.spec.vips.clone(),
                    became_master: true,
                },
                _ => Pending {
                    ticket,
                    addresses: added,
                    became_master: false,
                },
            };
            self.pending = Some(pending);
            self.announce_when_bound();
        }
    }

    /// Announces the pending addresses if a pass asked for after they became ours reports them bound (a
    /// master that left meanwhile announces nothing). Where binding fails, the reconcile status says so and
    /// the announcement waits for the pass that succeeds.
    fn announce_when_bound(&mut self) {
        let Some(p) = &self.pending else { return };
        if self.machine.state() != State::Master {
            self.pending = None;
            return;
        }
        if !self
            .bound
            .bound_since(p.ticket, &self.spec.interface, &p.addresses)
        {
            return;
        }
        let Some(p) = self.pending.take() else { return };
        tracing::debug!(group = %self.spec.group, addresses = ?p.addresses, "VIPs bound: announcing them");
        if p.became_master {
            self.schedule.on_master(Instant::now());
        }
        self.announce(&p.addresses);
    }

    fn on_transition(&mut self, from: State, to: State, reason: Reason) {
        self.transitions += 1;
        let from = VrrpRole::from(from);
        let to = VrrpRole::from(to);
        let mut words = reason_words(reason).to_string();
        if reason == Reason::Fault {
            words = match (&self.applied.fault, self.own_fault) {
                (Some(f), true) => format!("fault: {f}"),
                _ => "sync group fault".to_string(),
            };
        }
        let priority = self.machine.priority();
        let master = self.machine.master_address();
        let at = director_service::now();
        tracing::info!(group = %self.spec.group, %from, %to, reason = %words, priority,
            "VRRP transition {from} -> {to}");
        let view = TransitionView {
            from,
            to,
            reason: words.clone(),
            at: at.clone(),
        };
        let transitions = self.transitions;
        let fault =
            (to == VrrpRole::Fault).then(|| words.trim_start_matches("fault: ").to_string());
        self.shared.board.update(&self.spec.group, |s| {
            s.role = to;
            s.transitions = transitions;
            s.last_transition = Some(view);
            s.since = at.clone();
            s.effective_priority = priority;
            s.master_address = master.map(|a| a.to_string());
            s.fault_reason = fault;
        });
        // The reconciler binds or releases the addresses at once, not at its next timer.
        self.bound.request();
        let _ = self.shared.events.send(Event::Transition(Transition {
            group: self.spec.group.clone(),
            vrid: self.spec.vrid,
            from,
            to,
            reason: words,
            priority,
            master_address: master,
            at,
            notify: self.spec.notify.clone(),
        }));
    }

    fn send_advert(&mut self, priority: u8) {
        let adv = self.machine.advertisement(priority);
        for dst in self.spec.destinations() {
            let r = adv
                .encode(self.io.primary, dst)
                .map_err(|e| e.to_string())
                .and_then(|bytes| self.io.socket.send(&bytes, dst).map_err(|e| e.to_string()));
            if let Err(e) = r {
                if self.warnings.allow("send") {
                    tracing::warn!(group = %self.spec.group, %dst, error = %e, "cannot send a VRRP advertisement");
                }
                self.shared.board.update(&self.spec.group, |s| {
                    s.last_error = Some(format!("sending to {dst}: {e}"))
                });
            }
        }
    }

    fn announce(&mut self, addresses: &[IpAddr]) {
        let Some(announcer) = &self.io.announcer else {
            return;
        };
        let (sent, error) = announcer.announce(addresses, self.schedule.repeat());
        tracing::debug!(group = %self.spec.group, sent, "announced the VIPs");
        if let Some(e) = error {
            if self.warnings.allow("announce") {
                tracing::warn!(group = %self.spec.group, error = %e, "cannot announce the VIPs");
            }
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}
